#pragma once
// The thin Asio shell between connections and the store: gives sessions
// their ids and resume tokens, turns the store's actions into frames for the
// right connection, and coalesces the online count. Runs on one strand; no
// Beast here, connections are reached through `client_link`.

#include "serendip/metrics.hpp"
#include "serendip/store.hpp"
#include "serendip/turn_credentials.hpp"
#include "serendip/websocket_codec.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace serendip {

// A server message framed for the wire once, however many connections it goes to.
using frame = std::shared_ptr<const ws::wire_frame>;

inline frame make_frame(std::string_view json) { return std::make_shared<const ws::wire_frame>(ws::wire_frame::text(json)); }

class client_link;

// The way from one connection of a pair to the other when both are on this
// instance: signals go from strand to strand, never through the hub or the
// store. The hub sets it before the connection's `matched`.
struct peer_route {
    std::uint64_t pair = 0;  // the store's number of the pair; 0: no route
    session_id partner;      // for a signal the route cannot deliver
    std::weak_ptr<client_link> link;
};

// A connection as the hub sees it. Every call is safe from any thread.
class client_link {
public:
    virtual ~client_link() = default;
    virtual void send(server_type type, frame f) = 0;
    virtual void close(close_reason why) = 0;
    // The route to the partner of this connection's next pair (an empty
    // one: its signals go through the store).
    virtual void set_route(peer_route route) = 0;
    // Drops the route if it is still the one of pair `pair`.
    virtual void cut_route(std::uint64_t pair) = 0;
    // A `signal` frame from the partner in pair `pair`. Delivered only while
    // that pair is this connection's current one: never across an ended pair.
    virtual void relay(std::uint64_t pair, frame f) = 0;
};

struct hub_settings {
    protocol::limits limits{64 * 1024, 20, 60};
    turn::ice_servers ice;  // STUN, and TURN with credentials issued per frame
    std::chrono::milliseconds online_interval{2'000};
};

// Random, URL-safe, from OpenSSL's CSPRNG.
std::string random_token(std::size_t bytes);

class hub final : public store_sink {
public:
    hub(boost::asio::any_io_executor strand, store& rules, hub_settings settings, metrics& m);

    struct opened {
        session_id id;  // empty: refused (the address is banned); close after the frames
        std::vector<std::pair<server_type, frame>> frames;  // welcome first, or `banned`
    };
    // Registers a new connection from `address` (resuming when
    // `resume_token` is set); `done` runs on the hub's strand with the
    // session id and first frames.
    void open(std::weak_ptr<client_link> link, address_hashes address, std::string resume_token,
              std::function<void(opened)> done);
    // The connection behind `link` is gone.
    void closed(const session_id& id, const client_link* link);

    store& rules() { return store_; }
    // A signal a direct route could not deliver (the partner's connection
    // had gone): through the store, which holds it for a resume. Passing
    // through the hub's strand puts it after that connection's disconnect.
    void signal_via_store(const session_id& from, std::string data);
    void deliver(actions batch) override;
    void replaced(const session_id& id) override;

    void start();
    // Closes every connection with 1001 and stops the timers.
    void shutdown();

private:
    frame encode(const action& a) const;
    peer_route route_for(const session_id& to, const out::matched& m);
    void open_session(std::weak_ptr<client_link> link, std::string address, std::string resume_token,
                      std::function<void(opened)> done);
    std::string welcome(const session_id& id, const std::string& token) const;
    std::string ice_servers_for(const session_id& id) const;
    void broadcast_online();
    // The session's connection is gone or replaced: its partner's route to
    // it is cut (the partner's signals then go through the store).
    void drop_route_to(const session_id& id);

    boost::asio::any_io_executor strand_;
    store& store_;
    hub_settings settings_;
    metrics& metrics_;
    std::unordered_map<session_id, std::weak_ptr<client_link>> links_;  // on strand_
    // TURN user names, one per session while it has a link here; on strand_.
    std::unordered_map<session_id, std::string> pseudonyms_;
    // Direct routes handed out: session -> its partner and their pair; on strand_.
    struct route_end {
        session_id partner;
        std::uint64_t pair;
    };
    std::unordered_map<session_id, route_end> routes_;
    boost::asio::steady_timer online_timer_;
    std::uint64_t last_online_ = 0;
    bool stopping_ = false;
};

}  // namespace serendip
