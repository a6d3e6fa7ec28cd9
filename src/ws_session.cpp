// One WebSocket connection: exactly one read and at most one write
// outstanding, a bounded write queue, pings and the idle timeout, the
// per-connection rate limits, and the translation of decoded messages into
// store commands. Runs on the connection's own strand.

#include "net.hpp"

#include "serendip/protocol.hpp"
#include "serendip/rate_limiter.hpp"

#include <algorithm>
#include <array>
#include <memory>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <spdlog/spdlog.h>


namespace serendip::net {

namespace websocket = beast::websocket;
using clock = std::chrono::steady_clock;

namespace {

using bare_socket = asio::basic_stream_socket<tcp, asio::strand<asio::io_context::executor_type>>;

// The plain connection's socket. Its own type so that Beast's closing
// handshake finds the teardown below: Beast 1.81's TCP teardown reads once
// and closes, so bytes the client is still sending (the rest of a message
// over the size limit) make the kernel reset the connection, and the
// client may never read our close frame (1009). This one half-closes and
// reads until the client's end of stream; the session's close timer bounds
// how long.
class strand_socket : public bare_socket {
public:
    using bare_socket::bare_socket;
};

struct drain_op {
    strand_socket& s;
    beast::role_type role;
    std::unique_ptr<std::array<char, 2048>> scratch = std::make_unique<std::array<char, 2048>>();
    bool started = false;

    template <class Self>
    void operator()(Self& self, beast::error_code ec = {}, std::size_t = 0) {
        if (!started) {
            started = true;
            if (role == beast::role_type::server) s.shutdown(tcp::socket::shutdown_send, ec);
        }
        if (!ec) return s.async_read_some(asio::buffer(*scratch), std::move(self));
        if (ec == asio::error::eof) ec = {};
        beast::error_code ignored;
        s.close(ignored);
        self.complete(ec);
    }
};

template <class Handler>
void async_teardown(beast::role_type role, strand_socket& socket, Handler&& handler) {
    asio::async_compose<Handler, void(beast::error_code)>(drain_op{socket, role}, handler, socket);
}

// Bounds of the first piece of each message read (see do_read).
constexpr std::size_t min_first_read_bytes = 128;
constexpr std::size_t max_first_read_bytes = 4096;

// How long a closing handshake may take before the socket is cut.
constexpr auto close_grace = std::chrono::seconds(3);

websocket::close_reason close_frame_for(close_reason why) {
    switch (why) {
    case close_reason::going_away: return {websocket::close_code::going_away, "going away"};
    case close_reason::binary: return {websocket::close_code::unknown_data, "text frames only"};
    case close_reason::rate_limited: return {websocket::close_code::policy_error, "rate limit exceeded"};
    case close_reason::idle_timeout: return {websocket::close_code::going_away, "idle timeout"};
    case close_reason::slow_reader: return {websocket::close_code::policy_error, "send queue overflow"};
    case close_reason::too_large: return {websocket::close_code::too_big, "message too large"};
    case close_reason::banned: return {websocket::close_code::policy_error, "banned"};
    case close_reason::replaced: {
        websocket::close_reason r;
        r.code = 4000;  // private-use range: resumed on a newer connection
        r.reason = "resumed on another connection";
        return r;
    }
    default: return {websocket::close_code::normal};
    }
}

// Why a connection ended that the server did not close. Only what the peer
// did wrong at the WebSocket level (RFC 6455 framing, invalid UTF-8, a bad
// close frame) is a protocol violation; every way a connection just goes
// away is the client leaving: a close frame, the end of the stream, a
// reset, a TLS stream cut short, or our own cut after a write to a peer
// that had vanished. Counted apart, abuse and people leaving do not mix.
close_reason reason_for(const beast::error_code& ec) {
    if (ec == websocket::error::message_too_big) return close_reason::too_large;
    if (ec == websocket::condition::protocol_violation) return close_reason::bad_frame;
    return close_reason::client;
}

template <class Stream>
class ws_session final : public client_link, public std::enable_shared_from_this<ws_session<Stream>> {
public:
    ws_session(Stream&& stream, context& ctx, address_hashes address)
        : ws_(std::move(stream)),
          ctx_(ctx),
          timer_(ws_.get_executor()),
          limiter_(ctx.cfg.rate_per_sec, ctx.cfg.burst, ctx.cfg.rate_limit_close_after, clock::now()),
          queue_limiter_(ctx.cfg.join_rate_per_sec, ctx.cfg.join_rate_per_sec, clock::now()),
          skips_(skip_cooldown::settings{.free_skips = ctx.cfg.free_quick_skips}),
          address_(std::move(address)),
          admitted_(ctx.admission && !address_.today.empty()) {}

    void run(request req, std::string resume_token) {
        resume_token_ = std::move(resume_token);
        if constexpr (!std::is_same_v<Stream, strand_socket>) beast::get_lowest_layer(ws_).expires_never();
        websocket::stream_base::timeout t{};
        t.handshake_timeout = std::chrono::seconds(10);  // also bounds the closing handshake
        t.idle_timeout = websocket::stream_base::none();  // our own pings, see arm_timer
        t.keep_alive_pings = false;
        ws_.set_option(t);
        ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
            add_security_headers(res);
            res.set(http::field::server, "serendip");  // else Beast names itself and its version
        }));
        ws_.read_message_max(ctx_.cfg.max_message_bytes);
        ws_.auto_fragment(false);
        // The server never masks, so Beast's write buffer only matters for
        // fragmenting; keep it small, it is allocated per connection.
        ws_.write_buffer_bytes(8);
        ws_.control_callback([this](websocket::frame_type, beast::string_view) { last_heard_ = clock::now(); });
        ws_.async_accept(req, beast::bind_front_handler(&ws_session::on_accept, this->shared_from_this()));
    }

    void send(server_type type, frame f) override {
        asio::dispatch(ws_.get_executor(), [self = this->shared_from_this(), type, f = std::move(f)]() mutable {
            self->enqueue(type, std::move(f));
        });
    }

    void close(close_reason why) override {
        asio::dispatch(ws_.get_executor(), [self = this->shared_from_this(), why] { self->start_close(why); });
    }

    void set_route(peer_route route) override {
        asio::dispatch(ws_.get_executor(), [self = this->shared_from_this(), route = std::move(route)]() mutable {
            self->take_route(std::move(route));
        });
    }

    void cut_route(std::uint64_t pair) override {
        asio::dispatch(ws_.get_executor(), [self = this->shared_from_this(), pair] {
            if (self->route_.pair == pair) self->route_ = {};
        });
    }

    void relay(std::uint64_t pair, frame f) override {
        asio::dispatch(ws_.get_executor(), [self = this->shared_from_this(), pair, f = std::move(f)]() mutable {
            self->on_relay(pair, std::move(f));
        });
    }

private:
    void on_accept(beast::error_code ec) {
        if (ec) return release_address();  // not a WebSocket after all; nothing was counted yet
        accepted_ = true;
        last_heard_ = last_ping_ = clock::now();
        metrics::add(ctx_.stats.connections_total);
        ctx_.stats.connections_open.fetch_add(1, std::memory_order_relaxed);
        ctx_.matchmaking.open(this->weak_from_this(), address_, resume_token_,
                              [self = this->shared_from_this()](hub::opened o) mutable {
                                  asio::post(self->ws_.get_executor(), [self, o = std::move(o)]() mutable {
                                      self->on_opened(std::move(o));
                                  });
                              });
        arm_timer();
        do_read();
    }

    void on_opened(hub::opened o) {
        if (o.id.empty()) return refuse(std::move(o.frames));
        id_ = std::move(o.id);
        if (finished_) {
            ctx_.matchmaking.closed(id_, this);
            return;
        }
        spdlog::info("open session={} resumed={}", id_, !resume_token_.empty());
        resume_token_.clear();
        for (auto& [type, f] : o.frames) enqueue(type, std::move(f));
        // Messages that raced ahead of the welcome.
        auto early = std::move(early_);
        for (auto& text : early) handle(text);
    }

    // ---- the direct route to the partner (hub.hpp, peer_route) ----------
    // Pair numbers grow: a relay for a pair newer than any this connection
    // has heard of is for the pair whose `matched` is on its way (the
    // partner heard first); it waits for the route, so order is kept. One
    // for the current pair is delivered; any other is from an ended pair
    // and dropped. Own join/next/leave/report and every peer_left cut the
    // route before anything else happens, so nothing crosses an ended pair.

    void take_route(peer_route route) {
        route_ = std::move(route);
        route_signaled_ = false;
        newest_pair_ = std::max(newest_pair_, route_.pair);
        if (early_relays_.empty()) return;
        auto early = std::move(early_relays_);
        early_relays_.clear();
        for (auto& [pair, f] : early) {
            if (pair == route_.pair) enqueue(server_type::signal, std::move(f));
            else if (pair > newest_pair_) early_relays_.emplace_back(pair, std::move(f));
        }
    }

    void on_relay(std::uint64_t pair, frame f) {
        if (pair != 0 && pair == route_.pair) {
            // Gone: the store holds it for a resume (after this session's disconnect).
            if (finished_) return ctx_.matchmaking.signal_via_store(route_.partner, std::string(protocol::signal_data_of(*f)));
            return enqueue(server_type::signal, std::move(f));
        }
        if (pair > newest_pair_ && !finished_ && early_relays_.size() < max_early_relays)
            early_relays_.emplace_back(pair, std::move(f));
    }

    // A signal of ours for the partner: straight to its connection when the
    // hub gave a route, else through the store.
    void send_signal(protocol::signal& m) {
        if (route_.pair != 0) {
            if (auto partner = route_.link.lock()) {
                // The store learns once per pair that it signalled (rule 8).
                if (!route_signaled_) {
                    route_signaled_ = true;
                    ctx_.matchmaking.rules().signaled(id_);
                }
                partner->relay(route_.pair, make_frame(protocol::encode_signal(m.data)));
                return;
            }
            // The partner's connection is gone: the store holds it, after the disconnect.
            return ctx_.matchmaking.signal_via_store(id_, std::move(m.data));
        }
        ctx_.matchmaking.rules().signal(id_, std::move(m.data));
    }

    // The address is banned: say so (no session was made) and close.
    void refuse(std::vector<std::pair<server_type, frame>> frames) {
        if (finished_) return;
        spdlog::info("refused a banned address");
        early_.clear();
        for (auto& [type, f] : frames) enqueue(type, std::move(f));
        start_close(close_reason::banned);
    }

    // Reads a message in pieces: the first one sized by the messages this
    // client sent so far (128 bytes for one that sent none, so an idle
    // connection's pending read does not hold Beast's default 1536: see
    // docs/performance.md), then the rest of the message at once.
    void do_read() {
        std::size_t limit = ws_.is_message_done() ? first_read_ : ctx_.cfg.max_message_bytes;
        ws_.async_read_some(buffer_, limit,
                            beast::bind_front_handler(&ws_session::on_read, this->shared_from_this()));
    }

    void on_read(beast::error_code ec, std::size_t) {
        if (ec) return finish(ec);
        last_heard_ = clock::now();
        if (closing_) {
            buffer_.clear();  // draining until the closing handshake completes
            return do_read();
        }
        if (!ws_.is_message_done()) return do_read();
        if (!ws_.got_text()) return close_and_drain(close_reason::binary);
        first_read_ = std::clamp(buffer_.size(), first_read_, max_first_read_bytes);
        std::string text = beast::buffers_to_string(buffer_.data());
        if (id_.empty()) {
            if (early_.size() < 64) early_.push_back(std::move(text));
        } else {
            handle(text);
        }
        buffer_.clear();
        if (buffer_.capacity() > max_first_read_bytes) buffer_.shrink_to_fit();
        do_read();
    }

    // Keeps reading after the close frame: the closing handshake needs it.
    void close_and_drain(close_reason why) {
        buffer_.clear();
        start_close(why);
        do_read();
    }

    void reply_error(protocol::error_code code, std::string_view message, std::string_view ref = {}) {
        metrics::add(ctx_.stats.errors[static_cast<std::size_t>(code)]);
        enqueue(server_type::error, make_frame(protocol::encode_error(code, message, ref)));
    }

    void handle(const std::string& text) {
        auto now = clock::now();
        switch (limiter_.on_message(now)) {
        case message_limiter::verdict::accept: break;
        case message_limiter::verdict::refuse:
            if (limiter_.should_report(now)) reply_error(protocol::error_code::rate_limited, "slow down");
            return;
        case message_limiter::verdict::refuse_and_close:
            reply_error(protocol::error_code::rate_limited, "slow down");
            return start_close(close_reason::rate_limited);
        }

        auto decoded = protocol::decode(text);
        if (auto* e = std::get_if<protocol::decode_error>(&decoded)) {
            metrics::add(ctx_.stats.messages_in[static_cast<std::size_t>(protocol::client_type::unknown)]);
            return reply_error(e->code, e->message, e->ref);
        }
        auto& msg = std::get<protocol::message>(decoded);
        auto type = protocol::type_of(msg);
        metrics::add(ctx_.stats.messages_in[static_cast<std::size_t>(type)]);
        store& rules = ctx_.matchmaking.rules();

        const bool queue_move = type == protocol::client_type::join || type == protocol::client_type::next;
        // A rematch counts against the join/next limit and passes the face
        // gate as they do, but is no skip (the skip limiter would punish
        // going back to the stranger just skipped).
        if (queue_move || type == protocol::client_type::rematch) {
            if (!queue_limiter_.try_take(now))
                return reply_error(protocol::error_code::rate_limited, "at most 3 join/next/rematch a second",
                                   protocol::name(type));
            if (ctx_.cfg.require_face && !(face_seen_ && now - *face_seen_ <= ctx_.cfg.face_window))
                return reply_error(protocol::error_code::face_required, "show your face to the camera to start",
                                   protocol::name(type));
        }
        if (queue_move) {
            if (auto wait = skips_.on_next(now)) {
                auto seconds = std::chrono::ceil<std::chrono::seconds>(*wait).count();
                return reply_error(protocol::error_code::rate_limited,
                                   "skipping too fast: wait " + std::to_string(seconds) + " s", protocol::name(type));
            }
        }
        // Whatever changes this session's pair ends its route first.
        if (type == protocol::client_type::join || type == protocol::client_type::next ||
            type == protocol::client_type::leave || type == protocol::client_type::report ||
            type == protocol::client_type::rematch)
            route_ = {};
        std::visit(
            [&](auto& m) {
                using T = std::decay_t<decltype(m)>;
                if constexpr (std::is_same_v<T, protocol::join>) {
                    relay_only_ = m.relay_only;
                    rules.join(id_, std::move(m));
                } else if constexpr (std::is_same_v<T, protocol::signal>) {
                    // "Hide my IP": a stray host or srflx candidate would reveal
                    // the address the client asked to hide. Dropped quietly.
                    if (relay_only_ && !protocol::relay_only_allows(m)) return;
                    send_signal(m);
                } else if constexpr (std::is_same_v<T, protocol::next>) {
                    rules.next(id_);
                } else if constexpr (std::is_same_v<T, protocol::leave>) {
                    rules.leave(id_);
                } else if constexpr (std::is_same_v<T, protocol::report>) {
                    rules.report(id_, m.reason);
                } else if constexpr (std::is_same_v<T, protocol::rematch>) {
                    rules.rematch(id_);
                } else if constexpr (std::is_same_v<T, protocol::face>) {
                    // A later "no face" withdraws an earlier "face".
                    face_seen_ = m.present ? std::optional(now) : std::nullopt;
                }
            },
            msg);
    }

    void enqueue(server_type type, frame f) {
        if (type == server_type::peer_left) route_ = {};  // before the frame: nothing of the pair after it
        if (closing_ || finished_) return;
        if (type == server_type::matched) skips_.on_matched(clock::now());
        if (queued_bytes_ + f->size() > ctx_.cfg.send_queue_bytes) {
            metrics::add(ctx_.stats.send_queue_overflows);
            queue_.clear();
            queued_bytes_ = 0;
            return start_close(close_reason::slow_reader);
        }
        metrics::add(ctx_.stats.messages_out[static_cast<std::size_t>(type)]);
        queued_bytes_ += f->size();
        queue_.push_back(std::move(f));
        if (!writing_) do_write();
    }

    void do_write() {
        writing_ = true;
        // The frame in flight is held apart from the queue, which a slow-reader
        // close may clear while the write is still running.
        in_flight_ = std::move(queue_.front());
        queue_.erase(queue_.begin());
        queued_bytes_ -= in_flight_->size();
        ws_.text(true);
        ws_.async_write(asio::buffer(*in_flight_),
                        beast::bind_front_handler(&ws_session::on_write, this->shared_from_this()));
    }

    void on_write(beast::error_code ec, std::size_t) {
        writing_ = false;
        in_flight_.reset();
        if (ec) {
            queue_.clear();
            queued_bytes_ = 0;
            return hard_close();
        }
        if (!queue_.empty()) return do_write();
        if (close_pending_) send_close();
    }

    // Graceful close: flush what is queued (unless the reader is too slow),
    // send the close frame, and cut the socket if the peer does not answer.
    void start_close(close_reason why) {
        if (closing_ || finished_) return;
        closing_ = true;
        why_ = why;
        close_pending_ = true;
        if (!writing_) send_close();
        timer_.expires_after(close_grace);
        timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
            if (!ec) self->hard_close();
        });
    }

    void send_close() {
        close_pending_ = false;
        ws_.async_close(close_frame_for(why_), [self = this->shared_from_this()](beast::error_code) {});
    }

    void hard_close() {
        beast::error_code ignored;
        if constexpr (std::is_same_v<Stream, strand_socket>) beast::get_lowest_layer(ws_).close(ignored);
        else beast::get_lowest_layer(ws_).socket().close(ignored);
    }

    // Pings every ping_interval; a connection silent for idle_timeout is closed.
    void arm_timer() {
        if (closing_ || finished_) return;
        auto due = std::min(last_ping_ + ctx_.cfg.ping_interval, last_heard_ + ctx_.cfg.idle_timeout);
        timer_.expires_at(due);
        timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
            if (!ec) self->on_timer();
        });
    }

    void on_timer() {
        if (closing_ || finished_) return;
        auto now = clock::now();
        if (now - last_heard_ >= ctx_.cfg.idle_timeout) return start_close(close_reason::idle_timeout);
        if (now - last_ping_ >= ctx_.cfg.ping_interval && !pinging_) {
            last_ping_ = now;
            pinging_ = true;
            ws_.async_ping({}, [self = this->shared_from_this()](beast::error_code) { self->pinging_ = false; });
        }
        arm_timer();
    }

    // Here, not in the destructor: a session still referenced by a handler
    // when the server is destroyed dies after the context does.
    void release_address() {
        if (admitted_) ctx_.admission->release(address_.today);
        admitted_ = false;
    }

    void finish(beast::error_code ec) {
        if (finished_) return;
        finished_ = true;
        timer_.cancel();
        hard_close();
        release_address();
        if (!accepted_) return;
        if (!closing_) {
            why_ = reason_for(ec);
            if (why_ == close_reason::too_large)
                metrics::add(ctx_.stats.errors[static_cast<std::size_t>(protocol::error_code::too_large)]);
        }
        metrics::add(ctx_.stats.closes[static_cast<std::size_t>(why_)]);
        ctx_.stats.connections_open.fetch_sub(1, std::memory_order_relaxed);
        if (!id_.empty()) {
            spdlog::info("close session={} reason={}", id_, name(why_));
            ctx_.matchmaking.closed(id_, this);
        }
    }

    websocket::stream<Stream, false> ws_;  // permessage-deflate off by design: smaller state
    context& ctx_;
    beast::flat_buffer buffer_;
    asio::basic_waitable_timer<clock, asio::wait_traits<clock>, typename websocket::stream<Stream, false>::executor_type>
        timer_;
    std::vector<frame> queue_;  // short; a deque would allocate 512 B per idle connection
    frame in_flight_;
    std::size_t queued_bytes_ = 0;
    std::size_t first_read_ = min_first_read_bytes;
    std::vector<std::string> early_;
    message_limiter limiter_;
    token_bucket queue_limiter_;
    skip_cooldown skips_;
    address_hashes address_;
    bool admitted_;  // counted by ctx_.admission under address_.today until the session ends
    std::optional<clock::time_point> face_seen_;
    bool relay_only_ = false;  // the latest join's relayOnly: kept per connection
    peer_route route_;
    bool route_signaled_ = false;  // the store was told this pair signalled
    std::uint64_t newest_pair_ = 0;  // the highest pair number a route named
    static constexpr std::size_t max_early_relays = 64;
    std::vector<std::pair<std::uint64_t, frame>> early_relays_;  // for a pair whose route is on its way
    clock::time_point last_heard_{}, last_ping_{};
    session_id id_;
    std::string resume_token_;
    close_reason why_ = close_reason::client;
    bool accepted_ = false, writing_ = false, pinging_ = false;
    bool closing_ = false, close_pending_ = false, finished_ = false;
};

}  // namespace

// After the upgrade a plain connection needs none of tcp_stream's timers
// (the WebSocket layer has its own), and a socket typed on its strand avoids
// the type-erased executor in every operation: both save memory per
// connection and time per message.

template <class Stream>
void start_websocket(Stream&& stream, request&& req, std::string resume_token, address_hashes address, context& ctx) {
    if constexpr (std::is_same_v<Stream, plain_stream>) {
        tcp::socket socket = stream.release_socket();
        auto* strand = socket.get_executor().template target<asio::strand<asio::io_context::executor_type>>();
        auto protocol = socket.local_endpoint().protocol();
        strand_socket on_strand(*strand, protocol, socket.release());
        std::make_shared<ws_session<strand_socket>>(std::move(on_strand), ctx, std::move(address))
            ->run(std::move(req), std::move(resume_token));
    } else {
        std::make_shared<ws_session<Stream>>(std::move(stream), ctx, std::move(address))
            ->run(std::move(req), std::move(resume_token));
    }
}

template void start_websocket<plain_stream>(plain_stream&&, request&&, std::string, address_hashes, context&);
template void start_websocket<tls_stream>(tls_stream&&, request&&, std::string, address_hashes, context&);

}  // namespace serendip::net
