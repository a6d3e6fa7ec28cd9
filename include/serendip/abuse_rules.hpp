#pragma once
// Abuse rules that need no sockets (docs/privacy.md, docs/protocol.md):
// connection limits per address, the cooldown for users who skip partners
// as fast as bots do, and how long a ban lasts.

#include "serendip/rate_limiter.hpp"

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace serendip {

struct connection_limits {
    std::size_t per_address = 10;           // open at once from one address
    double new_per_minute = 30;             // new connections a minute from one address
    std::size_t total = 50'000;             // open at once on this instance
};

// Admits or refuses a new connection by its address hash. Thread-safe:
// upgrades are admitted on any io thread.
class connection_admission {
public:
    using clock = std::chrono::steady_clock;
    enum class verdict { admit, too_many_from_address, server_full };

    explicit connection_admission(connection_limits limits) : limits_(limits) {}

    verdict admit(const std::string& address_hash, clock::time_point now);
    // An admitted connection ended.
    void release(const std::string& address_hash);

    std::size_t open() const;
    std::size_t tracked_addresses() const;  // for tests: entries are dropped when idle

private:
    struct entry {
        std::size_t open = 0;
        token_bucket recent;
    };
    void forget_idle(clock::time_point now);

    connection_limits limits_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, entry> by_address_;
    std::size_t open_ = 0;
    clock::time_point last_sweep_{};
};

// Bots skip partners within a second or two, again and again. After
// `free_skips` quick skips in a row (a `next` within `quick` of being
// matched), each further one imposes a wait before the next `next` is
// accepted: 1 s, doubling up to `max_wait`. A partner kept longer than
// `quick` resets it.
class skip_cooldown {
public:
    using clock = std::chrono::steady_clock;

    struct settings {
        clock::duration quick = std::chrono::seconds(2);
        unsigned free_skips = 3;
        clock::duration max_wait = std::chrono::seconds(30);
    };
    skip_cooldown() = default;
    explicit skip_cooldown(settings s) : s_(s) {}

    void on_matched(clock::time_point now) { matched_at_ = now; }
    // A `next` now: nullopt if accepted, or how long until one will be.
    std::optional<clock::duration> on_next(clock::time_point now);

private:
    settings s_;
    std::optional<clock::time_point> matched_at_;
    unsigned quick_streak_ = 0;
    clock::time_point wait_until_{};
};

// A ban's length: 1 h for the first, doubling with each repeat, at most 7 days.
std::chrono::seconds ban_length(unsigned previous_bans);

}  // namespace serendip
