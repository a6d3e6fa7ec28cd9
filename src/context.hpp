#pragma once
// What every connection of one server shares; lives as long as the server.

#include "serendip/config.hpp"
#include "serendip/hub.hpp"
#include "serendip/metrics.hpp"
#include "serendip/static_files.hpp"

#include <boost/asio/ssl/context.hpp>

#include <atomic>
#include <optional>

namespace serendip::net {

struct context {
    const config& cfg;
    metrics& stats;
    hub& matchmaking;
    std::optional<static_files> files;  // empty if the web root is missing
    std::optional<boost::asio::ssl::context> tls;
    std::atomic<bool> draining{false};
};

}  // namespace serendip::net
