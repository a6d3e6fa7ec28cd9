// The Redis store's configuration: URL parsing and the options around it.

#include "serendip/config.hpp"
#include "serendip/redis_link.hpp"

#include <gtest/gtest.h>

#include <map>

using namespace serendip;

namespace {

std::map<std::string, std::string> env_vars;
std::optional<std::string> lookup(const char* name) {
    auto it = env_vars.find(name);
    if (it == env_vars.end()) return std::nullopt;
    return it->second;
}

config_result parse(std::vector<const char*> args) {
    args.insert(args.begin(), "serendip-server");
    return parse_config(static_cast<int>(args.size()), args.data(), lookup);
}

}  // namespace

TEST(redis_url, accepts_host_port_password_and_db) {
    auto a = parse_redis_url("redis://127.0.0.1:6380");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->host, "127.0.0.1");
    EXPECT_EQ(a->port, 6380);
    EXPECT_EQ(a->db, 0);
    EXPECT_TRUE(a->password.empty());

    auto b = parse_redis_url("redis://:s3cr:et@redis.internal:6379/3");
    ASSERT_TRUE(b);
    EXPECT_EQ(b->host, "redis.internal");
    EXPECT_EQ(b->password, "s3cr:et");
    EXPECT_TRUE(b->user.empty());
    EXPECT_EQ(b->db, 3);

    auto c = parse_redis_url("redis://alice:pw@localhost");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->user, "alice");
    EXPECT_EQ(c->port, 6379);

    auto d = parse_redis_url("redis://[::1]:7000/1");
    ASSERT_TRUE(d);
    EXPECT_EQ(d->host, "::1");
    EXPECT_EQ(d->port, 7000);
}

TEST(redis_url, refuses_what_is_not_one) {
    for (const char* bad : {"", "memory", "http://x:1", "redis://", "redis://:6379", "redis://h:0", "redis://h:65536",
                            "redis://h:port", "redis://h:1/x", "redis://h:1/-1", "redis://user@h:1", "redis://:@h:1",
                            "redis://h h:1", "redis://[::1:1"})
        EXPECT_FALSE(parse_redis_url(bad)) << bad;
}

TEST(redis_config, store_flag_and_variable) {
    env_vars.clear();
    auto r = parse({"--store", "redis://127.0.0.1:6379/2", "--redis-timeout", "250ms", "--redis-heartbeat", "2s",
                    "--instance-id", "eu-1"});
    ASSERT_TRUE(std::holds_alternative<config>(r)) << std::get<config_error>(r).message;
    auto& c = std::get<config>(r);
    EXPECT_EQ(c.store, "redis://127.0.0.1:6379/2");
    EXPECT_EQ(c.redis_timeout, std::chrono::milliseconds(250));
    EXPECT_EQ(c.redis_heartbeat, std::chrono::seconds(2));
    EXPECT_EQ(c.instance_id, "eu-1");

    env_vars["SERENDIP_STORE"] = "redis://:pw@cache:6380";
    auto e = parse({});
    ASSERT_TRUE(std::holds_alternative<config>(e));
    EXPECT_EQ(std::get<config>(e).store, "redis://:pw@cache:6380");
    env_vars.clear();
}

TEST(redis_config, a_bad_url_is_one_line_and_never_shows_the_password) {
    env_vars.clear();
    auto r = parse({"--store", "redis://:hunter2@host:notaport"});
    ASSERT_TRUE(std::holds_alternative<config_error>(r));
    auto msg = std::get<config_error>(r).message;
    EXPECT_NE(msg.find("--store"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("hunter2"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos);

    env_vars["SERENDIP_STORE"] = "redis://:hunter2@";
    auto e = parse({});
    ASSERT_TRUE(std::holds_alternative<config_error>(e));
    EXPECT_EQ(std::get<config_error>(e).message.find("hunter2"), std::string::npos);
    env_vars.clear();

    EXPECT_TRUE(std::holds_alternative<config_error>(parse({"--instance-id", "a b"})));
    EXPECT_TRUE(std::holds_alternative<config_error>(parse({"--redis-timeout", "0ms"})));
}

TEST(redis_config, help_lists_the_redis_options) {
    auto text = help_text();
    for (const char* flag : {"--store", "--redis-timeout", "--redis-heartbeat", "--instance-id", "SERENDIP_REDIS_TIMEOUT"})
        EXPECT_NE(text.find(flag), std::string::npos) << flag;
}
