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
#include <vector>

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


// Reports and bans by address hash (docs/privacy.md). A report counts
// against the reported address once per distinct reporting address within
// 24 h; at `threshold` of them the address is banned (ban_length, by
// how many bans it had that are still remembered) and its count starts
// over. A reporting address counts at most `per_reporter_per_hour` reports
// an hour, so that reporting cannot be used as a weapon; one never counts
// against its own address. Everything is forgotten after its window (a ban
// 7 days after it ends). The memory store's ledger; the Redis store keeps
// the same rules in its script. Not thread-safe: the store's strand owns it.
struct report_settings {
    unsigned threshold = 3;
    unsigned per_reporter_per_hour = 5;
};

class report_book {
public:
    using clock = std::chrono::steady_clock;

    explicit report_book(report_settings s = {}) : s_(s) {}

    // `reporter` reported `reported`: the ban this imposes now, if any.
    std::optional<std::chrono::seconds> record(const std::string& reporter, const std::string& reported,
                                               clock::time_point now);

    // What remains of a ban on an address known by today's or yesterday's
    // hash (a ban found under yesterday's is carried over to today's, so it
    // outlives the key's rotation while its holder keeps coming back).
    std::optional<std::chrono::seconds> banned_for(const std::string& today, const std::string& yesterday,
                                                   clock::time_point now);

    std::size_t tracked() const { return reporters_.size() + reported_.size() + bans_.size(); }

private:
    struct ban {
        clock::time_point until;
        unsigned count = 0;
    };
    void forget_old(clock::time_point now);
    static constexpr auto window = std::chrono::hours(24);
    static constexpr auto remembered_after_ban = std::chrono::hours(24 * 7);

    report_settings s_;
    std::unordered_map<std::string, std::vector<clock::time_point>> reporters_;  // counted reports, last hour
    std::unordered_map<std::string, std::unordered_map<std::string, clock::time_point>> reported_;  // by reporter
    std::unordered_map<std::string, ban> bans_;
    clock::time_point last_sweep_{};
};

}  // namespace serendip
