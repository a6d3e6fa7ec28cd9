// Client address, address hashing, connection admission, the skip cooldown
// and ban lengths: the abuse rules without sockets.

#include "serendip/abuse_rules.hpp"
#include "serendip/client_address.hpp"

#include <gtest/gtest.h>

#include <set>

using namespace serendip;
using namespace std::chrono_literals;

namespace {

ip_address ip(const char* text) { return boost::asio::ip::make_address(text); }

std::vector<address_block> blocks(const char* list) {
    auto b = parse_address_blocks(list);
    EXPECT_TRUE(b) << list;
    return b.value_or(std::vector<address_block>{});
}

}  // namespace

TEST(address_blocks, parse_and_contain) {
    auto b = blocks("10.0.0.0/8, 127.0.0.1,fd00::/8");
    ASSERT_EQ(b.size(), 3u);
    EXPECT_TRUE(b[0].contains(ip("10.255.1.2")));
    EXPECT_FALSE(b[0].contains(ip("11.0.0.1")));
    EXPECT_TRUE(b[1].contains(ip("127.0.0.1")));
    EXPECT_FALSE(b[1].contains(ip("127.0.0.2")));
    EXPECT_TRUE(b[2].contains(ip("fd12::1")));
    EXPECT_FALSE(b[2].contains(ip("fe80::1")));
    EXPECT_TRUE(b[0].contains(ip("::ffff:10.1.2.3"))) << "IPv4-mapped reads as IPv4";
    EXPECT_FALSE(b[0].contains(ip("::a01:203"))) << "but not IPv4-compatible IPv6";
    auto odd = blocks("192.168.1.0/23");
    EXPECT_TRUE(odd[0].contains(ip("192.168.0.200")));
    EXPECT_FALSE(odd[0].contains(ip("192.168.2.1")));
}

TEST(address_blocks, refuse_malformed) {
    for (const char* bad : {"10.0.0.0/33", "fd00::/129", "10.0.0.0/", "10.0.0/8", "bogus", "10.0.0.0/8x", "1.2.3.4/-1"})
        EXPECT_FALSE(parse_address_blocks(bad)) << bad;
    EXPECT_EQ(parse_address_blocks("")->size(), 0u);
}

TEST(client_address, headers_only_from_trusted_proxies) {
    auto proxies = blocks("10.0.0.0/8");
    EXPECT_EQ(client_address(ip("203.0.113.5"), "198.51.100.1", "198.51.100.2", proxies), ip("203.0.113.5"))
        << "an untrusted peer's headers are forged as easily as written";
    EXPECT_EQ(client_address(ip("10.0.0.2"), "198.51.100.1", "", proxies), ip("198.51.100.1"));
    // The client can prepend anything; the rightmost untrusted entry is what our proxy saw.
    EXPECT_EQ(client_address(ip("10.0.0.2"), "6.6.6.6, 198.51.100.1, 10.0.0.3", "", proxies), ip("198.51.100.1"));
    EXPECT_EQ(client_address(ip("10.0.0.2"), "", "198.51.100.7", proxies), ip("198.51.100.7"));
    EXPECT_EQ(client_address(ip("10.0.0.2"), "garbage", "", proxies), ip("10.0.0.2")) << "nothing believable: the peer";
    EXPECT_EQ(client_address(ip("::ffff:203.0.113.9"), "", "", proxies), ip("203.0.113.9"));
    EXPECT_EQ(client_address(ip("10.0.0.2"), "2001:db8::1", "", proxies), ip("2001:db8::1"));
}

TEST(address_hasher, hides_addresses_and_groups_ipv6_by_64) {
    address_hasher h("secret");
    auto now = std::chrono::system_clock::now();
    auto a = h.hash(ip("203.0.113.5"), now);
    EXPECT_EQ(a.today.size(), 32u);
    EXPECT_EQ(a.today.find("203"), std::string::npos);
    EXPECT_NE(a.today, h.hash(ip("203.0.113.6"), now).today);
    EXPECT_EQ(h.hash(ip("2001:db8:1:2::1"), now).today, h.hash(ip("2001:db8:1:2:ffff::9"), now).today) << "one /64";
    EXPECT_NE(h.hash(ip("2001:db8:1:2::1"), now).today, h.hash(ip("2001:db8:1:3::1"), now).today);
    EXPECT_EQ(h.hash(ip("::ffff:203.0.113.5"), now).today, a.today);
}

TEST(address_hasher, keys_change_daily_and_yesterday_still_matches) {
    address_hasher h("secret");
    auto day1 = std::chrono::system_clock::time_point(std::chrono::hours(24 * 20000 + 5));
    auto day2 = day1 + 24h;
    auto first = h.hash(ip("203.0.113.5"), day1);
    auto second = h.hash(ip("203.0.113.5"), day2);
    EXPECT_NE(first.today, second.today) << "a new key every day";
    EXPECT_EQ(first.today, second.yesterday) << "yesterday's key still recognises yesterday's hash";
    // Instances with the same secret agree; another secret does not.
    address_hasher same("secret"), other("other");
    EXPECT_EQ(same.hash(ip("203.0.113.5"), day2).today, second.today);
    EXPECT_NE(other.hash(ip("203.0.113.5"), day2).today, second.today);
}

TEST(address_hasher, random_keys_agree_within_a_process_only) {
    address_hasher a(""), b("");
    auto now = std::chrono::system_clock::now();
    EXPECT_EQ(a.hash(ip("203.0.113.5"), now).today, a.hash(ip("203.0.113.5"), now).today);
    EXPECT_NE(a.hash(ip("203.0.113.5"), now).today, b.hash(ip("203.0.113.5"), now).today);
}

TEST(connection_admission, per_address_total_and_rate) {
    connection_admission adm({.per_address = 2, .new_per_minute = 4, .total = 3});
    auto t = std::chrono::steady_clock::time_point{} + 1h;
    using v = connection_admission::verdict;
    EXPECT_EQ(adm.admit("a", t), v::admit);
    EXPECT_EQ(adm.admit("a", t), v::admit);
    EXPECT_EQ(adm.admit("a", t), v::too_many_from_address) << "two at once from one address";
    adm.release("a");
    EXPECT_EQ(adm.admit("a", t), v::admit);
    EXPECT_EQ(adm.admit("b", t), v::admit);
    EXPECT_EQ(adm.admit("c", t), v::server_full);
    adm.release("a");
    adm.release("a");
    adm.release("b");
    // "a" has used its 4 new connections of the minute.
    EXPECT_EQ(adm.admit("a", t), v::admit);
    EXPECT_EQ(adm.admit("a", t), v::too_many_from_address) << "new connections a minute";
    adm.release("a");
    EXPECT_EQ(adm.admit("a", t + 15s), v::admit) << "one more every 15 s";
    adm.release("a");
    EXPECT_EQ(adm.open(), 0u);
    adm.admit("z", t + 2min);  // sweeps idle entries
    EXPECT_EQ(adm.tracked_addresses(), 1u) << "idle addresses are forgotten";
}

TEST(skip_cooldown, quick_skips_slow_down_and_a_real_chat_resets) {
    skip_cooldown c;
    auto t = std::chrono::steady_clock::time_point{} + 1h;
    for (int i = 0; i < 3; ++i) {
        c.on_matched(t);
        t += 500ms;
        EXPECT_FALSE(c.on_next(t)) << "three quick skips are free";
    }
    c.on_matched(t);
    t += 500ms;
    EXPECT_FALSE(c.on_next(t)) << "the fourth is taken, and starts a wait";
    c.on_matched(t);
    auto wait = c.on_next(t + 200ms);
    ASSERT_TRUE(wait);
    EXPECT_EQ(*wait, 800ms);
    t += 1s;
    EXPECT_FALSE(c.on_next(t)) << "after the wait (a fifth quick skip: the next wait is 2 s)";
    c.on_matched(t);
    EXPECT_EQ(*c.on_next(t + 1ms), 2s - 1ms) << "the wait doubles";
    // A chat longer than 2 s resets the streak.
    t += 3s;
    c.on_matched(t);
    t += 5s;
    EXPECT_FALSE(c.on_next(t));
    c.on_matched(t);
    EXPECT_FALSE(c.on_next(t + 100ms));
    EXPECT_FALSE(c.on_next(t + 200ms)) << "a next while queued (no match) is no skip";
}

TEST(ban_length, doubles_up_to_a_week) {
    EXPECT_EQ(ban_length(0), 1h);
    EXPECT_EQ(ban_length(1), 2h);
    EXPECT_EQ(ban_length(3), 8h);
    EXPECT_EQ(ban_length(7), std::chrono::hours(128));
    EXPECT_EQ(ban_length(8), std::chrono::hours(168));
    EXPECT_EQ(ban_length(100), std::chrono::hours(168));
}

TEST(report_book, three_distinct_reporting_addresses_ban_for_an_hour) {
    report_book book;
    auto t = report_book::clock::time_point{} + 1000h;
    EXPECT_FALSE(book.record("a", "victim", t));
    EXPECT_FALSE(book.record("a", "victim", t + 1s)) << "the same address again counts once";
    EXPECT_FALSE(book.record("a", "victim", t + 2s));
    EXPECT_FALSE(book.banned_for("victim", "", t + 3s));
    EXPECT_FALSE(book.record("b", "victim", t + 3s));
    EXPECT_EQ(book.record("c", "victim", t + 4s), 1h);
    EXPECT_EQ(book.banned_for("victim", "", t + 4s), 1h);
    EXPECT_EQ(book.banned_for("victim", "", t + 4s + 30min + 500ms), 30min) << "rounded up";
    EXPECT_FALSE(book.banned_for("victim", "", t + 4s + 1h));
    EXPECT_FALSE(book.banned_for("a", "", t + 4s)) << "reporters are not banned";
}

TEST(report_book, one_address_never_bans_itself_or_another_alone) {
    report_book book;
    auto t = report_book::clock::time_point{} + 1000h;
    for (int i = 0; i < 100; ++i) EXPECT_FALSE(book.record("a", "victim", t + i * 1h));
    EXPECT_FALSE(book.record("b", "b", t));
    EXPECT_FALSE(book.record("c", "c", t));
    EXPECT_FALSE(book.record("d", "d", t));
    EXPECT_FALSE(book.banned_for("b", "", t));
    EXPECT_FALSE(book.record("", "victim", t)) << "an unknown address counts for nothing";
}

TEST(report_book, reports_older_than_the_window_are_forgotten) {
    report_book book({.threshold = 3, .per_reporter_per_hour = 5});
    auto t = report_book::clock::time_point{} + 1000h;
    book.record("a", "victim", t);
    book.record("b", "victim", t + 1h);
    EXPECT_FALSE(book.record("c", "victim", t + 24h)) << "a's report is 24 h old";
    EXPECT_EQ(book.record("d", "victim", t + 24h + 1s), 1h);
    // Everything but the ban is swept once idle long enough; the ban record
    // goes 7 days after it ends.
    book.banned_for("x", "", t + 30h);
    EXPECT_EQ(book.tracked(), 1u);
    book.banned_for("x", "", t + 24h + 1s + 1h + 7 * 24h + 1min);
    EXPECT_EQ(book.tracked(), 0u);
}

TEST(report_book, a_reporter_counts_five_reports_an_hour) {
    report_book book({.threshold = 1, .per_reporter_per_hour = 5});
    auto t = report_book::clock::time_point{} + 1000h;
    for (int i = 0; i < 5; ++i) EXPECT_TRUE(book.record("r", "v" + std::to_string(i), t + i * 1s));
    EXPECT_FALSE(book.record("r", "v5", t + 10s)) << "the sixth within the hour is not counted";
    EXPECT_FALSE(book.banned_for("v5", "", t + 11s));
    EXPECT_TRUE(book.record("r", "v6", t + 1h + 1s)) << "the hour slid";
}

TEST(report_book, repeated_bans_double_and_rotated_hashes_carry_them) {
    report_book book({.threshold = 1, .per_reporter_per_hour = 100});
    auto t = report_book::clock::time_point{} + 1000h;
    EXPECT_EQ(book.record("a", "v", t), 1h);
    t += 1h;
    EXPECT_EQ(book.record("a", "v", t), 2h);
    t += 2h;
    EXPECT_EQ(book.record("a", "v", t), 4h);
    // The day's key rotated: the address now hashes to "v2", yesterday's "v".
    EXPECT_EQ(book.banned_for("v2", "v", t + 1h), 3h);
    EXPECT_EQ(book.banned_for("v2", "", t + 2h), 2h) << "carried over to today's hash";
    t += 4h;
    EXPECT_EQ(book.record("a", "v2", t), 8h) << "the count came along";
    // A week after the last ban ended, the count starts over.
    t += 8h + 7 * 24h;
    EXPECT_EQ(book.record("a", "v2", t), 1h);
}
