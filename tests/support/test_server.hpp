#pragma once
// Runs a real serendip::server in this process on a free port, on its own
// io threads, for the integration tests. SERENDIP_TEST_THREADS sets the
// default number of io threads (2); a test that sets `threads` itself wins.

#include "serendip/config.hpp"
#include "serendip/server.hpp"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>

namespace serendip::testing {

class test_server {
public:
    explicit test_server(std::function<void(config&)> adjust = {}) {
        cfg_.listen_address = "127.0.0.1";
        cfg_.port = 0;
        cfg_.threads = default_threads();
        cfg_.web_root = SERENDIP_TEST_WEB_ROOT;
        cfg_.log_level = "warn";
        // Every test client comes from 127.0.0.1: tests of the per-address
        // limits set their own.
        cfg_.max_per_address = 100'000;
        cfg_.new_per_minute = 1'000'000;
        if (adjust) adjust(cfg_);
        spdlog::set_level(spdlog::level::from_str(cfg_.log_level));
        server_ = std::make_unique<server>(cfg_);
        port_ = server_->start();
        thread_ = std::thread([this] { server_->run(); });
    }
    ~test_server() { stop(); }

    void stop() {
        if (!thread_.joinable()) return;
        server_->stop();
        thread_.join();
    }

    std::uint16_t port() const { return port_; }
    metrics& stats() { return server_->stats(); }
    const config& cfg() const { return cfg_; }

    // 2, or SERENDIP_TEST_THREADS (script/test runs the suite under TSan with 4).
    static unsigned default_threads() {
        const char* env = std::getenv("SERENDIP_TEST_THREADS");
        if (!env || !*env) return 2;
        unsigned n = static_cast<unsigned>(std::stoul(env));
        return n == 0 ? 2 : n;
    }

private:
    config cfg_;
    std::unique_ptr<server> server_;
    std::uint16_t port_ = 0;
    std::thread thread_;
};

}  // namespace serendip::testing
