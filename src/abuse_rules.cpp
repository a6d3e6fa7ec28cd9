#include "serendip/abuse_rules.hpp"

#include <algorithm>

namespace serendip {

connection_admission::verdict connection_admission::admit(const std::string& address_hash, clock::time_point now) {
    std::lock_guard lock(mutex_);
    forget_idle(now);
    if (open_ >= limits_.total) return verdict::server_full;
    auto it = by_address_.find(address_hash);
    if (it == by_address_.end())
        it = by_address_.emplace(address_hash, entry{0, token_bucket(limits_.new_per_minute / 60.0, limits_.new_per_minute, now)})
                 .first;
    auto& e = it->second;
    if (e.open >= limits_.per_address) return verdict::too_many_from_address;
    if (!e.recent.try_take(now)) return verdict::too_many_from_address;
    ++e.open;
    ++open_;
    return verdict::admit;
}

void connection_admission::release(const std::string& address_hash) {
    std::lock_guard lock(mutex_);
    auto it = by_address_.find(address_hash);
    if (it == by_address_.end() || it->second.open == 0) return;
    --it->second.open;
    --open_;
}

// Addresses with nothing open and a full bucket say nothing any more.
void connection_admission::forget_idle(clock::time_point now) {
    if (now - last_sweep_ < std::chrono::seconds(10)) return;
    last_sweep_ = now;
    for (auto it = by_address_.begin(); it != by_address_.end();) {
        if (it->second.open == 0 && it->second.recent.tokens(now) >= limits_.new_per_minute) it = by_address_.erase(it);
        else ++it;
    }
}

std::size_t connection_admission::open() const {
    std::lock_guard lock(mutex_);
    return open_;
}

std::size_t connection_admission::tracked_addresses() const {
    std::lock_guard lock(mutex_);
    return by_address_.size();
}

std::optional<skip_cooldown::clock::duration> skip_cooldown::on_next(clock::time_point now) {
    if (now < wait_until_) return wait_until_ - now;
    bool quick = matched_at_ && now - *matched_at_ < s_.quick;
    matched_at_.reset();
    if (!quick) {
        quick_streak_ = 0;
        return std::nullopt;
    }
    if (++quick_streak_ > s_.free_skips) {
        auto extra = std::min<unsigned>(quick_streak_ - s_.free_skips - 1, 16);
        clock::duration wait = std::chrono::seconds(1) * (1u << extra);
        wait_until_ = now + std::min(wait, s_.max_wait);
    }
    return std::nullopt;
}

std::chrono::seconds ban_length(unsigned previous_bans) {
    constexpr std::chrono::seconds hour{3600}, week{7 * 24 * 3600};
    if (previous_bans >= 8) return week;
    return std::min(hour * (1u << previous_bans), week);
}

std::optional<std::chrono::seconds> report_book::record(const std::string& reporter, const std::string& reported,
                                                        clock::time_point now) {
    forget_old(now);
    if (reporter.empty() || reported.empty() || reporter == reported) return std::nullopt;
    auto& mine = reporters_[reporter];
    std::erase_if(mine, [&](auto t) { return now - t >= std::chrono::hours(1); });
    if (mine.size() >= s_.per_reporter_per_hour) return std::nullopt;
    mine.push_back(now);

    auto& against = reported_[reported];
    std::erase_if(against, [&](const auto& r) { return now - r.second >= window; });
    against[reporter] = now;
    if (against.size() < s_.threshold) return std::nullopt;

    reported_.erase(reported);
    auto& b = bans_[reported];
    if (b.count > 0 && b.until + remembered_after_ban <= now) b.count = 0;  // too old to double
    auto length = ban_length(b.count);
    b.until = now + length;
    ++b.count;
    return length;
}

std::optional<std::chrono::seconds> report_book::banned_for(const std::string& today, const std::string& yesterday,
                                                            clock::time_point now) {
    forget_old(now);
    auto active = [&](const std::string& hash) -> ban* {
        auto it = bans_.find(hash);
        return it != bans_.end() && it->second.until > now ? &it->second : nullptr;
    };
    ban* b = active(today);
    if (!b && !yesterday.empty() && (b = active(yesterday))) b = &(bans_[today] = *b);
    if (!b) return std::nullopt;
    // Rounded up: a client told "0 s" would retry at once and be refused.
    return std::chrono::ceil<std::chrono::seconds>(b->until - now);
}

void report_book::forget_old(clock::time_point now) {
    if (now - last_sweep_ < std::chrono::minutes(1)) return;
    last_sweep_ = now;
    std::erase_if(reporters_, [&](auto& r) {
        return r.second.empty() || now - r.second.back() >= std::chrono::hours(1);
    });
    for (auto it = reported_.begin(); it != reported_.end();) {
        std::erase_if(it->second, [&](const auto& x) { return now - x.second >= window; });
        it = it->second.empty() ? reported_.erase(it) : std::next(it);
    }
    std::erase_if(bans_, [&](const auto& b) { return b.second.until + remembered_after_ban <= now; });
}

}  // namespace serendip
