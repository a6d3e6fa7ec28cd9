#pragma once
// Token bucket: `rate` tokens a second, at most `burst` saved up. Time is
// passed in, so the rules are tested without clocks or sockets.

#include <algorithm>
#include <chrono>

namespace serendip {

class token_bucket {
public:
    using clock = std::chrono::steady_clock;

    token_bucket(double rate_per_sec, double burst, clock::time_point now)
        : rate_(rate_per_sec), burst_(burst), tokens_(burst), last_(now) {}

    // Takes one token if there is one.
    bool try_take(clock::time_point now) {
        refill(now);
        if (tokens_ < 1.0) return false;
        tokens_ -= 1.0;
        return true;
    }

    double tokens(clock::time_point now) {
        refill(now);
        return tokens_;
    }

private:
    void refill(clock::time_point now) {
        if (now <= last_) return;
        std::chrono::duration<double> elapsed = now - last_;
        tokens_ = std::min(burst_, tokens_ + elapsed.count() * rate_);
        last_ = now;
    }

    double rate_;
    double burst_;
    double tokens_;
    clock::time_point last_;
};

// The per-connection message limit of PROTOCOL.md: refused messages get an
// error; if refusals go on for `close_after` (no second without one), the
// connection is to be closed.
class message_limiter {
public:
    using clock = token_bucket::clock;
    enum class verdict { accept, refuse, refuse_and_close };

    message_limiter(double rate, double burst, clock::duration close_after, clock::time_point now)
        : bucket_(rate, burst, now), close_after_(close_after) {}

    verdict on_message(clock::time_point now) {
        if (bucket_.try_take(now)) {
            // A quiet second ends a streak of refusals.
            if (limited_ && now - last_refusal_ >= std::chrono::seconds(1)) limited_ = false;
            return verdict::accept;
        }
        if (!limited_ || now - last_refusal_ >= std::chrono::seconds(1)) {
            limited_ = true;
            streak_start_ = now;
        }
        last_refusal_ = now;
        return now - streak_start_ >= close_after_ ? verdict::refuse_and_close : verdict::refuse;
    }

    // Whether an error frame should answer this refusal: one a second is
    // enough to tell the client, and a flood must not become an echo flood.
    bool should_report(clock::time_point now) {
        if (now - last_report_ < std::chrono::seconds(1) && reported_once_) return false;
        reported_once_ = true;
        last_report_ = now;
        return true;
    }

private:
    token_bucket bucket_;
    clock::duration close_after_;
    bool limited_ = false;
    bool reported_once_ = false;
    clock::time_point streak_start_{};
    clock::time_point last_refusal_{};
    clock::time_point last_report_{};
};

}  // namespace serendip
