#include "serendip/signal_scanner.hpp"

#include <array>
#include <cstdint>
#include <string>

namespace serendip::protocol {

namespace {

// A cursor over the text. Every reader returns false when the text is not
// what it takes; the caller then gives up and the DOM decoder decides.
class cursor {
public:
    explicit cursor(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {}

    void skip_ws() {
        while (p_ != end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
    }
    bool take(char c) {
        skip_ws();
        if (p_ == end_ || *p_ != c) return false;
        ++p_;
        return true;
    }
    bool at_end() {
        skip_ws();
        return p_ == end_;
    }
    bool take_word(std::string_view w) {
        skip_ws();
        if (static_cast<std::size_t>(end_ - p_) < w.size() || std::string_view(p_, w.size()) != w) return false;
        p_ += w.size();
        return true;
    }

    // A JSON string, decoded into `out` (escapes resolved, UTF-8 checked as
    // strictly as nlohmann's lexer checks it).
    bool string(std::string& out) {
        out.clear();
        if (!take('"')) return false;
        const char* run = p_;
        for (;;) {
            while (p_ != end_) {
                auto c = static_cast<unsigned char>(*p_);
                if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
                ++p_;
            }
            out.append(run, p_);
            if (p_ == end_) return false;
            auto c = static_cast<unsigned char>(*p_);
            if (c == '"') {
                ++p_;
                return true;
            }
            if (c < 0x20) return false;  // raw control characters are not JSON
            if (c == '\\') {
                if (!escape(out)) return false;
            } else {
                std::size_t n = utf8_sequence();
                if (n == 0) return false;
                out.append(p_, n);
                p_ += n;
            }
            run = p_;
        }
    }

    // sdpMLineIndex: null, or an integer 0-65535 written plainly. Anything
    // else (a sign, a fraction, an exponent, a larger number) is left to
    // the DOM decoder.
    bool line_index(std::string& out) {
        skip_ws();
        if (take_word("null")) {
            out = "null";
            return true;
        }
        const char* start = p_;
        std::uint32_t value = 0;
        while (p_ != end_ && *p_ >= '0' && *p_ <= '9' && p_ - start < 6) value = value * 10 + static_cast<std::uint32_t>(*p_++ - '0');
        std::size_t digits = static_cast<std::size_t>(p_ - start);
        if (digits == 0 || digits > 5 || value > 65535 || (digits > 1 && *start == '0')) return false;
        if (p_ != end_ && (*p_ == '.' || *p_ == 'e' || *p_ == 'E' || (*p_ >= '0' && *p_ <= '9'))) return false;
        out.assign(start, p_);
        return true;
    }

    // A value under a key the signal does not keep: a string or a literal.
    // Numbers and nested values are left to the DOM decoder (rare, and it
    // checks their nesting and keys).
    bool skip_scalar(std::string& scratch) {
        skip_ws();
        if (p_ == end_) return false;
        if (*p_ == '"') return string(scratch);
        return take_word("true") || take_word("false") || take_word("null");
    }

    // An object whose values `on_key` reads; duplicate keys (which the DOM
    // decoder refuses) and more than eight keys give up.
    template <class OnKey>
    bool object(OnKey&& on_key) {
        if (!take('{')) return false;
        std::array<std::string, 8> seen;
        std::size_t count = 0;
        if (take('}')) return true;
        for (;;) {
            if (count == seen.size()) return false;
            std::string& key = seen[count];
            if (!string(key)) return false;
            for (std::size_t i = 0; i < count; ++i)
                if (seen[i] == key) return false;
            ++count;
            if (!take(':')) return false;
            if (!on_key(key)) return false;
            if (take(',')) continue;
            return take('}');
        }
    }

    bool null() { return take_word("null"); }
    bool peek_null() {
        skip_ws();
        return p_ != end_ && *p_ == 'n';
    }

private:
    static int hex(char c) {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    }
    bool hex4(std::uint32_t& v) {
        if (end_ - p_ < 4) return false;
        v = 0;
        for (int i = 0; i < 4; ++i) {
            int h = hex(p_[i]);
            if (h < 0) return false;
            v = v * 16 + static_cast<std::uint32_t>(h);
        }
        p_ += 4;
        return true;
    }
    static void put_utf8(std::string& out, std::uint32_t cp) {
        if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xC0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out += static_cast<char>(0xE0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
            out += static_cast<char>(0xF0 | (cp >> 18));
            out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        }
    }
    // At a backslash: appends what the escape stands for.
    bool escape(std::string& out) {
        ++p_;
        if (p_ == end_) return false;
        char c = *p_++;
        switch (c) {
        case '"': out += '"'; return true;
        case '\\': out += '\\'; return true;
        case '/': out += '/'; return true;
        case 'b': out += '\b'; return true;
        case 'f': out += '\f'; return true;
        case 'n': out += '\n'; return true;
        case 'r': out += '\r'; return true;
        case 't': out += '\t'; return true;
        case 'u': break;
        default: return false;
        }
        std::uint32_t cp;
        if (!hex4(cp)) return false;
        if (cp >= 0xDC00 && cp <= 0xDFFF) return false;  // a low surrogate first
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            std::uint32_t low;
            if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') return false;
            p_ += 2;
            if (!hex4(low) || low < 0xDC00 || low > 0xDFFF) return false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        }
        put_utf8(out, cp);
        return true;
    }
    // The length of the well-formed UTF-8 sequence at p_ (RFC 3629), or 0.
    std::size_t utf8_sequence() const {
        auto at = [this](std::size_t i) { return static_cast<unsigned char>(p_[i]); };
        auto cont = [&](std::size_t i, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
            return static_cast<std::size_t>(end_ - p_) > i && at(i) >= lo && at(i) <= hi;
        };
        unsigned char b = at(0);
        if (b >= 0xC2 && b <= 0xDF) return cont(1) ? 2 : 0;
        if (b == 0xE0) return cont(1, 0xA0) && cont(2) ? 3 : 0;
        if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) return cont(1) && cont(2) ? 3 : 0;
        if (b == 0xED) return cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0;
        if (b == 0xF0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
        if (b >= 0xF1 && b <= 0xF3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
        if (b == 0xF4) return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0;
        return 0;
    }

    const char* p_;
    const char* end_;
};

// Appends `s` as a JSON string the way nlohmann's serializer writes it
// (ensure_ascii off): quotes, backslashes and C0 controls escaped, with the
// short forms where JSON has them and lower-case \u00xx otherwise.
void put_string(std::string& out, std::string_view s) {
    static constexpr char digits[] = "0123456789abcdef";
    out += '"';
    std::size_t run = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        out.append(s.data() + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            out += "\\u00";
            out += digits[c >> 4];
            out += digits[c & 15];
        }
    }
    out.append(s.data() + run, s.size() - run);
    out += '"';
}

// An optional string-or-null member: absent, null, or a string.
struct maybe_string {
    bool present = false;
    bool is_null = false;
    std::string value;

    bool read(cursor& in) {
        present = true;
        if (in.peek_null()) return is_null = in.null();
        return in.string(value);
    }
    void put(std::string& out, std::string_view key) const {
        if (!present) return;
        out += ",\"";
        out += key;
        out += "\":";
        if (is_null) out += "null";
        else put_string(out, value);
    }
};

bool description(cursor& in, signal& s, std::string& scratch) {
    std::string type, sdp;
    bool has_type = false, has_sdp = false;
    if (!in.object([&](const std::string& key) {
            if (key == "type") return has_type = in.string(type);
            if (key == "sdp") return has_sdp = in.string(sdp);
            return in.skip_scalar(scratch);
        }))
        return false;
    if (!has_type || (type != "offer" && type != "answer" && type != "pranswer" && type != "rollback")) return false;
    if (!has_sdp && type != "rollback") return false;
    s.data.reserve(sdp.size() + sdp.size() / 16 + 48);
    s.data = R"({"description":{)";
    if (has_sdp) {
        s.data += R"("sdp":)";
        put_string(s.data, sdp);
        s.data += ',';
    }
    s.data += R"("type":")";
    s.data += type;
    s.data += "\"}}";
    return true;
}

bool candidate(cursor& in, signal& s, std::string& scratch) {
    std::string line, index;
    bool has_line = false;
    maybe_string mid, ufrag;
    if (!in.object([&](const std::string& key) {
            if (key == "candidate") return has_line = in.string(line);
            if (key == "sdpMid") return mid.read(in);
            if (key == "sdpMLineIndex") return in.line_index(index);
            if (key == "usernameFragment") return ufrag.read(in);
            return in.skip_scalar(scratch);
        }))
        return false;
    if (!has_line) return false;
    // The members in nlohmann's (sorted) order, as the DOM decoder writes them.
    s.data.reserve(line.size() + mid.value.size() + ufrag.value.size() + 96);
    s.data = R"({"candidate":{"candidate":)";
    put_string(s.data, line);
    if (!index.empty()) {
        s.data += R"(,"sdpMLineIndex":)";
        s.data += index;
    }
    mid.put(s.data, "sdpMid");
    ufrag.put(s.data, "usernameFragment");
    s.data += "}}";
    s.is_candidate = true;
    s.candidate = classify_candidate(line);
    return true;
}

}  // namespace

std::optional<signal> scan_signal(std::string_view text) {
    cursor in(text);
    signal s;
    std::string scratch;
    bool is_signal = false, has_data = false;
    bool ok = in.object([&](const std::string& key) {
        if (key == "type") return in.string(scratch) && (is_signal = scratch == "signal");
        if (key != "data") return in.skip_scalar(scratch);
        // data: an object with exactly one of description or candidate.
        has_data = true;
        int shapes = 0;
        return in.object([&](const std::string& k) {
            if (k == "description") return ++shapes == 1 && description(in, s, scratch);
            if (k == "candidate") return ++shapes == 1 && candidate(in, s, scratch);
            return in.skip_scalar(scratch);
        }) && shapes == 1;
    });
    if (!ok || !is_signal || !has_data || !in.at_end()) return std::nullopt;
    return s;
}

}  // namespace serendip::protocol
