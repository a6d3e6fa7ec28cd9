#pragma once
// Accepts TCP connections and starts an HTTP session (after the TLS
// handshake when TLS is configured) on a strand of its own, on the io
// contexts in turn (one per io thread).

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/steady_timer.hpp>

#include <memory>
#include <vector>

namespace serendip::net {

struct context;

class listener : public std::enable_shared_from_this<listener> {
public:
    // The acceptor runs on io_contexts[0]; connections go to each in turn.
    listener(std::vector<boost::asio::io_context*> io_contexts, context& ctx, const boost::asio::ip::tcp::endpoint& at);
    void run();
    void stop();
    unsigned short port() const { return port_; }

private:
    void do_accept();
    // The socket comes typed on the connection's own strand.
    void on_accept(boost::system::error_code ec,
                   boost::asio::basic_stream_socket<boost::asio::ip::tcp,
                                                    boost::asio::strand<boost::asio::io_context::executor_type>> socket);

    std::vector<boost::asio::io_context*> io_contexts_;
    std::size_t next_context_ = 0;
    context& ctx_;
    boost::asio::ip::tcp::acceptor acceptor_;
    boost::asio::steady_timer backoff_;
    unsigned short port_ = 0;
};

}  // namespace serendip::net
