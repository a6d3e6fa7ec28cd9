// Clients that misbehave on purpose, against the real server over real
// sockets: forged and slow handshakes, silent peers, floods, bad frames, bad
// JSON, abuse of signal and resume. Each gets the answer docs/protocol.md
// promises ("Hostile clients" there lists what PROTOCOL.md leaves open), and
// afterwards the server still pairs two fresh clients and holds no session.
// What websocket_test.cpp and matchmaking_test.cpp cover already (a plain
// forged Origin, one binary frame, 64 KiB + 1 of spaces, a reused or expired
// token...) is not repeated here.

#include "test_server.hpp"
#include "ws_client.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include <array>
#include <future>
#include <set>
#include <thread>

using namespace serendip;
using namespace serendip::testing;

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

// A bare TCP connection for byte-level abuse: every wait has a deadline, and
// a write the server stopped reading does not block the test.
class tcp_probe {
public:
    explicit tcp_probe(std::uint16_t port) { socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port)); }

    // True if all of `bytes` went out before `timeout` and without an error.
    bool send(const std::string& bytes, std::chrono::milliseconds timeout = 5s) {
        bool done = false;
        boost::system::error_code result;
        asio::async_write(socket_, asio::buffer(bytes), [&](boost::system::error_code ec, std::size_t) {
            result = ec;
            done = true;
        });
        return run_until(done, timeout) && !result;
    }

    // Reads until the server closes or resets (true) or `timeout` passes (false).
    bool wait_closed(std::chrono::milliseconds timeout) {
        auto deadline = clock_type::now() + timeout;
        while (!closed_) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
            if (left.count() <= 0) return false;
            bool done = false;
            socket_.async_read_some(asio::buffer(chunk_), [&](boost::system::error_code ec, std::size_t n) {
                if (ec == asio::error::operation_aborted) return;
                received_.append(chunk_.data(), n);
                if (ec) closed_ = true;
                done = true;
            });
            if (!run_until(done, left)) return false;
        }
        return true;
    }

    const std::string& received() const { return received_; }

private:
    bool run_until(bool& done, std::chrono::milliseconds timeout) {
        ioc_.restart();
        ioc_.run_for(timeout);
        if (done) return true;
        socket_.cancel();
        ioc_.restart();
        ioc_.run();
        return false;
    }

    asio::io_context ioc_;
    tcp::socket socket_{ioc_};
    std::array<char, 65536> chunk_{};
    std::string received_;
    bool closed_ = false;
};

// `close`: a refused upgrade is answered and the connection closed at once.
std::string upgrade_request(std::uint16_t port, const std::string& extra_headers = {}, bool close = false) {
    return "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\nUpgrade: websocket\r\nConnection: Upgrade" +
           (close ? ", close" : "") + "\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
           extra_headers + "\r\n";
}

std::string own_origin(std::uint16_t port) { return "http://127.0.0.1:" + std::to_string(port); }

// A client frame without the mask RFC 6455 requires of clients.
std::string unmasked_frame(std::uint8_t first_byte, const std::string& payload) {
    std::string f;
    f += static_cast<char>(first_byte);
    f += static_cast<char>(payload.size());  // < 126 here
    return f + payload;
}

// The header of a masked frame announcing `length` payload bytes, and no payload.
std::string frame_header(std::uint8_t first_byte, std::uint64_t length) {
    std::string f;
    f += static_cast<char>(first_byte);
    f += static_cast<char>(0x80 | 127);
    for (int i = 7; i >= 0; --i) f += static_cast<char>((length >> (8 * i)) & 0xFF);
    return f + std::string("\x12\x34\x56\x78", 4);
}

json join_video(std::vector<std::string> interests = {}) {
    return {{"type", "join"}, {"mode", "video"}, {"interests", interests}};
}

json candidate(const std::string& text) { return {{"type", "signal"}, {"data", {{"candidate", {{"candidate", text}}}}}}; }

std::string metrics_of(std::uint16_t port) { return body_of(http_get(port, "/metrics")); }

// The value of one metric line (-1 if absent).
long long metric_value(const std::string& metrics, const std::string& name) {
    auto at = metrics.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::stoll(metrics.substr(at + name.size() + 2));
}

// Polls /metrics until every line shows up; returns the last body seen.
std::string wait_for_metrics(std::uint16_t port, const std::vector<std::string>& lines,
                             std::chrono::milliseconds timeout = 8s) {
    auto deadline = clock_type::now() + timeout;
    std::string m;
    for (;;) {
        m = metrics_of(port);
        bool all = std::all_of(lines.begin(), lines.end(), [&](const std::string& l) { return m.find(l) != std::string::npos; });
        if (all || clock_type::now() >= deadline) return m;
        std::this_thread::sleep_for(20ms);
    }
}

std::string welcome_of(raw_ws& raw) {
    auto text = raw.read_text(5s);
    EXPECT_NE(text.find("\"welcome\""), std::string::npos) << text;
    return text;
}

struct peer {
    std::unique_ptr<ws_client> ws;
    std::string session, token;
};

peer connect(std::uint16_t port, const std::string& path = "/ws") {
    peer p{ws_client::connect(port, {.path = path}), {}, {}};
    auto w = p.ws->expect_next("welcome");
    p.session = w["session"];
    p.token = w["resume"];
    return p;
}

std::pair<peer, peer> paired(std::uint16_t port) {
    auto a = connect(port);
    auto b = connect(port);
    a.ws->send(join_video());
    a.ws->expect_next("queued");
    b.ws->send(join_video());
    a.ws->expect("matched");
    b.ws->expect("matched");
    return {std::move(a), std::move(b)};
}

// Every adversarial test ends here: two fresh clients still pair and signal,
// and once every client is gone the store holds no session, queue entry or pair.
void expect_still_pairs_and_leaks_nothing(test_server& server) {
    auto port = server.port();
    {
        auto [a, b] = paired(port);
        a.ws->send(candidate("still working"));
        EXPECT_EQ(b.ws->expect("signal")["data"]["candidate"]["candidate"], "still working");
    }
    auto m = wait_for_metrics(port, {"serendip_sessions 0\n", "serendip_connections_open 0\n"});
    for (const char* line : {"serendip_sessions 0\n", "serendip_sessions_connected 0\n", "serendip_queued 0\n",
                             "serendip_paired 0\n", "serendip_connections_open 0\n"})
        EXPECT_NE(m.find(line), std::string::npos) << line << m;
}

// Short resume window: dropped sessions are gone soon, so leaks show quickly.
void quick(config& c) {
    c.resume_window = 300ms;
    c.request_timeout = 1500ms;
}

class adversarial_test : public ::testing::Test {
protected:
    test_server server{quick};
    std::uint16_t port() { return server.port(); }
};

}  // namespace

TEST_F(adversarial_test, runs_with_the_configured_io_threads) {
    // script/test runs this suite under TSan with SERENDIP_TEST_THREADS=4.
    const char* env = std::getenv("SERENDIP_TEST_THREADS");
    EXPECT_EQ(server.cfg().threads, env && *env ? std::stoul(env) : 2u);
}

TEST_F(adversarial_test, forged_origins_are_refused_before_any_session) {
    auto p = port();
    for (std::string origin : {std::string("null"), "HTTP://127.0.0.1:" + std::to_string(p), own_origin(p) + "/",
                               own_origin(p) + "/index.html", "http://localhost:" + std::to_string(p),
                               "https://127.0.0.1:" + std::to_string(p), std::string("http://127.0.0.1"), " " + own_origin(p) + "x"}) {
        EXPECT_EQ(ws_client::try_connect(p, {.origin = origin}).http_status, 403) << origin;
    }
    // Two Origin headers: no guessing which one a proxy or browser meant.
    for (const auto& headers : {"Origin: " + own_origin(p) + "\r\nOrigin: https://evil.example\r\n",
                                "Origin: https://evil.example\r\nOrigin: " + own_origin(p) + "\r\n",
                                "Origin: " + own_origin(p) + "\r\nOrigin: " + own_origin(p) + "\r\n"}) {
        tcp_probe probe(p);
        ASSERT_TRUE(probe.send(upgrade_request(p, headers, true)));
        EXPECT_TRUE(probe.wait_closed(5s));
        EXPECT_EQ(status_of(probe.received()), 403) << headers;
    }
    // A malformed upgrade with a good Origin is refused by the WebSocket layer.
    for (const std::string& bad :
         std::vector<std::string>{"Sec-WebSocket-Version: 8\r\n", "Sec-WebSocket-Key: " + std::string(40, 'k') + "\r\n"}) {
        std::string req = upgrade_request(p, "Origin: " + own_origin(p) + "\r\n");
        auto at = req.find(bad.substr(0, bad.find(':') + 1));
        req.replace(at, req.find("\r\n", at) + 2 - at, bad);
        tcp_probe probe(p);
        ASSERT_TRUE(probe.send(req));
        probe.wait_closed(5s);
        int status = status_of(probe.received());
        EXPECT_TRUE(status == 400 || status == 426) << bad << " -> " << probe.received();
    }
    auto m = metrics_of(p);
    EXPECT_NE(m.find("serendip_connections_total 0\n"), std::string::npos) << "no WebSocket session was started\n" << m;
    EXPECT_NE(m.find("serendip_http_responses_total{status=\"403\"} 11"), std::string::npos) << m;
    expect_still_pairs_and_leaks_nothing(server);
}

TEST_F(adversarial_test, handshake_one_byte_a_second_is_cut_at_the_request_deadline) {
    auto handshake = upgrade_request(port(), "Origin: " + own_origin(port()) + "\r\n");
    tcp_probe slow(port());
    auto start = clock_type::now();
    std::size_t sent = 0;
    bool closed = false;
    while (sent < handshake.size() && !closed) {
        slow.send(handshake.substr(sent++, 1));
        closed = slow.wait_closed(1s);  // one byte a second, unless the server closes first
    }
    auto took = clock_type::now() - start;
    EXPECT_TRUE(closed) << "still open after " << sent << " bytes";
    EXPECT_LT(sent, handshake.size()) << "the whole handshake got through";
    // The deadline (1.5 s here, --request-timeout) is for the whole request, not per byte.
    EXPECT_GE(took, 1400ms);
    EXPECT_LT(took, 4s);
    EXPECT_EQ(slow.received(), "") << "no answer to an unfinished request, and no 101";
    EXPECT_NE(metrics_of(port()).find("serendip_connections_total 0\n"), std::string::npos);
    expect_still_pairs_and_leaks_nothing(server);
}

TEST(adversarial_ping_test, silent_peer_is_closed_1001_and_its_partner_hears_disconnect) {
    test_server server{[](config& c) {
        quick(c);
        c.ping_interval = 200ms;
        c.idle_timeout = 700ms;
    }};
    auto good = connect(server.port());
    {
        raw_ws silent(server.port());  // reads, but never answers a ping
        welcome_of(silent);
        silent.send_text(join_video().dump());
        good.ws->send(join_video());
        good.ws->expect("matched");
        auto start = clock_type::now();
        EXPECT_EQ(silent.wait_close(5s), 1001) << "idle timeout";
        EXPECT_GE(clock_type::now() - start, 500ms) << "not before the idle timeout";
        // Held for resume like any drop, then the partner is told.
        EXPECT_EQ(good.ws->expect("peer_left", 5s)["reason"], "disconnect");
    }
    {
        // A client that talks but never answers pings is not idle: any frame counts.
        raw_ws chatty(server.port());
        welcome_of(chatty);
        for (int i = 0; i < 12; ++i) {
            chatty.send_text(R"({"type":"face","present":false})");
            EXPECT_EQ(chatty.wait_close(150ms), -1) << "closed after " << i * 150 << " ms";
        }
    }
    EXPECT_TRUE(good.ws->is_open()) << "a client that answers pings stays";
    good.ws.reset();
    auto m = wait_for_metrics(server.port(), {"serendip_closes_total{reason=\"idle_timeout\"} 1\n"});
    EXPECT_NE(m.find("serendip_closes_total{reason=\"idle_timeout\"} 1\n"), std::string::npos) << m;
    expect_still_pairs_and_leaks_nothing(server);
}

TEST(adversarial_burst_test, burst_of_10000_messages_gets_one_error_a_second_not_an_echo) {
    // Closing after 5 s of flooding is websocket_test's; here a slow build may
    // take longer than that to read the burst.
    test_server server{[](config& c) {
        quick(c);
        c.rate_limit_close_after = 60s;
    }};
    {
        auto a = connect(server.port());
        auto start = clock_type::now();
        for (int i = 0; i < 10'000; ++i) a.ws->send(R"({"type":"face","present":false})");
        // Read until a second and a half passes without an error: the burst is over.
        int errors = 0, others = 0;
        auto quiet_since = clock_type::now();
        while (clock_type::now() - quiet_since < 1500ms && clock_type::now() - start < 30s) {
            auto f = a.ws->recv(100ms);
            if (!f || (*f)["type"] == "online") continue;
            if ((*f)["type"] == "error" && (*f)["code"] == "rate_limited") {
                ++errors;
                quiet_since = clock_type::now();
            } else {
                ++others;
            }
        }
        auto seconds = std::chrono::duration_cast<std::chrono::seconds>(clock_type::now() - start).count();
        EXPECT_GE(errors, 1);
        EXPECT_LE(errors, seconds + 2) << "at most one rate_limited a second";
        EXPECT_EQ(others, 0);
        EXPECT_TRUE(a.ws->is_open());
        auto accepted = metric_value(metrics_of(server.port()), "serendip_messages_in_total{type=\"face\"}");
        EXPECT_GE(accepted, 60) << "the burst allowance";
        EXPECT_LE(accepted, 60 + 20 * (seconds + 1)) << "the rest was refused before decoding";
        a.ws->send(join_video());
        EXPECT_EQ(a.ws->expect_next("queued")["mode"], "video");
    }
    expect_still_pairs_and_leaks_nothing(server);
}

TEST(adversarial_burst_test, burst_of_10000_messages_within_the_limits_is_answered_in_order) {
    test_server server{[](config& c) {
        quick(c);
        c.rate_per_sec = 1e6;
        c.burst = 1e6;
    }};
    {
        auto a = connect(server.port());
        for (int i = 0; i < 10'000; ++i) a.ws->send(R"({"type":"t)" + std::to_string(i) + "\"}");
        for (int i = 0; i < 10'000; ++i) {
            auto e = a.ws->expect_next("error", 20s);
            ASSERT_EQ(e["code"], "unknown_type");
            ASSERT_EQ(e["ref"], "t" + std::to_string(i)) << "in order, none lost";
        }
        a.ws->send(join_video());
        EXPECT_EQ(a.ws->expect_next("queued")["mode"], "video");
    }
    auto m = metrics_of(server.port());
    EXPECT_NE(m.find("serendip_errors_total{code=\"unknown_type\"} 10000\n"), std::string::npos) << m;
    expect_still_pairs_and_leaks_nothing(server);
}

TEST_F(adversarial_test, join_and_next_flood_keeps_a_single_queue_place) {
    {
        auto a = connect(port());
        for (int i = 0; i < 300; ++i) a.ws->send(i % 2 ? json{{"type", "next"}} : join_video());
        int queued = 0, refused_with_ref = 0, refused = 0, others = 0;
        auto until = clock_type::now() + 1200ms;
        while (clock_type::now() < until) {
            auto f = a.ws->recv(100ms);
            if (!f || (*f)["type"] == "online") continue;
            if ((*f)["type"] == "queued") ++queued;
            else if ((*f)["type"] == "error" && (*f)["code"] == "rate_limited")
                ++((*f).contains("ref") ? refused_with_ref : refused);
            else ++others;
        }
        EXPECT_GE(queued, 3);
        EXPECT_LE(queued, 4) << "3 join/next a second";
        EXPECT_GE(refused_with_ref, 50) << "each refused join/next within the message burst is answered";
        EXPECT_LE(refused, 3) << "past the burst, one error a second";
        EXPECT_EQ(others, 0);
        EXPECT_TRUE(a.ws->is_open());
        // Still exactly one place in the queue: the next client pairs with it.
        auto b = connect(port());
        b.ws->send(join_video());
        b.ws->expect("matched");
        a.ws->expect("matched");
        auto m = metrics_of(port());
        EXPECT_NE(m.find("serendip_queued 0\n"), std::string::npos) << m;
        EXPECT_NE(m.find("serendip_paired 2\n"), std::string::npos) << m;
    }
    expect_still_pairs_and_leaks_nothing(server);
}

TEST_F(adversarial_test, binary_frames_close_1003_however_they_come) {
    {
        raw_ws early(port());  // before even reading the welcome
        early.send_frame(0x2, "");
        EXPECT_EQ(early.wait_close(5s), 1003);
    }
    {
        raw_ws fragmented(port());
        welcome_of(fragmented);
        fragmented.send_frame(0x2, "{\"type\":", false);
        fragmented.send_frame(0x0, "\"next\"}");
        EXPECT_EQ(fragmented.wait_close(5s), 1003);
    }
    auto m = wait_for_metrics(port(), {"serendip_closes_total{reason=\"binary\"} 2\n"});
    EXPECT_NE(m.find("serendip_closes_total{reason=\"binary\"} 2\n"), std::string::npos) << m;
    expect_still_pairs_and_leaks_nothing(server);
}

TEST_F(adversarial_test, invalid_utf8_closes_1007_and_valid_utf8_split_across_fragments_is_fine) {
    for (const std::string& bad : {std::string("\xc0\xaf"),           // overlong '/'
                                   std::string("\xed\xa0\x80"),       // a UTF-16 surrogate
                                   std::string("\xf4\x90\x80\x80"),   // past U+10FFFF
                                   std::string("\xff"),               // never valid
                                   std::string("\xe2\x82")}) {        // cut short at the end
        raw_ws raw(port());
        welcome_of(raw);
        raw.send_text(R"({"type":"join","mode":"video","interests":[")" + bad + "\"]}");
        EXPECT_EQ(raw.wait_close(5s), 1007);
    }
    {
        // An invalid sequence split across two fragments.
        raw_ws raw(port());
        welcome_of(raw);
        raw.send_frame(0x1, "{\"type\":\"\xe2", false);
        raw.send_frame(0x0, "\x28\xa1\"}");
        EXPECT_EQ(raw.wait_close(5s), 1007);
    }
    {
        // A valid four-byte character split in the middle is reassembled.
        raw_ws raw(port());
        welcome_of(raw);
        raw.send_frame(0x1, R"({"type":"join","mode":"text","interests":["a)" + std::string("\xf0\x9f"), false);
        raw.send_frame(0x0, std::string("\x8e\x89") + "\"]}");
        auto queued = json::parse(raw.read_text(5s));
        EXPECT_EQ(queued["type"], "queued");
        EXPECT_EQ(queued["interests"], json::array({"a\xf0\x9f\x8e\x89"}));
    }
    expect_still_pairs_and_leaks_nothing(server);
}

TEST_F(adversarial_test, fragments_make_one_message_and_framing_violations_close_1002) {
    {
        // 2,000 one-byte fragments with pings between them: one message.
        raw_ws raw(port());
        welcome_of(raw);
        std::string text = R"({"type":"join","mode":"text","interests":["pieces"]})";
        text += std::string(2000 - text.size(), ' ');
        std::string frames;
        for (std::size_t i = 0; i < text.size(); ++i) {
            frames += raw_ws::frame(i == 0 ? 0x1 : 0x0, text.substr(i, 1), i + 1 == text.size());
            if (i % 500 == 0) frames += raw_ws::frame(0x9, "mid-message ping");
        }
        raw.send_raw(frames);
        auto queued = json::parse(raw.read_text(5s));
        EXPECT_EQ(queued["type"], "queued");
        EXPECT_EQ(queued["interests"], json::array({"pieces"}));
        auto m = metrics_of(port());
        EXPECT_NE(m.find("serendip_messages_in_total{type=\"join\"} 1\n"), std::string::npos) << "counted once\n" << m;
    }
    struct violation {
        const char* what;
        std::string bytes;
    };
    for (const auto& [what, bytes] : std::vector<violation>{
             {"continuation without a start", raw_ws::frame(0x0, "{}")},
             {"a new message inside a fragmented one", raw_ws::frame(0x1, "{", false) + raw_ws::frame(0x1, "}")},
             {"a fragmented ping", raw_ws::frame(0x9, "a", false)},
             {"a ping over 125 bytes", raw_ws::frame(0x9, std::string(126, 'p'))},
             {"an unmasked frame", unmasked_frame(0x81, R"({"type":"leave"})")},
             {"a reserved bit (no extension was agreed)", std::string(1, '\xC1') + raw_ws::frame(0x1, "{}").substr(1)},
             {"a reserved opcode", raw_ws::frame(0x3, "{}")},
         }) {
        raw_ws raw(port());
        welcome_of(raw);
        raw.send_raw(bytes);
        EXPECT_EQ(raw.wait_close(5s), 1002) << what;
    }
    // Each one is counted as what it is: a protocol violation.
    auto m = wait_for_metrics(port(), {"serendip_closes_total{reason=\"bad_frame\"} 7\n"});
    EXPECT_NE(m.find("serendip_closes_total{reason=\"bad_frame\"} 7\n"), std::string::npos) << m;
    expect_still_pairs_and_leaks_nothing(server);
}

// A tab closed or a network lost in the middle of a call, while the partner
// keeps signalling: the connection is reset under the server's writes. That
// is someone leaving (reason "client"), never a protocol violation.
TEST_F(adversarial_test, a_peer_that_vanishes_mid_call_is_counted_as_leaving_not_as_bad_frames) {
    constexpr int calls = 5;
    for (int i = 0; i < calls; ++i) {
        auto a = connect(port());
        raw_ws vanishing(port());
        welcome_of(vanishing);
        a.ws->send(join_video());
        a.ws->expect("queued");
        vanishing.send_text(join_video().dump());
        a.ws->expect("matched");
        // The partner's candidates keep coming while the connection goes.
        for (int k = 0; k < 20; ++k) a.ws->send(candidate("candidate:" + std::to_string(k)));
        vanishing.reset();
        for (int k = 0; k < 20; ++k) a.ws->send(candidate("after:" + std::to_string(k)));
        EXPECT_EQ(a.ws->expect("peer_left")["reason"], "disconnect");
    }
    // Both sides of every call: the vanished one and the partner, who left normally.
    auto m = wait_for_metrics(port(), {"serendip_closes_total{reason=\"client\"} " + std::to_string(2 * calls) + "\n"});
    EXPECT_EQ(metric_value(m, "serendip_closes_total{reason=\"client\"}"), 2 * calls) << m;
    EXPECT_EQ(metric_value(m, "serendip_closes_total{reason=\"bad_frame\"}"), 0) << m;
    expect_still_pairs_and_leaks_nothing(server);
}

TEST_F(adversarial_test, message_size_limit_counts_the_whole_message_and_is_checked_on_the_header) {
    {
        // Exactly 64 KiB of valid JSON is fine.
        auto a = connect(port());
        std::string join = R"({"type":"join","mode":"video"})";
        a.ws->send(join + std::string(64 * 1024 - join.size(), ' '));
        EXPECT_EQ(a.ws->expect_next("queued")["mode"], "video");
    }
    {
        // A header announcing 10 MB is refused before any of it arrives, and
        // so is one announcing a length with the top bit set (no message has it).
        for (std::uint64_t length : {std::uint64_t(10 * 1024 * 1024), std::uint64_t(0x8000000000000000ull)}) {
            raw_ws raw(port());
            welcome_of(raw);
            raw.send_raw(frame_header(0x81, length));
            EXPECT_EQ(raw.wait_close(5s), 1009) << length;
        }
    }
    {
        // 64 KiB + 1 in 1 KiB fragments: the reassembled message is over.
        raw_ws raw(port());
        welcome_of(raw);
        std::string frames;
        for (int i = 0; i < 64; ++i) frames += raw_ws::frame(i == 0 ? 0x1 : 0x0, std::string(1024, ' '), false);
        frames += raw_ws::frame(0x0, " ");
        raw.send_raw(frames);
        EXPECT_EQ(raw.wait_close(5s), 1009);
    }
    {
        // 10 MB of whitespace in one frame: closed at its header; the rest of
        // the write may meet a reset socket, so the close frame may be lost.
        raw_ws raw(port());
        welcome_of(raw);
        auto writer = std::async(std::launch::async, [&] { raw.send_text(std::string(10 * 1024 * 1024, ' ')); });
        EXPECT_EQ(writer.wait_for(10s), std::future_status::ready) << "the server stopped reading but kept the socket";
        int code = raw.wait_close(5s);
        EXPECT_TRUE(code == 1009 || code == 0) << code;
    }
    auto m = wait_for_metrics(port(), {"serendip_closes_total{reason=\"too_large\"} 4\n"});
    EXPECT_NE(m.find("serendip_closes_total{reason=\"too_large\"} 4\n"), std::string::npos) << m;
    expect_still_pairs_and_leaks_nothing(server);
}

TEST_F(adversarial_test, ten_megabytes_of_whitespace_in_a_handshake_meet_the_http_limits) {
    auto origin = "Origin: " + own_origin(port()) + "\r\n";
    {
        // As the body of the upgrade request: over the 16 KiB body limit.
        tcp_probe probe(port());
        probe.send(upgrade_request(port(), origin + "Content-Length: 10485760\r\n") + std::string(64 * 1024, ' '));
        probe.send(std::string(10 * 1024 * 1024 - 64 * 1024, ' '), 3s);  // refused: may stop early
        EXPECT_TRUE(probe.wait_closed(5s));
        EXPECT_EQ(status_of(probe.received()), 413) << probe.received().substr(0, 200);
    }
    {
        // Where the request line should be: not a method, so 400 at the first byte.
        tcp_probe probe(port());
        EXPECT_FALSE(probe.send(std::string(10 * 1024 * 1024, ' '), 5s)) << "the server read all 10 MB";
        EXPECT_TRUE(probe.wait_closed(5s));
        int status = status_of(probe.received());
        EXPECT_TRUE(status == 400 || status == 0) << "400, or a reset that beat it";
    }
    {
        // As one header's value: over the 8 KiB header limit.
        tcp_probe probe(port());
        probe.send(upgrade_request(port(), origin + "X-Pad: " + std::string(64 * 1024, ' ')), 3s);
        EXPECT_TRUE(probe.wait_closed(5s));
        EXPECT_EQ(status_of(probe.received()), 431);
    }
    auto m = metrics_of(port());
    EXPECT_NE(m.find("serendip_http_responses_total{status=\"413\"} 1\n"), std::string::npos) << m;
    EXPECT_NE(m.find("serendip_http_responses_total{status=\"400\"} 1\n"), std::string::npos) << m;
    EXPECT_NE(m.find("serendip_connections_total 0\n"), std::string::npos) << m;
    expect_still_pairs_and_leaks_nothing(server);
}

TEST(adversarial_depth_test, json_nested_100000_deep) {
    {
        // Within the default 64 KiB limit 100,000 levels cannot even be written down.
        test_server server{quick};
        auto a = connect(server.port());
        a.ws->send(std::string(100'000, '['));
        EXPECT_EQ(a.ws->wait_closed(), 1009);
    }
    test_server server{[](config& c) {
        quick(c);
        c.max_message_bytes = 1024 * 1024;
    }};
    {
        auto a = connect(server.port());
        std::string objects;
        for (int i = 0; i < 100'000; ++i) objects += R"({"a":)";
        objects += "1" + std::string(100'000, '}');
        for (const auto& deep : {std::string(100'000, '[') + std::string(100'000, ']'), objects,
                                 R"({"type":"join","mode":"video","x":)" + std::string(100'000, '[')}) {
            a.ws->send(deep);
            auto e = a.ws->expect_next("error");
            EXPECT_EQ(e["code"], "bad_json");
        }
        a.ws->send(join_video());
        EXPECT_EQ(a.ws->expect_next("queued")["mode"], "video");
    }
    expect_still_pairs_and_leaks_nothing(server);
}

TEST_F(adversarial_test, numbers_no_double_holds_and_duplicate_keys_are_bad_json) {
    {
        auto [a, b] = paired(port());
        struct probe {
            std::string text, code;
        };
        for (const auto& [text, code] : std::vector<probe>{
                 {R"({"type":"face","present":true,"n":1e999})", "bad_json"},
                 {R"({"type":"face","present":true,"n":-1e999})", "bad_json"},
                 {R"({"type":"signal","data":{"candidate":{"candidate":"x","sdpMLineIndex":1e999}}})", "bad_json"},
                 {R"({"type":"signal","data":{"candidate":{"candidate":"x","sdpMLineIndex":1e2}}})", "bad_message"},
                 {R"({"type":"signal","data":{"candidate":{"candidate":"x","sdpMLineIndex":18446744073709551616}}})", "bad_message"},
                 {R"({"type":"signal","data":{"candidate":{"candidate":"x","candidate":"y"}}})", "bad_json"},
                 {R"({"type":"signal","data":{"candidate":{"candidate":"x"},"candidate":{"candidate":"y"}}})", "bad_json"},
                 {R"({"type":"signal","data":{"candidate":{"candidate":"x","c\u0061ndidate":"y"}}})", "bad_json"},
                 {R"({"type":"join","mode":"video","mode":"text"})", "bad_json"},
             }) {
            a.ws->send(text);
            auto e = a.ws->expect_next("error");
            EXPECT_EQ(e["code"], code) << text;
        }
        // Numbers a double holds are fine where a number is not expected to be anything.
        a.ws->send(R"({"type":"face","present":true,"n":1e308,"m":-0.0,"k":18446744073709551616})");
        EXPECT_TRUE(b.ws->quiet_for(300ms)) << "nothing reached the partner";
        EXPECT_TRUE(a.ws->quiet_for(100ms)) << "the face report with odd numbers was accepted silently";
        a.ws->send(candidate("after"));
        EXPECT_EQ(b.ws->expect_next("signal")["data"]["candidate"]["candidate"], "after");
    }
    expect_still_pairs_and_leaks_nothing(server);
}

TEST_F(adversarial_test, unicode_and_control_characters_in_interests) {
    {
        auto a = connect(port());
        std::string e32;
        for (int i = 0; i < 32; ++i) e32 += "\xc3\xa9";  // 32 code points, 64 bytes
        a.ws->send(join_video({"  MUSIC\t", "M\xc3\xbasica", "\xc3\x89" "COLE", "\xf0\x9f\x98\x80", e32}));
        auto q = a.ws->expect_next("queued");
        EXPECT_EQ(q["interests"], json::array({"music", "m\xc3\xbasica", "\xc3\x89" "cole", "\xf0\x9f\x98\x80", e32}))
            << "trimmed, ASCII lower-cased, counted in code points";
        for (const std::string& bad : {e32 + "\xc3\xa9", std::string("a\x00" "b", 3), std::string("bell\x07"),
                                       std::string("del\x7f"), std::string("c1\xc2\x85"), std::string("c1\xc2\x9f"),
                                       std::string(" \t\r\n ")}) {
            a.ws->send(join_video({bad}));
            auto e = a.ws->expect_next("error");
            EXPECT_EQ(e["code"], "bad_message") << json(bad).dump();
            EXPECT_EQ(e["ref"], "join");
        }
        // Two clients with the same non-ASCII interest share it.
        auto b = connect(port());
        b.ws->send(join_video({"m\xc3\xbasica"}));
        EXPECT_EQ(b.ws->expect("matched")["common"], json::array({"m\xc3\xbasica"}));
        EXPECT_EQ(a.ws->expect("matched")["common"], json::array({"m\xc3\xbasica"}));
    }
    expect_still_pairs_and_leaks_nothing(server);
}

TEST_F(adversarial_test, signal_before_join_after_peer_left_and_with_forged_data) {
    {
        auto lone = connect(port());
        lone.ws->send(candidate("nobody"));
        auto e = lone.ws->expect_next("error");
        EXPECT_EQ(e["code"], "not_paired");
        EXPECT_EQ(e["ref"], "signal");

        auto [a, b] = paired(port());
        // Forged data: only the validated fields reach the partner, re-encoded.
        a.ws->send(R"({"type":"signal","from":"someone else","data":{"type":"matched","role":"offerer",
                       "candidate":{"candidate":"x","type":"peer_left","sdpMid":null,"__proto__":{"a":1}}}})");
        EXPECT_EQ(b.ws->expect_next("signal")["data"], json::parse(R"({"candidate":{"candidate":"x","sdpMid":null}})"));
        for (const char* forged : {
                 R"({"type":"signal","data":{"description":{"type":"OFFER","sdp":"v=0"}}})",
                 R"({"type":"signal","data":{"description":{"type":"offer","sdp":{"v":0}}}})",
                 R"({"type":"signal","data":{"description":{"type":"offer\u0000","sdp":"v=0"}}})",
                 R"({"type":"signal","data":[{"candidate":{"candidate":"x"}}]})",
                 R"({"type":"signal","data":{"candidate":"x"}})",
                 R"({"type":"signal","data":{"candidate":{"candidate":"x","sdpMid":5}}})",
                 R"({"type":"signal","data":{"candidate":{"candidate":"x","usernameFragment":[]}}})",
                 R"({"type":"signal","data":"{\"candidate\":{\"candidate\":\"x\"}}"})",
                 R"({"type":"signal"})",
             }) {
            a.ws->send(forged);
            auto err = a.ws->expect_next("error");
            EXPECT_EQ(err["code"], "bad_message") << forged;
            EXPECT_EQ(err["ref"], "signal") << forged;
        }
        // Server message types from a client are just unknown.
        for (const char* spoof : {R"({"type":"matched","role":"offerer"})", R"({"type":"peer_left","reason":"report"})",
                                  R"({"type":"welcome","session":"x"})"}) {
            a.ws->send(spoof);
            EXPECT_EQ(a.ws->expect_next("error")["code"], "unknown_type") << spoof;
        }
        EXPECT_TRUE(b.ws->quiet_for(300ms)) << "none of that reached the partner";

        // After peer_left neither side can signal the other.
        b.ws->send(R"({"type":"leave"})");
        EXPECT_EQ(a.ws->expect_next("peer_left")["reason"], "leave");
        a.ws->send(candidate("too late"));
        EXPECT_EQ(a.ws->expect_next("error")["code"], "not_paired");
        b.ws->send(candidate("too late"));
        EXPECT_EQ(b.ws->expect_next("error")["code"], "not_paired");
        EXPECT_TRUE(a.ws->quiet_for(200ms));
        EXPECT_TRUE(b.ws->quiet_for(100ms));
    }
    expect_still_pairs_and_leaks_nothing(server);
}

TEST_F(adversarial_test, resume_with_wrong_malformed_or_raced_tokens) {
    {
        auto other = connect(port());
        // Unknown but well-formed, another session's id (ids are not secrets), malformed.
        for (const std::string& token : {std::string("AAAAAAAAAAAAAAAAAAAAAA"), other.session, std::string(65, 'A'),
                                         std::string("%41%41"), std::string(""), other.token + "'"}) {
            auto c = ws_client::connect(port(), {.path = "/ws?resume=" + token});
            auto w = c->expect_next("welcome");
            EXPECT_NE(w["session"], other.session) << token;
            EXPECT_EQ(c->expect_next("error")["code"], "resume_failed") << token;
        }
        EXPECT_TRUE(other.ws->is_open()) << "nobody took over the other session";

        // Two connections race to resume one dropped session: exactly one wins.
        auto [a, b] = paired(port());
        auto session = b.session, token = b.token;
        b.ws.reset();
        std::this_thread::sleep_for(50ms);  // let the drop reach the server (resume also works before)
        auto start = [&] { return ws_client::connect(port(), {.path = "/ws?resume=" + token}); };
        auto f1 = std::async(std::launch::async, start), f2 = std::async(std::launch::async, start);
        auto r1 = f1.get(), r2 = f2.get();
        auto w1 = r1->expect_next("welcome"), w2 = r2->expect_next("welcome");
        int winners = (w1["session"] == session) + (w2["session"] == session);
        EXPECT_EQ(winners, 1) << w1.dump() << "\n" << w2.dump();
        auto& winner = w1["session"] == session ? r1 : r2;
        auto& loser = w1["session"] == session ? r2 : r1;
        EXPECT_EQ(loser->expect_next("error")["code"], "resume_failed");
        winner->send(candidate("back"));
        EXPECT_EQ(a.ws->expect_next("signal")["data"]["candidate"]["candidate"], "back");
        EXPECT_TRUE(winner->quiet_for(200ms)) << "the winner is not disturbed by the loser";
    }
    expect_still_pairs_and_leaks_nothing(server);
}
