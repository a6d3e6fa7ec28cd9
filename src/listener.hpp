#pragma once
// Accepts TCP connections and starts an HTTP session (after the TLS
// handshake when TLS is configured) on a strand of its own.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/steady_timer.hpp>

#include <memory>

namespace serendip::net {

struct context;

class listener : public std::enable_shared_from_this<listener> {
public:
    listener(boost::asio::io_context& ioc, context& ctx, const boost::asio::ip::tcp::endpoint& at);
    void run();
    void stop();
    unsigned short port() const { return port_; }

private:
    void do_accept();
    // The socket comes typed on the connection's own strand.
    void on_accept(boost::system::error_code ec,
                   boost::asio::basic_stream_socket<boost::asio::ip::tcp,
                                                    boost::asio::strand<boost::asio::io_context::executor_type>> socket);

    boost::asio::io_context& ioc_;
    context& ctx_;
    boost::asio::ip::tcp::acceptor acceptor_;
    boost::asio::steady_timer backoff_;
    unsigned short port_ = 0;
};

}  // namespace serendip::net
