#pragma once
// Internal to the network layer: one HTTP connection, templated on its
// stream so that the same request handling runs over TCP, over TLS, and over
// Beast's in-memory test stream (the HTTP fuzzer, tests/fuzz/). Reads
// requests under a header limit, a body limit and a deadline, answers them
// with `respond`, and hands /ws upgrades (after the Origin check) to
// `start_websocket`. Only src/http_session.cpp and the fuzzer include this.

#include "net.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace serendip::net {

inline constexpr std::size_t header_limit = 8 * 1024;
inline constexpr std::size_t body_limit = 16 * 1024;

// The target without its query.
std::string_view path_of(std::string_view target);
// The `resume` parameter of /ws?resume=TOKEN: empty if absent, "-" if malformed.
std::string resume_param(std::string_view target);
bool origin_allowed(const request& req, const config& cfg, bool tls);
http::message_generator text_response(http::status status, std::string body, const request& req, metrics& stats,
                                      std::string_view type = "text/plain; charset=utf-8");
// The answer to every request but a WebSocket upgrade.
http::message_generator respond(const request& req, context& ctx);

// Streams with a deadline of their own (beast::tcp_stream underneath); the
// in-memory test stream has none.
template <class Stream>
concept has_deadline = requires(Stream& s) { beast::get_lowest_layer(s).expires_after(std::chrono::seconds(1)); };

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
        if constexpr (has_deadline<Stream>) beast::get_lowest_layer(stream_).expires_after(ctx_.cfg.request_timeout);
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
        address_hashes address;
        if (ctx_.addresses) {
            auto ip = client_address(peer_address(), req["X-Forwarded-For"], req["X-Real-IP"], ctx_.trusted_proxies);
            address = ctx_.addresses->hash(ip, std::chrono::system_clock::now());
        }
        if (ctx_.admission && !address.today.empty()) {
            switch (ctx_.admission->admit(address.today, std::chrono::steady_clock::now())) {
            case connection_admission::verdict::admit: break;
            case connection_admission::verdict::too_many_from_address:
                return write(text_response(http::status::too_many_requests, "too many connections from your address\n",
                                           req, ctx_.stats));
            case connection_admission::verdict::server_full:
                return write(text_response(http::status::service_unavailable, "server full, retry later\n", req,
                                           ctx_.stats));
            }
        }
        ctx_.stats.count_http(101);
        if constexpr (has_deadline<Stream>) beast::get_lowest_layer(stream_).expires_never();
        auto token = resume_param(req.target());
        start_websocket(std::move(stream_), std::move(req), std::move(token), std::move(address), ctx_);
    }

    // The TCP peer; unspecified for in-memory streams (the fuzzer).
    ip_address peer_address() {
        if constexpr (has_deadline<Stream>) {
            beast::error_code ec;
            auto ep = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
            if (!ec) return ep.address();
        }
        return {};
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
        } else if constexpr (has_deadline<Stream>) {
            stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        } else {
            stream_.close();  // the in-memory stream: the peer reads EOF
        }
    }

    Stream stream_;
    beast::flat_buffer buffer_;
    context& ctx_;
    std::optional<http::request_parser<http::string_body>> parser_;
};

}  // namespace serendip::net
