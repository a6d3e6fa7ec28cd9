// Several real server processes sharing one real redis-server: every flow of
// PROTOCOL.md across instances, the matching invariants under concurrency,
// and the fault scenarios (Redis down at start, restarted, frozen; an
// instance killed), with checks on what clients receive and on the keyspace.

#include "child_process.hpp"
#include "redis/redis_server.hpp"
#include "test_server.hpp"
#include "ws_client.hpp"

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <algorithm>
#include <iterator>
#include <map>
#include <random>
#include <set>

using namespace serendip::testing;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// One serendip-server process on a free port.
class instance {
public:
    instance(const std::string& store_url, std::vector<std::string> extra = {}) {
        static int counter = 0;
        auto dir = fs::temp_directory_path();
        auto tag = std::to_string(getpid()) + "-" + std::to_string(++counter);
        port_file_ = (dir / ("serendip-redis-port-" + tag)).string();
        log_ = (dir / ("serendip-redis-log-" + tag)).string();
        fs::remove(port_file_);
        std::vector<std::string> args{SERENDIP_SERVER_BINARY, "--listen", "127.0.0.1", "--port", "0",
                                      "--port-file", port_file_, "--web-root", SERENDIP_FIXTURES "/www",
                                      "--threads", "2", "--store", store_url, "--redis-heartbeat", "200ms",
                                      "--redis-timeout", "500ms", "--resume-window", "2s", "--pair-timeout", "20s",
                                      "--fallback-after", "500ms", "--log-level", "info", "--join-rate", "50"};
        args.insert(args.end(), extra.begin(), extra.end());
        pid_ = spawn_logged(std::move(args), log_);
        auto deadline = std::chrono::steady_clock::now() + 15s;
        while (!fs::exists(port_file_) && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
        if (!fs::exists(port_file_)) throw std::runtime_error("server did not start: " + slurp(log_));
        port_ = static_cast<std::uint16_t>(std::stoi(slurp(port_file_)));
    }
    ~instance() { kill(SIGKILL); }

    void kill(int sig) {
        if (pid_ <= 0) return;
        ::kill(pid_, sig);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
    }
    std::uint16_t port() const { return port_; }
    std::string log() const { return slurp(log_); }
    int readyz() const { return status_of(http_get(port_, "/readyz")); }
    bool wait_ready(std::chrono::milliseconds timeout = 10s) const {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            if (readyz() == 200) return true;
            std::this_thread::sleep_for(20ms);
        }
        return false;
    }

private:
    pid_t pid_ = -1;
    std::uint16_t port_ = 0;
    std::string port_file_, log_;
};

struct peer {
    std::unique_ptr<ws_client> ws;
    std::string session, token;
    json welcome;
};

peer connect(std::uint16_t port, const std::string& path = "/ws", const std::string& forwarded_for = {}) {
    peer p{ws_client::connect(port, {.path = path, .forwarded_for = forwarded_for}), {}, {}, {}};
    p.welcome = p.ws->expect_next("welcome", 10s);
    p.session = p.welcome["session"];
    p.token = p.welcome["resume"];
    return p;
}

json join(const std::string& mode = "video", std::vector<std::string> interests = {}, bool fallback = true) {
    return {{"type", "join"}, {"mode", mode}, {"interests", interests}, {"fallback", fallback}};
}

json candidate(const std::string& text) {
    return {{"type", "signal"}, {"data", {{"candidate", {{"candidate", text}, {"sdpMid", "0"}, {"sdpMLineIndex", 0}}}}}};
}

// The next frame of one of `types`, skipping `online`; throws on timeout.
json expect_one_of(ws_client& ws, std::set<std::string> types, std::chrono::milliseconds timeout = 10s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left <= 0ms) throw std::runtime_error("timed out");
        auto f = ws.recv(left);
        if (!f) throw std::runtime_error("timed out or closed");
        if (types.count((*f)["type"])) return *f;
        if ((*f)["type"] == "online") continue;
    }
}

class redis_multi : public ::testing::Test {
protected:
    redis_server redis;  // throws if it cannot start: the test fails

    std::vector<std::unique_ptr<instance>> start(int n, std::vector<std::string> extra = {}) {
        std::vector<std::unique_ptr<instance>> out;
        for (int i = 0; i < n; ++i) out.push_back(std::make_unique<instance>(redis.url(), extra));
        for (auto& s : out) EXPECT_TRUE(s->wait_ready()) << s->log();
        return out;
    }

    std::pair<peer, peer> paired(std::uint16_t pa, std::uint16_t pb) {
        auto a = connect(pa);
        auto b = connect(pb);
        a.ws->send(join());
        a.ws->expect_next("queued");
        b.ws->send(join());
        EXPECT_EQ(a.ws->expect("matched", 10s)["role"], "offerer");
        EXPECT_EQ(b.ws->expect("matched", 10s)["role"], "answerer");
        return {std::move(a), std::move(b)};
    }

    void expect_every_key_has_a_ttl() {
        auto bad = redis.keys_without_ttl();
        EXPECT_TRUE(bad.empty()) << "keys without a TTL: " << ::testing::PrintToString(bad);
    }

    // Every key and its value, for a failure's message.
    std::string dump_redis() {
        std::string out;
        for (const auto& key : redis.cmd({"KEYS", "*"}).items) {
            auto type = redis.cmd({"TYPE", key}).str;
            out += key + " (" + type + "):";
            std::vector<std::string> items;
            if (type == "hash") items = redis.cmd({"HGETALL", key}).items;
            else if (type == "zset") items = redis.cmd({"ZRANGE", key, "0", "-1", "WITHSCORES"}).items;
            else if (type == "set") items = redis.cmd({"SMEMBERS", key}).items;
            else if (type == "list") items = redis.cmd({"LRANGE", key, "0", "-1"}).items;
            else if (type == "string") items = {redis.cmd({"GET", key}).str};
            for (const auto& i : items) out += " " + i;
            out += "\n";
        }
        return out;
    }

    // Session records left in Redis (sd:s:*).
    std::vector<std::string> session_keys() { return redis.cmd({"KEYS", "sd:s:*"}).items; }
};

}  // namespace

TEST_F(redis_multi, strangers_on_two_instances_pair_signal_and_part) {
    auto s = start(2);
    auto [a, b] = paired(s[0]->port(), s[1]->port());
    a.ws->send(candidate("from-a"));
    EXPECT_EQ(b.ws->expect("signal")["data"]["candidate"]["candidate"], "from-a");
    b.ws->send(json{{"type", "signal"}, {"data", {{"description", {{"type", "answer"}, {"sdp", "v=0"}}}}}});
    auto sig = a.ws->expect("signal");
    EXPECT_EQ(sig["data"], (json{{"description", {{"type", "answer"}, {"sdp", "v=0"}}}}));

    a.ws->send(json{{"type", "next"}});
    EXPECT_EQ(b.ws->expect("peer_left")["reason"], "next");
    a.ws->expect("queued");
    b.ws->send(json{{"type", "next"}});  // only each other: recent partners meet again
    a.ws->expect("matched", 10s);
    b.ws->expect("matched", 10s);
    b.ws->send(json{{"type", "leave"}});
    EXPECT_EQ(a.ws->expect("peer_left")["reason"], "leave");

    // Report: the partner hears it, the reporter is re-queued, the two never meet again.
    a.ws->send(join());
    a.ws->expect("queued");
    b.ws->send(join());
    a.ws->expect("matched", 10s);
    b.ws->expect("matched", 10s);
    a.ws->send(json{{"type", "report"}, {"reason", "spam"}});
    EXPECT_EQ(b.ws->expect("peer_left")["reason"], "report");
    a.ws->expect("queued");
    b.ws->send(json{{"type", "next"}});
    b.ws->expect("queued");
    EXPECT_TRUE(a.ws->quiet_for(800ms)) << "a reported b: never matched again";

    // Errors are the same as on one instance.
    auto c = connect(s[1]->port());
    c.ws->send(candidate("x"));
    auto e = c.ws->expect("error");
    EXPECT_EQ(e["code"], "not_paired");
    c.ws->send(json{{"type", "next"}});
    e = c.ws->expect("error");
    EXPECT_EQ(e["code"], "bad_message");
    EXPECT_EQ(e["ref"], "next");
    c.ws->send(json{{"type", "report"}, {"reason", "spam"}});
    e = c.ws->expect("error");
    EXPECT_EQ(e["code"], "not_paired");
    EXPECT_EQ(e["ref"], "report");
    expect_every_key_has_a_ttl();
}

// "Going back" with each side on its own instance, one of them paired with
// a third stranger meanwhile (rule 7 of "Going back").
TEST_F(redis_multi, going_back_across_instances) {
    auto s = start(2);
    auto [a, b] = paired(s[0]->port(), s[1]->port());
    a.ws->send(json{{"type", "next"}});
    EXPECT_EQ(b.ws->expect("peer_left")["reason"], "next");
    a.ws->expect("queued");
    auto c = connect(s[0]->port());
    c.ws->send(join());
    a.ws->expect("matched", 10s);
    c.ws->expect("matched", 10s);
    b.ws->send(json{{"type", "rematch"}});
    a.ws->expect("rematch_wanted");
    a.ws->send(json{{"type", "rematch"}});
    EXPECT_EQ(c.ws->expect("peer_left")["reason"], "next");
    auto ma = a.ws->expect("matched", 10s);
    auto mb = b.ws->expect("matched", 10s);
    EXPECT_EQ(ma["rematch"], true);
    EXPECT_EQ(mb["rematch"], true);
    EXPECT_EQ(ma["role"], "offerer");
    EXPECT_EQ(mb["role"], "answerer");
    b.ws->send(candidate("back"));
    EXPECT_EQ(a.ws->expect("signal")["data"]["candidate"]["candidate"], "back");
    c.ws->send(candidate("stale"));
    EXPECT_EQ(c.ws->expect("error")["code"], "not_paired") << "the skipped partner reaches no one";
    c.ws->send(json{{"type", "rematch"}});
    EXPECT_EQ(c.ws->expect("error")["code"], "rematch_unavailable") << "a pair ended by going back stays ended";
    expect_every_key_has_a_ttl();
}

TEST_F(redis_multi, interests_modes_and_fallback_across_instances) {
    auto s = start(2);
    auto t = connect(s[0]->port());
    auto v = connect(s[1]->port());
    t.ws->send(join("text"));
    t.ws->expect("queued");
    v.ws->send(join("video"));
    v.ws->expect("queued");
    EXPECT_TRUE(t.ws->quiet_for(500ms)) << "modes never mix";

    auto chess = connect(s[0]->port());
    chess.ws->send(join("video", {"chess"}, false));
    chess.ws->expect("queued");
    EXPECT_TRUE(chess.ws->quiet_for(900ms)) << "no fallback: only a shared interest";
    auto fan = connect(s[1]->port());
    fan.ws->send(join("video", {"music", "chess"}));
    auto m = chess.ws->expect("matched", 10s);
    EXPECT_EQ(m["common"], json::array({"chess"}));
    EXPECT_EQ(m["role"], "offerer");
    EXPECT_EQ(fan.ws->expect("matched")["role"], "answerer");

    // Fallback: interests open to anyone after the delay.
    auto late = connect(s[0]->port());
    late.ws->send(join("video", {"knitting"}));
    auto m2 = late.ws->expect("matched", 10s);
    EXPECT_TRUE(m2["common"].empty());
    v.ws->expect("matched", 10s);
}

TEST_F(redis_multi, online_counts_every_instance) {
    auto s = start(3);
    auto a = connect(s[0]->port());
    auto b = connect(s[1]->port());
    auto c = connect(s[2]->port());
    // Each instance publishes its count with the heartbeat; the sum converges.
    auto deadline = std::chrono::steady_clock::now() + 10s;
    int last = 0;
    while (std::chrono::steady_clock::now() < deadline) {
        auto d = connect(s[0]->port());
        last = d.welcome["online"];
        if (last == 4) break;
        std::this_thread::sleep_for(100ms);
    }
    EXPECT_EQ(last, 4) << "welcome.online counts every instance and this client";
}

TEST_F(redis_multi, resume_on_another_instance_delivers_held_signals) {
    auto s = start(3);
    auto [a, b] = paired(s[0]->port(), s[1]->port());
    a.ws->send(candidate("hello"));
    b.ws->expect("signal");
    b.ws->close();
    std::this_thread::sleep_for(200ms);
    a.ws->send(candidate("while-away-1"));
    a.ws->send(candidate("while-away-2"));
    std::this_thread::sleep_for(200ms);
    auto b2 = connect(s[2]->port(), "/ws?resume=" + b.token);
    EXPECT_EQ(b2.session, b.session) << "same session on another instance";
    EXPECT_EQ(b2.ws->expect_next("signal")["data"]["candidate"]["candidate"], "while-away-1");
    EXPECT_EQ(b2.ws->expect_next("signal")["data"]["candidate"]["candidate"], "while-away-2");
    a.ws->send(candidate("after"));
    EXPECT_EQ(b2.ws->expect("signal")["data"]["candidate"]["candidate"], "after");
    b2.ws->send(candidate("back"));
    EXPECT_EQ(a.ws->expect("signal")["data"]["candidate"]["candidate"], "back");
    // The old token is spent.
    auto again = ws_client::connect(s[0]->port(), {.path = "/ws?resume=" + b.token});
    again->expect_next("welcome");
    EXPECT_EQ(again->expect_next("error")["code"], "resume_failed");
}

TEST_F(redis_multi, hold_expiry_across_instances_tells_partner_disconnect) {
    auto s = start(2);
    auto [a, b] = paired(s[0]->port(), s[1]->port());
    a.ws->send(candidate("x"));
    b.ws->expect("signal");
    b.ws->close();
    auto l = a.ws->expect("peer_left", 10s);
    EXPECT_EQ(l["reason"], "disconnect");
    // Everything of b is gone once its hold expired.
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline && session_keys().size() > 1) std::this_thread::sleep_for(50ms);
    EXPECT_EQ(session_keys(), std::vector<std::string>{"sd:s:" + a.session});
    expect_every_key_has_a_ttl();
}

TEST_F(redis_multi, resume_on_another_instance_closes_the_old_connection_4000) {
    auto s = start(2);
    auto [a, b] = paired(s[0]->port(), s[1]->port());
    // b's old connection is still open when it resumes on the other instance.
    auto b2 = connect(s[0]->port(), "/ws?resume=" + b.token);
    EXPECT_EQ(b2.session, b.session);
    EXPECT_EQ(b.ws->wait_closed(5s), 4000) << "the newer connection wins, on any instance";
    // The old connection's close does not end the session: the pair holds.
    std::this_thread::sleep_for(300ms);
    a.ws->send(candidate("still-there"));
    EXPECT_EQ(b2.ws->expect("signal")["data"]["candidate"]["candidate"], "still-there");
    b2.ws->send(candidate("me-too"));
    EXPECT_EQ(a.ws->expect("signal")["data"]["candidate"]["candidate"], "me-too");
    EXPECT_TRUE(a.ws->quiet_for(300ms)) << "no peer_left from the replaced connection";
}

// Rule 8 across instances: the offerer's instance keeps the timer, and sees
// the answerer's signals arrive, so a pair where only the answerer speaks
// lives on while a silent one ends for both.
TEST_F(redis_multi, pair_timeout_across_instances) {
    auto s = start(2, {"--pair-timeout", "1s"});
    auto [a, b] = paired(s[0]->port(), s[1]->port());
    EXPECT_EQ(a.ws->expect("peer_left", 5s)["reason"], "timeout");
    EXPECT_EQ(b.ws->expect("peer_left", 5s)["reason"], "timeout");

    auto [c, d] = paired(s[1]->port(), s[0]->port());
    d.ws->send(candidate("answerer-speaks"));
    EXPECT_EQ(c.ws->expect("signal")["data"]["candidate"]["candidate"], "answerer-speaks");
    EXPECT_TRUE(c.ws->quiet_for(1800ms)) << "a pair that signalled does not time out";
    EXPECT_TRUE(d.ws->quiet_for(1ms));
}

// Signals go instance to instance directly; whatever happens to the pair
// meanwhile, none reaches a session that is no longer the sender's partner.
TEST_F(redis_multi, signals_never_reach_a_former_partner) {
    auto s = start(2);
    auto [a, b] = paired(s[0]->port(), s[1]->port());
    a.ws->send(candidate("1"));
    EXPECT_EQ(b.ws->expect("signal")["data"]["candidate"]["candidate"], "1");
    // a keeps signalling while b moves on to c.
    auto c = connect(s[0]->port());
    c.ws->send(join());
    c.ws->expect("queued");
    for (int i = 0; i < 50; ++i) a.ws->send(candidate("burst"));
    b.ws->send(json{{"type", "next"}});
    auto m = b.ws->expect("matched", 10s);
    EXPECT_EQ(c.ws->expect("matched", 10s)["role"], m["role"] == "offerer" ? "answerer" : "offerer");
    b.ws->send(candidate("b-to-c"));
    EXPECT_EQ(c.ws->expect("signal")["data"]["candidate"]["candidate"], "b-to-c");
    EXPECT_EQ(a.ws->expect("peer_left")["reason"], "next");
    c.ws->send(candidate("c-to-b"));
    // Whatever of a's burst b got came before its matched; after it, only c's.
    EXPECT_EQ(b.ws->expect("signal")["data"]["candidate"]["candidate"], "c-to-b");
    EXPECT_TRUE(b.ws->quiet_for(300ms));
    a.ws->send(candidate("too-late"));
    EXPECT_EQ(a.ws->expect("error")["code"], "not_paired");
}

// The matchmaking property across three instances with interests, modes,
// fallback and reports: after every round of random actions has settled,
// pairs are symmetric and never self, report blocks hold, `common` is the
// intersection of both sides' interests, a pair without one is made only of
// open sides, and no two waiting users could have been paired.
TEST_F(redis_multi, property_with_interests_and_blocks_on_three_instances) {
    // Rounds come ~1.5 s apart, so skips are "quick" (within 2 s of a match)
    // or not by timing alone; the cooldown would then refuse a random join
    // and the model would be off. The cooldown has its own tests.
    auto s = start(3, {"--fallback-after", "300ms", "--free-quick-skips", "1000000"});
    struct user {
        peer p;
        json join;  // the last join the server took, or null
        json previous_join;  // in case the one just sent is refused
        enum { idle, waiting, paired } state = idle;
        std::string partner;
        json common;
        std::string reported;  // this round's report, until the server's answer is read
        std::string transcript;  // what it sent and was told, for a failure's message
    };
    constexpr int n = 9;
    std::mt19937 rng(20261128);
    auto pick = [&](int k) { return static_cast<int>(rng() % static_cast<unsigned>(k)); };
    const std::vector<std::string> topics{"chess", "music", "film"};
    auto random_join = [&] {
        std::vector<std::string> ints;
        for (const auto& t : topics)
            if (pick(3) == 0) ints.push_back(t);
        return join(pick(5) == 0 ? "text" : "video", ints, pick(2) == 0);
    };
    std::vector<user> users;
    for (int i = 0; i < n; ++i) users.push_back({connect(s[i % 3]->port()), nullptr});
    std::set<std::pair<std::string, std::string>> blocked;
    auto is_blocked = [&](const std::string& x, const std::string& y) {
        return blocked.count({x, y}) || blocked.count({y, x});
    };
    auto ints_of = [](const json& j) { return std::set<std::string>(j["interests"].begin(), j["interests"].end()); };
    auto open = [](const json& j) { return j["interests"].empty() || j["fallback"] == true; };

    for (int round = 0; round < 10; ++round) {
        for (auto& u : users) {
            int r = pick(10);
            json sent;
            if (u.join.is_null() || r < 2) {
                u.previous_join = u.join;
                sent = u.join = random_join();
            } else if (r < 5) {
                sent = json{{"type", "next"}};
            } else if (r < 8 && u.state == user::paired) {
                u.reported = u.partner;
                sent = json{{"type", "report"}, {"reason", "spam"}};
            }
            if (sent.is_null()) continue;
            u.transcript += "\n  round " + std::to_string(round) + " sent " + sent.dump();
            u.p.ws->send(sent);
        }
        // Settle (fallback opens after 300 ms), then read what each was told.
        std::this_thread::sleep_for(1200ms);
        for (auto& u : users) {
            while (auto f = u.p.ws->recv(50ms)) {
                auto type = (*f)["type"];
                if (type != "online") u.transcript += "\n  round " + std::to_string(round) + " got " + f->dump();
                if (type == "queued") u.state = user::waiting;
                else if (type == "matched") u.state = user::paired, u.common = (*f)["common"];
                else if (type == "peer_left") u.state = u.state == user::paired ? user::idle : u.state;
                // The partner may have moved on first: then the report did nothing.
                else if (type == "error" && (*f)["ref"] == "report") u.reported.clear();
                // A refused join leaves the server with the one before.
                else if (type == "error" && (*f)["ref"] == "join") u.join = u.previous_join;
            }
            if (!u.reported.empty()) blocked.insert({u.p.session, u.reported});
            u.reported.clear();
            // A peer_left after next/report comes before the new queued/matched; `next` re-queues.
        }
        // Who is with whom: each paired user says its name.
        for (auto& u : users)
            if (u.state == user::paired) u.p.ws->send(candidate(u.p.session));
        std::map<std::string, user*> by_id;
        for (auto& u : users) by_id[u.p.session] = &u;
        for (auto& u : users) {
            if (u.state != user::paired) continue;
            json sig;
            ASSERT_NO_THROW(sig = expect_one_of(*u.p.ws, {"signal"}, 5s)) << "round " << round << " " << u.p.session << " " << [&] {
                std::string out;
                for (auto& x : users) out += "\n" + x.p.session + " " + std::to_string(x.state) + " " + x.join.dump();
                for (auto& i : s) out += "\n----\n" + i->log();
                return out;
            }();
            u.partner = sig["data"]["candidate"]["candidate"];
        }
        std::this_thread::sleep_for(100ms);
        for (auto& u : users) {
            EXPECT_TRUE(u.p.ws->quiet_for(1ms)) << "one partner only (round " << round << ")";
            if (u.state != user::paired) continue;
            ASSERT_TRUE(by_id.count(u.partner));
            auto& v = *by_id[u.partner];
            EXPECT_NE(u.partner, u.p.session) << "never self";
            EXPECT_EQ(v.state, user::paired);
            EXPECT_EQ(v.partner, u.p.session) << "symmetric";
            EXPECT_FALSE(is_blocked(u.p.session, v.p.session)) << "a report blocks the pair for good";
            EXPECT_EQ(u.join["mode"], v.join["mode"]);
            std::set<std::string> both;
            auto mine = ints_of(u.join), theirs = ints_of(v.join);
            std::set_intersection(mine.begin(), mine.end(), theirs.begin(), theirs.end(), std::inserter(both, both.end()));
            EXPECT_EQ(std::set<std::string>(u.common.begin(), u.common.end()), both) << "common is the shared interests";
            if (both.empty()) {
                EXPECT_TRUE(open(u.join) && open(v.join)) << "without one, both sides are open";
            }
        }
        // Nobody waits while someone they could be paired with waits (rule 5).
        for (auto& u : users)
            for (auto& v : users) {
                if (&u >= &v || u.state != user::waiting || v.state != user::waiting) continue;
                auto mine = ints_of(u.join), theirs = ints_of(v.join);
                bool share = std::any_of(mine.begin(), mine.end(), [&](const auto& x) { return theirs.count(x) > 0; });
                bool fits = u.join["mode"] == v.join["mode"] && !is_blocked(u.p.session, v.p.session) &&
                            (share || (open(u.join) && open(v.join)));
                EXPECT_FALSE(fits) << u.p.session << " and " << v.p.session << " both wait (round " << round << ")\n"
                                   << u.p.session << ":" << u.transcript << "\n" << v.p.session << ":" << v.transcript
                                   << "\n" << dump_redis();
            }
    }
    expect_every_key_has_a_ttl();
}

// The matchmaking property across instances: concurrent clients, rounds of
// `next`; every round all are paired, pairs are symmetric, nobody is paired
// with themselves or twice.
TEST_F(redis_multi, concurrent_clients_on_three_instances_pair_consistently) {
    auto s = start(3);
    constexpr int n = 24;
    std::vector<peer> peers;
    for (int i = 0; i < n; ++i) peers.push_back(connect(s[i % 3]->port()));
    for (auto& p : peers) p.ws->send(join());
    for (int round = 0; round < 4; ++round) {
        if (round > 0)
            for (auto& p : peers) p.ws->send(json{{"type", "next"}});
        for (auto& p : peers) ASSERT_NO_THROW(expect_one_of(*p.ws, {"matched"}, 15s)) << "round " << round;
        for (auto& p : peers) p.ws->send(candidate(p.session));
        std::map<std::string, std::string> partner;
        for (auto& p : peers) {
            json sig;
            ASSERT_NO_THROW(sig = expect_one_of(*p.ws, {"signal"}, 10s)) << "round " << round;
            partner[p.session] = sig["data"]["candidate"]["candidate"];
        }
        std::this_thread::sleep_for(200ms);
        for (auto& p : peers) EXPECT_TRUE(p.ws->quiet_for(1ms)) << "one partner only (round " << round << ")";
        ASSERT_EQ(partner.size(), static_cast<std::size_t>(n));
        for (auto& [me, other] : partner) {
            EXPECT_NE(me, other) << "never paired with themselves";
            EXPECT_EQ(partner[other], me) << "pairs are symmetric";
        }
    }
    expect_every_key_has_a_ttl();
}

// Fault: Redis down at start. The server starts, /readyz is 503, join answers
// `unavailable`; once Redis is up, ready within 2 s and matching works.
TEST_F(redis_multi, redis_down_at_start_then_up) {
    auto port = redis.port();
    redis.stop();
    instance s("redis://127.0.0.1:" + std::to_string(port));
    EXPECT_EQ(s.readyz(), 503);
    auto a = connect(s.port());
    a.ws->send(join());
    auto e = a.ws->expect("error", 10s);
    EXPECT_EQ(e["code"], "unavailable");
    EXPECT_EQ(e["ref"], "join");
    EXPECT_EQ(status_of(http_get(s.port(), "/healthz")), 200) << "alive, only not ready";

    redis.restart_same_port();
    auto up = std::chrono::steady_clock::now();
    ASSERT_TRUE(s.wait_ready(10s)) << s.log();
    EXPECT_LT(std::chrono::steady_clock::now() - up, 2s) << "ready within 2 s of Redis coming up";
    a.ws->send(join());
    a.ws->expect("queued");
    auto b = connect(s.port());
    b.ws->send(join());
    a.ws->expect("matched", 10s);
    b.ws->expect("matched", 10s);
    expect_every_key_has_a_ttl();
}

// Fault: Redis restarted mid-run with its data lost. Pairs keep signalling,
// waiting users are re-queued (a newcomer finds them), nothing without TTL.
TEST_F(redis_multi, redis_restart_requeues_waiting_users_and_keeps_pairs) {
    auto s = start(2);
    auto [a, b] = paired(s[0]->port(), s[0]->port());
    a.ws->send(candidate("before"));
    b.ws->expect("signal");
    auto [x, y] = paired(s[0]->port(), s[1]->port());
    x.ws->send(candidate("before"));
    y.ws->expect("signal");
    auto waiting = connect(s[1]->port());
    waiting.ws->send(join("text"));
    waiting.ws->expect("queued");

    redis.restart_same_port();
    auto back = std::chrono::steady_clock::now();
    for (auto& i : s) ASSERT_TRUE(i->wait_ready(10s)) << i->log();
    EXPECT_LT(std::chrono::steady_clock::now() - back, 5s);

    // The same-instance pair never noticed.
    a.ws->send(candidate("after"));
    EXPECT_EQ(b.ws->expect("signal")["data"]["candidate"]["candidate"], "after");
    // The cross-instance pair too, once both instances restored their halves.
    x.ws->send(candidate("after"));
    EXPECT_EQ(y.ws->expect("signal", 10s)["data"]["candidate"]["candidate"], "after");
    // The waiting user is in the queue again: a newcomer on the other instance meets them.
    auto newcomer = connect(s[0]->port());
    newcomer.ws->send(join("text"));
    newcomer.ws->expect("matched", 10s);
    waiting.ws->expect("matched", 10s);
    expect_every_key_has_a_ttl();
}

// Fault: Redis frozen with SIGSTOP for 10 s. Commands time out, clients get
// `unavailable`, io threads do not block (HTTP still answers), then everything
// recovers after SIGCONT.
TEST_F(redis_multi, redis_frozen_then_thawed) {
    auto s = start(2);
    auto a = connect(s[0]->port());
    a.ws->send(join("text"));
    a.ws->expect("queued");

    redis.freeze();
    auto frozen = std::chrono::steady_clock::now();
    auto b = connect(s[1]->port());
    b.ws->send(join("text"));
    auto e = b.ws->expect("error", 10s);
    EXPECT_EQ(e["code"], "unavailable");
    EXPECT_LT(std::chrono::steady_clock::now() - frozen, 3s) << "a deadline, not a hang";
    for (auto& i : s) {
        auto t0 = std::chrono::steady_clock::now();
        EXPECT_EQ(status_of(http_get(i->port(), "/healthz")), 200);
        EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s) << "no io thread blocks on Redis";
    }
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < deadline && s[1]->readyz() != 503) std::this_thread::sleep_for(50ms);
    EXPECT_EQ(s[1]->readyz(), 503);
    auto c = connect(s[0]->port());
    EXPECT_EQ(c.welcome["type"], "welcome") << "new connections are still welcomed";
    std::this_thread::sleep_until(frozen + 10s);
    redis.thaw();

    for (auto& i : s) ASSERT_TRUE(i->wait_ready(10s)) << i->log();
    // a was waiting all along and still is: b finds a.
    b.ws->send(join("text"));
    a.ws->expect("matched", 10s);
    b.ws->expect("matched", 10s);
    a.ws->send(candidate("after"));
    EXPECT_EQ(b.ws->expect("signal")["data"]["candidate"]["candidate"], "after");
    expect_every_key_has_a_ttl();
}

// Fault: an instance killed with SIGKILL. Its users' partners elsewhere get
// peer_left within 30 s, its queue entries are never matched, and its keys go.
TEST_F(redis_multi, killed_instance_partners_hear_and_queue_entries_never_match) {
    auto s = start(2);
    auto [a, b] = paired(s[0]->port(), s[1]->port());
    a.ws->send(candidate("x"));
    b.ws->expect("signal");
    auto lonely = connect(s[1]->port());
    lonely.ws->send(join("text"));
    lonely.ws->expect("queued");

    s[1]->kill(SIGKILL);
    auto killed = std::chrono::steady_clock::now();
    auto newcomer = connect(s[0]->port());
    newcomer.ws->send(join("text"));
    newcomer.ws->expect("queued");
    // A signal to the dead instance's user: peer_left instead of silence.
    a.ws->send(candidate("anyone?"));
    auto l = a.ws->expect("peer_left", 30s);
    EXPECT_EQ(l["reason"], "disconnect");
    EXPECT_LT(std::chrono::steady_clock::now() - killed, 30s);
    EXPECT_TRUE(newcomer.ws->quiet_for(2s)) << "the dead instance's queue entry is never matched";

    // Its sessions are gone once their hold expired; every key has a TTL.
    auto deadline = std::chrono::steady_clock::now() + 15s;
    auto ours = std::set<std::string>{"sd:s:" + a.session, "sd:s:" + newcomer.session};
    while (std::chrono::steady_clock::now() < deadline) {
        auto keys = session_keys();
        if (std::set<std::string>(keys.begin(), keys.end()) == ours) break;
        std::this_thread::sleep_for(100ms);
    }
    auto keys = session_keys();
    EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()), ours);
    expect_every_key_has_a_ttl();
}

// In this process (so the sanitizers see it): a Redis-backed server drains
// and stops cleanly, with Redis up and with Redis gone, and what it held is
// left for resume elsewhere rather than matchable.
TEST(redis_in_process, stops_cleanly_with_redis_up_and_down) {
    redis_server redis;
    for (bool kill_redis_first : {false, true}) {
        std::string session;
        {
            test_server server([&](serendip::config& c) {
                c.store = redis.url();
                c.redis_heartbeat = 100ms;
                c.redis_timeout = 300ms;
            });
            auto deadline = std::chrono::steady_clock::now() + 10s;
            while (status_of(http_get(server.port(), "/readyz")) != 200 && std::chrono::steady_clock::now() < deadline)
                std::this_thread::sleep_for(20ms);
            ASSERT_EQ(status_of(http_get(server.port(), "/readyz")), 200);
            auto a = connect(server.port());
            session = a.session;
            a.ws->send(join());
            a.ws->expect_next("queued");
            if (kill_redis_first) redis.stop();
            auto t0 = std::chrono::steady_clock::now();
            server.stop();
            EXPECT_LT(std::chrono::steady_clock::now() - t0, 8s);
            EXPECT_EQ(a.ws->wait_closed(5s), 1001);
        }
        if (kill_redis_first) break;
        // The queue entry is gone and the session is held, not connected.
        EXPECT_EQ(redis.cmd({"ZCARD", "sd:q:video"}).integer, 0);
        EXPECT_EQ(redis.cmd({"HGET", "sd:s:" + session, "c"}).str, "0");
        EXPECT_TRUE(redis.keys_without_ttl().empty());
    }
}

// Bans live in Redis: reports made on two instances ban an address whose
// session is on a third, and every instance refuses it afterwards; its other
// connection (another tab, on another instance) is closed too. Every key the
// reports and the ban made has a TTL.
TEST_F(redis_multi, reports_on_several_instances_ban_everywhere) {
    auto s = start(3, {"--trusted-proxy", "127.0.0.1", "--address-secret", "shared-test-secret"});
    auto victim = connect(s[0]->port(), "/ws", "192.0.2.10");
    auto other_tab = connect(s[2]->port(), "/ws", "192.0.2.10");
    victim.ws->send(join());
    victim.ws->expect("queued");
    int i = 0;
    for (const char* reporter : {"198.51.100.1", "198.51.100.2", "198.51.100.3"}) {
        auto r = connect(s[1 + i++ % 2]->port(), "/ws", reporter);
        r.ws->send(join());
        EXPECT_EQ(r.ws->expect("matched", 10s)["role"], "answerer");
        victim.ws->expect("matched", 10s);
        r.ws->send(json{{"type", "report"}, {"reason", "nudity"}});
        EXPECT_EQ(victim.ws->expect("peer_left", 10s)["reason"], "report");
        if (i < 3) {
            r.ws->send(json{{"type", "leave"}});
            victim.ws->send(json{{"type", "next"}});
            victim.ws->expect("queued");
        }
    }
    EXPECT_EQ(victim.ws->expect("banned", 10s)["reason"], "reports");
    EXPECT_EQ(victim.ws->wait_closed(), 1008);
    EXPECT_EQ(other_tab.ws->expect("banned", 10s)["reason"], "reports");
    EXPECT_EQ(other_tab.ws->wait_closed(), 1008);
    for (auto& instance : s) {
        auto again = ws_client::connect(instance->port(), {.forwarded_for = "192.0.2.10"});
        auto f = again->recv();
        ASSERT_TRUE(f);
        EXPECT_EQ((*f)["type"], "banned");
        EXPECT_EQ(again->wait_closed(), 1008);
    }
    EXPECT_EQ(redis.cmd({"KEYS", "sd:ban:*"}).items.size(), 1u);
    EXPECT_EQ(redis.cmd({"KEYS", "sd:rl:*"}).items.size(), 3u) << "each reporter's hour";
    EXPECT_TRUE(redis.cmd({"KEYS", "sd:ra:*"}).items.empty()) << "counts start over after a ban";
    expect_every_key_has_a_ttl();
}
