#include "serendip/redis_link.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <cctype>
#include <charconv>
#include <deque>
#include <random>

namespace serendip {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

std::optional<redis_endpoint> parse_redis_url(std::string_view url) {
    constexpr std::string_view scheme = "redis://";
    if (url.substr(0, scheme.size()) != scheme) return std::nullopt;
    url.remove_prefix(scheme.size());
    redis_endpoint ep;
    if (auto at = url.rfind('@'); at != std::string_view::npos) {
        auto userinfo = url.substr(0, at);
        auto colon = userinfo.find(':');
        if (colon == std::string_view::npos) return std::nullopt;  // a password is required after ':'
        ep.user = std::string(userinfo.substr(0, colon));
        ep.password = std::string(userinfo.substr(colon + 1));
        if (ep.password.empty()) return std::nullopt;
        url.remove_prefix(at + 1);
    }
    if (auto slash = url.find('/'); slash != std::string_view::npos) {
        auto db = url.substr(slash + 1);
        if (!db.empty()) {
            auto [p, ec] = std::from_chars(db.data(), db.data() + db.size(), ep.db);
            if (ec != std::errc{} || p != db.data() + db.size() || ep.db < 0 || ep.db > 1000) return std::nullopt;
        }
        url = url.substr(0, slash);
    }
    std::string_view host = url;
    if (!host.empty() && host.front() == '[') {  // [::1]:6379
        auto close = host.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        ep.host = std::string(host.substr(1, close - 1));
        host.remove_prefix(close + 1);
        if (!host.empty() && host.front() != ':') return std::nullopt;
    } else {
        auto colon = host.rfind(':');
        ep.host = std::string(host.substr(0, colon));
        host = colon == std::string_view::npos ? std::string_view{} : host.substr(colon);
    }
    if (!host.empty()) {  // ":port"
        auto port = host.substr(1);
        unsigned v = 0;
        auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
        if (port.empty() || ec != std::errc{} || p != port.data() + port.size() || v == 0 || v > 65535)
            return std::nullopt;
        ep.port = static_cast<std::uint16_t>(v);
    }
    if (ep.host.empty()) return std::nullopt;
    for (char ch : ep.host)
        if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-' || ch == ':' || ch == '_'))
            return std::nullopt;
    return ep;
}

namespace {
class category_impl : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "redis"; }
    std::string message(int ev) const override {
        switch (static_cast<redis_errc>(ev)) {
        case redis_errc::not_connected: return "not connected to redis";
        case redis_errc::timed_out: return "redis command timed out";
        case redis_errc::disconnected: return "redis connection lost";
        }
        return "redis error";
    }
};

redis_reply copy_reply(const redisReply* r) {
    redis_reply out;
    if (!r) return out;
    switch (r->type) {
    case REDIS_REPLY_STRING: out.kind = redis_reply::string; out.str.assign(r->str, r->len); break;
    case REDIS_REPLY_STATUS: out.kind = redis_reply::status; out.str.assign(r->str, r->len); break;
    case REDIS_REPLY_ERROR: out.kind = redis_reply::error; out.str.assign(r->str, r->len); break;
    case REDIS_REPLY_INTEGER: out.kind = redis_reply::number; out.integer = r->integer; break;
    case REDIS_REPLY_ARRAY:
        out.kind = redis_reply::array;
        out.elements.reserve(r->elements);
        for (std::size_t i = 0; i < r->elements; ++i) out.elements.push_back(copy_reply(r->element[i]));
        break;
    default: out.kind = redis_reply::nil; break;
    }
    return out;
}
}  // namespace

const boost::system::error_category& redis_category() {
    static category_impl c;
    return c;
}

// One hiredis async context and the descriptor Asio watches for it.
struct redis_link::conn : std::enable_shared_from_this<redis_link::conn> {
    struct pending {
        clock::time_point deadline;
        reply_handler done;
    };
    struct completion {
        reply_handler done;
        boost::system::error_code ec;
        redis_reply reply;
    };
    std::vector<completion> completed;  // read, to run once hiredis returns

    redis_link* link;
    bool subscriber;
    redisAsyncContext* ctx = nullptr;
    asio::posix::stream_descriptor fd;
    asio::steady_timer deadline_timer;
    bool reading = false, writing = false, read_waiting = false, write_waiting = false;
    bool timer_armed = false;
    bool up = false;    // handshake done
    bool dead = false;  // torn down: callbacks and handlers do nothing
    std::deque<pending> queue;

    conn(redis_link* l, bool sub) : link(l), subscriber(sub), fd(l->strand_), deadline_timer(l->strand_) {}

    static conn* of(const redisAsyncContext* ac) { return static_cast<conn*>(ac->data); }

    // --- the event hooks hiredis calls ---
    static void add_read(void* p) {
        auto* c = static_cast<conn*>(p);
        c->reading = true;
        c->wait_read();
    }
    static void del_read(void* p) { static_cast<conn*>(p)->reading = false; }
    static void add_write(void* p) {
        auto* c = static_cast<conn*>(p);
        c->writing = true;
        c->wait_write();
    }
    static void del_write(void* p) { static_cast<conn*>(p)->writing = false; }
    // hiredis closes the fd itself: give it back without closing it.
    static void cleanup(void* p) {
        auto* c = static_cast<conn*>(p);
        c->reading = c->writing = false;
        if (c->fd.is_open()) c->fd.release();
    }

    void wait_read() {
        if (read_waiting || !fd.is_open()) return;
        read_waiting = true;
        fd.async_wait(asio::posix::stream_descriptor::wait_read, [self = shared_from_this()](boost::system::error_code ec) {
            self->read_waiting = false;
            if (ec || !self->ctx || !self->reading) return;
            // May free the context (and clear ctx through the disconnect callback).
            redisAsyncHandleRead(self->ctx);
            self->run_completed();
            if (self->ctx && self->reading) self->wait_read();
        });
    }
    void wait_write() {
        if (write_waiting || !fd.is_open()) return;
        write_waiting = true;
        fd.async_wait(asio::posix::stream_descriptor::wait_write, [self = shared_from_this()](boost::system::error_code ec) {
            self->write_waiting = false;
            if (ec || !self->ctx || !self->writing) return;
            redisAsyncHandleWrite(self->ctx);
            if (self->ctx && self->writing) self->wait_write();
        });
    }

    // --- hiredis callbacks ---
    static void on_connect(const redisAsyncContext* ac, int status) {
        auto* c = of(ac);
        if (c->dead) return;
        if (status != REDIS_OK) {
            // hiredis frees the context when this returns.
            c->ctx = nullptr;
            c->dead = true;
            asio::post(c->link->strand_, [self = c->shared_from_this()] {
                if (self->link) self->link->on_conn_down(self.get(), "connect failed");
            });
            return;
        }
        asio::post(c->link->strand_, [self = c->shared_from_this()] { self->handshake(); });
    }
    static void on_disconnect(const redisAsyncContext* ac, int) {
        auto* c = of(ac);
        c->ctx = nullptr;  // freed by hiredis after this returns
        if (c->dead) return;
        c->dead = true;
        asio::post(c->link->strand_, [self = c->shared_from_this()] {
            if (self->link) self->link->on_conn_down(self.get(), "connection lost");
        });
    }
    // Replies read in one go are completed together once hiredis has
    // returned (never inside its callback), without a post each.
    static void on_reply(redisAsyncContext* ac, void* r, void*) {
        auto* c = of(ac);
        if (c->dead || c->queue.empty()) return;
        auto done = std::move(c->queue.front().done);
        c->queue.pop_front();
        boost::system::error_code ec;
        if (!r) ec = redis_errc::disconnected;
        c->completed.push_back({std::move(done), ec, copy_reply(static_cast<redisReply*>(r))});
    }
    void run_completed() {
        if (completed.empty()) return;
        auto batch = std::move(completed);
        completed.clear();
        for (auto& c : batch) c.done(c.ec, std::move(c.reply));
    }
    static void on_message(redisAsyncContext* ac, void* r, void*) {
        auto* c = of(ac);
        auto* reply = static_cast<redisReply*>(r);
        if (c->dead || !reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 3) return;
        std::string_view kind(reply->element[0]->str ? reply->element[0]->str : "", reply->element[0]->len);
        if (kind == "subscribe") {
            asio::post(c->link->strand_, [self = c->shared_from_this()] {
                if (self->dead || !self->link) return;
                self->up = true;
                self->link->on_conn_up(self.get());
            });
        } else if (kind == "message" && reply->element[2]->type == REDIS_REPLY_STRING) {
            c->completed.push_back({[c, payload = std::string(reply->element[2]->str, reply->element[2]->len)](
                                        boost::system::error_code, redis_reply) {
                                        if (!c->dead && c->link) c->link->on_message_(payload);
                                    },
                                    {}, {}});
        }
    }

    bool open(const std::string& address, std::uint16_t port) {
        ctx = redisAsyncConnect(address.c_str(), port);
        if (!ctx) return false;
        if (ctx->err) {
            redisAsyncFree(ctx);
            ctx = nullptr;
            return false;
        }
        ctx->data = this;
        boost::system::error_code ec;
        fd.assign(ctx->c.fd, ec);
        if (ec) {
            ctx->data = nullptr;
            redisAsyncFree(ctx);
            ctx = nullptr;
            return false;
        }
        ctx->ev.data = this;
        ctx->ev.addRead = add_read;
        ctx->ev.delRead = del_read;
        ctx->ev.addWrite = add_write;
        ctx->ev.delWrite = del_write;
        ctx->ev.cleanup = cleanup;
        redisAsyncSetDisconnectCallback(ctx, on_disconnect);
        // Must come after the hooks: it arms the first write event.
        redisAsyncSetConnectCallback(ctx, on_connect);
        return true;
    }

    void handshake() {
        if (dead || !ctx) return;
        auto step_failed = [self = shared_from_this()](const char* what) {
            if (self->dead || !self->link) return;
            spdlog::warn("redis: {} failed", what);
            self->link->on_conn_down(self.get(), what);
        };
        const auto& ep = link->where_;
        if (!ep.password.empty()) {
            std::vector<std::string> auth{"AUTH"};
            if (!ep.user.empty()) auth.push_back(ep.user);
            auth.push_back(ep.password);
            send(std::move(auth), [step_failed](boost::system::error_code ec, redis_reply r) {
                if (ec || r.kind == redis_reply::error) step_failed("AUTH");
            });
        }
        if (subscriber) {
            // Confirmed through on_message ("subscribe"); the connect timer covers it.
            std::string channel = link->channel_;
            const char* argv[] = {"SUBSCRIBE", channel.c_str()};
            std::size_t lens[] = {9, channel.size()};
            if (redisAsyncCommandArgv(ctx, on_message, nullptr, 2, argv, lens) != REDIS_OK) step_failed("SUBSCRIBE");
            return;
        }
        if (ep.db != 0)
            send({"SELECT", std::to_string(ep.db)}, [step_failed](boost::system::error_code ec, redis_reply r) {
                if (ec || r.kind == redis_reply::error) step_failed("SELECT");
            });
        send({"PING"}, [self = shared_from_this()](boost::system::error_code ec, redis_reply r) {
            if (self->dead || !self->link) return;
            if (ec || r.kind == redis_reply::error) return self->link->on_conn_down(self.get(), "PING");
            self->up = true;
            self->link->on_conn_up(self.get());
        });
    }

    void send(const std::vector<std::string>& args, reply_handler done) {
        std::vector<const char*> argv;
        std::vector<std::size_t> lens;
        argv.reserve(args.size());
        lens.reserve(args.size());
        for (const auto& a : args) {
            argv.push_back(a.data());
            lens.push_back(a.size());
        }
        if (dead || !ctx ||
            redisAsyncCommandArgv(ctx, on_reply, nullptr, static_cast<int>(args.size()), argv.data(), lens.data()) !=
                REDIS_OK) {
            asio::post(link->strand_, [done = std::move(done)] { done(redis_errc::disconnected, {}); });
            return;
        }
        queue.push_back({clock::now() + link->settings_.command_timeout, std::move(done)});
        arm_deadline();
    }

    // One timer for the oldest outstanding command: replies come in order.
    void arm_deadline() {
        if (timer_armed || queue.empty()) return;
        timer_armed = true;
        deadline_timer.expires_at(queue.front().deadline);
        deadline_timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
            self->timer_armed = false;
            if (ec || self->dead || !self->link) return;
            if (!self->queue.empty() && self->queue.front().deadline <= clock::now())
                return self->link->on_conn_down(self.get(), "command timed out");
            self->arm_deadline();
        });
    }

    // Tears the context down; pending commands fail with `why`.
    void close(boost::system::error_code why) {
        dead = true;
        deadline_timer.cancel();
        auto failed = std::move(queue);
        queue.clear();
        for (auto& p : failed) asio::post(link->strand_, [done = std::move(p.done), why] { done(why, {}); });
        if (ctx) {
            auto* c = ctx;
            ctx = nullptr;
            // Calls on_disconnect (ignored: dead) and the cleanup hook (releases fd).
            redisAsyncFree(c);
        }
        if (fd.is_open()) fd.release();
    }
};

struct redis_link::timers {
    asio::steady_timer reconnect, health, connect, resolve;
    asio::ip::tcp::resolver resolver;
    explicit timers(const asio::any_io_executor& ex)
        : reconnect(ex), health(ex), connect(ex), resolve(ex), resolver(ex) {}
};

redis_link::redis_link(asio::any_io_executor strand, redis_endpoint where, redis_link_settings settings,
                       std::string channel, message_handler on_message, state_handler on_state)
    : strand_(std::move(strand)),
      where_(std::move(where)),
      settings_(settings),
      channel_(std::move(channel)),
      on_message_(std::move(on_message)),
      on_state_(std::move(on_state)),
      timers_(std::make_unique<timers>(strand_)) {}

redis_link::~redis_link() {
    for (auto* c : {cmd_.get(), sub_.get()})
        if (c) {
            c->close(redis_errc::disconnected);
            c->link = nullptr;
        }
}

void redis_link::start() {
    stopped_ = false;
    connect_all();
    arm_health();
}

void redis_link::stop() {
    stopped_ = true;
    timers_->reconnect.cancel();
    timers_->health.cancel();
    timers_->connect.cancel();
    timers_->resolve.cancel();
    timers_->resolver.cancel();
    for (auto* c : {cmd_.get(), sub_.get()})
        if (c) c->close(redis_errc::not_connected);
    set_ready(false);
}

void redis_link::connect_all() {
    if (stopped_) return;
    reconnect_pending_ = false;
    auto attempt = ++attempt_;
    // A name that cannot be resolved right now (a DNS server restarting with
    // the containers around it: seen for 15 s on podman) must not keep the
    // link down while Redis is back at the same address. After
    // connect_timeout, or at once on a failed lookup, the last address that
    // worked is tried; the next round resolves again.
    if (!last_address_.empty()) {
        timers_->resolve.expires_after(settings_.connect_timeout);
        timers_->resolve.async_wait([this, attempt](boost::system::error_code ec) {
            if (ec || stopped_ || attempt != attempt_ || cmd_) return;
            spdlog::warn("redis: resolving the host takes too long: trying its last address");
            resolved(attempt, last_address_);
        });
    }
    timers_->resolver.async_resolve(
        where_.host, std::to_string(where_.port),
        [this, attempt](boost::system::error_code ec, asio::ip::tcp::resolver::results_type results) {
            // cmd_ is set once this round is connecting (to the last address).
            if (stopped_ || attempt != attempt_ || cmd_) return;
            timers_->resolve.cancel();
            if (ec || results.empty()) {
                if (!last_address_.empty()) {
                    spdlog::warn("redis: cannot resolve the host ({}): trying its last address", ec.message());
                    return resolved(attempt, last_address_);
                }
                spdlog::warn("redis: cannot resolve the host ({})", ec.message());
                return schedule_reconnect();
            }
            resolved(attempt, results.begin()->endpoint().address().to_string());
        });
}

void redis_link::resolved(std::uint64_t attempt, const std::string& address) {
    address_ = address;
    cmd_ = std::make_shared<conn>(this, false);
    sub_ = std::make_shared<conn>(this, true);
    if (!cmd_->open(address, where_.port) || !sub_->open(address, where_.port)) {
        fail_all("connect failed");
        return;
    }
    // The whole handshake (TCP, AUTH, SELECT, PING, SUBSCRIBE) has one deadline.
    timers_->connect.expires_after(settings_.connect_timeout);
    timers_->connect.async_wait([this, attempt](boost::system::error_code ec) {
        if (ec || stopped_ || attempt != attempt_ || ready_) return;
        fail_all("connect timed out");
    });
}

void redis_link::on_conn_up(conn* c) {
    if (stopped_ || (c != cmd_.get() && c != sub_.get())) return;
    if (cmd_ && sub_ && cmd_->up && sub_->up) {
        timers_->connect.cancel();
        failures_ = 0;
        last_address_ = address_;
        set_ready(true);
    }
}

void redis_link::on_conn_down(conn* c, const char* why) {
    if (c != cmd_.get() && c != sub_.get()) return;  // an old connection
    fail_all(why);
}

void redis_link::fail_all(const char* why) {
    bool was_ready = ready_;
    auto reason = std::string_view(why) == "command timed out" ? redis_errc::timed_out : redis_errc::disconnected;
    for (auto* c : {cmd_.get(), sub_.get()})
        if (c) c->close(reason);
    cmd_.reset();
    sub_.reset();
    ++attempt_;
    if (was_ready) spdlog::warn("redis: link down ({})", why);
    set_ready(false);
    schedule_reconnect();
}

void redis_link::schedule_reconnect() {
    if (stopped_ || reconnect_pending_) return;
    reconnect_pending_ = true;
    static thread_local std::minstd_rand rng{std::random_device{}()};
    auto base = settings_.min_backoff * (1u << std::min(failures_, 10u));
    if (base > settings_.max_backoff) base = settings_.max_backoff;
    ++failures_;
    // Full jitter between half and all of the backoff: instances do not reconnect in lockstep.
    std::uniform_int_distribution<long> jitter(base.count() / 2, base.count());
    timers_->reconnect.expires_after(std::chrono::milliseconds(jitter(rng)));
    timers_->reconnect.async_wait([this](boost::system::error_code ec) {
        if (ec || stopped_) return;
        connect_all();
    });
}

void redis_link::set_ready(bool r) {
    if (r == ready_) return;
    ready_ = r;
    if (r) spdlog::info("redis: link ready");
    if (on_state_) asio::post(strand_, [this, r] {
            if (!stopped_ || !r) on_state_(r);
        });
}

void redis_link::arm_health() {
    timers_->health.expires_after(settings_.health_interval);
    timers_->health.async_wait([this](boost::system::error_code ec) {
        if (ec || stopped_) return;
        if (ready_ && clock::now() - last_sent_ >= settings_.health_interval) {
            last_sent_ = clock::now();
            cmd_->send({"PING"}, [](boost::system::error_code, redis_reply) {});  // a timeout resets the link
        }
        arm_health();
    });
}

void redis_link::command(const std::vector<std::string>& args, reply_handler done) {
    if (!ready_ || !cmd_) {
        asio::post(strand_, [done = std::move(done)] { done(redis_errc::not_connected, {}); });
        return;
    }
    last_sent_ = clock::now();
    cmd_->send(args, std::move(done));
}

}  // namespace serendip
