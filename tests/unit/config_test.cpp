#include "serendip/config.hpp"

#include <gtest/gtest.h>

#include <map>

using namespace serendip;

namespace {

std::map<std::string, std::string> fake_env;
std::optional<std::string> lookup(const char* name) {
    auto it = fake_env.find(name);
    if (it == fake_env.end()) return std::nullopt;
    return it->second;
}

config_result parse(std::vector<const char*> args) {
    args.insert(args.begin(), "serendip-server");
    return parse_config(static_cast<int>(args.size()), args.data(), lookup);
}

class config_test : public ::testing::Test {
protected:
    void SetUp() override { fake_env.clear(); }
};

}  // namespace

TEST_F(config_test, defaults_match_the_protocol) {
    auto r = parse({});
    auto& c = std::get<config>(r);
    EXPECT_EQ(c.port, 8080);
    EXPECT_EQ(c.max_message_bytes, 64u * 1024);
    EXPECT_EQ(c.rate_per_sec, 20);
    EXPECT_EQ(c.burst, 60);
    EXPECT_EQ(c.ping_interval, std::chrono::seconds(20));
    EXPECT_EQ(c.idle_timeout, std::chrono::seconds(45));
    EXPECT_EQ(c.fallback_after, std::chrono::seconds(5));
    EXPECT_EQ(c.pair_timeout, std::chrono::seconds(30));
    EXPECT_EQ(c.resume_window, std::chrono::seconds(15));
    EXPECT_EQ(c.store, "memory");
    EXPECT_FALSE(c.require_face);
    EXPECT_TRUE(c.allowed_origins.empty());
    EXPECT_TRUE(c.stun_urls.empty());
}

TEST_F(config_test, flags_in_both_spellings) {
    auto r = parse({"--port", "9000", "--threads=4", "--require-face", "--allowed-origins", "https://a.example, https://b.example"});
    auto& c = std::get<config>(r);
    EXPECT_EQ(c.port, 9000);
    EXPECT_EQ(c.threads, 4u);
    EXPECT_TRUE(c.require_face);
    EXPECT_EQ(c.allowed_origins, (std::vector<std::string>{"https://a.example", "https://b.example"}));
}

TEST_F(config_test, environment_fills_and_flag_wins) {
    fake_env = {{"SERENDIP_PORT", "7000"}, {"SERENDIP_LOG_FORMAT", "json"}, {"SERENDIP_PING_INTERVAL", "500ms"}};
    auto c1 = std::get<config>(parse({}));
    EXPECT_EQ(c1.port, 7000);
    EXPECT_EQ(c1.log_fmt, log_format::json);
    EXPECT_EQ(c1.ping_interval, std::chrono::milliseconds(500));
    auto c2 = std::get<config>(parse({"--port", "7001"}));
    EXPECT_EQ(c2.port, 7001);
}

TEST_F(config_test, invalid_values_name_the_option) {
    struct bad_case {
        std::vector<const char*> args;
        std::string names;
    };
    for (const auto& [args, names] : std::vector<bad_case>{
             {{"--port", "70000"}, "--port"},
             {{"--port", "abc"}, "--port"},
             {{"--threads", "-1"}, "--threads"},
             {{"--rate", "0"}, "--rate"},
             {{"--ping-interval", "soon"}, "--ping-interval"},
             {{"--log-format", "xml"}, "--log-format"},
             {{"--log-level", "loud"}, "--log-level"},
             {{"--store", "mongodb://x"}, "--store"},
             {{"--max-message", "10"}, "--max-message"},
             {{"--stun-urls", "http://x"}, "--stun-urls"},
             {{"--turn-urls", "stun:t.example", "--turn-secret", "s"}, "--turn-urls"},
             {{"--turn-urls", "turn:t.example:99999", "--turn-secret", "s"}, "--turn-urls"},
             {{"--turn-secret", ""}, "--turn-secret"},
             {{"--turn-ttl", "0s"}, "--turn-ttl"},
             {{"--turn-ttl", "999ms"}, "--turn-ttl"},
             {{"--turn-ttl", "soon"}, "--turn-ttl"},
             {{"--turn-urls", "turn:t.example"}, "--turn-secret"},
             {{"--turn-secret", "s3cret"}, "--turn-urls"},
             {{"--bogus"}, "--bogus"},
             {{"--port"}, "--port"},
             {{"--tls-cert", "a.pem"}, "--tls-key"},
             {{"--ping-interval", "50s"}, "--idle-timeout"},
         }) {
        auto r = parse(args);
        ASSERT_TRUE(std::holds_alternative<config_error>(r)) << args[0];
        auto& e = std::get<config_error>(r);
        EXPECT_NE(e.message.find(names), std::string::npos) << e.message;
        EXPECT_EQ(e.message.find('\n'), std::string::npos) << "one line: " << e.message;
    }
}

TEST_F(config_test, turn_options) {
    auto c = std::get<config>(parse({}));
    EXPECT_TRUE(c.turn_urls.empty());
    EXPECT_TRUE(c.turn_secret.empty());
    EXPECT_EQ(c.turn_ttl, std::chrono::minutes(10));

    c = std::get<config>(parse({"--turn-urls", "turn:t.example:3478?transport=udp, turns:t.example:5349?transport=tcp",
                                "--turn-secret=s3cret", "--turn-ttl", "90s"}));
    EXPECT_EQ(c.turn_urls, (std::vector<std::string>{"turn:t.example:3478?transport=udp", "turns:t.example:5349?transport=tcp"}));
    EXPECT_EQ(c.turn_secret, "s3cret");
    EXPECT_EQ(c.turn_ttl, std::chrono::seconds(90));

    fake_env = {{"SERENDIP_TURN_URLS", "turn:t.example"}, {"SERENDIP_TURN_SECRET", "from-env"}, {"SERENDIP_TURN_TTL", "1h"}};
    c = std::get<config>(parse({}));
    EXPECT_EQ(c.turn_urls, (std::vector<std::string>{"turn:t.example"}));
    EXPECT_EQ(c.turn_secret, "from-env");
    EXPECT_EQ(c.turn_ttl, std::chrono::hours(1));
}

TEST_F(config_test, the_turn_secret_is_never_echoed) {
    // The only invalid secret is an empty one; check the messages around a real one anyway.
    for (auto args : std::vector<std::vector<const char*>>{{"--turn-secret", "hunter2-secret"},
                                                           {"--turn-secret", "hunter2-secret", "--turn-ttl", "x"}}) {
        auto r = parse(args);
        ASSERT_TRUE(std::holds_alternative<config_error>(r));
        EXPECT_EQ(std::get<config_error>(r).message.find("hunter2"), std::string::npos) << std::get<config_error>(r).message;
    }
    fake_env = {{"SERENDIP_TURN_SECRET", ""}};
    auto r = parse({});
    ASSERT_TRUE(std::holds_alternative<config_error>(r));
    EXPECT_NE(std::get<config_error>(r).message.find("SERENDIP_TURN_SECRET"), std::string::npos);
    EXPECT_NE(std::get<config_error>(r).message.find("(not shown)"), std::string::npos);
}

TEST_F(config_test, bad_environment_value_names_the_variable) {
    fake_env = {{"SERENDIP_THREADS", "many"}};
    auto r = parse({});
    ASSERT_TRUE(std::holds_alternative<config_error>(r));
    EXPECT_NE(std::get<config_error>(r).message.find("SERENDIP_THREADS"), std::string::npos);
}

TEST_F(config_test, help_lists_every_option_with_defaults) {
    auto r = parse({"--help"});
    ASSERT_TRUE(std::holds_alternative<help_requested>(r));
    const auto& text = std::get<help_requested>(r).text;
    for (const char* flag : {"--listen", "--port", "--web-root", "--threads", "--allowed-origins", "--max-message",
                             "--rate", "--burst", "--send-queue-bytes", "--ping-interval", "--idle-timeout",
                             "--log-level", "--log-format", "--store", "--tls-cert", "--tls-key", "--require-face",
                             "--stun-urls", "--turn-urls", "--turn-secret", "--turn-ttl", "SERENDIP_TURN_SECRET",
                             "default: 10m",
                             "SERENDIP_PORT", "default: 8080"})
        EXPECT_NE(text.find(flag), std::string::npos) << flag;
}

TEST(duration_test, units) {
    EXPECT_EQ(parse_duration("250ms"), std::chrono::milliseconds(250));
    EXPECT_EQ(parse_duration("20s"), std::chrono::seconds(20));
    EXPECT_EQ(parse_duration("20"), std::chrono::seconds(20));
    EXPECT_EQ(parse_duration("2m"), std::chrono::minutes(2));
    EXPECT_EQ(parse_duration("1h"), std::chrono::hours(1));
    EXPECT_FALSE(parse_duration(""));
    EXPECT_FALSE(parse_duration("s"));
    EXPECT_FALSE(parse_duration("5 s"));
    EXPECT_FALSE(parse_duration("-5s"));
    EXPECT_FALSE(parse_duration("5d"));
}
