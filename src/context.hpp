#pragma once
// What every connection of one server shares; lives as long as the server.

#include "serendip/abuse_rules.hpp"
#include "serendip/client_address.hpp"
#include "serendip/config.hpp"
#include "serendip/hub.hpp"
#include "serendip/metrics.hpp"
#include "serendip/static_files.hpp"

#include <boost/asio/ssl/context.hpp>

#include <atomic>
#include <memory>
#include <optional>
#include <vector>

namespace serendip::net {

struct context {
    const config& cfg;
    metrics& stats;
    hub& matchmaking;
    std::optional<static_files> files;  // empty if the web root is missing
    std::optional<boost::asio::ssl::context> tls;
    std::atomic<bool> draining{false};
    // Abuse rules (docs/privacy.md), set up by the server before it listens;
    // absent, as in the fuzzer, every upgrade is admitted.
    std::vector<address_block> trusted_proxies{};
    std::unique_ptr<address_hasher> addresses{};
    std::unique_ptr<connection_admission> admission{};
};

}  // namespace serendip::net
