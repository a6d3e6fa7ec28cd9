#pragma once
// Internal to the network layer: the Beast types shared by the HTTP and
// WebSocket sessions. Only src/http_session.cpp, src/ws_session.cpp and
// src/listener.cpp include this (Beast is slow to compile).

#include "context.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <optional>

namespace serendip::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// Every connection's I/O runs on its own strand, and its socket is typed on
// it from the accept on: no type-erased executor in any operation, and the
// socket the WebSocket session takes over is the very one HTTP read from
// (no second registration with the reactor).
using strand_type = asio::strand<asio::io_context::executor_type>;
using plain_socket = asio::basic_stream_socket<tcp, strand_type>;
using plain_stream = beast::basic_stream<tcp, strand_type>;
using tls_stream = beast::ssl_stream<plain_stream>;
using request = http::request<http::string_body>;

// Security headers on every response (HTTP and the WebSocket upgrade).
template <class Fields>
void add_security_headers(Fields& f) {
    f.set("Content-Security-Policy",
          "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "
          "img-src 'self' data: blob:; media-src 'self' blob: mediastream:; connect-src 'self'; "
          "worker-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
          "form-action 'none'");
    f.set("X-Content-Type-Options", "nosniff");
    f.set("Referrer-Policy", "no-referrer");
    f.set("Permissions-Policy", "camera=(self), microphone=(self)");
    f.set("Cross-Origin-Opener-Policy", "same-origin");
    f.set("X-Frame-Options", "DENY");
}

// Takes over an upgraded connection (request already read and checked).
// `address` is the client's (its admission, if counted, is released when
// the session ends); empty when address hashing is off.
template <class Stream>
void start_websocket(Stream&& stream, request&& req, std::string resume_token, address_hashes address, context& ctx);

template <class Stream>
void start_http(Stream&& stream, beast::flat_buffer&& buffer, context& ctx);

}  // namespace serendip::net
