// Matchmaking and signaling over real WebSockets: every message, reason and
// error of PROTOCOL.md, with one and with four io threads.

#include "test_server.hpp"
#include "ws_client.hpp"

#include <gtest/gtest.h>

#include <random>
#include <set>

using namespace serendip;
using namespace serendip::testing;

namespace {

json join(const std::string& mode = "video", std::vector<std::string> interests = {}) {
    return {{"type", "join"}, {"mode", mode}, {"interests", interests}};
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

class matchmaking_test : public ::testing::TestWithParam<unsigned> {
protected:
    test_server server{[](config& c) {
        c.threads = GetParam();
        c.pair_timeout = std::chrono::milliseconds(1500);
        c.resume_window = std::chrono::milliseconds(1000);
        c.fallback_after = std::chrono::milliseconds(400);
    }};
    std::uint16_t port() { return server.port(); }

    std::pair<peer, peer> paired() {
        auto a = connect(port());
        auto b = connect(port());
        a.ws->send(join());
        a.ws->expect_next("queued");
        b.ws->send(join());
        b.ws->expect_next("queued");
        EXPECT_EQ(a.ws->expect_next("matched")["role"], "offerer");
        EXPECT_EQ(b.ws->expect_next("matched")["role"], "answerer");
        return {std::move(a), std::move(b)};
    }
};

}  // namespace

INSTANTIATE_TEST_SUITE_P(threads, matchmaking_test, ::testing::Values(1u, 4u));

TEST_P(matchmaking_test, full_offer_answer_candidate_exchange) {
    auto [a, b] = paired();
    json offer = {{"type", "signal"},
                  {"to", "someone-else"},
                  {"data", {{"description", {{"type", "offer"}, {"sdp", "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\n"}, {"x", 1}}}}}};
    a.ws->send(offer);
    auto got = b.ws->expect_next("signal");
    EXPECT_EQ(got, json::parse(R"({"type":"signal","data":{"description":{"type":"offer","sdp":"v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\n"}}})"))
        << "unknown fields dropped, nothing added";
    b.ws->send(json{{"type", "signal"}, {"data", {{"description", {{"type", "answer"}, {"sdp", "v=0\r\n"}}}}}});
    EXPECT_EQ(a.ws->expect_next("signal")["data"]["description"]["type"], "answer");
    for (int i = 0; i < 5; ++i) {
        json cand = {{"type", "signal"},
                     {"data", {{"candidate", {{"candidate", "candidate:" + std::to_string(i) + " 1 udp 1 192.0.2.1 9 typ host"},
                                             {"sdpMid", "0"}, {"sdpMLineIndex", 0}}}}}};
        a.ws->send(cand);
        b.ws->send(cand);
    }
    for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(b.ws->expect_next("signal")["data"]["candidate"]["candidate"],
                  "candidate:" + std::to_string(i) + " 1 udp 1 192.0.2.1 9 typ host")
            << "in order";
        EXPECT_EQ(a.ws->expect_next("signal")["data"]["candidate"]["sdpMLineIndex"], 0);
    }
    // A forged data type is refused and nothing reaches the partner.
    a.ws->send(R"({"type":"signal","data":{"description":{"type":"bye","sdp":""}}})");
    EXPECT_EQ(a.ws->expect_next("error")["code"], "bad_message");
    EXPECT_TRUE(b.ws->quiet_for(200ms));
    // The pair signalled, so it outlives the pair timeout.
    std::this_thread::sleep_for(1700ms);
    a.ws->send(offer);
    EXPECT_EQ(b.ws->expect_next("signal")["data"]["description"]["type"], "offer");
}

TEST_P(matchmaking_test, third_client_waits_and_next_repairs) {
    auto [a, b] = paired();
    auto c = connect(port());
    c.ws->send(join());
    EXPECT_EQ(c.ws->expect_next("queued")["mode"], "video");
    EXPECT_TRUE(c.ws->quiet_for(200ms)) << "nobody free";
    a.ws->send(R"({"type":"next"})");
    EXPECT_EQ(b.ws->expect_next("peer_left")["reason"], "next");
    a.ws->expect_next("queued");
    auto ma = a.ws->expect_next("matched");
    auto mc = c.ws->expect_next("matched");
    EXPECT_EQ(mc["role"], "offerer") << "c waited longer";
    EXPECT_EQ(ma["role"], "answerer");
    EXPECT_TRUE(b.ws->quiet_for(200ms)) << "peer_left does not re-queue";
    // b's signal has nowhere to go now
    b.ws->send(R"({"type":"signal","data":{"candidate":{"candidate":""}}})");
    auto e = b.ws->expect_next("error");
    EXPECT_EQ(e["code"], "not_paired");
    EXPECT_EQ(e["ref"], "signal");
}

TEST_P(matchmaking_test, interests_modes_and_fallback) {
    auto t = connect(port());
    t.ws->send(join("text"));
    t.ws->expect_next("queued");
    auto a = connect(port());
    a.ws->send(join("video", {"Chess", " music "}));
    EXPECT_EQ(a.ws->expect_next("queued")["interests"], json::parse(R"(["chess","music"])"));
    auto b = connect(port());
    b.ws->send(join("video", {"MUSIC"}));
    b.ws->expect_next("queued");
    EXPECT_EQ(a.ws->expect_next("matched")["common"], json::parse(R"(["music"])"));
    EXPECT_EQ(b.ws->expect_next("matched")["common"], json::parse(R"(["music"])"));
    EXPECT_TRUE(t.ws->quiet_for(100ms)) << "modes never mix";

    auto c = connect(port());
    c.ws->send(join("video", {"golf"}));
    c.ws->expect_next("queued");
    auto d = connect(port());
    d.ws->send(join("video"));
    d.ws->expect_next("queued");
    auto start = std::chrono::steady_clock::now();
    auto m = c.ws->expect_next("matched", 3s);
    EXPECT_GE(std::chrono::steady_clock::now() - start, 250ms) << "fallback waits";
    EXPECT_EQ(m["common"], json::array());
    d.ws->expect_next("matched");

    auto e = connect(port());
    e.ws->send(json{{"type", "join"}, {"mode", "video"}, {"interests", {"golf"}}, {"fallback", false}});
    e.ws->expect_next("queued");
    auto f = connect(port());
    f.ws->send(join("video"));
    f.ws->expect_next("queued");
    EXPECT_TRUE(e.ws->quiet_for(800ms)) << "no fallback: interest only";
}

TEST_P(matchmaking_test, leave_report_and_their_reasons) {
    auto [a, b] = paired();
    b.ws->send(R"({"type":"leave"})");
    EXPECT_EQ(a.ws->expect_next("peer_left")["reason"], "leave");
    EXPECT_TRUE(b.ws->quiet_for(100ms));

    auto [c, d] = paired();
    d.ws->send(R"({"type":"report","reason":"harassment"})");
    EXPECT_EQ(c.ws->expect_next("peer_left")["reason"], "report");
    d.ws->expect_next("queued");  // the reporter is re-queued
    c.ws->send(R"({"type":"next"})");
    c.ws->expect_next("queued");
    EXPECT_TRUE(c.ws->quiet_for(300ms)) << "reported and reporter never meet again";
    EXPECT_TRUE(d.ws->quiet_for(10ms));
    auto e = connect(port());
    e.ws->send(join());
    e.ws->expect_next("queued");
    e.ws->expect_next("matched");

    e.ws->send(R"({"type":"report","reason":"rude"})");
    EXPECT_EQ(e.ws->expect_next("error")["ref"], "report");
}

TEST_P(matchmaking_test, disconnect_and_timeout_reasons) {
    auto [a, b] = paired();
    a.ws->send(R"({"type":"signal","data":{"candidate":{"candidate":""}}})");
    b.ws->expect_next("signal");
    b.ws.reset();  // connection dropped
    auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(a.ws->expect_next("peer_left", 4s)["reason"], "disconnect");
    EXPECT_GE(std::chrono::steady_clock::now() - start, 800ms) << "the pair is held for the resume window";

    auto [c, d] = paired();  // never signal
    EXPECT_EQ(c.ws->expect_next("peer_left", 4s)["reason"], "timeout");
    EXPECT_EQ(d.ws->expect_next("peer_left", 4s)["reason"], "timeout");
}

TEST_P(matchmaking_test, dropped_connection_leaves_the_queue_at_once) {
    auto a = connect(port());
    a.ws->send(join());
    a.ws->expect_next("queued");
    a.ws.reset();
    std::this_thread::sleep_for(100ms);
    auto b = connect(port());
    b.ws->send(join());
    b.ws->expect_next("queued");
    EXPECT_TRUE(b.ws->quiet_for(300ms)) << "never matched with a disconnected session";
}

TEST_P(matchmaking_test, resume_restores_session_partner_and_held_signals) {
    auto [a, b] = paired();
    auto old_token = b.token;
    b.ws.reset();
    std::this_thread::sleep_for(100ms);
    for (int i = 0; i < 3; ++i)
        a.ws->send(json{{"type", "signal"}, {"data", {{"candidate", {{"candidate", "c" + std::to_string(i)}}}}}});
    std::this_thread::sleep_for(100ms);
    auto again = ws_client::connect(port(), {.path = "/ws?resume=" + old_token});
    auto w = again->expect_next("welcome");
    EXPECT_EQ(w["session"], b.session);
    EXPECT_NE(w["resume"], old_token) << "rotated";
    for (int i = 0; i < 3; ++i)
        EXPECT_EQ(again->expect_next("signal")["data"]["candidate"]["candidate"], "c" + std::to_string(i));
    again->send(R"({"type":"signal","data":{"candidate":{"candidate":"back"}}})");
    EXPECT_EQ(a.ws->expect_next("signal")["data"]["candidate"]["candidate"], "back");
    EXPECT_TRUE(a.ws->quiet_for(1300ms)) << "no peer_left: the partner came back";

    // The used token is dead: a fresh session, then resume_failed.
    auto reused = ws_client::connect(port(), {.path = "/ws?resume=" + old_token});
    auto w2 = reused->expect_next("welcome");
    EXPECT_NE(w2["session"], b.session);
    EXPECT_EQ(reused->expect_next("error")["code"], "resume_failed");
    auto garbage = ws_client::connect(port(), {.path = "/ws?resume=%3Cscript%3E"});
    garbage->expect_next("welcome");
    EXPECT_EQ(garbage->expect_next("error")["code"], "resume_failed");
}

TEST_P(matchmaking_test, resume_while_the_old_connection_lingers_takes_over) {
    auto [a, b] = paired();
    auto again = ws_client::connect(port(), {.path = "/ws?resume=" + b.token});
    EXPECT_EQ(again->expect_next("welcome")["session"], b.session);
    EXPECT_EQ(b.ws->wait_closed(3s), 4000);
    a.ws->send(R"({"type":"signal","data":{"candidate":{"candidate":"x"}}})");
    EXPECT_EQ(again->expect_next("signal")["data"]["candidate"]["candidate"], "x");
    EXPECT_TRUE(a.ws->quiet_for(300ms)) << "the old connection's close does not end the pair";
}

TEST_P(matchmaking_test, resume_after_the_window_fails) {
    auto [a, b] = paired();
    a.ws->send(R"({"type":"signal","data":{"candidate":{"candidate":""}}})");
    b.ws.reset();
    EXPECT_EQ(a.ws->expect_next("peer_left", 4s)["reason"], "disconnect");
    auto late = ws_client::connect(port(), {.path = "/ws?resume=" + b.token});
    EXPECT_NE(late->expect_next("welcome")["session"], b.session);
    EXPECT_EQ(late->expect_next("error")["code"], "resume_failed");
}

TEST_P(matchmaking_test, many_clients_churning_keep_pairs_consistent) {
    constexpr int n = 24;
    std::vector<peer> peers;
    for (int i = 0; i < n; ++i) peers.push_back(connect(port()));
    std::map<std::string, int> by_session;
    for (int i = 0; i < n; ++i) by_session[peers[i].session] = i;
    std::mt19937 rng(7);
    for (auto& p : peers) p.ws->send(join());
    std::this_thread::sleep_for(300ms);
    for (int round = 0; round < 60; ++round) {
        auto& p = peers[rng() % n];
        p.ws->send(rng() % 4 == 0 ? R"({"type":"leave"})" : R"({"type":"next"})");
        std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 20));
    }
    // Settle: everybody leaves, then joins once more (a join from idle never
    // ends anyone else's pair, so all 24 must end up paired).
    std::this_thread::sleep_for(1100ms);
    for (auto& p : peers) p.ws->send(R"({"type":"leave"})");
    std::this_thread::sleep_for(200ms);
    for (auto& p : peers) p.ws->send(join());
    std::this_thread::sleep_for(500ms);
    // Each client's last matched/peer_left tells whether it is paired; then
    // each paired client sends its session id to its partner through signal.
    for (int i = 0; i < n; ++i)
        peers[i].ws->send(json{{"type", "signal"}, {"data", {{"candidate", {{"candidate", peers[i].session}}}}}});
    std::map<int, std::set<int>> told;
    int not_paired = 0;
    for (int i = 0; i < n; ++i) {
        while (auto f = peers[i].ws->recv(150ms)) {
            if ((*f)["type"] == "signal") {
                auto from = (*f)["data"]["candidate"]["candidate"].get<std::string>();
                if (by_session.count(from)) told[i].insert(by_session[from]);
            }
            if ((*f)["type"] == "error" && (*f)["code"] == "not_paired") ++not_paired;
        }
    }
    for (auto& [i, from] : told) {
        ASSERT_EQ(from.size(), 1u) << "client " << i << " heard from more than one partner";
        int j = *from.begin();
        EXPECT_NE(i, j) << "paired with itself";
        EXPECT_TRUE(told[j].count(i)) << "pair " << i << "-" << j << " is not symmetric";
    }
    EXPECT_EQ(not_paired, 0) << "an even number of video users all asking: nobody left over";
    EXPECT_EQ(told.size() + not_paired, static_cast<std::size_t>(n));
}

// "Going back" on the wire: rematch_wanted, then matched with rematch:true,
// the old roles and fresh iceServers; ordinary matches carry no rematch.
TEST_P(matchmaking_test, going_back_over_the_wire) {
    auto [a, b] = paired();
    a.ws->send(json{{"type", "next"}});
    EXPECT_EQ(b.ws->expect_next("peer_left")["reason"], "next");
    a.ws->expect_next("queued");
    b.ws->send(json{{"type", "rematch"}});
    EXPECT_EQ(a.ws->expect_next("rematch_wanted").size(), 1u) << "no fields but type";
    a.ws->send(json{{"type", "rematch"}, {"extra", 1}});  // unknown fields are ignored
    auto ma = a.ws->expect_next("matched");
    auto mb = b.ws->expect_next("matched");
    EXPECT_EQ(ma["rematch"], true);
    EXPECT_EQ(mb["rematch"], true);
    EXPECT_EQ(ma["role"], "offerer");
    EXPECT_EQ(mb["role"], "answerer");
    EXPECT_TRUE(ma["iceServers"].is_array());
    a.ws->send(json{{"type", "signal"}, {"data", {{"description", {{"type", "offer"}, {"sdp", "v=0"}}}}}});
    b.ws->expect_next("signal");
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // b's join/next/rematch budget refills
    // Asked twice for the same pair, or with nothing to go back to.
    b.ws->send(json{{"type", "leave"}});
    a.ws->expect_next("peer_left");
    b.ws->send(json{{"type", "rematch"}});
    a.ws->expect_next("rematch_wanted");
    b.ws->send(json{{"type", "rematch"}});
    auto e = b.ws->expect_next("error");
    EXPECT_EQ(e["code"], "rematch_unavailable");
    EXPECT_EQ(e["ref"], "rematch");
    auto c = connect(port());
    c.ws->send(json{{"type", "rematch"}});
    EXPECT_EQ(c.ws->expect_next("error")["code"], "rematch_unavailable");
    c.ws->send(join());
    EXPECT_FALSE(c.ws->expect_next("queued").contains("rematch"));
    a.ws->send(join());
    EXPECT_FALSE(a.ws->expect("matched").contains("rematch")) << "an ordinary match has no rematch field";
}

TEST(require_face_test, join_waits_for_a_recent_face) {
    test_server server{[](config& c) {
        c.require_face = true;
        c.face_window = std::chrono::milliseconds(500);
    }};
    auto a = connect(server.port());
    a.ws->send(join());
    auto e = a.ws->expect_next("error");
    EXPECT_EQ(e["code"], "face_required");
    EXPECT_EQ(e["ref"], "join");
    a.ws->send(R"({"type":"face","present":true})");
    a.ws->send(join());
    a.ws->expect_next("queued");
    a.ws->send(R"({"type":"face","present":false})");
    a.ws->send(join());
    EXPECT_EQ(a.ws->expect_next("error")["code"], "face_required") << "a later false withdraws it";
    a.ws->send(R"({"type":"face","present":true})");
    std::this_thread::sleep_for(700ms);
    a.ws->send(join());
    EXPECT_EQ(a.ws->expect_next("error")["code"], "face_required") << "older than the window";
}
