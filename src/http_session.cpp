// One HTTP connection's answers: static files, /healthz, /readyz, /metrics,
// and the checks of a /ws upgrade. The session itself (reading under limits
// and a deadline, writing, handing upgrades over) is the template in
// http_session.hpp, instantiated here for TCP and TLS.

#include "http_session.hpp"

#include <algorithm>

namespace serendip::net {

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
    // Exactly one: of two Origin headers, which one counts would be a guess.
    if (req.count(http::field::origin) != 1) return false;
    auto origin = req[http::field::origin];
    if (origin.empty()) return false;
    if (!cfg.allowed_origins.empty())
        return std::find(cfg.allowed_origins.begin(), cfg.allowed_origins.end(), origin) != cfg.allowed_origins.end();
    auto host = req[http::field::host];
    if (host.empty()) return false;
    std::string own = std::string(tls ? "https://" : "http://") + std::string(host);
    return origin == own;
}

namespace {

// `head_length`: a HEAD response announces the length GET would send
// (RFC 9110 section 8.6 forbids any other), not that of its empty body.
template <class Body>
http::message_generator finish(http::response<Body>&& res, const request& req, metrics& stats,
                               std::optional<std::size_t> head_length = {}) {
    add_security_headers(res);
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    if (head_length) res.content_length(*head_length);
    stats.count_http(res.result_int());
    return std::move(res);
}

}  // namespace

http::message_generator text_response(http::status status, std::string body, const request& req, metrics& stats,
                                      std::string_view type) {
    http::response<http::string_body> res{status, req.version()};
    res.set(http::field::content_type, type);
    res.set(http::field::cache_control, "no-store");
    if (status == http::status::method_not_allowed) res.set(http::field::allow, "GET, HEAD");
    if (req.method() == http::verb::head) return finish(std::move(res), req, stats, body.size());
    res.body() = std::move(body);
    return finish(std::move(res), req, stats);
}

namespace {

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

}  // namespace

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
void start_http(Stream&& stream, beast::flat_buffer&& buffer, context& ctx) {
    std::make_shared<http_session<Stream>>(std::move(stream), std::move(buffer), ctx)->run();
}

template void start_http<plain_stream>(plain_stream&&, beast::flat_buffer&&, context&);
template void start_http<tls_stream>(tls_stream&&, beast::flat_buffer&&, context&);

}  // namespace serendip::net
