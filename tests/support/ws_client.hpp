#pragma once
// A real WebSocket client for the integration tests (Beast underneath, kept
// out of this header so test files compile fast). Frames are read by a
// background io thread into a queue; the test thread waits on it.

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace serendip::testing {

using namespace std::chrono_literals;
using json = nlohmann::json;

struct upgrade_result {
    bool ok = false;
    int http_status = 0;  // when refused
};

class ws_client {
public:
    struct options {
        std::string path = "/ws";
        std::optional<std::string> origin;  // default http://127.0.0.1:PORT; "" sends none
        std::string host;                   // default 127.0.0.1:PORT
        bool answer_pings = true;
        std::string forwarded_for;          // sent as X-Forwarded-For if set (a trusted proxy's word)
    };

    // Connects and upgrades; throws std::runtime_error if the upgrade fails.
    static std::unique_ptr<ws_client> connect(std::uint16_t port, options opts);
    static std::unique_ptr<ws_client> connect(std::uint16_t port) { return connect(port, options{}); }
    // Tries the upgrade and reports the HTTP status if refused.
    static upgrade_result try_connect(std::uint16_t port, options opts);

    ~ws_client();

    void send(std::string text);
    void send(const char* text) { send(std::string(text)); }
    void send(const json& j) { send(j.dump()); }
    void send_binary(std::string bytes);
    // Sends one message as several continuation frames.
    void send_fragmented(std::string text, std::size_t pieces);

    // The next frame, parsed; nullopt on timeout or close.
    std::optional<json> recv(std::chrono::milliseconds timeout = 5s);
    // The next frame whose type is `type`, skipping `online` frames; throws on timeout.
    json expect(const std::string& type, std::chrono::milliseconds timeout = 5s);
    // Like expect, but every frame before it must be `online`.
    json expect_next(const std::string& type, std::chrono::milliseconds timeout = 5s);
    // True if no frame other than `online` arrives within `window`.
    bool quiet_for(std::chrono::milliseconds window);

    // Waits for the server to close; returns the close code (or -1 on timeout, 0 if dropped without a code).
    int wait_closed(std::chrono::milliseconds timeout = 5s);
    bool is_open() const;
    void close();  // a normal close from our side

    std::size_t received_count() const;

    struct impl;  // public so the connect helpers can build one

private:
    explicit ws_client(std::unique_ptr<impl> i);
    std::unique_ptr<impl> impl_;
};

// A WebSocket client written by hand on a raw socket, for clients that
// misbehave: it never reads unless asked, never answers pings, and can send
// any frame at all.
class raw_ws {
public:
    // Connects and upgrades (Origin http://127.0.0.1:PORT); throws if refused.
    explicit raw_ws(std::uint16_t port, const std::string& path = "/ws", int receive_buffer = 0);
    ~raw_ws();
    void send_frame(std::uint8_t opcode, const std::string& payload, bool fin = true);
    void send_text(const std::string& payload) { send_frame(0x1, payload); }
    // Any bytes at all (a frame header alone, a forged length...); errors are ignored.
    void send_raw(const std::string& bytes);
    // Drops the connection as a crashed tab or a lost network does: a TCP
    // reset, no close frame.
    void reset();
    // A masked client frame, as send_frame sends it.
    static std::string frame(std::uint8_t opcode, const std::string& payload, bool fin = true);
    // Reads frames until a close frame (returns its code), EOF (0) or timeout (-1).
    int wait_close(std::chrono::milliseconds timeout);
    // Reads until a text frame arrives; returns it (empty on timeout/close).
    std::string read_text(std::chrono::milliseconds timeout);

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

// Many WebSocket clients driven from one thread, for load tests. Each
// client's frames (parsed) go to the handler, which returns the texts that
// client sends next. Clients connect at construction and join nothing by
// themselves.
class client_swarm {
public:
    using handler = std::function<std::vector<std::string>(std::size_t client, const json& frame)>;
    client_swarm(std::uint16_t port, std::size_t clients, handler on_frame);
    ~client_swarm();
    // Runs every client on the calling thread for `d`.
    void run_for(std::chrono::milliseconds d);
    // Cuts every connection (no close frame).
    void close_all();
    // Connections that failed their handshake or their reads with an error.
    std::size_t failures() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

// A WebSocket over TLS (the certificate is not checked): returns its first
// frame, then cuts the TCP connection without a close frame or TLS
// close_notify, as a vanished tab does.
std::string tls_first_frame_then_cut(std::uint16_t port);

// Sends raw bytes over a fresh TCP connection and returns everything read
// until the server closes or `timeout` passes.
std::string raw_http(std::uint16_t port, const std::string& bytes, std::chrono::milliseconds timeout = 3s);
int status_of(const std::string& response);
std::string header_of(const std::string& response, const std::string& name);
std::string body_of(const std::string& response);
std::string http_get(std::uint16_t port, const std::string& target, const std::string& extra_headers = {});

}  // namespace serendip::testing
