// libFuzzer target: the server's WebSocket frame reader
// (src/websocket_codec.cpp), differential against Beast's WebSocket stream
// in the server role, which the server used before. The input is the bytes
// a client sends after the upgrade. The first byte chooses how the reader
// gets them (all at once, or in pieces of 1, 2, 3, 7 or 64 bytes); the
// message limit is 1,024 bytes. Both must see the same thing:
//  - the same text messages, in order, and the same pings and pongs;
//  - the same end: the client's close frame with the same code and reason,
//    a violation with the close code Beast's error stands for (1002 for
//    framing, 1007 for invalid UTF-8, in a message or a close reason, 1009
//    for a message over the limit), or the bytes running out.
// Reading stops at a binary frame (the server closes 1003 there; Beast would
// read it on). Where Beast 1.81 errs (a message ending in an empty fragment
// is not checked for a character cut short), the reader must close 1007.
// Beast 1.81 also refuses close code 1014, which IANA has since registered
// ("Bad Gateway"); the reader accepts it.

#include "serendip/websocket_codec.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/beast/_experimental/test/stream.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/detail/utf8_checker.hpp>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace ws = serendip::ws;

#define CHECK(cond)                                                                          \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            std::fprintf(stderr, "invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
            std::abort();                                                                    \
        }                                                                                    \
    } while (0)

namespace {

constexpr std::size_t max_message = 1024;

struct verdict {
    std::vector<std::string> seen;  // "t:" text, "i:" ping, "o:" pong, in order
    enum class end { ran_out, close, violation, binary } how = end::ran_out;
    std::uint16_t code = 0;
    std::string reason;
    bool refused_close_code = false;  // Beast: bad_close_code
};

// The code in the first close frame, found by walking the frame headers
// (only asked where both readers accepted every frame before it).
std::optional<std::uint16_t> first_close_code(const std::string& b) {
    std::size_t at = 0;
    auto byte = [&](std::size_t i) { return static_cast<unsigned char>(b[i]); };
    while (at + 2 <= b.size()) {
        unsigned op = byte(at) & 0x0F;
        std::uint64_t len = byte(at + 1) & 0x7F;
        std::size_t head = 2;
        if (len == 126 || len == 127) {
            std::size_t n = len == 126 ? 2 : 8;
            if (at + 2 + n > b.size()) return std::nullopt;
            len = 0;
            for (std::size_t i = 0; i < n; ++i) len = len << 8 | byte(at + 2 + i);
            head += n;
        }
        bool masked = (byte(at + 1) & 0x80) != 0;
        std::size_t mask_at = at + head;
        head += masked ? 4 : 0;
        if (len > b.size() || at + head + len > b.size()) return std::nullopt;
        if (op == 0x8 && len >= 2) {
            auto m = [&](std::size_t i) { return masked ? byte(mask_at + i) : 0; };
            return static_cast<std::uint16_t>((byte(at + head) ^ m(0)) << 8 | (byte(at + head + 1) ^ m(1)));
        }
        at += head + static_cast<std::size_t>(len);
    }
    return std::nullopt;
}

verdict ours(std::string bytes, std::size_t piece) {
    verdict v;
    ws::frame_reader reader(max_message);
    std::size_t at = 0;
    while (at < bytes.size() && !reader.done()) {
        std::size_t n = piece == 0 ? bytes.size() - at : std::min(piece, bytes.size() - at);
        ws::frame_reader::input in{bytes.data() + at, n};
        at += n;
        while (auto e = reader.next(in)) {
            switch (e->what) {
            case ws::event::kind::text: v.seen.push_back("t:" + std::string(e->payload)); break;
            case ws::event::kind::ping: v.seen.push_back("i:" + std::string(e->payload)); break;
            case ws::event::kind::pong: v.seen.push_back("o:" + std::string(e->payload)); break;
            case ws::event::kind::binary: v.how = verdict::end::binary; break;
            case ws::event::kind::close:
                v.how = verdict::end::close;
                v.code = e->code;
                v.reason = std::string(e->payload);
                break;
            case ws::event::kind::violation:
                v.how = verdict::end::violation;
                v.code = e->code;
                v.reason = std::string(e->payload);
                break;
            }
        }
        CHECK(in.size == 0 || reader.done());
    }
    return v;
}

verdict beasts(const std::string& bytes) {
    verdict v;
    boost::asio::io_context ioc;
    websocket::stream<beast::test::stream> s(ioc);
    beast::test::stream client(ioc);
    s.next_layer().connect(client);
    s.read_message_max(max_message);
    beast::http::request<beast::http::empty_body> req{beast::http::verb::get, "/ws", 11};
    req.set(beast::http::field::host, "fuzz");
    req.set(beast::http::field::upgrade, "websocket");
    req.set(beast::http::field::connection, "upgrade");
    req.set(beast::http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
    req.set(beast::http::field::sec_websocket_version, "13");
    beast::error_code ec;
    s.accept(req, ec);
    CHECK(!ec);
    s.control_callback([&](websocket::frame_type kind, beast::string_view payload) {
        if (kind == websocket::frame_type::ping) v.seen.push_back("i:" + std::string(payload));
        if (kind == websocket::frame_type::pong) v.seen.push_back("o:" + std::string(payload));
    });
    s.next_layer().append(bytes);
    s.next_layer().close_remote();
    for (;;) {
        beast::flat_buffer buffer;
        s.read(buffer, ec);
        if (ec) break;
        if (s.got_binary()) {
            v.how = verdict::end::binary;
            return v;
        }
        v.seen.push_back("t:" + beast::buffers_to_string(buffer.data()));
    }
    if (ec == websocket::error::closed) {
        v.how = verdict::end::close;
        // Beast says "none" (0) for a close frame without a code; RFC 6455 names that 1005.
        v.code = s.reason().code == websocket::close_code::none ? ws::close_code::no_status : s.reason().code;
        v.reason = std::string(s.reason().reason.data(), s.reason().reason.size());
    } else if (ec == websocket::error::message_too_big) {
        v.how = verdict::end::violation;
        v.code = ws::close_code::too_big;
    } else if (ec == websocket::error::bad_frame_payload || ec == websocket::error::bad_close_payload) {
        v.how = verdict::end::violation;
        v.code = ws::close_code::invalid_payload;
    } else if (ec == websocket::condition::protocol_violation) {
        v.how = verdict::end::violation;
        v.code = ws::close_code::protocol_error;
        v.refused_close_code = ec == websocket::error::bad_close_code;
    }
    return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    static constexpr std::size_t pieces[] = {0, 1, 2, 3, 7, 64};
    std::size_t piece = pieces[data[0] % std::size(pieces)];
    std::string bytes(reinterpret_cast<const char*>(data + 1), size - 1);

    verdict mine = ours(bytes, piece);
    verdict theirs = beasts(bytes);
    if (std::getenv("FUZZ_WEBSOCKET_PRINT")) {  // to see a failure: both verdicts
        for (const verdict* v : {&mine, &theirs}) {
            std::fprintf(stderr, "%s: end %d code %d reason '%s'; seen", v == &mine ? "ours" : "beast",
                         static_cast<int>(v->how), v->code, v->reason.c_str());
            for (const auto& x : v->seen) std::fprintf(stderr, " [%s]", x.c_str());
            std::fprintf(stderr, "\n");
        }
    }
    // Beast reads on past a binary frame; ours stops at its header. Compare
    // what came before it.
    if (mine.how == verdict::end::binary) {
        CHECK(theirs.seen.size() >= mine.seen.size());
        CHECK(std::equal(mine.seen.begin(), mine.seen.end(), theirs.seen.begin()));
        return 0;
    }
    // Beast 1.81 delivers a message whose last fragment is empty without
    // checking that its UTF-8 ended whole; the reader closes 1007 there.
    for (std::size_t i = 0; i < theirs.seen.size(); ++i) {
        const std::string& x = theirs.seen[i];
        if (x.rfind("t:", 0) == 0 && !websocket::detail::check_utf8(x.data() + 2, x.size() - 2)) {
            CHECK(mine.seen.size() == i && std::equal(mine.seen.begin(), mine.seen.end(), theirs.seen.begin()));
            CHECK(mine.how == verdict::end::violation && mine.code == ws::close_code::invalid_payload);
            return 0;
        }
    }
    CHECK(mine.seen == theirs.seen);
    // Beast 1.81 takes 1014 for a reserved code; it is registered, so ours
    // reads that close frame on: its reason must still be UTF-8.
    if (theirs.refused_close_code && !(mine.how == verdict::end::violation && mine.code == theirs.code)) {
        CHECK(first_close_code(bytes) == 1014);
        CHECK((mine.how == verdict::end::close && mine.code == 1014) ||
              (mine.how == verdict::end::violation && mine.reason == "invalid UTF-8 in the close reason"));
        return 0;
    }
    CHECK(mine.how == theirs.how);
    if (mine.how == verdict::end::close || mine.how == verdict::end::violation) CHECK(mine.code == theirs.code);
    if (mine.how == verdict::end::close) CHECK(mine.reason == theirs.reason);
    return 0;
}
