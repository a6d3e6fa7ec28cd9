// "Going back" (PROTOCOL.md) in the matchmaker: two strangers whose pair
// ended by next or leave are paired again once, if both ask within 10 s.

#include "actions_of.hpp"
#include "serendip/matchmaker.hpp"

#include <gtest/gtest.h>

using namespace serendip;
using serendip::unit::of;
using namespace std::chrono_literals;
using protocol::error_code;
using protocol::leave_reason;
using protocol::role;

namespace {

class rematch_test : public ::testing::Test {
protected:
    matchmaker mm;
    steady_time now = steady_time{} + 1h;

    void add(const session_id& id) { mm.connect(id, "token-" + id); }
    void tick(std::chrono::milliseconds d) {
        now += d;
        mm.advance(now);
    }

    static bool refused(const actions& a, const session_id& to) {
        for (auto* e : of<out::error>(a, to))
            if (e->code == error_code::rematch_unavailable && e->ref == protocol::client_type::rematch) return true;
        return false;
    }
    static bool wanted(const actions& a, const session_id& to) { return !of<out::rematch_wanted>(a, to).empty(); }
    static const out::matched* matched(const actions& a, const session_id& to) {
        auto m = of<out::matched>(a, to);
        return m.empty() ? nullptr : m.back();
    }

    // Two new sessions that join (video, no interests) and pair at once.
    void pair_new(const session_id& x, const session_id& y) {
        add(x);
        add(y);
        mm.join(x, {protocol::mode::video, {}, true, false}, now);
        mm.join(y, {protocol::mode::video, {}, true, false}, now);
    }
    // a (offerer) and b (answerer) in a pair, with interests.
    void pair_ab(std::vector<std::string> ia = {}, std::vector<std::string> ib = {},
                 protocol::mode m = protocol::mode::video) {
        add("a");
        add("b");
        mm.join("a", {m, std::move(ia), true, false}, now);
        tick(1ms);
        auto r = mm.join("b", {m, std::move(ib), true, false}, now);
        ASSERT_TRUE(matched(r, "a"));
        ASSERT_EQ(matched(r, "a")->role, role::offerer);
    }
};

}  // namespace

TEST_F(rematch_test, both_asking_after_next_restores_the_pair_with_its_mode_and_roles) {
    pair_ab({"chess", "music"}, {"music", "art"}, protocol::mode::text);
    mm.next("b", now);  // b skips; a is told `next`, b is queued again
    tick(2s);
    auto first = mm.rematch("b", now);
    EXPECT_TRUE(wanted(first, "a")) << "the other side is told once";
    EXPECT_FALSE(matched(first, "b"));
    EXPECT_TRUE(mm.is_queued("b")) << "a queued sender stays queued";
    tick(3s);
    auto second = mm.rematch("a", now);
    auto* ma = matched(second, "a");
    auto* mb = matched(second, "b");
    ASSERT_TRUE(ma && mb);
    EXPECT_TRUE(ma->rematch && mb->rematch);
    EXPECT_EQ(ma->role, role::offerer) << "the same roles as before";
    EXPECT_EQ(mb->role, role::answerer);
    EXPECT_EQ(ma->common, std::vector<std::string>{"music"}) << "common recomputed";
    EXPECT_EQ(ma->pair, mb->pair);
    EXPECT_FALSE(wanted(second, "b")) << "no rematch_wanted once both asked";
    EXPECT_EQ(mm.partner_of("a"), "b");
    EXPECT_FALSE(mm.is_queued("b")) << "both leave their queue places";
    EXPECT_EQ(mm.queued_count(), 0u);
    EXPECT_EQ(mm.rematchable_count(), 0u) << "the ended pair is used up";
}

TEST_F(rematch_test, a_pair_ended_by_leave_can_be_restored_and_an_idle_asker_stays_idle) {
    pair_ab();
    mm.leave("a", now);
    auto first = mm.rematch("a", now);
    EXPECT_TRUE(wanted(first, "b"));
    EXPECT_FALSE(mm.is_queued("a")) << "an idle sender stays idle";
    auto second = mm.rematch("b", now);
    ASSERT_TRUE(matched(second, "a") && matched(second, "b"));
}

TEST_F(rematch_test, asking_while_paired_ends_that_pair_as_next_and_queues_the_sender) {
    pair_ab();
    add("c");
    add("d");
    mm.next("a", now);   // a queued; b idle (told next)
    auto r = mm.join("c", {protocol::mode::video, {}, true, false}, now);  // c meets a
    ASSERT_EQ(mm.partner_of("a"), "c");
    mm.join("b", {protocol::mode::video, {}, true, false}, now);
    mm.join("d", {protocol::mode::video, {}, true, false}, now);
    ASSERT_EQ(mm.partner_of("b"), "d");
    auto first = mm.rematch("a", now);
    ASSERT_EQ(of<out::peer_left>(first, "c").size(), 1u);
    EXPECT_EQ(of<out::peer_left>(first, "c")[0]->reason, leave_reason::next);
    EXPECT_TRUE(wanted(first, "b")) << "wherever it is: here in a pair";
    EXPECT_TRUE(mm.is_queued("a")) << "a is queued again with its last join";
    // c, skipped for a rematch, cannot go back to a.
    EXPECT_TRUE(refused(mm.rematch("c", now), "c"));
    // b asks: its pair with d ends as by next, and a and b are paired again.
    auto second = mm.rematch("b", now);
    ASSERT_EQ(of<out::peer_left>(second, "d").size(), 1u);
    EXPECT_EQ(of<out::peer_left>(second, "d")[0]->reason, leave_reason::next);
    ASSERT_TRUE(matched(second, "a") && matched(second, "b"));
    EXPECT_EQ(mm.partner_of("a"), "b");
    EXPECT_FALSE(mm.is_queued("a"));
}

TEST_F(rematch_test, a_pair_the_first_asker_formed_meanwhile_ends_as_by_next) {
    pair_ab();
    add("c");
    mm.next("a", now);
    mm.rematch("a", now);  // a waits in the queue
    mm.join("c", {protocol::mode::video, {}, true, false}, now);
    ASSERT_EQ(mm.partner_of("a"), "c") << "a waiting asker can meet someone meanwhile";
    auto r = mm.rematch("b", now);
    ASSERT_EQ(of<out::peer_left>(r, "c").size(), 1u);
    EXPECT_EQ(of<out::peer_left>(r, "c")[0]->reason, leave_reason::next);
    ASSERT_TRUE(matched(r, "a") && matched(r, "b"));
    EXPECT_TRUE(matched(r, "a")->rematch);
}

TEST_F(rematch_test, the_window_is_ten_seconds_from_the_end_of_the_pair) {
    pair_ab();
    mm.next("a", now);
    tick(9'999ms);
    EXPECT_TRUE(wanted(mm.rematch("b", now), "a"));
    tick(2ms);
    auto late = mm.rematch("a", now);
    EXPECT_TRUE(refused(late, "a"));
    EXPECT_FALSE(matched(late, "a"));
    EXPECT_EQ(mm.rematchable_count(), 0u) << "forgotten when the window closes";
}

TEST_F(rematch_test, never_after_a_report_a_timeout_or_a_disconnect) {
    pair_ab();
    mm.report("a", now);
    EXPECT_TRUE(refused(mm.rematch("a", now), "a"));
    EXPECT_TRUE(refused(mm.rematch("b", now), "b"));
    mm.leave("a", now);  // the reporter was queued again

    pair_new("c", "d");
    ASSERT_EQ(mm.partner_of("c"), "d");
    tick(31s);  // silent pair: timeout
    ASSERT_FALSE(mm.partner_of("c"));
    EXPECT_TRUE(refused(mm.rematch("c", now), "c"));
    mm.leave("c", now);

    pair_new("e", "f");
    mm.signal("e", "{}", now);
    mm.disconnect("f", now);
    tick(16s);  // f's hold expires: e is told `disconnect`
    ASSERT_FALSE(mm.partner_of("e"));
    EXPECT_TRUE(refused(mm.rematch("e", now), "e"));
}

TEST_F(rematch_test, asking_twice_is_refused_and_a_pair_is_restored_only_once) {
    pair_ab();
    mm.next("a", now);
    mm.rematch("a", now);
    EXPECT_TRUE(refused(mm.rematch("a", now), "a"));
    auto r = mm.rematch("b", now);
    ASSERT_TRUE(matched(r, "b"));
    // The restored pair is an ordinary pair: it can end and be restored again,
    // but the pair that ended first is used up.
    mm.signal("a", "{}", now);
    mm.next("b", now);
    EXPECT_TRUE(wanted(mm.rematch("a", now), "b"));
    EXPECT_TRUE(matched(mm.rematch("b", now), "a"));
}

TEST_F(rematch_test, the_other_side_must_still_be_there) {
    pair_ab();
    mm.next("a", now);
    mm.disconnect("b", now);
    EXPECT_TRUE(refused(mm.rematch("a", now), "a")) << "b is away: it cannot be paired now";
    ASSERT_TRUE(mm.resume("token-b", "token-b2", now));
    EXPECT_TRUE(wanted(mm.rematch("a", now), "b")) << "a may ask again once b is back";
    EXPECT_TRUE(matched(mm.rematch("b", now), "a"));

    pair_new("c", "d");
    mm.next("c", now);
    mm.revoke_resume("d");  // d's address was banned
    EXPECT_TRUE(refused(mm.rematch("c", now), "c"));
    mm.leave("c", now);

    pair_new("e", "f");
    mm.next("e", now);
    mm.disconnect("f", now);
    tick(15'001ms);  // f is gone (past its resume window)
    ASSERT_FALSE(mm.exists("f"));
    EXPECT_TRUE(refused(mm.rematch("e", now), "e"));
}

TEST_F(rematch_test, the_other_sides_last_ended_pair_must_be_this_one) {
    pair_ab();
    add("c");
    mm.next("a", now);
    mm.join("c", {protocol::mode::video, {}, true, false}, now);
    ASSERT_EQ(mm.partner_of("a"), "c");
    mm.next("c", now);  // a's last ended pair is now the one with c
    EXPECT_TRUE(refused(mm.rematch("b", now), "b"));
    EXPECT_TRUE(wanted(mm.rematch("a", now), "c")) << "a goes back to c, its last stranger";
}

TEST_F(rematch_test, without_a_pair_that_ended_there_is_nothing_to_go_back_to) {
    add("a");
    EXPECT_TRUE(refused(mm.rematch("a", now), "a"));
    EXPECT_TRUE(mm.rematch("nobody", now).empty());
}
