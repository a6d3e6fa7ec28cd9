#pragma once
// The whole server: io threads, the store, the hub and the listener, wired
// from a config. Used by main() and by the integration tests in-process.

#include "serendip/config.hpp"
#include "serendip/metrics.hpp"

#include <cstdint>
#include <memory>

namespace serendip {

class server {
public:
    explicit server(config cfg);
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    // Binds and listens; returns the port. Throws on failure.
    std::uint16_t start();
    // Runs the io threads until a drain completes. Blocks.
    void run();
    // Graceful drain, safe from any thread or a signal handler's strand: stop
    // accepting, close every WebSocket with 1001, return from run() once
    // all are closed or after 5 s.
    void stop();
    // Stops on SIGINT and SIGTERM.
    void handle_signals();

    metrics& stats();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace serendip
