#pragma once
// Server configuration: one plain struct with defaults, filled from command
// line flags and SERENDIP_* environment variables (a flag wins).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace serendip {

using millis = std::chrono::milliseconds;

enum class log_format { text, json };

struct config {
    std::string listen_address = "0.0.0.0";
    std::uint16_t port = 8080;
    std::string port_file;  // written with the bound port once listening (for tests)
    std::string web_root;   // empty: web/dist, else web/
    unsigned threads = 0;   // 0: hardware concurrency
    std::vector<std::string> allowed_origins;  // empty: the request's own host

    std::size_t max_message_bytes = 64 * 1024;
    double rate_per_sec = 20;
    double burst = 60;
    double join_rate_per_sec = 3;
    std::size_t send_queue_bytes = 1024 * 1024;
    millis ping_interval{20'000};
    millis idle_timeout{45'000};
    millis rate_limit_close_after{5'000};
    millis request_timeout{10'000};  // to receive one HTTP request (slowloris)
    millis online_interval{2'000};

    millis fallback_after{5'000};
    millis pair_timeout{30'000};
    millis resume_window{15'000};
    millis face_window{10'000};
    bool require_face = false;

    std::string log_level = "info";
    log_format log_fmt = log_format::text;
    std::string store = "memory";  // or redis://[:password@]host:port[/db]
    millis redis_timeout{1'000};    // deadline of every Redis command
    millis redis_heartbeat{1'000};  // instance liveness beat; dead after 5 beats missed
    std::string instance_id;        // redis store: this instance's name (default random)
    std::string tls_cert;
    std::string tls_key;
    std::vector<std::string> stun_urls;  // empty: those of the TURN URLs, if any
    std::vector<std::string> turn_urls;  // sent with fresh credentials (docs/protocol.md)
    std::string turn_secret;             // coturn's static-auth-secret: never logged or echoed
    millis turn_ttl{600'000};            // how long issued TURN credentials are valid

    // Abuse (docs/privacy.md).
    std::string trusted_proxies;          // address blocks whose X-Forwarded-For/X-Real-IP are believed
    std::string address_secret;           // keys address hashes; empty: random daily keys. Never echoed
    std::size_t max_per_address = 10;     // open connections from one address
    double new_per_minute = 30;           // new connections a minute from one address
    std::size_t max_connections = 50'000; // open connections on this instance (then 503)
    unsigned free_quick_skips = 3;        // skips within 2 s of a match before waits start
    unsigned report_threshold = 3;        // distinct reporting addresses in 24 h before a ban
    unsigned reports_per_hour = 5;        // reports an address can count an hour

    unsigned resolved_threads() const;
};

struct config_error {
    std::string message;  // one line, names the option
};

struct help_requested {
    std::string text;
};

using config_result = std::variant<config, config_error, help_requested>;

// getenv is injectable so tests do not depend on the process environment.
using env_lookup = std::optional<std::string> (*)(const char* name);
std::optional<std::string> process_env(const char* name);

config_result parse_config(int argc, const char* const* argv, env_lookup env = process_env);

// "250ms", "20s", "5m" or a bare number of seconds.
std::optional<millis> parse_duration(std::string_view text);

std::string help_text();

}  // namespace serendip
