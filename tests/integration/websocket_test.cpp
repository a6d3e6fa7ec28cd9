// The WebSocket transport of PROTOCOL.md over real sockets: upgrade and
// Origin, welcome, error codes, limits and close codes, pings, drain.

#include "child_process.hpp"
#include "test_server.hpp"
#include "ws_client.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <sstream>
#include <sys/wait.h>

using namespace serendip;
using namespace serendip::testing;


namespace {

json join_video() { return {{"type", "join"}, {"mode", "video"}}; }

std::string metrics_of(std::uint16_t port) { return body_of(http_get(port, "/metrics")); }

// Polls /metrics until `line` shows up; returns the last body seen.
std::string wait_for_metric(std::uint16_t port, const std::string& line, std::chrono::milliseconds timeout = 6s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string m;
    while (std::chrono::steady_clock::now() < deadline) {
        m = metrics_of(port);
        if (m.find(line) != std::string::npos) break;
        std::this_thread::sleep_for(20ms);
    }
    return m;
}

}  // namespace

TEST(websocket_test, welcome_has_every_field_and_counts_this_client) {
    test_server server;
    auto a = ws_client::connect(server.port());
    auto w = a->expect_next("welcome");
    EXPECT_EQ(w["v"], 1);
    EXPECT_TRUE(w["session"].is_string() && !w["session"].get<std::string>().empty());
    EXPECT_GE(w["resume"].get<std::string>().size(), 22u) << "at least 128 bits";
    EXPECT_EQ(w["online"], 1);
    EXPECT_EQ(w["limits"]["maxMessage"], 65536);
    EXPECT_EQ(w["limits"]["ratePerSec"], 20);
    EXPECT_EQ(w["limits"]["burst"], 60);
    EXPECT_EQ(w["iceServers"], json::array()) << "no third-party STUN unless configured";
    auto b = ws_client::connect(server.port());
    auto wb = b->expect_next("welcome");
    EXPECT_EQ(wb["online"], 2);
    EXPECT_NE(wb["session"], w["session"]);
    EXPECT_NE(wb["resume"], w["resume"]);
}

TEST(websocket_test, configured_stun_servers_are_sent) {
    test_server server{[](config& c) { c.stun_urls = {"stun:stun.example.org:3478"}; }};
    auto a = ws_client::connect(server.port());
    EXPECT_EQ(a->expect_next("welcome")["iceServers"], json::parse(R"([{"urls":["stun:stun.example.org:3478"]}])"));
}

TEST(websocket_test, origin_must_match) {
    test_server server;
    auto p = server.port();
    EXPECT_TRUE(ws_client::try_connect(p, {.origin = "http://127.0.0.1:" + std::to_string(p)}).ok);
    auto forged = ws_client::try_connect(p, {.origin = "https://evil.example"});
    EXPECT_FALSE(forged.ok);
    EXPECT_EQ(forged.http_status, 403);
    EXPECT_EQ(ws_client::try_connect(p, {.origin = ""}).http_status, 403) << "missing Origin";
    EXPECT_EQ(ws_client::try_connect(p, {.origin = "http://127.0.0.1:" + std::to_string(p) + ".evil.example"}).http_status, 403);

    test_server listed{[](config& c) { c.allowed_origins = {"https://serendip.example"}; }};
    EXPECT_TRUE(ws_client::try_connect(listed.port(), {.origin = "https://serendip.example"}).ok);
    EXPECT_EQ(ws_client::try_connect(listed.port(), {.origin = "https://serendip.example.evil"}).http_status, 403);
    EXPECT_EQ(ws_client::try_connect(listed.port(), {}).http_status, 403) << "own host is not implied when a list is set";
}

TEST(websocket_test, bad_messages_get_errors_and_the_connection_stays) {
    test_server server;
    auto a = ws_client::connect(server.port());
    a->expect_next("welcome");
    struct probe {
        std::string text, code, ref;
    };
    for (const auto& [text, code, ref] : std::vector<probe>{
             {"{nope", "bad_json", ""},
             {"[1,2]", "bad_message", ""},
             {R"({"mode":"video"})", "bad_message", ""},
             {R"({"type":"teleport"})", "unknown_type", "teleport"},
             {R"({"type":"join","mode":"smell"})", "bad_message", "join"},
             {R"({"type":"signal","data":{"candidate":{"candidate":"x"}}})", "not_paired", "signal"},
             {R"({"type":"next"})", "bad_message", "next"},
             {R"({"type":"join","type":"join","mode":"video"})", "bad_json", ""},
             {std::string(200'000 / 4, '['), "bad_json", ""},
         }) {
        a->send(text);
        auto e = a->expect_next("error");
        EXPECT_EQ(e["code"], code) << text.substr(0, 60);
        if (ref.empty()) EXPECT_FALSE(e.contains("ref")) << text.substr(0, 60);
        else EXPECT_EQ(e["ref"], ref) << text.substr(0, 60);
        EXPECT_TRUE(e["message"].is_string());
    }
    a->send(join_video());
    EXPECT_EQ(a->expect_next("queued")["mode"], "video");
    auto m = metrics_of(server.port());
    EXPECT_NE(m.find("serendip_errors_total{code=\"bad_json\"} 3"), std::string::npos) << m;
    EXPECT_NE(m.find("serendip_errors_total{code=\"unknown_type\"} 1"), std::string::npos);
    EXPECT_NE(m.find("serendip_messages_in_total{type=\"join\"} 1"), std::string::npos);
}

TEST(websocket_test, fragmented_messages_are_reassembled) {
    test_server server;
    auto a = ws_client::connect(server.port());
    a->expect_next("welcome");
    a->send_fragmented(R"({"type":"join","mode":"text","interests":["fragments"]})", 4);
    EXPECT_EQ(a->expect_next("queued")["interests"], json::parse(R"(["fragments"])"));
}

TEST(websocket_test, too_large_closes_1009_and_binary_1003) {
    test_server server;
    auto a = ws_client::connect(server.port());
    a->expect_next("welcome");
    a->send(std::string(64 * 1024 + 1, ' '));
    EXPECT_EQ(a->wait_closed(), 1009);

    auto b = ws_client::connect(server.port());
    b->expect_next("welcome");
    b->send(std::string(64 * 1024, ' '));  // exactly the limit is fine: it is just not JSON
    EXPECT_EQ(b->expect_next("error")["code"], "bad_json");
    b->send_binary("\x01\x02");
    EXPECT_EQ(b->wait_closed(), 1003);

    auto m = wait_for_metric(server.port(), "serendip_closes_total{reason=\"binary\"} 1");
    EXPECT_NE(m.find("serendip_closes_total{reason=\"too_large\"} 1"), std::string::npos) << m;
    EXPECT_NE(m.find("serendip_closes_total{reason=\"binary\"} 1"), std::string::npos);
}

TEST(websocket_test, invalid_utf8_closes_1007) {
    test_server server;
    raw_ws raw(server.port());
    ASSERT_NE(raw.read_text(2s).find("welcome"), std::string::npos);
    raw.send_text("{\"type\":\"\xc3\x28\"}");
    EXPECT_EQ(raw.wait_close(3s), 1007);
}

TEST(websocket_test, flood_gets_rate_limited_then_closed_1008) {
    test_server server{[](config& c) { c.rate_limit_close_after = std::chrono::milliseconds(1000); }};
    auto a = ws_client::connect(server.port());
    a->expect_next("welcome");
    for (int i = 0; i < 100; ++i) a->send(R"({"type":"face","present":false})");
    auto e = a->expect_next("error");
    EXPECT_EQ(e["code"], "rate_limited");
    EXPECT_TRUE(a->is_open()) << "a short burst is refused, not punished";
    // Keep flooding past the close-after window.
    auto until = std::chrono::steady_clock::now() + 1500ms;
    while (a->is_open() && std::chrono::steady_clock::now() < until) {
        a->send(R"({"type":"face","present":false})");
        std::this_thread::sleep_for(5ms);
    }
    EXPECT_EQ(a->wait_closed(3s), 1008);
}

TEST(websocket_test, join_and_next_limited_to_three_a_second_without_close) {
    test_server server;
    auto a = ws_client::connect(server.port());
    a->expect_next("welcome");
    for (int i = 0; i < 3; ++i) {
        a->send(join_video());
        a->expect_next("queued");
    }
    a->send(R"({"type":"next"})");
    auto e = a->expect_next("error");
    EXPECT_EQ(e["code"], "rate_limited");
    EXPECT_EQ(e["ref"], "next");
    std::this_thread::sleep_for(400ms);
    a->send(join_video());
    EXPECT_EQ(a->expect_next("queued")["mode"], "video");
    EXPECT_TRUE(a->is_open());
}

TEST(websocket_test, rematch_shares_the_join_and_next_limit) {
    test_server server;
    auto a = ws_client::connect(server.port());
    a->expect_next("welcome");
    for (int i = 0; i < 2; ++i) {
        a->send(join_video());
        a->expect_next("queued");
    }
    a->send(R"({"type":"rematch"})");
    EXPECT_EQ(a->expect_next("error")["code"], "rematch_unavailable") << "the third in a second is let through";
    a->send(R"({"type":"rematch"})");
    auto e = a->expect_next("error");
    EXPECT_EQ(e["code"], "rate_limited");
    EXPECT_EQ(e["ref"], "rematch");
    EXPECT_TRUE(a->is_open());
}

TEST(websocket_test, pings_keep_answering_clients_and_silent_ones_are_closed) {
    test_server server{[](config& c) {
        c.ping_interval = std::chrono::milliseconds(200);
        c.idle_timeout = std::chrono::milliseconds(700);
    }};
    auto good = ws_client::connect(server.port());
    good->expect_next("welcome");
    raw_ws silent(server.port());  // never reads, never pongs
    std::this_thread::sleep_for(1500ms);
    EXPECT_TRUE(good->is_open()) << "pongs count as activity";
    auto code = silent.wait_close(5s);
    EXPECT_TRUE(code == 1001 || code == 0) << code;
    auto m = wait_for_metric(server.port(), "serendip_closes_total{reason=\"idle_timeout\"} 1");
    EXPECT_NE(m.find("serendip_closes_total{reason=\"idle_timeout\"} 1"), std::string::npos) << m;
}

TEST(websocket_test, slow_reader_is_closed_when_its_queue_overflows) {
    test_server server{[](config& c) {
        c.send_queue_bytes = 64 * 1024;
        c.burst = 10'000;
        c.rate_per_sec = 10'000;
    }};
    raw_ws slow(server.port(), "/ws", 4096);  // small receive buffer, and never reads
    slow.send_text(join_video().dump());
    auto fast = ws_client::connect(server.port());
    fast->expect_next("welcome");
    fast->send(join_video());
    fast->expect("matched");
    std::string sdp(60'000, 'v');
    json offer = {{"type", "signal"}, {"data", {{"description", {{"type", "offer"}, {"sdp", sdp}}}}}};
    for (int i = 0; i < 400; ++i) fast->send(offer);
    auto m = wait_for_metric(server.port(), "serendip_send_queue_overflows_total 1", 10s);
    EXPECT_NE(m.find("serendip_send_queue_overflows_total 1"), std::string::npos) << m;
    EXPECT_TRUE(fast->is_open());
}

TEST(websocket_test, welcome_online_and_coalesced_online_frames) {
    test_server server{[](config& c) { c.online_interval = std::chrono::milliseconds(300); }};
    auto watcher = ws_client::connect(server.port());
    watcher->expect_next("welcome");
    std::vector<std::unique_ptr<ws_client>> others;
    for (int i = 0; i < 6; ++i) others.push_back(ws_client::connect(server.port()));
    std::vector<std::chrono::steady_clock::time_point> arrivals;
    std::int64_t last = 0;
    auto until = std::chrono::steady_clock::now() + 1500ms;
    while (std::chrono::steady_clock::now() < until) {
        auto f = watcher->recv(100ms);
        if (f && (*f)["type"] == "online") {
            arrivals.push_back(std::chrono::steady_clock::now());
            last = (*f)["count"];
        }
    }
    EXPECT_EQ(last, 7);
    ASSERT_FALSE(arrivals.empty());
    EXPECT_LE(arrivals.size(), 2u) << "6 joins in a burst coalesce";
    for (std::size_t i = 1; i < arrivals.size(); ++i) EXPECT_GE(arrivals[i] - arrivals[i - 1], 250ms);
}

TEST(websocket_test, connections_are_counted_and_released) {
    test_server server;
    {
        auto a = ws_client::connect(server.port());
        a->expect_next("welcome");
        EXPECT_NE(metrics_of(server.port()).find("serendip_connections_open 1"), std::string::npos);
        a->close();
        a->wait_closed();
    }
    auto m = wait_for_metric(server.port(), "serendip_connections_open 0");
    EXPECT_NE(m.find("serendip_connections_open 0"), std::string::npos);
    EXPECT_NE(m.find("serendip_connections_total 1"), std::string::npos);
    EXPECT_NE(m.find("serendip_closes_total{reason=\"client\"} 1"), std::string::npos) << m;
}

// The real binary: flags, exit codes, and the SIGTERM drain.
namespace {

struct child {
    pid_t pid = -1;
    int wait_exit(std::chrono::milliseconds timeout) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        int status = 0;
        while (std::chrono::steady_clock::now() < deadline) {
            if (waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            std::this_thread::sleep_for(10ms);
        }
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        return -1;
    }
};

child spawn(std::vector<std::string> args, const std::string& log_file = "/dev/null") {
    args.insert(args.begin(), SERENDIP_SERVER_BINARY);
    return child{spawn_logged(std::move(args), log_file)};
}

}  // namespace

TEST(server_process_test, help_and_invalid_flags) {
    auto out = (std::filesystem::temp_directory_path() / "serendip-help.txt").string();
    EXPECT_EQ(spawn({"--help"}, out).wait_exit(5s), 0);
    EXPECT_NE(slurp(out).find("--allowed-origins"), std::string::npos);
    EXPECT_EQ(spawn({"--threads", "lots"}, out).wait_exit(5s), 2);
    auto text = slurp(out);
    EXPECT_NE(text.find("--threads"), std::string::npos) << text;
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << "one line";
}

TEST(server_process_test, sigterm_drains_with_1001_and_exits_0) {
    auto dir = std::filesystem::temp_directory_path();
    auto port_file = (dir / ("serendip-port-" + std::to_string(getpid()))).string();
    auto log = (dir / ("serendip-log-" + std::to_string(getpid()))).string();
    std::filesystem::remove(port_file);
    auto c = spawn({"--listen", "127.0.0.1", "--port", "0", "--port-file", port_file, "--web-root",
                    SERENDIP_FIXTURES "/www", "--threads", "2"},
                   log);
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!std::filesystem::exists(port_file) && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(20ms);
    ASSERT_TRUE(std::filesystem::exists(port_file)) << slurp(log);
    auto port = static_cast<std::uint16_t>(std::stoi(slurp(port_file)));
    auto a = ws_client::connect(port);
    auto b = ws_client::connect(port);
    auto session = a->expect_next("welcome")["session"].get<std::string>();
    b->expect_next("welcome");
    a->send(join_video());
    a->expect_next("queued");
    auto start = std::chrono::steady_clock::now();
    kill(c.pid, SIGTERM);
    EXPECT_EQ(a->wait_closed(5s), 1001);
    EXPECT_EQ(b->wait_closed(5s), 1001);
    EXPECT_EQ(c.wait_exit(5s), 0);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
    auto text = slurp(log);
    EXPECT_NE(text.find("open session=" + session), std::string::npos) << text;
    EXPECT_NE(text.find("close session=" + session + " reason=going_away"), std::string::npos) << text;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        if (line.find("session=") != std::string::npos) {
            EXPECT_EQ(line.find("127.0.0.1"), std::string::npos) << "no addresses in session logs: " << line;
        }
    }
}
