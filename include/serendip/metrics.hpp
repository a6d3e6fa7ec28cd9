#pragma once
// Process-wide counters, rendered in the Prometheus text format. Updates are
// relaxed atomics: a hot path pays one uncontended increment.

#include "serendip/protocol.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

namespace serendip {

// From `queued` on, in the order of action::what's alternatives (hub.cpp relies on it).
enum class server_type { welcome, online, queued, matched, signal, peer_left, error, banned, rematch_wanted };
inline constexpr std::size_t server_type_count = 9;
std::string_view name(server_type t);

enum class close_reason {
    client,         // the client closed, or the connection dropped (reset, end of stream, cut TLS)
    going_away,     // server shutdown
    too_large,      // 1009
    binary,         // 1003
    rate_limited,   // 1008
    idle_timeout,   // no pong or frame for the idle timeout
    slow_reader,    // send queue overflow
    bad_frame,      // WebSocket protocol violation only (invalid UTF-8, bad framing, bad close frame)
    replaced,       // the session resumed on a newer connection
    banned,         // 1008: reports got the address banned
};
inline constexpr std::size_t close_reason_count = 10;
std::string_view name(close_reason r);

class metrics {
public:
    using counter = std::atomic<std::uint64_t>;

    counter connections_total{0};
    std::atomic<std::int64_t> connections_open{0};
    std::array<counter, protocol::client_type_count> messages_in{};
    std::array<counter, server_type_count> messages_out{};
    std::array<counter, protocol::error_code_count> errors{};
    std::array<counter, close_reason_count> closes{};
    counter send_queue_overflows{0};

    void count_http(unsigned status);
    static void add(counter& c, std::uint64_t n = 1) { c.fetch_add(n, std::memory_order_relaxed); }

    struct store_gauges {
        std::uint64_t sessions, connected, queued, paired, online;
    };
    std::string render(const store_gauges& store) const;

private:
    // Status codes this server answers with; anything else lands in "other".
    static constexpr std::array<unsigned, 14> statuses_ = {101, 200, 204, 304, 400, 403, 404,
                                                           405, 408, 413, 429, 431, 500, 503};
    std::array<counter, statuses_.size() + 1> http_{};
};

}  // namespace serendip
