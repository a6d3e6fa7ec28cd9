// libFuzzer target: the one-pass signal scanner (src/signal_scanner.cpp)
// against the DOM decoder it stands in for. For every input:
//  - protocol::decode (scanner first) and protocol::decode_reference (the
//    DOM decoder alone) give the same verdict: the same error code, message
//    and ref, or the same message with the same fields;
//  - whenever the scanner takes the input, the DOM decoder decodes a signal
//    from it with exactly the same re-encoded bytes and candidate type.

#include "serendip/protocol.hpp"
#include "serendip/signal_scanner.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace protocol = serendip::protocol;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            std::fprintf(stderr, "fuzz_signal: invariant failed: %s (line %d)\n", #cond, __LINE__); \
            std::abort();                                                                          \
        }                                                                                          \
    } while (0)

namespace {

bool same_signal(const protocol::signal& a, const protocol::signal& b) {
    return a.data == b.data && a.is_candidate == b.is_candidate && a.candidate == b.candidate;
}

bool same_message(const protocol::message& a, const protocol::message& b) {
    if (a.index() != b.index()) return false;
    if (auto* s = std::get_if<protocol::signal>(&a)) return same_signal(*s, std::get<protocol::signal>(b));
    if (auto* j = std::get_if<protocol::join>(&a)) {
        auto& k = std::get<protocol::join>(b);
        return j->mode == k.mode && j->interests == k.interests && j->fallback == k.fallback && j->relay_only == k.relay_only;
    }
    if (auto* r = std::get_if<protocol::report>(&a)) return r->reason == std::get<protocol::report>(b).reason;
    if (auto* f = std::get_if<protocol::face>(&a)) return f->present == std::get<protocol::face>(b).present;
    return true;  // next, leave: no fields
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto scanned = protocol::scan_signal(text);
    auto reference = protocol::decode_reference(text);
    if (scanned) {
        auto* m = std::get_if<protocol::message>(&reference);
        CHECK(m);
        auto* s = std::get_if<protocol::signal>(m);
        CHECK(s);
        CHECK(same_signal(*scanned, *s));
    }
    auto decoded = protocol::decode(text);
    CHECK(decoded.index() == reference.index());
    if (auto* e = std::get_if<protocol::decode_error>(&reference)) {
        auto& d = std::get<protocol::decode_error>(decoded);
        CHECK(d.code == e->code && d.message == e->message && d.ref == e->ref);
    } else {
        CHECK(same_message(std::get<protocol::message>(decoded), std::get<protocol::message>(reference)));
    }
    return 0;
}
