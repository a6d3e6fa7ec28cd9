// libFuzzer target: the protocol codec (src/protocol.cpp). Any text a client
// can send goes through protocol::decode; besides not crashing (ASan, UBSan,
// no uncaught exception), every result must keep these promises:
//  - an error is bad_json, bad_message or unknown_type, with a short ref and
//    an `error` frame that is valid JSON;
//  - accepted text is valid JSON to an ordinary parser too, and its `type`
//    is the decoded message's;
//  - a decoded message re-encodes to JSON that decodes to the same message
//    (join through encode_join; signal data is a fixed point of decoding);
//  - interests come out normalised: 0 to 5, trimmed, lower case, 1 to 32
//    code points, no control characters, no duplicates.

#include "serendip/protocol.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace protocol = serendip::protocol;
using json = nlohmann::json;

#define CHECK(cond)                                                                \
    do {                                                                           \
        if (!(cond)) {                                                             \
            std::fprintf(stderr, "fuzz_protocol: invariant failed: %s (line %d)\n", #cond, __LINE__); \
            std::abort();                                                          \
        }                                                                          \
    } while (0)

namespace {

json parse(std::string_view text) { return json::parse(text.begin(), text.end(), nullptr, false); }

void check_interests(const std::vector<std::string>& interests) {
    CHECK(interests.size() <= protocol::max_interests);
    for (std::size_t i = 0; i < interests.size(); ++i) {
        const auto& s = interests[i];
        CHECK(!s.empty());
        CHECK(s.find_first_of(" \t\r\n") != 0 && s.find_last_of(" \t\r\n") != s.size() - 1);
        CHECK(std::none_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; }));
        CHECK(std::none_of(s.begin(), s.end(), [](char c) {
            auto u = static_cast<unsigned char>(c);
            return u < 0x20 || u == 0x7F;
        }));
        auto points = std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
        CHECK(points >= 1 && static_cast<std::size_t>(points) <= protocol::max_interest_chars);
        CHECK(std::count(interests.begin(), interests.end(), s) == 1);
    }
    // Normalising again changes nothing.
    auto again = protocol::normalise_interests(interests);
    CHECK(again && *again == interests);
}

void check_message(std::string_view text, protocol::message& m) {
    // What we accept, an ordinary parser accepts too (ours is only stricter).
    auto doc = parse(text);
    CHECK(!doc.is_discarded() && doc.is_object());
    CHECK(doc.contains("type") && doc["type"].is_string());
    CHECK(doc["type"].get<std::string>() == protocol::name(protocol::type_of(m)));

    if (auto* j = std::get_if<protocol::join>(&m)) {
        check_interests(j->interests);
        auto again = protocol::decode(protocol::encode_join(j->mode, j->interests, j->fallback));
        auto* back = std::get_if<protocol::message>(&again);
        CHECK(back);
        auto* j2 = std::get_if<protocol::join>(back);
        CHECK(j2 && j2->mode == j->mode && j2->interests == j->interests && j2->fallback == j->fallback);
        CHECK(!parse(protocol::encode_queued(j->mode, j->interests)).is_discarded());
    } else if (auto* s = std::get_if<protocol::signal>(&m)) {
        auto data = parse(s->data);
        CHECK(!data.is_discarded() && data.is_object() && data.size() == 1);
        CHECK(data.contains("candidate") == s->is_candidate);
        CHECK(data.contains("description") != s->is_candidate);
        // The frame the partner gets is valid JSON carrying exactly this data.
        auto frame = parse(protocol::encode_signal(s->data));
        CHECK(!frame.is_discarded() && frame["type"] == "signal" && frame["data"] == data);
        // Re-encoded data is a fixed point: decoding it again changes nothing.
        auto again = protocol::decode(R"({"type":"signal","data":)" + s->data + "}");
        auto* back = std::get_if<protocol::message>(&again);
        CHECK(back);
        auto* s2 = std::get_if<protocol::signal>(back);
        CHECK(s2 && s2->data == s->data && s2->is_candidate == s->is_candidate);
    } else if (auto* r = std::get_if<protocol::report>(&m)) {
        auto again = protocol::decode(R"({"type":"report","reason":")" + std::string(protocol::name(r->reason)) + "\"}");
        auto* back = std::get_if<protocol::message>(&again);
        CHECK(back && std::get_if<protocol::report>(back) && std::get<protocol::report>(*back).reason == r->reason);
    } else if (auto* f = std::get_if<protocol::face>(&m)) {
        CHECK(doc["present"].is_boolean() && doc["present"].get<bool>() == f->present);
    }
}

void check_error(const protocol::decode_error& e) {
    using protocol::error_code;
    CHECK(e.code == error_code::bad_json || e.code == error_code::bad_message || e.code == error_code::unknown_type);
    CHECK(!e.message.empty());
    CHECK(e.ref.size() <= 32);
    // The `error` frame is valid JSON whatever the ref holds (a cut UTF-8 sequence included).
    auto frame = parse(protocol::encode_error(e.code, e.message, e.ref));
    CHECK(!frame.is_discarded() && frame["type"] == "error" && frame["code"] == protocol::name(e.code));
    CHECK(frame.contains("ref") == !e.ref.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto result = protocol::decode(text);
    if (auto* e = std::get_if<protocol::decode_error>(&result)) check_error(*e);
    else check_message(text, std::get<protocol::message>(result));
    return 0;
}
