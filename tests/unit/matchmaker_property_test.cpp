// Thousands of random sequences of join/next/leave/report/signal/rematch/
// disconnect/resume and time passing, with the matching rules checked after
// every step.

#include "serendip/matchmaker.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <random>
#include <set>

using namespace serendip;
using namespace std::chrono_literals;

namespace {

struct known {
    protocol::join params;
    steady_time since;
    std::string token;
    bool connected = true;
};

class property_run {
public:
    static inline int restores = 0;  // rematches seen across all runs, so the oracle is known to have run

    explicit property_run(unsigned seed) : rng_(seed) {}

    void run(int steps) {
        for (int i = 0; i < steps && !::testing::Test::HasFailure(); ++i) {
            step();
            sync_pairs();
            check_invariants();
        }
    }

private:
    std::mt19937 rng_;
    matchmaker mm_;
    steady_time now_ = steady_time{} + 1h;
    std::map<session_id, known> sessions_;
    std::set<std::string> used_tokens_;
    int next_id_ = 0, next_token_ = 0;

    // What the actions said about pairs, for "Going back": every pair made,
    // the one each session is in, and when and why each ended.
    struct pair_seen {
        session_id offerer, answerer;
        protocol::mode mode;
        std::optional<steady_time> ended;
        std::optional<protocol::leave_reason> why;
        std::set<session_id> asked;  // sent `rematch` after it ended
        bool restored = false;
    };
    std::map<std::uint64_t, pair_seen> pairs_;
    std::map<session_id, std::uint64_t> in_pair_;
    std::map<session_id, protocol::mode> mode_asked_;

    int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

    std::optional<session_id> any_session(bool connected_only = true) {
        std::vector<session_id> ids;
        for (auto& [id, k] : sessions_)
            if (!connected_only || k.connected) ids.push_back(id);
        if (ids.empty()) return std::nullopt;
        return ids[pick(static_cast<int>(ids.size()))];
    }

    protocol::join random_join() {
        static const std::vector<std::string> pool = {"music", "chess", "art"};
        protocol::join j;
        j.mode = pick(4) == 0 ? protocol::mode::text : protocol::mode::video;
        int n = pick(3) == 0 ? pick(3) : 0;
        for (int i = 0; i < n; ++i) {
            auto& s = pool[pick(3)];
            if (std::find(j.interests.begin(), j.interests.end(), s) == j.interests.end()) j.interests.push_back(s);
        }
        j.fallback = pick(4) != 0;
        return j;
    }

    void apply(const actions& out) {
        for (const auto& a : out) {
            ASSERT_TRUE(sessions_.count(a.to)) << "action for unknown session";
            ASSERT_TRUE(sessions_[a.to].connected) << "action for a disconnected session: it must be held";
            if (auto* m = std::get_if<out::matched>(&a.what)) on_matched(a.to, *m);
            if (auto* l = std::get_if<out::peer_left>(&a.what)) on_pair_end(a.to, l->reason);
        }
    }

    void on_pair_end(const session_id& told, protocol::leave_reason why) {
        auto it = in_pair_.find(told);
        if (it == in_pair_.end()) return;
        auto& p = pairs_[it->second];
        if (!p.ended) p.ended = now_, p.why = why;
        in_pair_.erase(p.offerer);
        in_pair_.erase(p.answerer);
    }

    // A pair whose two sides are no longer partners has ended, heard or not
    // (the actor of a `next` hears nothing; a held partner hears it later).
    void sync_pairs() {
        for (auto it = in_pair_.begin(); it != in_pair_.end();) {
            auto& p = pairs_[it->second];
            const auto& other = it->first == p.offerer ? p.answerer : p.offerer;
            if (mm_.partner_of(it->first) == other) {
                ++it;
                continue;
            }
            if (!p.ended) p.ended = now_;
            it = in_pair_.erase(it);
        }
    }

    // A pair's end is seen when its partner hears of it, or when either
    // side lands in a new pair.
    void on_matched(const session_id& to, const out::matched& m) {
        if (auto it = in_pair_.find(to); it != in_pair_.end() && it->second != m.pair) {
            auto& old = pairs_[it->second];
            if (!old.ended) old.ended = now_;
            in_pair_.erase(old.offerer);
            in_pair_.erase(old.answerer);
        }
        auto& p = pairs_[m.pair];
        (m.role == protocol::role::offerer ? p.offerer : p.answerer) = to;
        in_pair_[to] = m.pair;
        if (!m.rematch || m.role != protocol::role::answerer) return;
        // Both halves are in: it must restore an earlier pair of the same two,
        // with the same roles, that ended by next or leave within 10 s, that
        // both asked for since, and that was never restored before.
        bool found = false;
        for (auto& [n, earlier] : pairs_) {
            if (n == m.pair || earlier.offerer != p.offerer || earlier.answerer != p.answerer || earlier.restored) continue;
            if (!earlier.ended || now_ - *earlier.ended > 10s) continue;
            if (earlier.asked.size() != 2) continue;
            EXPECT_TRUE(!earlier.why || *earlier.why == protocol::leave_reason::next ||
                        *earlier.why == protocol::leave_reason::leave)
                << "restored a pair that ended by " << protocol::name(*earlier.why);
            earlier.restored = true;
            ++restores;
            p.mode = earlier.mode;
            found = true;
            break;
        }
        EXPECT_TRUE(found) << "a rematch of " << p.offerer << " and " << p.answerer << " that no pair asked for";
        EXPECT_FALSE(mm_.blocked(p.offerer, p.answerer)) << "a rematch of sessions that reported one another";
    }

    void rematch(const session_id& id) {
        // The pairs this session was in that have ended: asking names the last.
        std::optional<std::uint64_t> last;
        for (auto& [n, p] : pairs_)
            if ((p.offerer == id || p.answerer == id) && p.ended && (!last || *pairs_[*last].ended <= *p.ended)) last = n;
        if (last) pairs_[*last].asked.insert(id);
        bool was_paired = mm_.partner_of(id).has_value();
        apply(mm_.rematch(id, now_));
        // Asked while paired, the pair ends as by `next` and the asker waits again.
        if (was_paired && mm_.is_queued(id)) sessions_[id].since = now_;
    }

    void step() {
        int op = pick(100);
        if (op < 10 || sessions_.size() < 2) {  // a new connection
            if (sessions_.size() >= 14) return;
            session_id id = "s" + std::to_string(next_id_++);
            std::string token = "t" + std::to_string(next_token_++);
            mm_.connect(id, token);
            sessions_[id] = {{}, now_, token, true};
        } else if (op < 40) {  // join, checking who was chosen
            auto id = any_session();
            if (!id) return;
            auto j = random_join();
            auto before = mm_.queued_in(j.mode);
            bool was_paired = mm_.partner_of(*id).has_value();
            auto out = mm_.join(*id, j, now_);
            sessions_[*id].params = j;
            sessions_[*id].since = now_;
            apply(out);
            if (!was_paired) check_choice(*id, before, out);
        } else if (op < 55) {
            auto id = any_session();
            if (!id) return;
            bool was_queued = mm_.is_queued(*id);
            apply(mm_.next(*id, now_));
            // A new place in the queue starts a new wait; `next` while queued keeps the place.
            if (!was_queued) sessions_[*id].since = now_;
        } else if (op < 62) {
            auto id = any_session();
            if (id) apply(mm_.leave(*id, now_));
        } else if (op < 68) {
            auto id = any_session();
            if (id) {
                auto partner = mm_.partner_of(*id);
                apply(mm_.report(*id, now_));
                if (partner) {
                    EXPECT_TRUE(mm_.blocked(*id, *partner));
                    sessions_[*id].since = now_;  // re-queued
                }
            }
        } else if (op < 74) {
            auto id = any_session();
            if (id) apply(mm_.signal(*id, "{}", now_));
        } else if (op < 78) {
            auto id = any_session();
            if (id) rematch(*id);
        } else if (op < 85) {
            auto id = any_session();
            if (id) {
                apply(mm_.disconnect(*id, now_));
                sessions_[*id].connected = false;
                EXPECT_FALSE(mm_.is_queued(*id));
            }
        } else if (op < 92) {  // resume, with the right token or a stale one
            auto id = any_session(false);
            if (!id) return;
            auto& k = sessions_[*id];
            bool stale = pick(3) == 0 && !used_tokens_.empty();
            std::string token = stale ? *std::next(used_tokens_.begin(), pick(static_cast<int>(used_tokens_.size())))
                                      : k.token;
            std::string fresh = "t" + std::to_string(next_token_++);
            auto r = mm_.resume(token, fresh, now_);
            if (stale) {
                EXPECT_FALSE(r) << "a used token must never resume";
            } else if (r) {
                EXPECT_EQ(r->id, *id);
                used_tokens_.insert(k.token);
                k.token = fresh;
                k.connected = true;
            } else {
                EXPECT_FALSE(mm_.exists(*id)) << "a live session's current token must resume";
            }
        } else {  // time passes
            now_ += std::chrono::milliseconds(pick(4000));
            apply(mm_.advance(now_));
        }
        // Sessions the matchmaker forgot (hold expired) are gone for good.
        for (auto it = sessions_.begin(); it != sessions_.end();) {
            if (!mm_.exists(it->first)) {
                EXPECT_FALSE(it->second.connected) << "a connected session vanished";
                used_tokens_.insert(it->second.token);
                it = sessions_.erase(it);
            } else {
                ++it;
            }
        }
    }

    bool open(const session_id& id) const {
        const auto& k = sessions_.at(id);
        return k.params.interests.empty() || (k.params.fallback && now_ - k.since >= 5s);
    }

    static bool share(const protocol::join& a, const protocol::join& b) {
        for (auto& x : a.interests)
            if (std::find(b.interests.begin(), b.interests.end(), x) != b.interests.end()) return true;
        return false;
    }

    // Rules 1-3 as an oracle: the partner chosen for a fresh join must be an
    // eligible waiting user with the best rank, the longest-waiting among those.
    void check_choice(const session_id& x, const std::vector<session_id>& before, const actions& out) {
        std::optional<session_id> chosen;
        for (const auto& a : out)
            if (a.to != x && std::holds_alternative<out::matched>(a.what)) chosen = a.to;
        const auto& px = sessions_.at(x).params;
        bool x_open = px.interests.empty();
        auto rank = [&](const session_id& z) -> int {
            if (z == x || mm_.blocked(x, z)) return -1;
            const auto& pz = sessions_.at(z).params;
            bool shared = share(px, pz);
            if (!shared && !(x_open && open(z))) return -1;
            return (mm_.recent(x, z) ? 2 : 0) + (shared ? 0 : 1);
        };
        std::optional<session_id> best;
        int best_rank = 99;
        for (const auto& z : before) {
            int r = rank(z);
            if (r >= 0 && r < best_rank) best_rank = r, best = z;
        }
        ASSERT_EQ(chosen, best) << "join of " << x << " chose the wrong partner";
    }

    void check_invariants() {
        std::set<session_id> queued;
        for (auto m : {protocol::mode::video, protocol::mode::text})
            for (auto& id : mm_.queued_in(m)) {
                ASSERT_TRUE(queued.insert(id).second) << id << " is queued twice";
                ASSERT_TRUE(mm_.is_connected(id)) << id << " is queued while disconnected";
            }
        for (auto& [id, k] : sessions_) {
            auto p = mm_.partner_of(id);
            if (!p) continue;
            ASSERT_NE(*p, id) << "paired with self";
            ASSERT_EQ(mm_.partner_of(*p), id) << "pair is not symmetric";
            ASSERT_FALSE(queued.count(id)) << id << " is both queued and paired";
            ASSERT_FALSE(mm_.blocked(id, *p)) << id << " is paired with someone blocked";
        }
        std::vector<session_id> waiting(queued.begin(), queued.end());
        for (std::size_t i = 0; i < waiting.size(); ++i)
            for (std::size_t j = i + 1; j < waiting.size(); ++j)
                ASSERT_FALSE(mm_.eligible(waiting[i], waiting[j], now_))
                    << waiting[i] << " and " << waiting[j] << " both wait though eligible";
    }
};

}  // namespace

TEST(matchmaker_property_test, random_sequences_keep_every_rule) {
    for (unsigned seed = 1; seed <= 3000 && !::testing::Test::HasFailure(); ++seed) {
        SCOPED_TRACE("seed " + std::to_string(seed));
        property_run(seed).run(150);
    }
    EXPECT_GT(property_run::restores, 100) << "the random sequences hardly ever went back to a stranger";
    std::printf("rematches restored: %d\n", property_run::restores);
}
