// One HTTP connection: reads requests under a header limit, a body limit
// and a deadline, serves static files, /healthz, /readyz and /metrics, and
// hands /ws upgrades (after the Origin check) to a WebSocket session.

#include "net.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <algorithm>

namespace serendip::net {

namespace {

constexpr std::size_t header_limit = 8 * 1024;
constexpr std::size_t body_limit = 16 * 1024;

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

// The `resume` parameter of /ws?resume=TOKEN, if well-formed.
std::string resume_param(std::string_view target) {
    auto q = target.find('?');
    if (q == std::string_view::npos) return {};
    std::string_view query = target.substr(q + 1);
    while (!query.empty()) {
        auto amp = query.find('&');
        auto pair = query.substr(0, amp);
        if (pair.rfind("resume=", 0) == 0) {
            auto token = pair.substr(7);
            bool ok = !token.empty() && token.size() <= 64 && std::all_of(token.begin(), token.end(), [](char c) {
                return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
            });
            // A malformed token is treated like an unknown one: resume_failed.
            return ok ? std::string(token) : std::string("-");
        }
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    return {};
}

bool origin_allowed(const request& req, const config& cfg, bool tls) {
    auto origin = req[http::field::origin];
    if (origin.empty()) return false;
    if (!cfg.allowed_origins.empty())
        return std::find(cfg.allowed_origins.begin(), cfg.allowed_origins.end(), origin) != cfg.allowed_origins.end();
    auto host = req[http::field::host];
    if (host.empty()) return false;
    std::string own = std::string(tls ? "https://" : "http://") + std::string(host);
    return origin == own;
}

template <class Body>
http::message_generator finish(http::response<Body>&& res, const request& req, metrics& stats) {
    add_security_headers(res);
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    stats.count_http(res.result_int());
    return std::move(res);
}

http::message_generator text_response(http::status status, std::string body, const request& req, metrics& stats,
                                      std::string_view type = "text/plain; charset=utf-8") {
    http::response<http::string_body> res{status, req.version()};
    res.set(http::field::content_type, type);
    res.set(http::field::cache_control, "no-store");
    if (status == http::status::method_not_allowed) res.set(http::field::allow, "GET, HEAD");
    if (req.method() != http::verb::head) res.body() = std::move(body);
    else res.content_length(body.size());
    auto msg = finish(std::move(res), req, stats);
    return msg;
}

http::message_generator serve_file(const request& req, context& ctx) {
    if (!ctx.files) return text_response(http::status::not_found, "no web root\n", req, ctx.stats);
    auto resolved = ctx.files->resolve(req.target());
    if (auto* err = std::get_if<static_error>(&resolved)) {
        return *err == static_error::bad_request ? text_response(http::status::bad_request, "bad path\n", req, ctx.stats)
                                                 : text_response(http::status::not_found, "not found\n", req, ctx.stats);
    }
    auto& file = std::get<static_file>(resolved);
    auto set_common = [&](auto& res) {
        res.set(http::field::etag, file.etag);
        res.set(http::field::cache_control, file.cache_control);
    };
    if (req[http::field::if_none_match] == file.etag) {
        http::response<http::empty_body> res{http::status::not_modified, req.version()};
        set_common(res);
        add_security_headers(res);
        res.keep_alive(req.keep_alive());
        ctx.stats.count_http(304);
        return res;
    }
    http::file_body::value_type body;
    beast::error_code ec;
    body.open(file.path.c_str(), beast::file_mode::scan, ec);
    if (ec) return text_response(http::status::not_found, "not found\n", req, ctx.stats);
    http::response<http::file_body> res{http::status::ok, req.version()};
    res.set(http::field::content_type, file.content_type);
    set_common(res);
    if (req.method() == http::verb::head) {
        http::response<http::empty_body> head{http::status::ok, req.version()};
        head.set(http::field::content_type, file.content_type);
        set_common(head);
        head.content_length(file.size);
        add_security_headers(head);
        head.keep_alive(req.keep_alive());
        ctx.stats.count_http(200);
        return head;
    }
    res.body() = std::move(body);
    return finish(std::move(res), req, ctx.stats);
}

http::message_generator respond(const request& req, context& ctx) {
    auto path = path_of(req.target());
    if (req.method() != http::verb::get && req.method() != http::verb::head)
        return text_response(http::status::method_not_allowed, "method not allowed\n", req, ctx.stats);
    if (path == "/healthz") return text_response(http::status::ok, "ok\n", req, ctx.stats);
    if (path == "/readyz") {
        auto s = ctx.matchmaking.rules().status();
        if (ctx.draining) return text_response(http::status::service_unavailable, "draining\n", req, ctx.stats);
        return s.ready ? text_response(http::status::ok, "ready\n", req, ctx.stats)
                       : text_response(http::status::service_unavailable, s.reason + "\n", req, ctx.stats);
    }
    if (path == "/metrics") {
        auto snap = ctx.matchmaking.rules().snapshot();
        auto online = ctx.matchmaking.rules().online();
        return text_response(http::status::ok,
                             ctx.stats.render({snap.sessions, snap.connected, snap.queued, snap.paired, online}), req,
                             ctx.stats, "text/plain; version=0.0.4; charset=utf-8");
    }
    if (path == "/ws")
        return text_response(http::status::bad_request, "WebSocket upgrade required\n", req, ctx.stats);
    return serve_file(req, ctx);
}

template <class Stream>
class http_session : public std::enable_shared_from_this<http_session<Stream>> {
public:
    http_session(Stream&& stream, beast::flat_buffer&& buffer, context& ctx)
        : stream_(std::move(stream)), buffer_(std::move(buffer)), ctx_(ctx) {}

    void run() {
        asio::dispatch(stream_.get_executor(), beast::bind_front_handler(&http_session::do_read, this->shared_from_this()));
    }

private:
    static constexpr bool tls = std::is_same_v<Stream, tls_stream>;

    void do_read() {
        parser_.emplace();
        parser_->header_limit(header_limit);
        parser_->body_limit(body_limit);
        beast::get_lowest_layer(stream_).expires_after(ctx_.cfg.request_timeout);
        http::async_read(stream_, buffer_, *parser_,
                         beast::bind_front_handler(&http_session::on_read, this->shared_from_this()));
    }

    void on_read(beast::error_code ec, std::size_t) {
        if (ec == http::error::end_of_stream || ec == beast::error::timeout) return do_close();
        if (ec == http::error::header_limit) return reply_and_close(http::status::request_header_fields_too_large);
        if (ec == http::error::body_limit) return reply_and_close(http::status::payload_too_large);
        if (ec) {
            // A request that does not parse gets 400; a dropped socket nothing.
            if (ec.category() == beast::error_code(http::error::end_of_stream).category()) return reply_and_close(http::status::bad_request);
            return do_close();
        }
        request req = parser_->release();
        if (beast::websocket::is_upgrade(req) && path_of(req.target()) == "/ws") return upgrade(std::move(req));
        write(respond(req, ctx_));
    }

    void upgrade(request&& req) {
        if (ctx_.draining) return write(text_response(http::status::service_unavailable, "draining\n", req, ctx_.stats));
        if (!origin_allowed(req, ctx_.cfg, tls))
            return write(text_response(http::status::forbidden, "origin not allowed\n", req, ctx_.stats));
        ctx_.stats.count_http(101);
        beast::get_lowest_layer(stream_).expires_never();
        auto token = resume_param(req.target());
        start_websocket(std::move(stream_), std::move(req), std::move(token), ctx_);
    }

    void reply_and_close(http::status status) {
        request stub;
        stub.version(11);
        stub.keep_alive(false);
        write(text_response(status, std::string(http::obsolete_reason(status)) + "\n", stub, ctx_.stats));
    }

    void write(http::message_generator msg) {
        bool keep_alive = msg.keep_alive() && !ctx_.draining;
        beast::async_write(stream_, std::move(msg),
                           [self = this->shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
                               if (ec) return;
                               if (!keep_alive) return self->do_close();
                               self->do_read();
                           });
    }

    void do_close() {
        beast::error_code ignored;
        if constexpr (tls) {
            beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(2));
            stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {});
        } else {
            stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        }
    }

    Stream stream_;
    beast::flat_buffer buffer_;
    context& ctx_;
    std::optional<http::request_parser<http::string_body>> parser_;
};

}  // namespace

template <class Stream>
void start_http(Stream&& stream, beast::flat_buffer&& buffer, context& ctx) {
    std::make_shared<http_session<Stream>>(std::move(stream), std::move(buffer), ctx)->run();
}

template void start_http<plain_stream>(plain_stream&&, beast::flat_buffer&&, context&);
template void start_http<tls_stream>(tls_stream&&, beast::flat_buffer&&, context&);

}  // namespace serendip::net
