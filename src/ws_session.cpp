// One WebSocket connection after its upgrade: RFC 6455 framing of our own
// (src/websocket_codec.cpp) over the bare socket, one read or readiness
// wait and at most one write outstanding, a bounded write queue sent in
// one gathered write, pings and the idle timeout, the per-connection rate
// limits, and the translation of decoded messages into store commands.
// Runs on the connection's own strand.
//
// Why not Beast's WebSocket stream: an idle connection then holds Beast's
// stream state and a pending composed read (about 4.4 KB of the 5.2 KB it
// cost), and every message passes through its layered operations. Here an
// idle plain connection holds a readiness wait; reads go into one buffer
// per io thread and a message that arrived whole is handled where it lies.

#include "net.hpp"

#include "serendip/protocol.hpp"
#include "serendip/rate_limiter.hpp"
#include "serendip/websocket_codec.hpp"

#include <algorithm>
#include <cerrno>
#include <memory>

#include <sys/socket.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/ssl.hpp>
#include <spdlog/spdlog.h>

namespace serendip::net {

using clock = std::chrono::steady_clock;

namespace {


// Plain reads land in one buffer per io thread: the read is made when the
// socket is readable and its bytes are handled before the handler returns,
// so no connection holds a buffer while it waits.
constexpr std::size_t read_chunk = 64 * 1024;
char* thread_read_buffer() {
    thread_local std::unique_ptr<char[]> buffer(new char[read_chunk]);
    return buffer.get();
}
// TLS reads need a buffer of their own while they wait (OpenSSL holds the
// records; this only takes what it decrypted).
constexpr std::size_t tls_read_chunk = 4 * 1024;
// Reads per readiness before the connection waits again (fairness).
constexpr int reads_per_wake = 4;

// How long a closing handshake may take before the socket is cut.
constexpr auto close_grace = std::chrono::seconds(3);

struct close_frame_spec {
    std::uint16_t code;
    std::string_view reason;
};

close_frame_spec close_frame_for(close_reason why) {
    switch (why) {
    case close_reason::going_away: return {ws::close_code::going_away, "going away"};
    case close_reason::binary: return {ws::close_code::unsupported_data, "text frames only"};
    case close_reason::rate_limited: return {ws::close_code::policy, "rate limit exceeded"};
    case close_reason::idle_timeout: return {ws::close_code::going_away, "idle timeout"};
    case close_reason::slow_reader: return {ws::close_code::policy, "send queue overflow"};
    case close_reason::too_large: return {ws::close_code::too_big, "message too large"};
    case close_reason::banned: return {ws::close_code::policy, "banned"};
    case close_reason::replaced: return {4000, "resumed on another connection"};  // private-use range
    default: return {ws::close_code::normal, ""};
    }
}

frame control_frame(ws::opcode op, std::string_view payload) {
    return std::make_shared<const ws::wire_frame>(ws::wire_frame::control(op, payload));
}

frame raw_frame(std::string bytes) { return std::make_shared<const ws::wire_frame>(ws::wire_frame::raw(std::move(bytes))); }

// The headers every 101 answer carries, serialised once.
const std::string& upgrade_headers() {
    static const std::string headers = [] {
        http::response<http::empty_body> res;
        add_security_headers(res);
        std::string out = "Server: serendip\r\n";
        for (const auto& field : res) {
            out.append(field.name_string());
            out += ": ";
            out.append(field.value());
            out += "\r\n";
        }
        return out;
    }();
    return headers;
}

std::string refusal(http::status status, std::string_view extra_header, std::string_view body) {
    std::string out = "HTTP/1.1 " + std::to_string(static_cast<int>(status)) + " " +
                      std::string(http::obsolete_reason(status)) + "\r\n";
    out += extra_header;
    out += "Content-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n" + upgrade_headers() + "\r\n";
    out += body;
    return out;
}

// The buffers of one gathered write, by reference: Asio copies a buffer
// sequence into its operation, and a vector's copy would allocate.
struct buffer_span {
    const asio::const_buffer* first;
    const asio::const_buffer* last;
    const asio::const_buffer* begin() const { return first; }
    const asio::const_buffer* end() const { return last; }
};

template <class Socket>
class ws_session final : public client_link, public std::enable_shared_from_this<ws_session<Socket>> {
    static constexpr bool tls = std::is_same_v<Socket, tls_stream>;

public:
    ws_session(Socket&& socket, context& ctx, address_hashes address)
        : sock_(std::move(socket)),
          ctx_(ctx),
          timer_(sock_.get_executor()),
          reader_(ctx.cfg.max_message_bytes),
          limiter_(ctx.cfg.rate_per_sec, ctx.cfg.burst, ctx.cfg.rate_limit_close_after, clock::now()),
          queue_limiter_(ctx.cfg.join_rate_per_sec, ctx.cfg.join_rate_per_sec, clock::now()),
          skips_(skip_cooldown::settings{.free_skips = ctx.cfg.free_quick_skips}),
          address_(std::move(address)),
          admitted_(ctx.admission && !address_.today.empty()) {}

    // Answers the upgrade (RFC 6455 section 4.2.2) and starts the session.
    void run(const request& req, std::string resume_token) {
        resume_token_ = std::move(resume_token);
        if constexpr (tls) beast::get_lowest_layer(sock_).expires_never();
        if (req[http::field::sec_websocket_version] != "13")
            return refuse_upgrade(refusal(http::status::upgrade_required, "Sec-WebSocket-Version: 13\r\n",
                                          "WebSocket version 13 only\n"));
        auto accept = ws::accept_key(req[http::field::sec_websocket_key]);
        if (!accept) return refuse_upgrade(refusal(http::status::bad_request, "", "bad Sec-WebSocket-Key\n"));
        std::string answer = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                             "Sec-WebSocket-Accept: " + *accept + "\r\n" + upgrade_headers() + "\r\n";
        // Held until the hub's welcome is queued behind it: one write, one
        // segment for both (a connect's sends cost more than its reads).
        hold_writes_ = true;
        push(raw_frame(std::move(answer)));
        on_accept();
    }

    void send(server_type type, frame f) override {
        asio::dispatch(sock_.get_executor(), [self = this->shared_from_this(), type, f = std::move(f)]() mutable {
            self->enqueue(type, std::move(f));
        });
    }

    void close(close_reason why) override {
        asio::dispatch(sock_.get_executor(), [self = this->shared_from_this(), why] { self->start_close(why); });
    }

    void set_route(peer_route route) override {
        asio::dispatch(sock_.get_executor(), [self = this->shared_from_this(), route = std::move(route)]() mutable {
            self->take_route(std::move(route));
        });
    }

    void cut_route(std::uint64_t pair) override {
        asio::dispatch(sock_.get_executor(), [self = this->shared_from_this(), pair] {
            if (self->route_.pair == pair) self->route_ = {};
        });
    }

    void relay(std::uint64_t pair, frame f) override {
        asio::dispatch(sock_.get_executor(), [self = this->shared_from_this(), pair, f = std::move(f)]() mutable {
            self->on_relay(pair, std::move(f));
        });
    }

private:
    // Not a WebSocket after all: the answer, then the socket is closed. No
    // session was made and nothing was counted.
    void refuse_upgrade(std::string answer) {
        release_address();
        push(raw_frame(std::move(answer)));
    }

    void on_accept() {
        accepted_ = true;
        last_heard_ = last_ping_ = clock::now();
        metrics::add(ctx_.stats.connections_total);
        ctx_.stats.connections_open.fetch_add(1, std::memory_order_relaxed);
        ctx_.matchmaking.open(this->weak_from_this(), address_, resume_token_,
                              [self = this->shared_from_this()](hub::opened o) mutable {
                                  asio::post(self->sock_.get_executor(), [self, o = std::move(o)]() mutable {
                                      self->on_opened(std::move(o));
                                  });
                              });
        arm_timer();
        start_read();
    }

    void on_opened(hub::opened o) {
        hold_writes_ = false;
        if (o.id.empty()) return refuse(std::move(o.frames));
        id_ = std::move(o.id);
        if (finished_) {
            ctx_.matchmaking.closed(id_, this);
            return;
        }
        spdlog::info("open session={} resumed={}", id_, !resume_token_.empty());
        resume_token_.clear();
        for (auto& [type, f] : o.frames) enqueue(type, std::move(f));
        if (!writing_ && !queue_.empty()) do_write();  // the 101 when nothing else was queued
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
            if (finished_) return ctx_.matchmaking.signal_via_store(route_.partner, std::string(protocol::signal_data_of(f->payload())));
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

    // ---- reading ---------------------------------------------------------

    void start_read() {
        reading_ = true;
        if constexpr (tls) {
            if (!tls_buffer_) tls_buffer_ = std::make_unique<char[]>(tls_read_chunk);
            sock_.async_read_some(asio::buffer(tls_buffer_.get(), tls_read_chunk),
                                  beast::bind_front_handler(&ws_session::on_tls_read, this->shared_from_this()));
        } else {
            sock_.async_wait(tcp::socket::wait_read,
                             beast::bind_front_handler(&ws_session::on_readable, this->shared_from_this()));
        }
    }

    void on_readable(beast::error_code ec) {
        reading_ = false;
        if (ec) return finish();
        char* buffer = thread_read_buffer();
        for (int i = 0; i < reads_per_wake; ++i) {
            // Straight to the kernel: Asio's read_some would need the socket
            // switched to non-blocking mode first, one more system call.
            ssize_t n = ::recv(sock_.native_handle(), buffer, read_chunk, MSG_DONTWAIT);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
            if (n <= 0) return finish();  // the end of the stream, a reset
            take(buffer, static_cast<std::size_t>(n));
            if (finished_) return;
            if (static_cast<std::size_t>(n) < read_chunk) break;
        }
        start_read();
    }

    void on_tls_read(beast::error_code ec, std::size_t n) {
        reading_ = false;
        if (ec) return finish();
        take(tls_buffer_.get(), n);
        if (finished_) return;
        // After the client's close frame TLS reads stop: the TLS shutdown reads next.
        if (peer_done_) return maybe_teardown();
        start_read();
    }

    // What one read brought: every frame in it, in order.
    void take(char* data, std::size_t n) {
        last_heard_ = clock::now();
        if (peer_done_) return;  // after the client's close, a violation or binary: drained unread
        ws::frame_reader::input in{data, n};
        while (auto e = reader_.next(in)) {
            switch (e->what) {
            case ws::event::kind::text:
                if (!closing_) on_message(e->payload);
                break;
            case ws::event::kind::ping:
                if (!closing_) push(control_frame(ws::opcode::pong, e->payload));
                break;
            case ws::event::kind::pong: break;
            case ws::event::kind::binary:
                peer_done_ = true;
                start_close(close_reason::binary);
                break;
            case ws::event::kind::close:
                peer_done_ = true;
                // Answered with its own code, as RFC 6455 section 5.5.1 asks.
                start_close(close_reason::client, e->code == ws::close_code::no_status ? ws::close_code::normal : e->code, "");
                break;
            case ws::event::kind::violation: {
                peer_done_ = true;
                bool too_large = e->code == ws::close_code::too_big;
                if (too_large) metrics::add(ctx_.stats.errors[static_cast<std::size_t>(protocol::error_code::too_large)]);
                start_close(too_large ? close_reason::too_large : close_reason::bad_frame, e->code, e->payload);
                break;
            }
            }
            if (finished_) return;
        }
        reader_.trim();
        if (peer_done_) maybe_teardown();
    }

    void on_message(std::string_view text) {
        if (!id_.empty()) return handle(text);
        if (early_.size() < 64) early_.emplace_back(text);
    }

    void reply_error(protocol::error_code code, std::string_view message, std::string_view ref = {}) {
        metrics::add(ctx_.stats.errors[static_cast<std::size_t>(code)]);
        enqueue(server_type::error, make_frame(protocol::encode_error(code, message, ref)));
    }

    void handle(std::string_view text) {
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

    // ---- writing ---------------------------------------------------------

    // A message for the client, counted against the send queue's limit.
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
        push(std::move(f));
    }

    void push(frame f) {
        if (finished_) return;
        queue_.push_back(std::move(f));
        if (!writing_ && !hold_writes_) do_write();
    }

    // Everything queued goes in one gathered write.
    void do_write() {
        writing_ = true;
        std::swap(in_flight_, queue_);  // the queue may be cleared (slow reader) while this runs
        queued_bytes_ = 0;
        close_in_flight_ = closing_;  // the close frame is the last one queued
        buffers_.clear();
        for (const auto& f : in_flight_) buffers_.emplace_back(f->bytes().data(), f->bytes().size());
        asio::async_write(sock_, buffer_span{buffers_.data(), buffers_.data() + buffers_.size()}, beast::bind_front_handler(&ws_session::on_write, this->shared_from_this()));
    }

    void on_write(beast::error_code ec, std::size_t) {
        writing_ = false;
        in_flight_.clear();
        // A failed write, or the refusal of an upgrade written: the end.
        if (ec || !accepted_) {
            queue_.clear();
            queued_bytes_ = 0;
            return cut();
        }
        if (close_in_flight_) {
            close_sent_ = true;
            return maybe_teardown();
        }
        if (in_flight_.capacity() > 16) {  // after a burst
            decltype(in_flight_)().swap(in_flight_);
            decltype(buffers_)().swap(buffers_);
        }
        if (!queue_.empty()) do_write();
    }

    // ---- closing ---------------------------------------------------------

    void start_close(close_reason why) {
        auto spec = close_frame_for(why);
        start_close(why, spec.code, spec.reason);
    }

    // Graceful close: what is queued is flushed (unless the reader is too
    // slow or has closed), then the close frame; the socket is cut if the
    // handshake does not finish within close_grace.
    void start_close(close_reason why, std::uint16_t code, std::string_view reason) {
        if (closing_ || finished_) return;
        closing_ = true;
        why_ = why;
        if (peer_done_) {
            queue_.clear();  // the client reads no more
            queued_bytes_ = 0;
        }
        push(control_frame(ws::opcode::close, ws::close_payload(code, reason)));
        timer_.expires_after(close_grace);
        timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
            if (!ec && !self->finished_) self->cut();
        });
    }

    // Both close frames are through (or the client's stream is unreadable):
    // a plain socket sends its end of stream and reads until the client's,
    // so bytes still on their way (the rest of an oversized message) do not
    // make the kernel reset the connection before the client read our close
    // frame; a TLS one says close_notify.
    void maybe_teardown() {
        if (!close_sent_ || !peer_done_ || torn_down_) return;
        if constexpr (tls) {
            if (reading_) return;  // on_tls_read comes back here
            torn_down_ = true;
            sock_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
                self->hard_close();
                self->finish();
            });
        } else {
            torn_down_ = true;
            beast::error_code ignored;
            sock_.shutdown(tcp::socket::shutdown_send, ignored);
        }
    }

    // Cuts the socket; a pending read reports it, else the session ends now.
    void cut() {
        hard_close();
        if (!reading_) finish();
    }

    void hard_close() {
        beast::error_code ignored;
        if constexpr (tls) beast::get_lowest_layer(sock_).socket().close(ignored);
        else sock_.close(ignored);
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
        if (now - last_ping_ >= ctx_.cfg.ping_interval) {
            last_ping_ = now;
            static const frame ping = control_frame(ws::opcode::ping, "");
            push(ping);
        }
        arm_timer();
    }

    // Here, not in the destructor: a session still referenced by a handler
    // when the server is destroyed dies after the context does.
    void release_address() {
        if (admitted_) ctx_.admission->release(address_.today);
        admitted_ = false;
    }

    // The connection is over. One that ended without our close (an end of
    // stream, a reset, a TLS stream cut short, our own cut after a failed
    // write) is the client leaving; protocol violations were named when the
    // reader found them.
    void finish() {
        if (finished_) return;
        finished_ = true;
        timer_.cancel();
        hard_close();
        release_address();
        if (!accepted_) return;
        metrics::add(ctx_.stats.closes[static_cast<std::size_t>(why_)]);
        ctx_.stats.connections_open.fetch_sub(1, std::memory_order_relaxed);
        if (!id_.empty()) {
            spdlog::info("close session={} reason={}", id_, name(why_));
            ctx_.matchmaking.closed(id_, this);
        }
    }

    Socket sock_;
    context& ctx_;
    asio::basic_waitable_timer<clock, asio::wait_traits<clock>, typename Socket::executor_type> timer_;
    ws::frame_reader reader_;
    std::vector<frame> queue_;      // short; a deque would allocate 512 B per idle connection
    std::vector<frame> in_flight_;  // the frames of the write under way
    std::vector<asio::const_buffer> buffers_;
    std::unique_ptr<char[]> tls_buffer_;
    std::size_t queued_bytes_ = 0;
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
    bool accepted_ = false, reading_ = false, writing_ = false;
    bool hold_writes_ = false;  // the 101 waits for the welcome
    bool closing_ = false, close_in_flight_ = false, close_sent_ = false;
    bool peer_done_ = false;  // the client's close frame, a violation or binary: nothing more is read from it
    bool torn_down_ = false, finished_ = false;
};

}  // namespace

template <class Stream>
void start_websocket(Stream&& stream, request&& req, std::string resume_token, address_hashes address, context& ctx) {
    if constexpr (std::is_same_v<Stream, plain_stream>) {
        // The bare socket: the session needs none of tcp_stream's timers.
        std::make_shared<ws_session<plain_socket>>(stream.release_socket(), ctx, std::move(address))
            ->run(req, std::move(resume_token));
    } else {
        std::make_shared<ws_session<Stream>>(std::move(stream), ctx, std::move(address))
            ->run(req, std::move(resume_token));
    }
}

template void start_websocket<plain_stream>(plain_stream&&, request&&, std::string, address_hashes, context&);
template void start_websocket<tls_stream>(tls_stream&&, request&&, std::string, address_hashes, context&);

}  // namespace serendip::net
