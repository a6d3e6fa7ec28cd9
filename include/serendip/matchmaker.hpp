#pragma once
// The pairing rules and the session/queue/pair state machine of PROTOCOL.md,
// sans I/O: events (with the current time) in, actions out. The in-memory
// store runs it on one strand; the rules are tested here without sockets.

#include "serendip/protocol.hpp"

#include <chrono>
#include <cstdint>
#include <list>
#include <optional>
#include <queue>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

namespace serendip {

using session_id = std::string;
using steady_time = std::chrono::steady_clock::time_point;

struct matchmaker_settings {
    std::chrono::milliseconds fallback_after{5'000};
    std::chrono::milliseconds pair_timeout{30'000};
    std::chrono::milliseconds resume_window{15'000};
    std::size_t recent_partners = 3;
    std::size_t held_signals = 64;
    std::chrono::milliseconds rematch_window{10'000};  // "Going back"
};

namespace out {
struct queued {
    protocol::mode mode;
    std::vector<std::string> interests;
};
struct matched {
    protocol::role role;
    std::vector<std::string> common;
    // The partner and a number for the pair, the same on both sides and
    // growing with each pair this store makes: with them the hub lets two
    // connections of this instance relay signals straight to each other.
    // Empty and 0 where the store does not give them (Redis).
    std::string partner = {};
    std::uint64_t pair = 0;
    bool rematch = false;  // restored by "Going back"
};
// The stranger of the session's last ended pair asked to go back.
struct rematch_wanted {};
struct signal {
    std::string data;  // validated JSON, relayed as is
};
struct peer_left {
    protocol::leave_reason reason;
};
struct error {
    protocol::error_code code;
    protocol::client_type ref;
};
// Reports got the session's address banned: told, then closed with 1008.
struct banned {
    std::chrono::seconds length;  // what remains of the ban
};
}  // namespace out

// One frame-to-be for one session.
struct action {
    session_id to;
    std::variant<out::queued, out::matched, out::signal, out::peer_left, out::error, out::banned, out::rematch_wanted>
        what;
};
using actions = std::vector<action>;

struct resumed {
    session_id id;
    actions held;  // what happened while the session was away, in order
};

class matchmaker {
public:
    explicit matchmaker(matchmaker_settings settings = {});

    // A new connection: a fresh session, idle, reachable by `token`, from
    // the address with hash `address` (today's; empty if unknown).
    void connect(const session_id& id, const std::string& resume_token, std::string address = {});
    // Restores the session behind `token` (held or still connected) and
    // rotates its token; nullopt if the token is unknown, used or expired.
    // The session now comes from `address`.
    std::optional<resumed> resume(const std::string& token, const std::string& new_token, steady_time now,
                                  std::string address = {});

    actions join(const session_id& id, const protocol::join& request, steady_time now);
    actions next(const session_id& id, steady_time now);
    actions leave(const session_id& id, steady_time now);
    actions report(const session_id& id, steady_time now);
    actions signal(const session_id& id, std::string data, steady_time now);
    // "Going back" (PROTOCOL.md): back to the stranger of the session's last
    // ended pair, once both asked within the window.
    actions rematch(const session_id& id, steady_time now);
    // A signal went from this session to its partner without passing here
    // (the hub's direct route): the pair has signalled (rule 8).
    void signaled(const session_id& id);
    // The connection dropped: out of the queue at once, the session held.
    actions disconnect(const session_id& id, steady_time now);
    // The session can no longer be resumed (its address was banned).
    void revoke_resume(const session_id& id);
    // Another session from a banned address: out of its pair (the partner is
    // told `disconnect`) and the queue, and no longer resumable.
    actions banish(const session_id& id);

    // Fires what is due: interest fallbacks, silent-pair timeouts, expired holds.
    actions advance(steady_time now);
    std::optional<steady_time> next_deadline();

    // Observers, for the store, metrics and tests.
    std::size_t session_count() const { return sessions_.size(); }
    std::size_t connected_count() const { return connected_; }
    std::size_t queued_count() const { return queue_[0].size() + queue_[1].size(); }
    std::size_t paired_count() const { return paired_; }
    std::size_t rematchable_count() const { return ended_.size(); }
    bool is_queued(const session_id& id) const;
    std::optional<session_id> partner_of(const session_id& id) const;
    bool exists(const session_id& id) const { return sessions_.count(id) != 0; }
    std::string address_of(const session_id& id) const;
    // Connected sessions from the address with this hash (none for "").
    std::vector<session_id> connected_at(const std::string& address) const;
    bool is_connected(const session_id& id) const;
    std::vector<session_id> queued_in(protocol::mode m) const;  // FIFO order
    bool blocked(const session_id& a, const session_id& b) const;
    bool recent(const session_id& a, const session_id& b) const;
    // Whether a and b, both waiting, could be paired now (ignoring recency).
    bool eligible(const session_id& a, const session_id& b, steady_time now) const;

private:
    struct entry {
        session_id id;
        protocol::mode mode;
        std::vector<std::string> interests;
        bool fallback;
        steady_time since;
        std::uint64_t seq;  // FIFO tie-break for equal times
    };
    using queue_list = std::list<entry>;

    // A pair that ended by `next` or `leave`, open to "Going back" for the
    // window: who was in it (offerer first) and who has asked since.
    struct ended_pair {
        session_id offerer, answerer;
        protocol::mode mode;
        steady_time at;
        bool offerer_asked = false, answerer_asked = false;
        bool& asked(bool by_offerer) { return by_offerer ? offerer_asked : answerer_asked; }
    };

    struct session {
        std::string token;
        std::string address;  // hash, for reports
        bool connected = true;
        std::optional<protocol::join> last_join;
        std::optional<queue_list::iterator> queued;
        std::optional<session_id> partner;
        bool pair_signaled = false;
        // The current pair: its number, mode and this side's role.
        std::uint64_t pair = 0;
        protocol::mode pair_mode = protocol::mode::video;
        protocol::role pair_role = protocol::role::offerer;
        std::uint64_t last_ended = 0;  // the pair that ended last (a key of ended_), 0: none
        bool banned = false;           // its address was banned: never paired again
        std::vector<session_id> recent;  // oldest first; a vector, not a deque: a deque allocates 512 B up front
        std::unordered_set<session_id> blocked;
        actions held;  // delivered on resume
        std::size_t held_signals = 0;
        // Bumped when the session's place (queue, pair) or hold changes, so
        // deadlines scheduled before are recognised as stale.
        std::uint64_t place_gen = 0;
        std::uint64_t hold_gen = 0;
    };

    enum class deadline_kind { open, pair_timeout, hold_expiry, rematch_expiry };
    struct deadline {
        steady_time at;
        deadline_kind kind;
        session_id id;
        std::uint64_t generation;  // for rematch_expiry: the ended pair's number
        bool operator>(const deadline& o) const { return at > o.at; }
    };

    session* find(const session_id& id);
    const session* find(const session_id& id) const;
    void emit(actions& out, const session_id& to, decltype(action::what) what);
    void enqueue(actions& out, const session_id& id, const protocol::join& request, steady_time now);
    void dequeue(session& s);
    bool try_match(actions& out, queue_list::iterator e, steady_time now);
    void pair_up(actions& out, queue_list::iterator older, queue_list::iterator newer, steady_time now);
    void pair_sessions(actions& out, const session_id& offerer, const session_id& answerer, protocol::mode mode,
                       std::vector<std::string> common, bool rematch, steady_time now);
    void end_pair(actions& out, const session_id& id, protocol::leave_reason told_partner, steady_time now,
                  bool going_back = false);
    void restore(actions& out, std::uint64_t pair_number, steady_time now);
    void remember_partner(session& s, const session_id& partner);
    bool open(const entry& e, steady_time now) const;
    void erase(const session_id& id);
    void schedule(steady_time at, deadline_kind kind, const session_id& id);

    matchmaker_settings settings_;
    std::unordered_map<session_id, session> sessions_;
    std::unordered_map<std::string, session_id> tokens_;
    queue_list queue_[2];  // per mode
    std::unordered_map<std::uint64_t, ended_pair> ended_;  // by pair number, for the rematch window
    std::priority_queue<deadline, std::vector<deadline>, std::greater<>> deadlines_;
    std::uint64_t seq_ = 0;
    std::uint64_t pairs_ = 0;  // pairs made: out::matched::pair
    std::size_t connected_ = 0;
    std::size_t paired_ = 0;  // sessions in a pair
};

}  // namespace serendip
