#include "actions_of.hpp"
#include "serendip/matchmaker.hpp"

#include <gtest/gtest.h>

using namespace serendip;
using serendip::unit::of;
using namespace std::chrono_literals;
using protocol::leave_reason;
using protocol::mode;

namespace {

protocol::join video(std::vector<std::string> interests = {}, bool fallback = true) {
    return {mode::video, std::move(interests), fallback, false};
}
protocol::join text_mode() { return {mode::text, {}, true, false}; }

class matchmaker_test : public ::testing::Test {
protected:
    matchmaker mm;
    steady_time now = steady_time{} + 1h;

    void add(const session_id& id) { mm.connect(id, "token-" + id); }
    void tick(std::chrono::milliseconds d) { now += d; }

    static const out::matched* matched_for(const actions& a, const session_id& to) {
        auto m = of<out::matched>(a, to);
        return m.empty() ? nullptr : m.front();
    }
    static std::optional<leave_reason> left_for(const actions& a, const session_id& to) {
        auto m = of<out::peer_left>(a, to);
        if (m.empty()) return std::nullopt;
        return m.front()->reason;
    }
};

}  // namespace

TEST_F(matchmaker_test, two_joins_pair_and_the_first_offers) {
    add("a");
    add("b");
    auto r1 = mm.join("a", video(), now);
    ASSERT_EQ(r1.size(), 1u);
    EXPECT_EQ(of<out::queued>(r1, "a").size(), 1u);
    tick(10ms);
    auto r2 = mm.join("b", video(), now);
    ASSERT_TRUE(matched_for(r2, "a"));
    ASSERT_TRUE(matched_for(r2, "b"));
    EXPECT_EQ(matched_for(r2, "a")->role, protocol::role::offerer);
    EXPECT_EQ(matched_for(r2, "b")->role, protocol::role::answerer);
    EXPECT_EQ(mm.partner_of("a"), "b");
    EXPECT_EQ(mm.partner_of("b"), "a");
    EXPECT_EQ(mm.queued_count(), 0u);
}

TEST_F(matchmaker_test, modes_never_mix) {
    add("a");
    add("b");
    mm.join("a", video(), now);
    auto r = mm.join("b", text_mode(), now);
    EXPECT_FALSE(matched_for(r, "b"));
    EXPECT_EQ(mm.queued_count(), 2u);
}

TEST_F(matchmaker_test, shared_interest_beats_fifo_and_common_is_reported) {
    for (auto id : {"a", "b", "c"}) add(id);
    mm.join("a", video(), now);  // no interests: open to anyone
    tick(1ms);
    mm.join("b", video({"chess", "music"}), now);  // waits for an interest for 5 s
    tick(1ms);
    auto r = mm.join("c", video({"music"}), now);
    // c shares with b, and b wins over a, who waited longer.
    ASSERT_TRUE(matched_for(r, "c"));
    EXPECT_EQ(mm.partner_of("c"), "b");
    EXPECT_EQ(matched_for(r, "c")->common, std::vector<std::string>{"music"});
    EXPECT_EQ(matched_for(r, "b")->role, protocol::role::offerer);
    EXPECT_TRUE(mm.is_queued("a"));
}

TEST_F(matchmaker_test, fifo_among_equals) {
    for (auto id : {"a", "b", "c"}) add(id);
    mm.join("a", video(), now);
    tick(1ms);
    mm.join("b", video(), now);  // pairs with a at once
    mm.join("c", video(), now);
    add("d");
    add("e");
    tick(1ms);
    mm.join("d", video(), now);  // pairs with c
    EXPECT_EQ(mm.partner_of("d"), "c");
}

TEST_F(matchmaker_test, interests_wait_for_fallback_then_open) {
    add("a");
    add("b");
    mm.join("a", video({"chess"}), now);
    auto r = mm.join("b", video(), now);
    EXPECT_FALSE(matched_for(r, "b")) << "a waits 5 s for someone sharing chess";
    ASSERT_TRUE(mm.next_deadline());
    tick(4999ms);
    EXPECT_TRUE(mm.advance(now).empty());
    tick(1ms);
    auto r2 = mm.advance(now);
    ASSERT_TRUE(matched_for(r2, "a"));
    EXPECT_EQ(matched_for(r2, "a")->role, protocol::role::offerer);
    EXPECT_TRUE(matched_for(r2, "a")->common.empty());
}

TEST_F(matchmaker_test, no_fallback_means_interest_only) {
    add("a");
    add("b");
    mm.join("a", video({"chess"}, false), now);
    mm.join("b", video(), now);
    tick(60s);
    EXPECT_TRUE(mm.advance(now).empty());
    EXPECT_TRUE(mm.is_queued("a"));
    add("c");
    auto r = mm.join("c", video({"chess"}, false), now);
    EXPECT_EQ(mm.partner_of("a"), "c");
    EXPECT_TRUE(matched_for(r, "c"));
}

TEST_F(matchmaker_test, both_must_be_open_without_a_common_interest) {
    add("a");
    add("b");
    mm.join("a", video({"chess"}), now);
    tick(3s);
    mm.join("b", video({"golf"}), now);
    tick(2s);  // a is open, b not yet
    EXPECT_TRUE(mm.advance(now).empty());
    tick(3s);  // now b too
    auto r = mm.advance(now);
    ASSERT_TRUE(matched_for(r, "a"));
    EXPECT_EQ(matched_for(r, "a")->role, protocol::role::offerer);
}

TEST_F(matchmaker_test, never_with_self_even_on_rejoin) {
    add("a");
    mm.join("a", video(), now);
    auto r = mm.join("a", video(), now);
    EXPECT_FALSE(matched_for(r, "a"));
    EXPECT_EQ(mm.queued_count(), 1u);
}

TEST_F(matchmaker_test, reports_block_both_ways_and_requeue_the_reporter) {
    add("a");
    add("b");
    mm.join("a", video(), now);
    mm.join("b", video(), now);
    auto r = mm.report("b", now);
    EXPECT_EQ(left_for(r, "a"), leave_reason::report);
    EXPECT_TRUE(mm.is_queued("b"));
    EXPECT_FALSE(mm.is_queued("a")) << "peer_left does not re-queue";
    auto r2 = mm.next("a", now);
    EXPECT_FALSE(matched_for(r2, "a")) << "a and b never meet again";
    EXPECT_TRUE(mm.blocked("a", "b"));
    EXPECT_TRUE(mm.blocked("b", "a"));
}

TEST_F(matchmaker_test, recent_partner_only_when_no_one_else_fits) {
    for (auto id : {"a", "b", "c"}) add(id);
    mm.join("a", video(), now);
    mm.join("b", video(), now);  // a and b meet
    mm.leave("a", now);
    tick(1ms);
    mm.join("b", video({"x"}, false), now);  // b waits longest
    tick(1ms);
    mm.join("c", video({"y"}, false), now);  // c waits, does not fit b
    tick(1ms);
    mm.join("a", video({"x", "y"}), now);  // both fit a; b is a recent partner
    EXPECT_EQ(mm.partner_of("a"), "c") << "recent partner skipped while another fits";
    EXPECT_TRUE(mm.is_queued("b"));
    mm.leave("a", now);
    tick(1ms);
    mm.join("a", video({"x"}), now);  // only b fits now
    EXPECT_EQ(mm.partner_of("a"), "b") << "a recent partner is fine when nobody else fits";
}

TEST_F(matchmaker_test, only_the_last_three_partners_count_as_recent) {
    for (auto id : {"a", "b", "c", "d", "e", "f"}) add(id);
    mm.join("a", video(), now);
    for (auto p : {"b", "c", "d", "e"}) {
        mm.join(p, video(), now);
        ASSERT_EQ(mm.partner_of("a"), p);
        mm.leave(p, now);
        mm.next("a", now);
    }
    // b is no longer among a's last three, but a is still b's last partner.
    EXPECT_TRUE(mm.recent("a", "c"));
    EXPECT_TRUE(mm.recent("e", "a")) << "recency is symmetric";
}

TEST_F(matchmaker_test, next_leave_and_reasons) {
    add("a");
    add("b");
    mm.join("a", video(), now);
    mm.join("b", video(), now);
    auto r = mm.next("a", now);
    EXPECT_EQ(left_for(r, "b"), leave_reason::next);
    EXPECT_TRUE(mm.is_queued("a"));
    EXPECT_FALSE(mm.is_queued("b"));
    mm.next("b", now);  // recent partners, nobody else: pair again
    EXPECT_EQ(mm.partner_of("a"), "b");
    auto r2 = mm.leave("b", now);
    EXPECT_EQ(left_for(r2, "a"), leave_reason::leave);
    EXPECT_FALSE(mm.is_queued("a"));
    EXPECT_FALSE(mm.is_queued("b"));
    // join while paired acts as next
    mm.next("a", now);
    mm.next("b", now);
    auto r3 = mm.join("a", video(), now);
    EXPECT_EQ(left_for(r3, "b"), leave_reason::next);
}

TEST_F(matchmaker_test, next_before_join_and_signal_without_partner_are_errors) {
    add("a");
    auto r = mm.next("a", now);
    ASSERT_EQ(of<out::error>(r, "a").size(), 1u);
    EXPECT_EQ(of<out::error>(r, "a")[0]->code, protocol::error_code::bad_message);
    auto s = mm.signal("a", "{}", now);
    ASSERT_EQ(of<out::error>(s, "a").size(), 1u);
    EXPECT_EQ(of<out::error>(s, "a")[0]->code, protocol::error_code::not_paired);
    auto p = mm.report("a", now);
    EXPECT_EQ(of<out::error>(p, "a")[0]->code, protocol::error_code::not_paired);
}

TEST_F(matchmaker_test, signals_go_to_the_partner_only) {
    for (auto id : {"a", "b", "c"}) add(id);
    mm.join("a", video(), now);
    mm.join("b", video(), now);
    auto r = mm.signal("a", R"({"x":1})", now);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].to, "b");
    EXPECT_EQ(std::get<out::signal>(r[0].what).data, R"({"x":1})");
}

TEST_F(matchmaker_test, silent_pairs_time_out_and_signalling_ones_do_not) {
    for (auto id : {"a", "b", "c", "d"}) add(id);
    mm.join("a", video(), now);
    mm.join("b", video(), now);
    tick(1s);
    mm.join("c", video(), now);
    mm.join("d", video(), now);
    mm.signal("d", "{}", now);
    tick(28s);
    EXPECT_TRUE(mm.advance(now).empty());
    tick(1s);
    auto r = mm.advance(now);
    EXPECT_EQ(left_for(r, "a"), leave_reason::timeout);
    EXPECT_EQ(left_for(r, "b"), leave_reason::timeout);
    tick(5s);
    EXPECT_TRUE(mm.advance(now).empty());
    EXPECT_EQ(mm.partner_of("c"), "d");
}

TEST_F(matchmaker_test, disconnect_leaves_queue_at_once_and_holds_a_pair) {
    for (auto id : {"a", "b", "c"}) add(id);
    mm.join("c", video(), now);
    mm.disconnect("c", now);
    EXPECT_FALSE(mm.is_queued("c"));
    mm.join("a", video(), now);
    mm.join("b", video(), now);
    mm.disconnect("b", now);
    EXPECT_EQ(mm.partner_of("a"), "b") << "held for 15 s";
    auto s = mm.signal("a", R"({"n":1})", now);
    EXPECT_TRUE(s.empty()) << "buffered, not sent";
    tick(14s);
    EXPECT_TRUE(mm.advance(now).empty());
    tick(1s);
    auto r = mm.advance(now);
    EXPECT_EQ(left_for(r, "a"), leave_reason::disconnect);
    EXPECT_FALSE(mm.exists("b"));
    EXPECT_FALSE(mm.exists("c"));
}

TEST_F(matchmaker_test, resume_restores_partner_and_held_signals_in_order) {
    add("a");
    add("b");
    mm.join("a", video(), now);
    mm.join("b", video(), now);
    mm.disconnect("b", now);
    for (int i = 0; i < 70; ++i) mm.signal("a", "{\"n\":" + std::to_string(i) + "}", now);
    tick(10s);
    EXPECT_FALSE(mm.resume("wrong", "t2", now));
    auto r = mm.resume("token-b", "t2", now);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->id, "b");
    ASSERT_EQ(r->held.size(), 64u);
    for (int i = 0; i < 64; ++i)
        EXPECT_EQ(std::get<out::signal>(r->held[i].what).data, "{\"n\":" + std::to_string(i) + "}");
    EXPECT_EQ(mm.partner_of("b"), "a");
    EXPECT_FALSE(mm.resume("token-b", "t3", now)) << "single use";
    tick(10s);
    EXPECT_TRUE(mm.advance(now).empty()) << "the hold ended with the resume";
    auto s = mm.signal("a", "{}", now);
    EXPECT_EQ(s.size(), 1u);
}

TEST_F(matchmaker_test, resume_after_the_window_fails) {
    add("a");
    mm.disconnect("a", now);
    tick(15s);
    mm.advance(now);
    EXPECT_FALSE(mm.resume("token-a", "t2", now));
}

TEST_F(matchmaker_test, pair_ended_while_away_is_told_on_resume) {
    add("a");
    add("b");
    mm.join("a", video(), now);
    mm.join("b", video(), now);
    mm.disconnect("b", now);
    mm.signal("a", "{}", now);
    mm.next("a", now);
    auto r = mm.resume("token-b", "t2", now);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->held.size(), 2u);
    EXPECT_TRUE(std::holds_alternative<out::signal>(r->held[0].what));
    EXPECT_EQ(std::get<out::peer_left>(r->held[1].what).reason, leave_reason::next);
}
