// "Hide my IP": which signals of a relay-only client may reach its partner.

#include "serendip/protocol.hpp"

#include <gtest/gtest.h>

using namespace serendip::protocol;
namespace protocol = serendip::protocol;

namespace {

protocol::signal decode_signal(const std::string& candidate_json) {
    auto r = decode(R"({"type":"signal","data":)" + candidate_json + "}");
    return std::get<protocol::signal>(std::get<message>(r));
}

}  // namespace

TEST(turn_relay_test, candidate_types_as_browsers_write_them) {
    // Chrome and Firefox lines, addresses from the documentation ranges.
    EXPECT_EQ(classify_candidate("candidate:842163049 1 udp 1677729535 198.51.100.7 50432 typ srflx raddr 0.0.0.0 rport 0 "
                                 "generation 0 ufrag sK7d network-cost 999"),
              candidate_type::srflx);
    EXPECT_EQ(classify_candidate("candidate:1 1 udp 2122260223 192.0.2.10 54400 typ host generation 0"),
              candidate_type::host);
    EXPECT_EQ(classify_candidate("candidate:2 1 udp 2122260223 3f8a2b1c-7d4e-4f1a-9b2c-1d2e3f4a5b6c.local 54400 typ host"),
              candidate_type::host) << "an mDNS name is still a host candidate";
    EXPECT_EQ(classify_candidate("candidate:3 1 tcp 1518280447 192.0.2.10 9 typ host tcptype active"),
              candidate_type::host);
    EXPECT_EQ(classify_candidate("candidate:4 1 udp 1845501695 198.51.100.7 50433 typ prflx raddr 192.0.2.10 rport 54400"),
              candidate_type::prflx);
    EXPECT_EQ(classify_candidate("candidate:5 1 udp 41885439 203.0.113.5 49170 typ relay raddr 0.0.0.0 rport 0 generation 0"),
              candidate_type::relay);
    EXPECT_EQ(classify_candidate("candidate:6 1 UDP 8331263 203.0.113.5 49171 typ relay raddr 203.0.113.5 rport 49171"),
              candidate_type::relay) << "Firefox writes the transport in capitals";
    EXPECT_EQ(classify_candidate("candidate:7 1 udp 41885439 2001:db8::5 49170 typ relay"), candidate_type::relay);
    EXPECT_EQ(classify_candidate("a=candidate:5 1 udp 41885439 203.0.113.5 49170 typ relay"), candidate_type::relay)
        << "the SDP attribute form, which libwebrtc also accepts";
    EXPECT_EQ(classify_candidate(""), candidate_type::none) << "end-of-candidates";
}

TEST(turn_relay_test, typ_relay_elsewhere_does_not_count) {
    for (const char* line : {
             // The type is host; "relay" appears in the related address and an extension.
             "candidate:1 1 udp 2122260223 192.0.2.10 54400 typ host raddr relay rport 0",
             "candidate:1 1 udp 2122260223 192.0.2.10 54400 typ host generation 0 typ relay",
             "candidate:1 1 udp 2122260223 192.0.2.10 54400 typ srflx raddr 192.0.2.1 rport 1 x typ relay",
             // "typ relay" placed where the address or port belong: the fields shift, so it is not a candidate.
             "candidate:1 1 udp 2122260223 typ relay 192.0.2.10 54400 typ host",
             "candidate:typ relay 1 udp 2122260223 192.0.2.10 54400 typ host",
         })
        EXPECT_NE(classify_candidate(line), candidate_type::relay) << line;
}

TEST(turn_relay_test, malformed_or_odd_lines_are_unknown) {
    for (const char* line : {
             "candidate:5 1 udp 41885439 203.0.113.5 49170 typ RELAY",   // browsers parse it case-sensitively
             "candidate:5 1 udp 41885439 203.0.113.5 49170 TYP relay",
             "candidate:5 1 udp 41885439 203.0.113.5 49170 typ relay\r\n",  // not a type browsers know
             "candidate:5 1 udp 41885439 203.0.113.5 49170 typ  relay",  // doubled separator
             "candidate:5 1 udp 41885439 203.0.113.5 49170 typ\trelay",
             " candidate:5 1 udp 41885439 203.0.113.5 49170 typ relay",
             "candidate:5 1 udp 41885439 203.0.113.5 49170 typ",
             "candidate:5 1 udp 41885439 203.0.113.5 49170",
             "candidate:5 1 udp 41885439 203.0.113.5 49170 typ relayed",
             "candidate: 1 udp 41885439 203.0.113.5 49170 typ relay",
             "5 1 udp 41885439 203.0.113.5 49170 typ relay",
             "typ relay",
             "relay",
             "candidate:",
         })
        EXPECT_EQ(classify_candidate(line), candidate_type::unknown) << line;
}

TEST(turn_relay_test, what_a_relay_only_client_may_send) {
    auto relay = decode_signal(
        R"({"candidate":{"candidate":"candidate:5 1 udp 41885439 203.0.113.5 49170 typ relay raddr 0.0.0.0 rport 0","sdpMid":"0","sdpMLineIndex":0}})");
    EXPECT_EQ(relay.candidate, candidate_type::relay);
    EXPECT_TRUE(relay_only_allows(relay));

    auto host = decode_signal(R"({"candidate":{"candidate":"candidate:1 1 udp 2122260223 192.0.2.10 54400 typ host","sdpMid":"0"}})");
    EXPECT_EQ(host.candidate, candidate_type::host);
    EXPECT_FALSE(relay_only_allows(host));

    auto srflx = decode_signal(
        R"({"candidate":{"candidate":"candidate:2 1 udp 1677729535 198.51.100.7 50432 typ srflx raddr 0.0.0.0 rport 0","sdpMid":"0"}})");
    EXPECT_FALSE(relay_only_allows(srflx));
    auto prflx = decode_signal(R"({"candidate":{"candidate":"candidate:3 1 udp 1 198.51.100.7 1 typ prflx"}})");
    EXPECT_FALSE(relay_only_allows(prflx));
    auto garbage = decode_signal(R"({"candidate":{"candidate":"whatever typ relay"}})");
    EXPECT_EQ(garbage.candidate, candidate_type::unknown);
    EXPECT_FALSE(relay_only_allows(garbage)) << "what cannot be shown to be relay is dropped";

    auto end = decode_signal(R"({"candidate":{"candidate":"","sdpMid":"0","sdpMLineIndex":0}})");
    EXPECT_EQ(end.candidate, candidate_type::none);
    EXPECT_TRUE(relay_only_allows(end)) << "end-of-candidates names no address";

    // SDP is opaque here: descriptions always pass (the browser's relay
    // policy keeps host candidates out of them).
    auto offer = decode_signal(R"({"description":{"type":"offer","sdp":"v=0\r\na=candidate:1 1 udp 1 192.0.2.10 1 typ host\r\n"}})");
    EXPECT_FALSE(offer.is_candidate);
    EXPECT_TRUE(relay_only_allows(offer));
}

TEST(turn_relay_test, join_relay_only_is_a_boolean) {
    auto on = decode(R"({"type":"join","mode":"video","relayOnly":true})");
    EXPECT_TRUE(std::get<join>(std::get<message>(on)).relay_only);
    auto null = decode(R"({"type":"join","mode":"video","relayOnly":null})");
    EXPECT_FALSE(std::get<join>(std::get<message>(null)).relay_only) << "null means the default, like other fields";
    for (const char* bad : {R"({"type":"join","mode":"video","relayOnly":"true"})",
                            R"({"type":"join","mode":"video","relayOnly":1})",
                            R"({"type":"join","mode":"video","relayOnly":{}})"}) {
        auto r = decode(bad);
        ASSERT_TRUE(std::holds_alternative<decode_error>(r)) << bad;
        EXPECT_EQ(std::get<decode_error>(r).code, error_code::bad_message);
        EXPECT_EQ(std::get<decode_error>(r).ref, "join");
    }
    EXPECT_EQ(encode_join(mode::video, {}, true, true), R"({"fallback":true,"interests":[],"mode":"video","relayOnly":true,"type":"join"})");
}
