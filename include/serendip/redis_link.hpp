#pragma once
// One logical link to Redis: hiredis 0.14.1's async API driven by Asio.
//
// - Two connections: one for commands, one subscribed to this instance's
//   channel (a subscribed context cannot run other commands).
// - Names are resolved with Asio; hiredis only ever sees a numeric address
//   (its own connect resolves with a blocking getaddrinfo). A lookup that
//   fails or hangs falls back to the last address that worked.
// - hiredis 0.14 has no timeouts: every command has a deadline. Replies on one
//   connection arrive in order, so one timer watches the oldest outstanding
//   command; when it expires the connection is stuck (Redis frozen, network
//   gone): every pending command fails with `timed_out` and both connections
//   are rebuilt.
// - A health-check PING runs every `health_interval` when nothing else is sent.
// - Reconnects back off exponentially with jitter, capped at `max_backoff`.
// - AUTH and SELECT run before the link reports ready.
//
// Threading: everything runs on the strand given at construction; call the
// public functions on that strand. Handlers are posted, never run inline.

#include <boost/asio/any_io_executor.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace serendip {

// redis://[[user]:password@]host[:port][/db]
struct redis_endpoint {
    std::string host;
    std::uint16_t port = 6379;
    std::string user;
    std::string password;
    int db = 0;
};
// nullopt if `url` is not a valid redis URL.
std::optional<redis_endpoint> parse_redis_url(std::string_view url);

struct redis_link_settings {
    std::chrono::milliseconds command_timeout{1'000};
    std::chrono::milliseconds connect_timeout{1'000};
    std::chrono::milliseconds health_interval{1'000};
    std::chrono::milliseconds min_backoff{50};
    std::chrono::milliseconds max_backoff{1'000};
};

// A copy of a hiredis reply (hiredis frees its own after the callback).
struct redis_reply {
    enum kind_t { string, array, number, nil, status, error } kind = nil;
    std::string str;
    long long integer = 0;
    std::vector<redis_reply> elements;
};

enum class redis_errc { not_connected = 1, timed_out, disconnected };
const boost::system::error_category& redis_category();
inline boost::system::error_code make_error_code(redis_errc e) {
    return {static_cast<int>(e), redis_category()};
}

class redis_link {
public:
    using reply_handler = std::function<void(boost::system::error_code, redis_reply)>;
    using message_handler = std::function<void(std::string_view payload)>;
    using state_handler = std::function<void(bool ready)>;

    redis_link(boost::asio::any_io_executor strand, redis_endpoint where, redis_link_settings settings,
               std::string channel, message_handler on_message, state_handler on_state);
    ~redis_link();
    redis_link(const redis_link&) = delete;
    redis_link& operator=(const redis_link&) = delete;

    void start();
    void stop();
    bool ready() const { return ready_; }

    // Sends one command; `done` is posted with the reply or an error
    // (not_connected when the link is down, timed_out, disconnected). A Redis
    // error reply is a reply of kind `error`, not an error code.
    void command(const std::vector<std::string>& args, reply_handler done);

    struct conn;  // one hiredis context, public for the C callbacks

private:
    friend struct conn;
    void connect_all();
    void resolved(std::uint64_t attempt, const std::string& address);
    void on_conn_up(conn* c);
    void on_conn_down(conn* c, const char* why);
    void fail_all(const char* why);
    void schedule_reconnect();
    void set_ready(bool r);
    void arm_health();

    boost::asio::any_io_executor strand_;
    redis_endpoint where_;
    redis_link_settings settings_;
    std::string channel_;
    message_handler on_message_;
    state_handler on_state_;
    std::shared_ptr<conn> cmd_, sub_;
    struct timers;
    std::unique_ptr<timers> timers_;
    std::uint64_t attempt_ = 0;  // bumped per connect round, to ignore stale resolves
    std::string address_;        // the address this round connects to
    std::string last_address_;   // the last one that became ready
    unsigned failures_ = 0;
    bool stopped_ = true;
    bool ready_ = false;
    bool reconnect_pending_ = false;
    std::chrono::steady_clock::time_point last_sent_{};
};

}  // namespace serendip

namespace boost::system {
template <>
struct is_error_code_enum<serendip::redis_errc> : std::true_type {};
}  // namespace boost::system
