#pragma once
// The server's side of RFC 6455 without I/O: the handshake's accept key,
// the frames the server sends (final, unmasked, built once and shared by
// every recipient), and an incremental reader of what clients send (masked
// frames, fragments, control frames between them, UTF-8 checked as it
// arrives, the size limit checked on each header). src/ws_session.cpp feeds
// it whatever the socket had; tests and the fuzzer feed it bytes.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace serendip::ws {

enum class opcode : std::uint8_t { continuation = 0, text = 1, binary = 2, close = 8, ping = 9, pong = 10 };

// Close codes the server sends (RFC 6455 section 7.4.1).
namespace close_code {
inline constexpr std::uint16_t normal = 1000, going_away = 1001, protocol_error = 1002, unsupported_data = 1003,
                               no_status = 1005, invalid_payload = 1007, policy = 1008, too_big = 1009;
}

// Sec-WebSocket-Accept for a client's Sec-WebSocket-Key; none when the key
// is not the base64 of 16 bytes, as RFC 6455 section 4.1 requires.
std::optional<std::string> accept_key(std::string_view client_key);

// One frame as it goes on the wire, header included. A text frame keeps its
// payload (the JSON) readable for the few who need it.
class wire_frame {
public:
    static wire_frame text(std::string_view payload) { return {opcode::text, payload}; }
    static wire_frame control(opcode op, std::string_view payload) { return {op, payload}; }
    // Bytes sent as they are (the HTTP answer to the upgrade).
    static wire_frame raw(std::string bytes);

    std::string_view bytes() const { return bytes_; }
    std::string_view payload() const { return std::string_view(bytes_).substr(header_); }
    std::size_t size() const { return bytes_.size(); }

private:
    wire_frame(opcode op, std::string_view payload);
    wire_frame() = default;
    std::string bytes_;
    std::uint8_t header_ = 0;
};

// A close frame's payload: the code and a reason (at most 123 bytes).
std::string close_payload(std::uint16_t code, std::string_view reason);

// Checks UTF-8 a piece at a time (a character may be split between pieces).
class utf8_checker {
public:
    // False at the first byte that cannot be part of valid UTF-8.
    bool feed(const unsigned char* p, std::size_t n);
    // No character left unfinished.
    bool complete() const { return need_ == 0; }
    void reset() { need_ = 0; }

private:
    std::uint8_t need_ = 0;             // continuation bytes still expected
    std::uint8_t lo_ = 0x80, hi_ = 0xBF;  // the range of the next one
};

// What the reader found. `payload` stays valid until the next call to next().
struct event {
    enum class kind : std::uint8_t { text, binary, ping, pong, close, violation };
    kind what;
    std::string_view payload;  // text: the whole message; ping, pong: its data; close, violation: the reason
    std::uint16_t code = 0;    // close: the client's code (no_status if none); violation: the code to close with
};

// Reads a client's frames as they come. Payloads are unmasked in place in
// the caller's buffer, so a message that arrived whole in one read is handed
// over without a copy; only a message split across reads or fragments is
// gathered in the reader. After a close frame, a binary frame or a violation
// the reader is done and reads nothing more.
class frame_reader {
public:
    explicit frame_reader(std::size_t max_message) : max_message_(max_message) {}

    struct input {
        char* data;
        std::size_t size;
    };
    // The next event in `in`, consuming what it read; none when `in` is used
    // up (the rest of a frame is awaited) or the reader is done.
    std::optional<event> next(input& in);

    bool done() const { return done_; }
    // Heap bytes the reader holds between reads (a split message, a fragment).
    std::size_t held_bytes() const { return heap_bytes(message_) + heap_bytes(control_); }
    // Frees what it held for a message split across reads, once that is over.
    void trim();

private:
    static std::size_t heap_bytes(const std::string& s) {
        return s.capacity() > std::string().capacity() ? s.capacity() : 0;
    }
    std::optional<event> fail(std::uint16_t code, std::string_view reason);
    std::optional<event> start_frame(input& in);
    std::optional<event> end_frame();

    std::size_t max_message_;
    std::array<unsigned char, 14> head_{};  // the header being read
    std::uint8_t head_have_ = 0;
    std::uint8_t head_need_ = 2;
    bool in_frame_ = false;       // between a header and the end of its payload
    bool in_message_ = false;     // a fragmented text message is under way
    bool fin_ = false;
    bool done_ = false;
    opcode op_ = opcode::text;
    std::uint8_t mask_at_ = 0;
    std::array<unsigned char, 4> mask_{};
    std::uint64_t remaining_ = 0;  // payload bytes of this frame still to come
    std::string message_;          // a text message gathered across reads or fragments
    std::string control_;          // a control frame's payload split across reads
    utf8_checker utf8_;
};

}  // namespace serendip::ws
