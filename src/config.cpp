#include "serendip/config.hpp"

#include "serendip/client_address.hpp"
#include "serendip/redis_link.hpp"
#include "serendip/turn_credentials.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <functional>
#include <sstream>
#include <thread>

namespace serendip {

namespace {

using setter = std::function<bool(config&, std::string_view)>;

struct option {
    const char* name;      // flag without the leading dashes
    const char* env;       // SERENDIP_* variable
    const char* value;     // placeholder shown in --help; empty for a switch
    const char* fallback;  // default shown in --help
    const char* help;
    setter set;
};

template <class T>
bool parse_number(std::string_view s, T& out) {
    if (s.empty()) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && p == s.data() + s.size();
}

bool parse_bool(std::string_view s, bool& out) {
    if (s == "1" || s == "true" || s == "yes" || s == "on") return out = true, true;
    if (s == "0" || s == "false" || s == "no" || s == "off") return out = false, true;
    return false;
}

std::vector<std::string> split_list(std::string_view s) {
    std::vector<std::string> out;
    while (!s.empty()) {
        auto comma = s.find(',');
        auto item = s.substr(0, comma);
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
        if (!item.empty()) out.emplace_back(item);
        if (comma == std::string_view::npos) break;
        s.remove_prefix(comma + 1);
    }
    return out;
}

setter positive_size(std::size_t config::*field, std::size_t min) {
    return [=](config& c, std::string_view s) {
        std::size_t v{};
        if (!parse_number(s, v) || v < min) return false;
        c.*field = v;
        return true;
    };
}

setter positive_rate(double config::*field) {
    return [=](config& c, std::string_view s) {
        double v{};
        if (!parse_number(s, v) || !(v > 0) || v > 1e6) return false;
        c.*field = v;
        return true;
    };
}

setter duration(millis config::*field) {
    return [=](config& c, std::string_view s) {
        auto d = parse_duration(s);
        if (!d || d->count() <= 0) return false;
        c.*field = *d;
        return true;
    };
}

setter text(std::string config::*field) {
    return [=](config& c, std::string_view s) {
        c.*field = std::string(s);
        return true;
    };
}

const std::vector<option>& options() {
    static const std::vector<option> table = {
        {"listen", "SERENDIP_LISTEN", "ADDR", "0.0.0.0", "address to listen on", text(&config::listen_address)},
        {"port", "SERENDIP_PORT", "N", "8080", "TCP port (0: any free port)",
         [](config& c, std::string_view s) { return parse_number(s, c.port); }},
        {"port-file", "SERENDIP_PORT_FILE", "FILE", "", "write the bound port to FILE once listening",
         text(&config::port_file)},
        {"web-root", "SERENDIP_WEB_ROOT", "DIR", "web/dist, else web", "directory of the browser client",
         text(&config::web_root)},
        {"threads", "SERENDIP_THREADS", "N", "hardware concurrency", "io threads",
         [](config& c, std::string_view s) { return parse_number(s, c.threads) && c.threads <= 256; }},
        {"allowed-origins", "SERENDIP_ALLOWED_ORIGINS", "URL,...", "the request's own host",
         "origins allowed to open /ws (exact match)",
         [](config& c, std::string_view s) {
             c.allowed_origins = split_list(s);
             return true;
         }},
        {"max-message", "SERENDIP_MAX_MESSAGE", "BYTES", "65536", "largest WebSocket message accepted",
         positive_size(&config::max_message_bytes, 1024)},
        {"rate", "SERENDIP_RATE", "N", "20", "messages per second sustained per connection",
         positive_rate(&config::rate_per_sec)},
        {"burst", "SERENDIP_BURST", "N", "60", "message burst per connection", positive_rate(&config::burst)},
        {"join-rate", "SERENDIP_JOIN_RATE", "N", "3", "join/next per second per connection",
         positive_rate(&config::join_rate_per_sec)},
        {"send-queue-bytes", "SERENDIP_SEND_QUEUE_BYTES", "BYTES", "1048576",
         "bytes queued for a slow reader before it is closed", positive_size(&config::send_queue_bytes, 4096)},
        {"ping-interval", "SERENDIP_PING_INTERVAL", "DURATION", "20s", "WebSocket ping interval",
         duration(&config::ping_interval)},
        {"idle-timeout", "SERENDIP_IDLE_TIMEOUT", "DURATION", "45s", "close a connection silent this long",
         duration(&config::idle_timeout)},
        {"request-timeout", "SERENDIP_REQUEST_TIMEOUT", "DURATION", "10s", "time allowed to send one HTTP request",
         duration(&config::request_timeout)},
        {"fallback-after", "SERENDIP_FALLBACK_AFTER", "DURATION", "5s",
         "wait before a user with interests accepts anyone (if fallback)", duration(&config::fallback_after)},
        {"pair-timeout", "SERENDIP_PAIR_TIMEOUT", "DURATION", "30s", "end a pair that exchanged no signal",
         duration(&config::pair_timeout)},
        {"resume-window", "SERENDIP_RESUME_WINDOW", "DURATION", "15s", "how long a dropped session is held",
         duration(&config::resume_window)},
        {"require-face", "SERENDIP_REQUIRE_FACE", "", "off", "refuse join until the client reports a face",
         [](config& c, std::string_view s) { return parse_bool(s, c.require_face); }},
        {"log-level", "SERENDIP_LOG_LEVEL", "LEVEL", "info", "trace, debug, info, warn, error, off",
         [](config& c, std::string_view s) {
             static const char* levels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};
             if (std::find(std::begin(levels), std::end(levels), s) == std::end(levels)) return false;
             c.log_level = std::string(s);
             return true;
         }},
        {"log-format", "SERENDIP_LOG_FORMAT", "FORMAT", "text", "text or json",
         [](config& c, std::string_view s) {
             if (s == "text") c.log_fmt = log_format::text;
             else if (s == "json") c.log_fmt = log_format::json;
             else return false;
             return true;
         }},
        {"store", "SERENDIP_STORE", "URL", "memory",
         "matchmaking store: memory, or redis://[:password@]host:port[/db] shared by instances",
         [](config& c, std::string_view s) {
             if (s != "memory" && !parse_redis_url(s)) return false;
             c.store = std::string(s);
             return true;
         }},
        {"redis-timeout", "SERENDIP_REDIS_TIMEOUT", "DURATION", "1s", "deadline of every Redis command",
         duration(&config::redis_timeout)},
        {"redis-heartbeat", "SERENDIP_REDIS_HEARTBEAT", "DURATION", "1s",
         "instance heartbeat in Redis (dead after 5 missed)", duration(&config::redis_heartbeat)},
        {"instance-id", "SERENDIP_INSTANCE_ID", "NAME", "random", "this instance's name in Redis",
         [](config& c, std::string_view s) {
             if (s.empty() || s.size() > 64) return false;
             for (char ch : s)
                 if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_')) return false;
             c.instance_id = std::string(s);
             return true;
         }},
        {"tls-cert", "SERENDIP_TLS_CERT", "FILE", "", "PEM certificate chain: serve HTTPS and WSS directly",
         text(&config::tls_cert)},
        {"tls-key", "SERENDIP_TLS_KEY", "FILE", "", "PEM private key for --tls-cert", text(&config::tls_key)},
        {"stun-urls", "SERENDIP_STUN_URLS", "URL,...", "the TURN servers', else none",
         "STUN servers sent to clients (no third party by default)",
         [](config& c, std::string_view s) {
             c.stun_urls = split_list(s);
             return std::all_of(c.stun_urls.begin(), c.stun_urls.end(),
                                [](const std::string& u) { return u.rfind("stun:", 0) == 0; });
         }},
        {"turn-urls", "SERENDIP_TURN_URLS", "URL,...", "none",
         "TURN servers sent to clients with fresh credentials (turn: or turns:)",
         [](config& c, std::string_view s) {
             c.turn_urls = split_list(s);
             return std::all_of(c.turn_urls.begin(), c.turn_urls.end(),
                                [](const std::string& u) { return turn::valid_turn_url(u); });
         }},
        {"turn-secret", "SERENDIP_TURN_SECRET", "SECRET", "",
         "shared secret of the TURN servers (coturn static-auth-secret); prefer the variable",
         [](config& c, std::string_view s) {
             c.turn_secret = std::string(s);
             return !s.empty();
         }},
        {"turn-ttl", "SERENDIP_TURN_TTL", "DURATION", "10m", "how long issued TURN credentials are valid (1s or more)",
         [](config& c, std::string_view s) {
             auto d = parse_duration(s);
             if (!d || *d < std::chrono::seconds(1)) return false;
             c.turn_ttl = *d;
             return true;
         }},
        {"trusted-proxy", "SERENDIP_TRUSTED_PROXY", "CIDR,...", "", "proxies whose X-Forwarded-For / X-Real-IP name the client",
         [](config& c, std::string_view s) {
             if (!parse_address_blocks(s)) return false;
             c.trusted_proxies = std::string(s);
             return true;
         }},
        {"address-secret", "SERENDIP_ADDRESS_SECRET", "TEXT", "random daily keys",
         "keys the address hashes (the same on every instance to share bans)", text(&config::address_secret)},
        {"max-per-address", "SERENDIP_MAX_PER_ADDRESS", "N", "10", "open connections from one address (then 429)",
         positive_size(&config::max_per_address, 1)},
        {"new-per-minute", "SERENDIP_NEW_PER_MINUTE", "N", "30", "new connections a minute from one address (then 429)",
         positive_rate(&config::new_per_minute)},
        {"max-connections", "SERENDIP_MAX_CONNECTIONS", "N", "50000", "open connections on this instance (then 503)",
         positive_size(&config::max_connections, 1)},
        {"free-quick-skips", "SERENDIP_FREE_QUICK_SKIPS", "N", "3",
         "skips within 2 s of a match in a row before each next one imposes a wait",
         [](config& c, std::string_view s) { return parse_number(s, c.free_quick_skips); }},
        {"report-threshold", "SERENDIP_REPORT_THRESHOLD", "N", "3",
         "distinct reporting addresses within 24 h that get an address banned",
         [](config& c, std::string_view s) { return parse_number(s, c.report_threshold) && c.report_threshold >= 1; }},
        {"reports-per-hour", "SERENDIP_REPORTS_PER_HOUR", "N", "5", "reports an hour one address can count (more are not)",
         [](config& c, std::string_view s) { return parse_number(s, c.reports_per_hour) && c.reports_per_hour >= 1; }},
    };
    return table;
}

// A store URL may carry a password, and a secret is a secret: never echo them.
std::string shown(const option& o, std::string_view value) {
    std::string_view name = o.name;
    return name == "store" || name == "turn-secret" || name == "address-secret" ? std::string("(not shown)") : "'" + std::string(value) + "'";
}

config_error invalid(const option& o, std::string_view value) {
    return {"invalid value " + shown(o, value) + " for --" + o.name + " (" + o.help + ")"};
}

}  // namespace

unsigned config::resolved_threads() const {
    return threads ? threads : std::max(1u, std::thread::hardware_concurrency());
}

std::optional<std::string> process_env(const char* name) {
    if (const char* v = std::getenv(name)) return std::string(v);
    return std::nullopt;
}

std::optional<millis> parse_duration(std::string_view s) {
    std::size_t digits = 0;
    while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') ++digits;
    std::int64_t n{};
    if (!parse_number(s.substr(0, digits), n) || n > 100'000'000) return std::nullopt;
    auto unit = s.substr(digits);
    if (unit == "ms") return millis{n};
    if (unit == "s" || unit.empty()) return millis{n * 1000};
    if (unit == "m") return millis{n * 60'000};
    if (unit == "h") return millis{n * 3'600'000};
    return std::nullopt;
}

std::string help_text() {
    std::ostringstream out;
    out << "Usage: serendip-server [OPTIONS]\n\n"
           "Serendip signaling server: serves the browser client, /healthz, /readyz,\n"
           "/metrics and the WebSocket endpoint /ws.\n\n"
           "Every option can also be set with its environment variable; a flag wins.\n\n";
    for (const auto& o : options()) {
        std::string flag = std::string("--") + o.name + (*o.value ? std::string(" ") + o.value : "");
        out << "  " << flag;
        out << std::string(flag.size() < 30 ? 30 - flag.size() : 1, ' ') << o.help << "\n"
            << std::string(32, ' ') << "[" << o.env << "; default: " << o.fallback << "]\n";
    }
    out << "  --help                        show this text\n";
    return out.str();
}

config_result parse_config(int argc, const char* const* argv, env_lookup env) {
    config c;
    const auto& table = options();
    for (const auto& o : table) {
        if (auto v = env(o.env)) {
            if (!o.set(c, *v)) return config_error{"invalid value " + shown(o, *v) + " for " + o.env + " (" + o.help + ")"};
        }
    }
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") return help_requested{help_text()};
        if (arg.substr(0, 2) != "--") return config_error{"unexpected argument '" + std::string(arg) + "'"};
        arg.remove_prefix(2);
        std::optional<std::string_view> value;
        if (auto eq = arg.find('='); eq != std::string_view::npos) {
            value = arg.substr(eq + 1);
            arg = arg.substr(0, eq);
        }
        auto it = std::find_if(table.begin(), table.end(), [&](const option& o) { return arg == o.name; });
        if (it == table.end()) return config_error{"unknown option --" + std::string(arg) + " (see --help)"};
        if (!value) {
            if (!*it->value) value = "true";  // a switch
            else if (i + 1 < argc) value = argv[++i];
            else return config_error{"option --" + std::string(arg) + " needs a value"};
        }
        if (!it->set(c, *value)) return invalid(*it, *value);
    }
    if (c.tls_cert.empty() != c.tls_key.empty())
        return config_error{"--tls-cert and --tls-key must be given together"};
    if (c.turn_urls.empty() != c.turn_secret.empty())
        return config_error{"--turn-urls and --turn-secret must be given together"};
    if (c.idle_timeout <= c.ping_interval)
        return config_error{"--idle-timeout must be longer than --ping-interval"};
    return c;
}

}  // namespace serendip
