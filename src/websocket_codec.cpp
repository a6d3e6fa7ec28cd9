#include "serendip/websocket_codec.hpp"

#include <algorithm>
#include <cstring>

#include <openssl/evp.h>

namespace serendip::ws {

namespace {

bool is_base64(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

bool is_control(opcode op) { return static_cast<std::uint8_t>(op) >= 8; }

bool known(std::uint8_t op) { return op <= 2 || (op >= 8 && op <= 10); }

// Codes a client may send (RFC 6455 7.4.1 and 7.4.2, IANA's registry):
// 1004-1006 and 1015 are never sent, 1016-2999 are unassigned; from 3000 up
// they are the applications' (no RFC says what 5000 and above mean, and
// Beast, as Autobahn's informational cases, lets them through).
bool valid_close_code(std::uint16_t c) {
    return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || c >= 3000;
}

// XORs the mask over `n` bytes, starting at mask byte `at`; 8 bytes a step.
void unmask(char* p, std::size_t n, const std::array<unsigned char, 4>& mask, std::uint8_t at) {
    unsigned char m[8];
    for (int i = 0; i < 8; ++i) m[i] = mask[(at + i) & 3];
    std::uint64_t word;
    std::memcpy(&word, m, 8);
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        std::uint64_t v;
        std::memcpy(&v, p + i, 8);
        v ^= word;
        std::memcpy(p + i, &v, 8);
    }
    for (; i < n; ++i) p[i] = static_cast<char>(static_cast<unsigned char>(p[i]) ^ m[i & 7]);
}

}  // namespace

std::optional<std::string> accept_key(std::string_view key) {
    // 16 bytes in base64: 22 characters and "==".
    if (key.size() != 24 || key[22] != '=' || key[23] != '=') return std::nullopt;
    if (!std::all_of(key.begin(), key.begin() + 22, is_base64)) return std::nullopt;
    static constexpr std::string_view guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    std::string input = std::string(key) + std::string(guid);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_Digest(input.data(), input.size(), digest, &length, EVP_sha1(), nullptr) != 1) return std::nullopt;
    unsigned char out[32];
    int n = EVP_EncodeBlock(out, digest, static_cast<int>(length));
    return std::string(reinterpret_cast<char*>(out), static_cast<std::size_t>(n));
}

wire_frame::wire_frame(opcode op, std::string_view payload) {
    unsigned char head[10];
    std::size_t n = payload.size();
    head[0] = static_cast<unsigned char>(0x80 | static_cast<std::uint8_t>(op));
    std::uint8_t h = 2;
    if (n < 126) {
        head[1] = static_cast<unsigned char>(n);
    } else if (n <= 0xFFFF) {
        head[1] = 126;
        head[2] = static_cast<unsigned char>(n >> 8);
        head[3] = static_cast<unsigned char>(n);
        h = 4;
    } else {
        head[1] = 127;
        for (int i = 0; i < 8; ++i) head[2 + i] = static_cast<unsigned char>(std::uint64_t(n) >> (56 - 8 * i));
        h = 10;
    }
    bytes_.reserve(h + n);
    bytes_.append(reinterpret_cast<char*>(head), h);
    bytes_.append(payload);
    header_ = h;
}

wire_frame wire_frame::raw(std::string bytes) {
    wire_frame f;
    f.bytes_ = std::move(bytes);
    return f;
}

std::string close_payload(std::uint16_t code, std::string_view reason) {
    std::string out;
    out += static_cast<char>(code >> 8);
    out += static_cast<char>(code & 0xFF);
    out += reason.substr(0, 123);
    return out;
}

bool utf8_checker::feed(const unsigned char* p, std::size_t n) {
    std::size_t i = 0;
    while (i < n) {
        if (need_ == 0) {
            // ASCII, eight bytes a step.
            while (i + 8 <= n) {
                std::uint64_t v;
                std::memcpy(&v, p + i, 8);
                if (v & 0x8080808080808080ull) break;
                i += 8;
            }
            if (i == n) break;
            unsigned char b = p[i++];
            if (b < 0x80) continue;
            lo_ = 0x80;
            hi_ = 0xBF;
            if (b >= 0xC2 && b <= 0xDF) need_ = 1;
            else if (b == 0xE0) need_ = 2, lo_ = 0xA0;           // no overlong three-byte forms
            else if (b == 0xED) need_ = 2, hi_ = 0x9F;           // no UTF-16 surrogates
            else if (b >= 0xE1 && b <= 0xEF) need_ = 2;
            else if (b == 0xF0) need_ = 3, lo_ = 0x90;           // no overlong four-byte forms
            else if (b >= 0xF1 && b <= 0xF3) need_ = 3;
            else if (b == 0xF4) need_ = 3, hi_ = 0x8F;           // nothing past U+10FFFF
            else return false;
        } else {
            unsigned char b = p[i++];
            if (b < lo_ || b > hi_) return false;
            lo_ = 0x80;
            hi_ = 0xBF;
            --need_;
        }
    }
    return true;
}

std::optional<event> frame_reader::fail(std::uint16_t code, std::string_view reason) {
    done_ = true;
    return event{event::kind::violation, reason, code};
}

void frame_reader::trim() {
    if (in_frame_ || in_message_) return;
    if (heap_bytes(message_) > 0) std::string().swap(message_);
    if (heap_bytes(control_) > 0) std::string().swap(control_);
}

std::optional<event> frame_reader::next(input& in) {
    while (!done_) {
        if (!in_frame_) {
            if (auto e = start_frame(in)) return e;
            if (!in_frame_) return std::nullopt;  // the header is not all here yet
            if (remaining_ == 0) {
                if (auto e = end_frame()) return e;
                continue;
            }
            // The common case: a whole unfragmented text message in this read,
            // handed over where it lies.
            if (op_ == opcode::text && fin_ && remaining_ <= in.size) {
                auto n = static_cast<std::size_t>(remaining_);
                unmask(in.data, n, mask_, 0);
                utf8_.reset();
                auto* p = reinterpret_cast<const unsigned char*>(in.data);
                if (!utf8_.feed(p, n) || !utf8_.complete()) return fail(close_code::invalid_payload, "invalid UTF-8");
                std::string_view text(in.data, n);
                in.data += n;
                in.size -= n;
                in_frame_ = false;
                return event{event::kind::text, text};
            }
        }
        if (in.size == 0) return std::nullopt;
        auto take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, in.size));
        unmask(in.data, take, mask_, mask_at_);
        mask_at_ = static_cast<std::uint8_t>((mask_at_ + take) & 3);
        if (is_control(op_)) {
            control_.append(in.data, take);
        } else {
            if (!utf8_.feed(reinterpret_cast<const unsigned char*>(in.data), take))
                return fail(close_code::invalid_payload, "invalid UTF-8");
            message_.append(in.data, take);
        }
        in.data += take;
        in.size -= take;
        remaining_ -= take;
        if (remaining_ > 0) return std::nullopt;
        if (auto e = end_frame()) return e;
    }
    return std::nullopt;
}

// Reads header bytes; once the header is whole, checks it and starts the
// frame. Checked whole and in Beast's order (every framing error before the
// size), so a stream cut inside a header is no verdict either way.
std::optional<event> frame_reader::start_frame(input& in) {
    while (head_have_ < head_need_ && in.size > 0) {
        head_[head_have_++] = static_cast<unsigned char>(*in.data);
        ++in.data;
        --in.size;
        if (head_have_ == 2) {
            std::uint8_t len7 = head_[1] & 0x7F;
            bool masked = (head_[1] & 0x80) != 0;
            head_need_ = static_cast<std::uint8_t>(2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + (masked ? 4 : 0));
        }
    }
    if (head_have_ < head_need_) return std::nullopt;

    std::uint8_t b0 = head_[0], b1 = head_[1];
    fin_ = (b0 & 0x80) != 0;
    std::uint8_t op = b0 & 0x0F;
    std::uint8_t len7 = b1 & 0x7F;
    if (!known(op)) return fail(close_code::protocol_error, "reserved opcode");
    op_ = static_cast<opcode>(op);
    if (op_ == opcode::continuation && !in_message_)
        return fail(close_code::protocol_error, "continuation without a message");
    if ((op_ == opcode::text || op_ == opcode::binary) && in_message_)
        return fail(close_code::protocol_error, "new message inside a fragmented one");
    if (is_control(op_) && (!fin_ || len7 > 125)) return fail(close_code::protocol_error, "bad control frame");
    if (b0 & 0x70) return fail(close_code::protocol_error, "reserved bits set");
    if (!(b1 & 0x80)) return fail(close_code::protocol_error, "unmasked frame");
    std::uint64_t length = len7;
    std::size_t at = 2;
    if (len7 == 126) {
        length = (std::uint64_t(head_[2]) << 8) | head_[3];
        at = 4;
    } else if (len7 == 127) {
        length = 0;
        for (int i = 0; i < 8; ++i) length = (length << 8) | head_[2 + i];
        at = 10;
    }
    if ((len7 == 126 && length < 126) || (len7 == 127 && length <= 0xFFFF))
        return fail(close_code::protocol_error, "length not in its shortest form");
    // The limit is on the whole message: the fragments so far count.
    std::size_t so_far = op_ == opcode::continuation ? message_.size() : 0;
    if (!is_control(op_) && length > max_message_ - std::min(max_message_, so_far))
        return fail(close_code::too_big, "message too large");
    if (op_ == opcode::binary) {
        done_ = true;
        return event{event::kind::binary, {}};
    }
    std::copy_n(head_.begin() + at, 4, mask_.begin());
    head_have_ = 0;
    head_need_ = 2;
    mask_at_ = 0;
    remaining_ = length;
    in_frame_ = true;
    if (is_control(op_)) {
        control_.clear();
    } else if (op_ == opcode::text) {
        message_.clear();
        utf8_.reset();
    }
    return std::nullopt;
}

// A frame's payload is all here.
std::optional<event> frame_reader::end_frame() {
    in_frame_ = false;
    switch (op_) {
    case opcode::ping: return event{event::kind::ping, control_};
    case opcode::pong: return event{event::kind::pong, control_};
    case opcode::close: {
        done_ = true;
        if (control_.empty()) return event{event::kind::close, {}, close_code::no_status};
        if (control_.size() == 1) return fail(close_code::protocol_error, "close frame of one byte");
        auto code = static_cast<std::uint16_t>((static_cast<unsigned char>(control_[0]) << 8) |
                                               static_cast<unsigned char>(control_[1]));
        if (!valid_close_code(code)) return fail(close_code::protocol_error, "invalid close code");
        std::string_view reason = std::string_view(control_).substr(2);
        utf8_checker check;
        if (!check.feed(reinterpret_cast<const unsigned char*>(reason.data()), reason.size()) || !check.complete())
            return fail(close_code::invalid_payload, "invalid UTF-8 in the close reason");
        return event{event::kind::close, reason, code};
    }
    default:
        if (!fin_) {
            in_message_ = true;
            return std::nullopt;
        }
        in_message_ = false;
        if (!utf8_.complete()) return fail(close_code::invalid_payload, "invalid UTF-8");
        return event{event::kind::text, message_};
    }
}

}  // namespace serendip::ws
