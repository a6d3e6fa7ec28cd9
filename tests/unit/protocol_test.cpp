#include "serendip/protocol.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace serendip;
using namespace serendip::protocol;
using nlohmann::json;

namespace {

struct error_case {
    std::string input;
    error_code code;
    std::string ref;
};

protocol::message decode_ok(std::string_view text) {
    auto r = decode(text);
    if (auto* e = std::get_if<decode_error>(&r)) ADD_FAILURE() << text << " -> " << name(e->code) << ": " << e->message;
    return std::get<protocol::message>(r);
}

}  // namespace

TEST(protocol_decode_test, refuses_bad_input_with_the_right_code) {
    std::string deep(100'000, '[');
    std::string deep_object;
    for (int i = 0; i < 20; ++i) deep_object += R"({"a":)";
    deep_object += "1" + std::string(20, '}');
    std::string big_sdp(70'000, 'x');

    std::vector<error_case> cases = {
        {"", error_code::bad_json, ""},
        {"{", error_code::bad_json, ""},
        {"{\"type\":\"join\",}", error_code::bad_json, ""},
        {"nul", error_code::bad_json, ""},
        {"{\"type\":\"join\"} trailing", error_code::bad_json, ""},
        {"\xff\xfe", error_code::bad_json, ""},
        {"{\"type\":\"\xc3\x28\"}", error_code::bad_json, ""},  // invalid UTF-8 inside a string
        {deep, error_code::bad_json, ""},
        {deep_object, error_code::bad_json, ""},
        {R"({"type":"join","type":"next"})", error_code::bad_json, ""},  // duplicate keys
        {R"({"type":"signal","data":{"candidate":{"candidate":"a","candidate":"b"}}})", error_code::bad_json, ""},
        {"[]", error_code::bad_message, ""},
        {"42", error_code::bad_message, ""},
        {"\"join\"", error_code::bad_message, ""},
        {"{}", error_code::bad_message, ""},
        {R"({"type":7})", error_code::bad_message, ""},
        {R"({"type":null})", error_code::bad_message, ""},
        {R"({"type":"dance"})", error_code::unknown_type, "dance"},
        {R"({"type":"JOIN","mode":"video"})", error_code::unknown_type, "JOIN"},
        {R"({"type":"join"})", error_code::bad_message, "join"},
        {R"({"type":"join","mode":"audio"})", error_code::bad_message, "join"},
        {R"({"type":"join","mode":1})", error_code::bad_message, "join"},
        {R"({"type":"join","mode":"video","interests":"music"})", error_code::bad_message, "join"},
        {R"({"type":"join","mode":"video","interests":[1]})", error_code::bad_message, "join"},
        {R"({"type":"join","mode":"video","interests":["a","b","c","d","e","f"]})", error_code::bad_message, "join"},
        {R"({"type":"join","mode":"video","interests":["   "]})", error_code::bad_message, "join"},
        {R"({"type":"join","mode":"video","interests":["abcdefghijabcdefghijabcdefghijabc"]})", error_code::bad_message, "join"},
        {R"({"type":"join","mode":"video","interests":["a\u0007b"]})", error_code::bad_message, "join"},
        {R"({"type":"join","mode":"video","interests":["a\u0085b"]})", error_code::bad_message, "join"},
        {R"({"type":"join","mode":"video","fallback":"yes"})", error_code::bad_message, "join"},
        // A number no double can hold is not JSON we accept, wherever it is.
        {R"({"type":"join","mode":"video","fallback":1e999})", error_code::bad_json, ""},
        {R"({"type":"next","n":-1e999})", error_code::bad_json, ""},
        {R"({"type":"signal"})", error_code::bad_message, "signal"},
        {R"({"type":"signal","data":"offer"})", error_code::bad_message, "signal"},
        {R"({"type":"signal","data":{}})", error_code::bad_message, "signal"},
        {R"({"type":"signal","data":{"description":{"type":"offer","sdp":"x"},"candidate":{"candidate":""}}})", error_code::bad_message, "signal"},
        {R"({"type":"signal","data":{"description":{"type":"hello","sdp":"x"}}})", error_code::bad_message, "signal"},
        {R"({"type":"signal","data":{"description":{"type":"offer"}}})", error_code::bad_message, "signal"},
        {R"({"type":"signal","data":{"description":{"type":"offer","sdp":5}}})", error_code::bad_message, "signal"},
        {R"({"type":"signal","data":{"description":"offer"}})", error_code::bad_message, "signal"},
        {R"({"type":"signal","data":{"candidate":{}}})", error_code::bad_message, "signal"},
        {R"({"type":"signal","data":{"candidate":{"candidate":1}}})", error_code::bad_message, "signal"},
        {R"({"type":"signal","data":{"candidate":{"candidate":"c","sdpMid":0}}})", error_code::bad_message, "signal"},
        {R"({"type":"signal","data":{"candidate":{"candidate":"c","sdpMLineIndex":-1}}})", error_code::bad_message, "signal"},
        {R"({"type":"signal","data":{"candidate":{"candidate":"c","sdpMLineIndex":1.5}}})", error_code::bad_message, "signal"},
        {R"({"type":"signal","data":{"candidate":{"candidate":"c","sdpMLineIndex":1e999}}})", error_code::bad_json, ""},
        {R"({"type":"signal","data":{"candidate":{"candidate":"c","sdpMLineIndex":1e300}}})", error_code::bad_message, "signal"},
        {R"({"type":"signal","data":{"candidate":{"candidate":"c","sdpMLineIndex":18446744073709551615}}})", error_code::bad_message, "signal"},
        {R"({"type":"signal","data":{"candidate":{"candidate":"c","sdpMLineIndex":99999999999999999999999}}})", error_code::bad_message, "signal"},
        {R"({"type":"signal","data":{"candidate":{"candidate":"c","usernameFragment":false}}})", error_code::bad_message, "signal"},
        {R"({"type":"report"})", error_code::bad_message, "report"},
        {R"({"type":"report","reason":"rude"})", error_code::bad_message, "report"},
        {R"({"type":"face"})", error_code::bad_message, "face"},
        {R"({"type":"face","present":"yes"})", error_code::bad_message, "face"},
    };
    for (const auto& c : cases) {
        auto r = decode(c.input);
        ASSERT_TRUE(std::holds_alternative<decode_error>(r)) << c.input.substr(0, 120);
        auto& e = std::get<decode_error>(r);
        EXPECT_EQ(name(e.code), name(c.code)) << c.input.substr(0, 120);
        EXPECT_EQ(e.ref, c.ref) << c.input.substr(0, 120);
        EXPECT_FALSE(e.message.empty());
    }
    (void)big_sdp;
}

TEST(protocol_decode_test, join_is_normalised) {
    auto m = decode_ok(R"({"type":"join","mode":"text","interests":["  Music ","music","Chess","ÜBER"],"fallback":false,"extra":1})");
    auto& j = std::get<join>(m);
    EXPECT_EQ(j.mode, mode::text);
    EXPECT_EQ(j.interests, (std::vector<std::string>{"music", "chess", "Über"}))
        << "trimmed, ASCII lower-cased, duplicates dropped, order kept";
    EXPECT_FALSE(j.fallback);
    EXPECT_FALSE(j.relay_only);

    auto d = std::get<join>(decode_ok(R"({"type":"join","mode":"video"})"));
    EXPECT_TRUE(d.fallback);
    EXPECT_TRUE(d.interests.empty());
    // 32 characters, counted in code points, not bytes.
    auto cjk = std::get<join>(decode_ok(R"({"type":"join","mode":"video","interests":["日本語日本語日本語日本語日本語日本語日本語日本語日本語日本語日本"]})"));
    EXPECT_EQ(cjk.interests.size(), 1u);
    EXPECT_TRUE(std::get<join>(decode_ok(R"({"type":"join","mode":"video","relayOnly":true})")).relay_only);
}

TEST(protocol_decode_test, simple_messages_and_unknown_fields) {
    EXPECT_TRUE(std::holds_alternative<next>(decode_ok(R"({"type":"next","whatever":[1,2]})")));
    EXPECT_TRUE(std::holds_alternative<leave>(decode_ok(R"({"type":"leave"})")));
    EXPECT_EQ(std::get<report>(decode_ok(R"({"type":"report","reason":"underage"})")).reason, report_reason::underage);
    EXPECT_TRUE(std::get<face>(decode_ok(R"({"type":"face","present":true})")).present);
    // Whitespace around is fine.
    EXPECT_TRUE(std::holds_alternative<next>(decode_ok(" \n\t{\"type\" : \"next\"} \n")));
}

TEST(protocol_decode_test, signal_is_reencoded_from_validated_fields) {
    auto offer = std::get<protocol::signal>(decode_ok(
        R"({"type":"signal","to":"someone-else","data":{"description":{"type":"offer","sdp":"v=0\r\n","evil":"<script>"},"from":"x"}})"));
    EXPECT_FALSE(offer.is_candidate);
    EXPECT_EQ(json::parse(offer.data), json::parse(R"({"description":{"type":"offer","sdp":"v=0\r\n"}})"));

    auto rollback = std::get<protocol::signal>(decode_ok(R"({"type":"signal","data":{"description":{"type":"rollback"}}})"));
    EXPECT_EQ(json::parse(rollback.data), json::parse(R"({"description":{"type":"rollback"}})"));

    auto cand = std::get<protocol::signal>(decode_ok(
        R"({"type":"signal","data":{"candidate":{"candidate":"candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"abcd","port":1}}})"));
    EXPECT_TRUE(cand.is_candidate);
    EXPECT_EQ(json::parse(cand.data),
              json::parse(R"({"candidate":{"candidate":"candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"abcd"}})"));

    // Nulls stay nulls, absent fields stay absent: nothing is added.
    auto end = std::get<protocol::signal>(decode_ok(R"({"type":"signal","data":{"candidate":{"candidate":"","sdpMid":null}}})"));
    EXPECT_EQ(json::parse(end.data), json::parse(R"({"candidate":{"candidate":"","sdpMid":null}})"));
}

TEST(protocol_encode_test, server_frames_have_every_field) {
    auto w = json::parse(encode_welcome("abc", "tok", 3, {65536, 20, 60}, "[]"));
    EXPECT_EQ(w["type"], "welcome");
    EXPECT_EQ(w["v"], 1);
    EXPECT_EQ(w["session"], "abc");
    EXPECT_EQ(w["resume"], "tok");
    EXPECT_EQ(w["online"], 3);
    EXPECT_EQ(w["limits"]["maxMessage"], 65536);
    EXPECT_EQ(w["limits"]["ratePerSec"], 20);
    EXPECT_EQ(w["limits"]["burst"], 60);
    EXPECT_TRUE(w["limits"]["burst"].is_number_integer()) << "whole numbers are sent as integers";
    EXPECT_EQ(json::parse(encode_welcome("a", "t", 1, {65536, 2.5, 60}, "[]"))["limits"]["ratePerSec"], 2.5);
    EXPECT_TRUE(w["iceServers"].is_array());

    auto ice = encode_ice_servers({{{"stun:stun.example:3478"}, {}, {}}, {{"turn:t.example:3478"}, "1:x", "c=="}});
    auto m = json::parse(encode_matched(role::offerer, {"music"}, ice));
    EXPECT_EQ(m, json::parse(R"({"type":"matched","role":"offerer","common":["music"],"iceServers":[{"urls":["stun:stun.example:3478"]},{"urls":["turn:t.example:3478"],"username":"1:x","credential":"c=="}]})"));

    EXPECT_EQ(json::parse(encode_queued(mode::text, {"a"})), json::parse(R"({"type":"queued","mode":"text","interests":["a"]})"));
    EXPECT_EQ(json::parse(encode_online(7)), json::parse(R"({"type":"online","count":7})"));
    EXPECT_EQ(json::parse(encode_peer_left(leave_reason::timeout)), json::parse(R"({"type":"peer_left","reason":"timeout"})"));
    EXPECT_EQ(json::parse(encode_signal(R"({"candidate":{"candidate":""}})")),
              json::parse(R"({"type":"signal","data":{"candidate":{"candidate":""}}})"));
    auto e = json::parse(encode_error(error_code::not_paired, "no partner", "signal"));
    EXPECT_EQ(e["code"], "not_paired");
    EXPECT_EQ(e["ref"], "signal");
    EXPECT_FALSE(json::parse(encode_error(error_code::bad_json, "x")).contains("ref"));
    EXPECT_EQ(json::parse(encode_banned(1700000000, "reports")), json::parse(R"({"type":"banned","until":1700000000,"reason":"reports"})"));
}

TEST(protocol_encode_test, never_emits_invalid_utf8) {
    // An unknown type echoed back as ref is cut at 32 bytes, maybe mid-character.
    auto r = decode(R"({"type":"aééééééééééééééééééééé"})");
    auto& e = std::get<decode_error>(r);
    auto frame = encode_error(e.code, e.message, e.ref);
    EXPECT_FALSE(json::parse(frame, nullptr, false).is_discarded());
}
