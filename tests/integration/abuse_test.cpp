// Connection limits per address and in all, the trusted proxy's address
// headers, and the cooldown for users who skip partners like bots: against
// the real server over real sockets.

#include "test_server.hpp"
#include "ws_client.hpp"

#include <gtest/gtest.h>

using namespace serendip;
using namespace serendip::testing;
using namespace std::chrono_literals;

namespace {

std::string metrics_of(std::uint16_t port) { return body_of(http_get(port, "/metrics")); }

bool wait_for_metric(std::uint16_t port, const std::string& line, std::chrono::milliseconds timeout = 6s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (metrics_of(port).find(line) != std::string::npos) return true;
        std::this_thread::sleep_for(20ms);
    }
    return false;
}

// The status of a WebSocket upgrade sent by hand with extra header lines.
int upgrade_status(std::uint16_t port, const std::string& extra_headers) {
    std::string origin = "http://127.0.0.1:" + std::to_string(port);
    auto response = raw_http(port,
                             "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                                 "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: " +
                                 origin + "\r\n" + extra_headers + "\r\n",
                             300ms);
    return status_of(response);
}

}  // namespace

TEST(abuse, connections_per_address_are_limited_and_freed) {
    test_server server([](config& c) {
        c.max_per_address = 10;
        c.new_per_minute = 1000;
    });
    std::vector<std::unique_ptr<ws_client>> open;
    for (int i = 0; i < 10; ++i) open.push_back(ws_client::connect(server.port()));
    auto refused = ws_client::try_connect(server.port(), {});
    EXPECT_FALSE(refused.ok);
    EXPECT_EQ(refused.http_status, 429);
    open.back()->close();
    open.pop_back();
    ASSERT_TRUE(wait_for_metric(server.port(), "serendip_connections_open 9"));
    EXPECT_TRUE(ws_client::try_connect(server.port(), {}).ok) << "a closed connection frees its slot";
}

TEST(abuse, a_thousand_connections_from_one_address) {
    test_server server([](config& c) {
        c.max_per_address = 10;
        c.new_per_minute = 30;
        c.resume_window = 300ms;  // closed sessions are held this long, then must be gone
    });
    std::vector<std::unique_ptr<ws_client>> open;
    int refused = 0;
    for (int i = 0; i < 1000; ++i) {
        if (open.size() < 10) {
            open.push_back(ws_client::connect(server.port()));
            continue;
        }
        auto r = ws_client::try_connect(server.port(), {});
        EXPECT_FALSE(r.ok);
        if (r.http_status == 429) ++refused;
    }
    EXPECT_EQ(refused, 990) << "ten at once from one address";
    for (auto& c : open) c->close();
    open.clear();
    EXPECT_TRUE(wait_for_metric(server.port(), "serendip_connections_open 0")) << metrics_of(server.port());
    EXPECT_TRUE(wait_for_metric(server.port(), "serendip_sessions 0")) << "no leaked session";
    // Refusals did not use up the address's new connections: it still pairs.
    auto a = ws_client::connect(server.port());
    auto b = ws_client::connect(server.port());
    a->expect_next("welcome");
    b->expect_next("welcome");
    a->send(R"({"type":"join","mode":"video"})");
    b->send(R"({"type":"join","mode":"video"})");
    a->expect("matched");
    b->expect("matched");
}

TEST(abuse, new_connections_a_minute_per_address) {
    test_server server([](config& c) {
        c.max_per_address = 100;
        c.new_per_minute = 5;
    });
    for (int i = 0; i < 5; ++i) {
        auto c = ws_client::connect(server.port());
        c->close();
    }
    auto r = ws_client::try_connect(server.port(), {});
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.http_status, 429) << "the sixth within a minute";
}

TEST(abuse, the_server_is_full_at_its_cap) {
    test_server server([](config& c) { c.max_connections = 3; });
    std::vector<std::unique_ptr<ws_client>> open;
    for (int i = 0; i < 3; ++i) open.push_back(ws_client::connect(server.port()));
    auto r = ws_client::try_connect(server.port(), {});
    EXPECT_EQ(r.http_status, 503);
    EXPECT_EQ(status_of(http_get(server.port(), "/healthz")), 200) << "plain HTTP still served";
}

TEST(abuse, address_headers_count_only_from_a_trusted_proxy) {
    test_server direct([](config& c) {
        c.max_per_address = 1;
        c.new_per_minute = 1000;
    });
    // A client that forges X-Forwarded-For is still itself: one connection only.
    auto first = ws_client::connect(direct.port());
    EXPECT_EQ(upgrade_status(direct.port(), "X-Forwarded-For: 198.51.100.1\r\nX-Real-IP: 198.51.100.1\r\n"), 429);

    test_server proxied([](config& c) {
        c.max_per_address = 1;
        c.new_per_minute = 1000;
        c.trusted_proxies = "127.0.0.1";
    });
    // Behind a trusted proxy each named client has its own allowance.
    std::vector<std::unique_ptr<ws_client>> keep;
    EXPECT_EQ(upgrade_status(proxied.port(), "X-Real-IP: 198.51.100.1\r\n"), 101);
    EXPECT_EQ(upgrade_status(proxied.port(), "X-Forwarded-For: 198.51.100.2\r\n"), 101);
    EXPECT_EQ(upgrade_status(proxied.port(), "X-Forwarded-For: 6.6.6.6, 198.51.100.3\r\n"), 101);
    // raw_http's connections are closed again by now; the same client twice at once is refused.
    auto held = std::make_unique<raw_ws>(proxied.port());  // 127.0.0.1 itself, no headers
    EXPECT_EQ(upgrade_status(proxied.port(), ""), 429);
}

TEST(abuse, quick_skips_earn_a_cooldown) {
    test_server server([](config& c) { c.join_rate_per_sec = 100; });
    auto a = ws_client::connect(server.port());
    auto b = ws_client::connect(server.port());
    a->send(R"({"type":"join","mode":"video"})");
    b->send(R"({"type":"join","mode":"video"})");
    a->expect("matched");
    b->expect("matched");
    // Three quick skips are free, the fourth is taken but starts a 1 s wait.
    for (int i = 0; i < 4; ++i) {
        a->send(R"({"type":"next"})");
        a->expect("queued");
        b->expect("peer_left");
        b->send(R"({"type":"next"})");
        a->expect("matched");
        b->expect("matched");
    }
    a->send(R"({"type":"next"})");
    auto e = a->expect("error");
    EXPECT_EQ(e["code"], "rate_limited");
    EXPECT_EQ(e["ref"], "next");
    EXPECT_NE(e["message"].get<std::string>().find("skipping too fast"), std::string::npos);
    std::this_thread::sleep_for(1100ms);
    a->send(R"({"type":"next"})");
    a->expect("queued");
    b->expect("peer_left");
}

// Reports from three addresses ban the reported one: `banned` and 1008 at
// once, then refused (`banned`, 1008, no welcome) at each new connection
// until the ban ends; a connection from elsewhere is unaffected.
TEST(abuse, three_reporting_addresses_ban_and_the_ban_holds) {
    test_server server([](config& c) { c.trusted_proxies = "127.0.0.1"; });
    auto from = [&](const std::string& address) {
        return ws_client::connect(server.port(), {.forwarded_for = address});
    };
    auto victim = from("2001:db8:1:2::7");
    victim->expect("welcome");
    victim->send(R"({"type":"join","mode":"video"})");
    victim->expect("queued");
    for (const char* reporter : {"198.51.100.1", "198.51.100.2", "203.0.113.3"}) {
        auto r = from(reporter);
        r->expect("welcome");
        r->send(R"({"type":"join","mode":"video"})");
        r->expect("matched");
        victim->expect("matched");
        r->send(R"({"type":"report","reason":"harassment"})");
        r->expect("queued");
        EXPECT_EQ(victim->expect("peer_left")["reason"], "report");
        if (std::string(reporter) != "203.0.113.3") {
            r->send(R"({"type":"leave"})");
            victim->send(R"({"type":"next"})");
            victim->expect("queued");
        }
    }
    auto b = victim->expect("banned");
    EXPECT_EQ(b["reason"], "reports");
    auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
    EXPECT_NEAR(b["until"].get<double>(), static_cast<double>((now + 1h).count()), 5);
    EXPECT_EQ(victim->wait_closed(), 1008);

    // Another address of the same /64 is the same subscriber: refused.
    auto again = from("2001:db8:1:2::8");
    auto refused = again->recv();
    ASSERT_TRUE(refused);
    EXPECT_EQ((*refused)["type"], "banned") << "no welcome first";
    EXPECT_EQ(again->wait_closed(), 1008);
    auto other = from("2001:db8:1:3::7");
    EXPECT_TRUE(other->expect_next("welcome").contains("session"));
    auto m = metrics_of(server.port());
    EXPECT_NE(m.find("serendip_messages_out_total{type=\"banned\"} 2\n"), std::string::npos) << m;
    EXPECT_NE(m.find("serendip_closes_total{reason=\"banned\"} 2\n"), std::string::npos) << m;
}
