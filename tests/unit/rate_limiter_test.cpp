#include "serendip/rate_limiter.hpp"

#include <gtest/gtest.h>

using namespace serendip;
using namespace std::chrono_literals;

TEST(token_bucket_test, burst_then_rate) {
    auto t0 = token_bucket::clock::time_point{} + 1h;
    token_bucket b(20, 60, t0);
    int taken = 0;
    while (b.try_take(t0)) ++taken;
    EXPECT_EQ(taken, 60);
    EXPECT_FALSE(b.try_take(t0 + 49ms));  // 0.98 of a token
    EXPECT_TRUE(b.try_take(t0 + 50ms));
    EXPECT_FALSE(b.try_take(t0 + 50ms));
    // A long pause refills to the burst, not beyond.
    EXPECT_DOUBLE_EQ(b.tokens(t0 + 1h), 60);
}

TEST(token_bucket_test, sustained_rate_is_honoured) {
    auto t0 = token_bucket::clock::time_point{} + 1h;
    token_bucket b(3, 3, t0);
    int taken = 0;
    for (int ms = 0; ms < 10'000; ms += 10)
        if (b.try_take(t0 + std::chrono::milliseconds(ms))) ++taken;
    EXPECT_GE(taken, 3 + 29);  // burst + 3/s for ~10 s
    EXPECT_LE(taken, 3 + 30);
}

TEST(message_limiter_test, refuses_then_closes_after_five_seconds_of_flooding) {
    auto t0 = token_bucket::clock::time_point{} + 1h;
    message_limiter l(20, 60, 5s, t0);
    for (int i = 0; i < 60; ++i) EXPECT_EQ(l.on_message(t0), message_limiter::verdict::accept);
    EXPECT_EQ(l.on_message(t0), message_limiter::verdict::refuse);
    // Flood at 100/s: refusals keep coming, and after 5 s the verdict is close.
    message_limiter::verdict last{};
    auto t = t0;
    for (int i = 0; i < 600 && last != message_limiter::verdict::refuse_and_close; ++i) {
        t += 10ms;
        last = l.on_message(t);
    }
    EXPECT_EQ(last, message_limiter::verdict::refuse_and_close);
    EXPECT_GE(t - t0, 5s);
    EXPECT_LT(t - t0, 5s + 100ms);
}

TEST(message_limiter_test, a_quiet_second_ends_the_streak) {
    auto t0 = token_bucket::clock::time_point{} + 1h;
    message_limiter l(20, 60, 5s, t0);
    for (int i = 0; i < 61; ++i) l.on_message(t0);
    auto t = t0 + 4s;  // refused at t0, then quiet for 4 s
    EXPECT_EQ(l.on_message(t), message_limiter::verdict::accept);
    // Fresh flood: a new streak starts, so no close for another 5 s.
    for (int i = 0; i < 100; ++i) l.on_message(t);
    EXPECT_EQ(l.on_message(t + 2s), message_limiter::verdict::accept);
}

TEST(message_limiter_test, reports_refusals_at_most_once_a_second) {
    auto t0 = token_bucket::clock::time_point{} + 1h;
    message_limiter l(20, 60, 5s, t0);
    EXPECT_TRUE(l.should_report(t0));
    EXPECT_FALSE(l.should_report(t0 + 500ms));
    EXPECT_TRUE(l.should_report(t0 + 1s));
}
