// The one-pass signal scanner against the DOM decoder it stands in for:
// the shapes browsers send are taken by the scanner (the fast path is
// really used) and decode exactly as the DOM decoder decodes them; what the
// scanner leaves alone still decodes as before through protocol::decode.
#include "serendip/protocol.hpp"
#include "serendip/signal_scanner.hpp"

#include <gtest/gtest.h>

using namespace serendip::protocol;
namespace protocol = serendip::protocol;

namespace {

// Both decoders give the same verdict and the same bytes for `text`.
void expect_same(std::string_view text) {
    auto fast = decode(text);
    auto ref = decode_reference(text);
    ASSERT_EQ(fast.index(), ref.index()) << text;
    if (auto* e = std::get_if<decode_error>(&ref)) {
        auto& f = std::get<decode_error>(fast);
        EXPECT_EQ(f.code, e->code) << text;
        EXPECT_EQ(f.message, e->message) << text;
        EXPECT_EQ(f.ref, e->ref) << text;
        return;
    }
    auto& rm = std::get<message>(ref);
    auto& fm = std::get<message>(fast);
    ASSERT_EQ(fm.index(), rm.index()) << text;
    if (auto* rs = std::get_if<protocol::signal>(&rm)) {
        auto& fs = std::get<protocol::signal>(fm);
        EXPECT_EQ(fs.data, rs->data) << text;
        EXPECT_EQ(fs.is_candidate, rs->is_candidate) << text;
        EXPECT_EQ(fs.candidate, rs->candidate) << text;
    }
}

// The scanner takes `text`, and agrees with the DOM decoder.
void expect_scanned(std::string_view text) {
    auto s = scan_signal(text);
    EXPECT_TRUE(s.has_value()) << "the scanner left it to the DOM decoder: " << text;
    expect_same(text);
}

// The scanner leaves `text` to the DOM decoder, and decode still agrees.
void expect_left(std::string_view text) {
    EXPECT_FALSE(scan_signal(text).has_value()) << text;
    expect_same(text);
}

}  // namespace

TEST(signal_scanner_test, takes_what_browsers_send) {
    // Chromium's own offer, candidates and end-of-candidates, as the client sends them.
    expect_scanned(
        R"({"type":"signal","data":{"description":{"type":"offer","sdp":"v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\na=msid-semantic: WMS\r\n"}}})");
    expect_scanned(R"({"type":"signal","data":{"description":{"type":"answer","sdp":"v=0\r\n"}}})");
    expect_scanned(R"({"type":"signal","data":{"description":{"type":"pranswer","sdp":""}}})");
    expect_scanned(R"({"type":"signal","data":{"description":{"type":"rollback"}}})");
    expect_scanned(R"({"type":"signal","data":{"description":{"type":"rollback","sdp":""}}})");
    expect_scanned(
        R"({"type":"signal","data":{"candidate":{"candidate":"candidate:842163049 1 udp 1677729535 203.0.113.7 46154 typ srflx raddr 0.0.0.0 rport 0 generation 0 ufrag EsAw network-cost 999","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"EsAw"}}})");
    expect_scanned(R"({"type":"signal","data":{"candidate":{"candidate":"","sdpMid":null,"sdpMLineIndex":null,"usernameFragment":null}}})");
    expect_scanned(R"({"type":"signal","data":{"candidate":{"candidate":"candidate:1 1 udp 1 192.0.2.1 1 typ relay","sdpMLineIndex":65535}}})");
    // Order, white space, unknown scalar members (dropped), escapes, non-ASCII.
    expect_scanned(" \n{ \"data\" : { \"candidate\" : { \"sdpMid\" : \"a\\/b\" , \"candidate\" : \"x\" } } , \"type\" : \"signal\" } \r\n");
    expect_scanned(R"({"type":"signal","v":"1","extra":"x","flag":true,"data":{"n":null,"description":{"sdp":"\u00e9\ud83d\ude00\"\\\b\f\t\u0001\u001f\u007f","type":"offer","x":false}}})");
    expect_scanned("{\"type\":\"signal\",\"data\":{\"description\":{\"type\":\"offer\",\"sdp\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \x7f\"}}}");
    expect_scanned(R"({"\u0074ype":"signal","data":{"candidate":{"candidate":"c","sdpMLineIndex":7}}})");
}

TEST(signal_scanner_test, leaves_errors_and_other_types_to_the_dom_decoder) {
    for (std::string_view text : {
             "", "{", "[]", "null", R"({"type":"join","mode":"video"})", R"({"type":"next"})",
             R"({"type":"signal"})", R"({"type":"signal","data":"x"})", R"({"type":"signal","data":{}})",
             R"({"type":"signal","data":{"description":{"type":"offer","sdp":"a"},"candidate":{"candidate":""}}})",
             R"({"type":"signal","data":{"description":{"type":"offer"}}})",
             R"({"type":"signal","data":{"description":{"type":"bogus","sdp":""}}})",
             R"({"type":"signal","data":{"description":{"type":"offer","sdp":null}}})",
             R"({"type":"signal","data":{"description":{"type":"offer","sdp":1}}})",
             R"({"type":"signal","data":{"candidate":{}}})",
             R"({"type":"signal","data":{"candidate":{"candidate":1}}})",
             R"({"type":"signal","data":{"candidate":{"candidate":"","sdpMid":2}}})",
             R"({"type":"signal","data":{"candidate":{"candidate":"","sdpMLineIndex":65536}}})",
             R"({"type":"signal","data":{"candidate":{"candidate":"","sdpMLineIndex":-1}}})",
             R"({"type":"signal","data":{"candidate":{"candidate":"","sdpMLineIndex":1.0}}})",
             R"({"type":"signal","data":{"candidate":{"candidate":"","sdpMLineIndex":1e2}}})",
             R"({"type":"signal","data":{"candidate":{"candidate":"","sdpMLineIndex":01}}})",
             R"({"type":"signal","data":{"candidate":{"candidate":"","usernameFragment":[]}}})",
             // Duplicate keys at each level (the DOM decoder refuses them).
             R"({"type":"signal","type":"signal","data":{"candidate":{"candidate":""}}})",
             R"({"type":"signal","data":{"candidate":{"candidate":"","candidate":""}}})",
             R"({"type":"signal","\u0074ype":"signal","data":{"candidate":{"candidate":""}}})",
             // Nested values under unknown keys, numbers under unknown keys.
             R"({"type":"signal","x":{"a":1,"a":2},"data":{"candidate":{"candidate":""}}})",
             R"({"type":"signal","x":[1],"data":{"candidate":{"candidate":""}}})",
             R"({"type":"signal","x":12,"data":{"candidate":{"candidate":""}}})",
             // Bad strings: a lone surrogate, raw control characters, bad UTF-8, a bad escape.
             R"({"type":"signal","data":{"candidate":{"candidate":"\ud800"}}})",
             R"({"type":"signal","data":{"candidate":{"candidate":"\udc00"}}})",
             "{\"type\":\"signal\",\"data\":{\"candidate\":{\"candidate\":\"a\nb\"}}}",
             "{\"type\":\"signal\",\"data\":{\"candidate\":{\"candidate\":\"\xc0\x80\"}}}",
             "{\"type\":\"signal\",\"data\":{\"candidate\":{\"candidate\":\"\xed\xa0\x80\"}}}",
             R"({"type":"signal","data":{"candidate":{"candidate":"\x"}}})",
             // Trailing text, a BOM, a truncated message.
             R"({"type":"signal","data":{"candidate":{"candidate":""}}} x)",
             "\xef\xbb\xbf{\"type\":\"signal\",\"data\":{\"candidate\":{\"candidate\":\"\"}}}",
             R"({"type":"signal","data":{"candidate":{"candidate":""}})",
         })
        expect_left(text);
}
