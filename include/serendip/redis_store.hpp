#pragma once
// The store shared by several server instances through one Redis (see
// docs/redis.md). Matching runs as one Lua script (EVALSHA), so instances
// cannot race; events for sessions of other instances travel over pub/sub,
// one channel per instance.
//
// This instance keeps a small mirror of its own connected sessions (token,
// last join, waiting or partner) so that it can rebuild them when Redis
// loses its data, count them for `online`, and relay signals without the
// script: between two of its own sessions directly, to another instance's
// session by one PUBLISH (the receiving instance checks the pair against its
// own mirror).

#include "serendip/abuse_rules.hpp"
#include "serendip/redis_link.hpp"
#include "serendip/store.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <set>
#include <unordered_map>
#include <unordered_set>

namespace serendip {

struct redis_store_settings {
    redis_endpoint where;
    redis_link_settings link;
    std::chrono::milliseconds heartbeat{1'000};  // instance liveness and online count
    // An instance silent this long is dead: its sessions are held for resume.
    std::chrono::milliseconds instance_ttl{5'000};
    std::chrono::milliseconds session_ttl{30'000};  // TTL of a connected session's keys, refreshed
    std::string instance_id;                        // empty: random
    report_settings reports;                        // the same on every instance
};

// What a `matched` from the script says about the new pair.
struct redis_store_match {
    session_id partner;
    std::string instance, pair_id;
};

class redis_store final : public store {
public:
    redis_store(boost::asio::any_io_executor strand, matchmaker_settings rules, redis_store_settings settings);
    ~redis_store() override;

    void set_sink(store_sink* sink) override { sink_ = sink; }
    void check_ban(const address_hashes& address,
                   std::function<void(std::optional<std::chrono::seconds>)> done) override;
    void connect(const session_id& id, const std::string& resume_token, const std::string& address) override;
    void resume(const std::string& token, const std::string& new_token, const std::string& address,
                std::function<void(std::optional<resumed>)> done) override;
    void join(const session_id& id, protocol::join request) override;
    void next(const session_id& id) override;
    void leave(const session_id& id) override;
    void report(const session_id& id, protocol::report_reason reason) override;
    void signal(const session_id& id, std::string data) override;
    void rematch(const session_id& id) override;
    // Never called: this store's `matched` names no partner, so the hub
    // gives its sessions no direct route (docs/redis.md).
    void signaled(const session_id&) override {}
    void disconnect(const session_id& id) override;

    std::uint64_t online() const override;
    store_status status() const override;
    stats snapshot() const override;
    void shutdown() override;

    const std::string& instance_id() const { return self_; }

private:
    struct local {
        std::string token;    // the resume token's key in Redis (token_key), never the token
        std::string address;  // hash, restored with the session
        std::optional<protocol::join> last_join;
        bool waiting = false;
        session_id partner;
        std::string partner_instance;  // empty: unknown, so signals go through the script
        std::string pair_id;
        unsigned scripted = 0;    // this session's signals on their way through the script
        unsigned forwarding = 0;  // signals for this session on their way through `relay`
        std::optional<std::chrono::steady_clock::time_point> timeout_at;  // offerer: rule 8
    };

    using result_handler = std::function<void(bool ok, const redis_reply& extra)>;

    void start();
    // An operation of the script, waiting for (or in) a call.
    struct script_op {
        std::string name, expires;
        std::vector<std::string> args;
        result_handler done;
    };

    void eval(std::string op, std::vector<std::string> args, result_handler done);
    void send_waiting();
    void answered(boost::system::error_code ec, const redis_reply& r, std::vector<script_op>& ops);
    void deliver(actions batch);
    void on_message(std::string_view payload);
    void take(std::string_view item, actions& batch);
    void banish_others(std::string_view item);
    void on_link(bool ready);
    void beat();
    void restore();
    void arm_tick(long long delay_ms);
    void unavailable(const session_id& id, protocol::client_type ref);
    void simple(const char* op, const session_id& id, protocol::client_type ref, std::vector<std::string> more = {});
    void update_counts();
    void set_state(const session_id& id, local& l, bool waiting, session_id partner);
    void note(const session_id& id, local& l, const action& a, const redis_store_match& m);
    bool signal_directly(const session_id& id, local& me, std::string& data);
    void signal_by_script(const session_id& id, std::string data);
    void forward(const session_id& from, const session_id& to, std::string data);
    void replaced(const session_id& id);
    void arm_pair_timeout(const session_id& id, local& l);
    void clear_pair_timeout(const session_id& id, local& l);
    void schedule_pair_timer();
    void arm_earliest(boost::asio::steady_timer& timer, std::optional<std::chrono::steady_clock::time_point>& armed_for,
                      std::chrono::steady_clock::time_point at, std::function<void()> fire);
    void on_pair_timer();

    boost::asio::any_io_executor strand_;
    matchmaker_settings rules_;
    redis_store_settings settings_;
    std::string self_;
    std::string sha_;
    std::vector<std::string> fixed_args_;  // settings passed to every call
    std::vector<script_op> waiting_ops_;   // for the next call
    bool call_in_flight_ = false;
    std::unique_ptr<redis_link> link_;
    store_sink* sink_ = nullptr;
    boost::asio::steady_timer beat_timer_, tick_timer_, pair_timer_;
    std::optional<std::chrono::steady_clock::time_point> tick_at_, pair_timer_at_;
    // Pair timeouts of this instance's offerers, earliest first (rule 8 is
    // kept here: every signal of a pair passes the offerer's instance).
    std::set<std::pair<std::chrono::steady_clock::time_point, session_id>> pair_deadlines_;
    std::unordered_map<session_id, local> locals_;  // on strand_
    std::unordered_set<session_id> pending_disconnects_;
    unsigned resumes_in_flight_ = 0;
    std::vector<std::string> early_;  // published while a resume was in flight, for no session here
    std::optional<long long> offset_ms_;  // Redis time minus steady time, from the last beat
    std::size_t n_waiting_ = 0, n_paired_ = 0;  // over locals_
    unsigned beats_ = 0;
    bool restored_ = false;
    bool stopped_ = false;
    std::atomic<bool> ready_{false};
    std::atomic<std::uint64_t> local_count_{0}, others_{0}, queued_{0}, paired_{0};
};

}  // namespace serendip
