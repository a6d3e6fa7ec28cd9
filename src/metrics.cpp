#include "serendip/metrics.hpp"

#include <algorithm>
#include <sstream>

namespace serendip {

std::string_view name(server_type t) {
    static constexpr std::array<std::string_view, server_type_count> names = {
        "welcome", "online", "queued", "matched", "signal", "peer_left", "error", "banned", "rematch_wanted"};
    return names[static_cast<std::size_t>(t)];
}

std::string_view name(close_reason r) {
    static constexpr std::array<std::string_view, close_reason_count> names = {
        "client", "going_away", "too_large", "binary", "rate_limited",
        "idle_timeout", "slow_reader", "bad_frame", "replaced", "banned"};
    return names[static_cast<std::size_t>(r)];
}

void metrics::count_http(unsigned status) {
    auto it = std::find(statuses_.begin(), statuses_.end(), status);
    add(http_[static_cast<std::size_t>(it - statuses_.begin())]);
}

namespace {

void header(std::ostringstream& out, const char* metric, const char* type, const char* help) {
    out << "# HELP " << metric << ' ' << help << "\n# TYPE " << metric << ' ' << type << '\n';
}

template <class Names>
void labelled(std::ostringstream& out, const char* metric, const char* label,
              const std::array<metrics::counter, std::tuple_size_v<Names>>& values, const Names& names) {
    for (std::size_t i = 0; i < values.size(); ++i)
        out << metric << '{' << label << "=\"" << names[i] << "\"} " << values[i].load(std::memory_order_relaxed)
            << '\n';
}

template <std::size_t N, class Name>
std::array<std::string_view, N> names_of(Name name_fn) {
    std::array<std::string_view, N> out{};
    for (std::size_t i = 0; i < N; ++i) out[i] = name_fn(i);
    return out;
}

}  // namespace

std::string metrics::render(const store_gauges& store) const {
    std::ostringstream out;
    header(out, "serendip_connections_open", "gauge", "WebSocket connections open now.");
    out << "serendip_connections_open " << connections_open.load() << '\n';
    header(out, "serendip_connections_total", "counter", "WebSocket connections accepted.");
    out << "serendip_connections_total " << connections_total.load() << '\n';

    header(out, "serendip_messages_in_total", "counter", "Messages received, by type.");
    labelled(out, "serendip_messages_in_total", "type", messages_in,
             names_of<protocol::client_type_count>([](std::size_t i) {
                 return protocol::name(static_cast<protocol::client_type>(i));
             }));
    header(out, "serendip_messages_out_total", "counter", "Messages sent, by type.");
    labelled(out, "serendip_messages_out_total", "type", messages_out,
             names_of<server_type_count>([](std::size_t i) { return name(static_cast<server_type>(i)); }));
    header(out, "serendip_errors_total", "counter", "Error frames sent, by code.");
    labelled(out, "serendip_errors_total", "code", errors, names_of<protocol::error_code_count>([](std::size_t i) {
                 return protocol::name(static_cast<protocol::error_code>(i));
             }));
    header(out, "serendip_closes_total", "counter", "WebSocket connections closed, by reason.");
    labelled(out, "serendip_closes_total", "reason", closes,
             names_of<close_reason_count>([](std::size_t i) { return name(static_cast<close_reason>(i)); }));
    header(out, "serendip_send_queue_overflows_total", "counter", "Connections closed for not reading.");
    out << "serendip_send_queue_overflows_total " << send_queue_overflows.load() << '\n';

    header(out, "serendip_http_responses_total", "counter", "HTTP responses, by status.");
    for (std::size_t i = 0; i <= statuses_.size(); ++i) {
        out << "serendip_http_responses_total{status=\"";
        if (i < statuses_.size()) out << statuses_[i];
        else out << "other";
        out << "\"} " << http_[i].load(std::memory_order_relaxed) << '\n';
    }

    header(out, "serendip_sessions", "gauge", "Sessions known to the store (connected or held for resume).");
    out << "serendip_sessions " << store.sessions << '\n';
    header(out, "serendip_sessions_connected", "gauge", "Sessions with a live connection.");
    out << "serendip_sessions_connected " << store.connected << '\n';
    header(out, "serendip_queued", "gauge", "Sessions waiting for a partner.");
    out << "serendip_queued " << store.queued << '\n';
    header(out, "serendip_paired", "gauge", "Sessions in a pair.");
    out << "serendip_paired " << store.paired << '\n';
    header(out, "serendip_online", "gauge", "Online count reported to clients.");
    out << "serendip_online " << store.online << '\n';
    return out.str();
}

}  // namespace serendip
