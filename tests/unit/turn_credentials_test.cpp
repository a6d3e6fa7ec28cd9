// TURN credentials (coturn REST API scheme) and the iceServers list.

#include "serendip/turn_credentials.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <set>

using namespace serendip;
using json = nlohmann::json;

namespace {

std::chrono::system_clock::time_point at(std::int64_t unix_seconds) {
    return std::chrono::system_clock::time_point(std::chrono::seconds(unix_seconds));
}

}  // namespace

TEST(turn_credentials_test, known_vectors) {
    // Computed outside this code base, two ways that agree:
    //   printf '%s' '1700000600:TestPseudonym' | openssl dgst -sha1 -hmac 'coturn-shared-secret' -binary | base64
    //   python3 -c "import hmac,hashlib,base64; print(base64.b64encode(hmac.new(b'coturn-shared-secret',
    //               b'1700000600:TestPseudonym', hashlib.sha1).digest()).decode())"
    EXPECT_EQ(turn::credential("coturn-shared-secret", "1700000600:TestPseudonym"), "fEI+24s26Ak9GSrOwy0jVN4YE9Q=");
    // A secret longer than SHA-1's 64-byte block (HMAC hashes it first), same two tools:
    //   printf '%s' '1767225600:0123456789abcdef01234567' | openssl dgst -sha1 -hmac "$(printf 'k%.0s' $(seq 100))" -binary | base64
    EXPECT_EQ(turn::credential(std::string(100, 'k'), "1767225600:0123456789abcdef01234567"),
              "BjUOPBoRKtg38GVsGlwTW7yBc3o=");
}

TEST(turn_credentials_test, base64_is_rfc_4648) {
    // RFC 4648 section 10.
    EXPECT_EQ(turn::base64(""), "");
    EXPECT_EQ(turn::base64("f"), "Zg==");
    EXPECT_EQ(turn::base64("fo"), "Zm8=");
    EXPECT_EQ(turn::base64("foo"), "Zm9v");
    EXPECT_EQ(turn::base64("foob"), "Zm9vYg==");
    EXPECT_EQ(turn::base64("fooba"), "Zm9vYmE=");
    EXPECT_EQ(turn::base64("foobar"), "Zm9vYmFy");
    // The standard alphabet (+ and /), not base64url: coturn compares the text.
    EXPECT_EQ(turn::base64(std::string("\xfb\xff\xbf", 3)), "+/+/");
}

TEST(turn_credentials_test, username_is_expiry_colon_pseudonym) {
    EXPECT_EQ(turn::username(1700000600, "abc"), "1700000600:abc");
}

TEST(turn_credentials_test, pseudonyms_are_random_hex_without_separator) {
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
        auto p = turn::new_pseudonym();
        ASSERT_EQ(p.size(), 24u) << "96 bits";
        ASSERT_EQ(p.find_first_not_of("0123456789abcdef"), std::string::npos) << p;
        seen.insert(p);
    }
    EXPECT_EQ(seen.size(), 1000u);
}

TEST(turn_credentials_test, turn_urls) {
    for (const char* good : {"turn:turn.example.org", "turn:turn.example.org:3478", "turns:turn.example.org:5349",
                             "turn:192.0.2.7:3478?transport=udp", "turns:t.example:443?transport=tcp",
                             "turn:[2001:db8::1]:3478", "turn:[::1]"})
        EXPECT_TRUE(turn::valid_turn_url(good)) << good;
    for (const char* bad : {"", "turn:", "stun:x.example", "http://x.example", "turn:x.example:0", "turn:x.example:65536",
                            "turn:x.example:34a", "turn:x.example?transport=sctp", "turn:x y", "turn:[::1",
                            "turn:[]", "TURN:x.example", "turn:x.example:3478:1", "turn:user@x.example",
                            "turn:x.example?transport=udp&x=1"})
        EXPECT_FALSE(turn::valid_turn_url(bad)) << bad;
}

TEST(turn_credentials_test, stun_urls_come_from_the_turn_hosts) {
    EXPECT_EQ(turn::stun_urls_of({"turn:t.example:3478?transport=udp", "turn:t.example:3478?transport=tcp",
                                  "turns:t.example:5349?transport=tcp", "turn:[2001:db8::1]:3479", "turns:u.example"}),
              (std::vector<std::string>{"stun:t.example:3478", "stun:t.example", "stun:[2001:db8::1]:3479",
                                        "stun:u.example"}));
    EXPECT_TRUE(turn::stun_urls_of({}).empty());
}

TEST(turn_credentials_test, ice_servers_without_turn_are_fixed) {
    EXPECT_EQ(turn::ice_servers{}.json("x", at(1)), "[]");
    turn::ice_servers stun_only({{"stun:s.example:3478"}, {}, {}, std::chrono::seconds(600)});
    EXPECT_FALSE(stun_only.has_turn());
    EXPECT_EQ(json::parse(stun_only.json("x", at(1))), json::parse(R"([{"urls":["stun:s.example:3478"]}])"));
}

TEST(turn_credentials_test, ice_servers_with_turn_carry_fresh_credentials) {
    turn::ice_servers ice({{"stun:t.example:3478"},
                           {"turn:t.example:3478?transport=udp", "turns:t.example:5349?transport=tcp"},
                           "coturn-shared-secret",
                           std::chrono::seconds(600)});
    ASSERT_TRUE(ice.has_turn());
    auto list = json::parse(ice.json("TestPseudonym", at(1700000000)));
    ASSERT_EQ(list.size(), 2u);
    EXPECT_EQ(list[0], json::parse(R"({"urls":["stun:t.example:3478"]})")) << "STUN first, without credentials";
    EXPECT_EQ(list[1]["urls"], json::parse(R"(["turn:t.example:3478?transport=udp","turns:t.example:5349?transport=tcp"])"));
    // expiry = now + ttl; the credential is the known vector above.
    EXPECT_EQ(list[1]["username"], "1700000600:TestPseudonym");
    EXPECT_EQ(list[1]["credential"], "fEI+24s26Ak9GSrOwy0jVN4YE9Q=");

    // Later means a later expiry: every frame gets a full lifetime.
    auto later = json::parse(ice.json("TestPseudonym", at(1700000090)));
    EXPECT_EQ(later[1]["username"], "1700000690:TestPseudonym");
    EXPECT_NE(later[1]["credential"], list[1]["credential"]);
    // Sub-second parts of now are dropped, not rounded up.
    auto fraction = std::chrono::system_clock::time_point(std::chrono::milliseconds(1700000000999));
    EXPECT_EQ(json::parse(ice.json("p", fraction))[1]["username"], "1700000600:p");
}
