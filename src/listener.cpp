#include "listener.hpp"

#include "net.hpp"

#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <spdlog/spdlog.h>

namespace serendip::net {

listener::listener(std::vector<asio::io_context*> io_contexts, context& ctx, const tcp::endpoint& at)
    : io_contexts_(std::move(io_contexts)),
      ctx_(ctx),
      acceptor_(asio::make_strand(*io_contexts_.at(0))),
      backoff_(acceptor_.get_executor()) {
    acceptor_.open(at.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(at);
    acceptor_.listen(asio::socket_base::max_listen_connections);
    port_ = acceptor_.local_endpoint().port();
}

void listener::run() { do_accept(); }

void listener::stop() {
    asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
        boost::system::error_code ignored;
        self->acceptor_.close(ignored);
        self->backoff_.cancel();
    });
}

void listener::do_accept() {
    // A connection lives on one io thread: its reads, writes and timers never
    // hand over between threads; only what crosses to another connection does.
    auto& ioc = *io_contexts_[next_context_];
    next_context_ = (next_context_ + 1) % io_contexts_.size();
    acceptor_.async_accept(asio::make_strand(ioc), beast::bind_front_handler(&listener::on_accept, shared_from_this()));
}

void listener::on_accept(boost::system::error_code ec, plain_socket socket) {
    if (!acceptor_.is_open()) return;
    if (ec) {
        // Out of descriptors (EMFILE) and the like: retry soon, never spin.
        spdlog::warn("accept failed: {}", ec.message());
        backoff_.expires_after(std::chrono::milliseconds(100));
        backoff_.async_wait([self = shared_from_this()](boost::system::error_code e) {
            if (!e) self->do_accept();
        });
        return;
    }
    socket.set_option(tcp::no_delay(true), ec);
    if (!ctx_.tls) {
        start_http(plain_stream(std::move(socket)), beast::flat_buffer{}, ctx_);
    } else {
        auto stream = std::make_shared<tls_stream>(std::move(socket), *ctx_.tls);
        beast::get_lowest_layer(*stream).expires_after(std::chrono::seconds(10));
        stream->async_handshake(asio::ssl::stream_base::server, [stream, this](beast::error_code e) {
            if (e) return;
            start_http(std::move(*stream), beast::flat_buffer{}, ctx_);
        });
    }
    do_accept();
}

}  // namespace serendip::net
