// Signals on the direct route (hub.hpp, peer_route): two connections of a
// pair relay to each other strand to strand, and still nothing crosses an
// ended pair. First at the edges (a signal sent at the very moment a pair
// ends by next, leave, report, disconnect or timeout), then under load
// (1,000 pairs relaying at full speed on four io threads, with random nexts).

#include "test_server.hpp"
#include "ws_client.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <thread>

using namespace serendip;
using namespace serendip::testing;

namespace {

json join() { return {{"type", "join"}, {"mode", "video"}}; }

json tagged(const std::string& tag) { return {{"type", "signal"}, {"data", {{"candidate", {{"candidate", tag}}}}}}; }

struct peer {
    std::unique_ptr<ws_client> ws;
    std::string session;
};

peer connect(std::uint16_t port) {
    peer p{ws_client::connect(port), {}};
    p.session = p.ws->expect_next("welcome")["session"];
    return p;
}

void pair_up(peer& a, peer& b) {
    a.ws->send(join());
    a.ws->expect_next("queued");
    b.ws->send(join());
    b.ws->expect_next("queued");
    a.ws->expect_next("matched");
    b.ws->expect_next("matched");
}

// Every frame until `quiet` passes without one (online frames skipped).
std::vector<json> drain(ws_client& ws, std::chrono::milliseconds quiet = 200ms) {
    std::vector<json> frames;
    while (auto f = ws.recv(quiet))
        if ((*f)["type"] != "online") frames.push_back(std::move(*f));
    return frames;
}

std::string tag_of(const json& f) { return f["data"]["candidate"]["candidate"]; }

enum class ending { next, leave, report, disconnect, timeout };

class pair_end_test : public ::testing::TestWithParam<ending> {
protected:
    test_server server{[](config& c) {
        c.threads = 4;
        c.resume_window = std::chrono::milliseconds(200);
        c.pair_timeout = std::chrono::milliseconds(GetParam() == ending::timeout ? 300 : 30'000);
        c.rate_per_sec = 100'000;
        c.burst = 100'000;
        c.join_rate_per_sec = 1'000;
        c.free_quick_skips = 1'000'000;
    }};
};

}  // namespace

std::string name_of(const ::testing::TestParamInfo<ending>& info) {
    static const char* const names[] = {"next", "leave", "report", "disconnect", "timeout"};
    return names[static_cast<int>(info.param)];
}

INSTANTIATE_TEST_SUITE_P(by, pair_end_test,
                         ::testing::Values(ending::next, ending::leave, ending::report, ending::disconnect, ending::timeout),
                         name_of);

// a and b are paired and both signal while a ends the pair (or the pair times
// out while a starts signalling). b then gets peer_left and nothing of a's
// after it; a's next partner c never gets anything of b's.
TEST_P(pair_end_test, a_signal_sent_as_the_pair_ends_never_crosses_it) {
    const ending how = GetParam();
    int timed_out = 0;
    for (int round = 0; round < 5; ++round) {
        auto a = connect(server.port());
        auto b = connect(server.port());
        pair_up(a, b);
        const std::string r = std::to_string(round);
        if (how == ending::timeout) {
            // a's first signals meet the 300 ms deadline: some rounds before
            // it (the pair lives on), some after (both are told `timeout`).
            std::this_thread::sleep_for(std::chrono::milliseconds(260 + 20 * round));
        } else {
            for (int i = 0; i < 20; ++i) a.ws->send(tagged("a:" + r + ":" + std::to_string(i)));
        }
        for (int i = 0; i < 40; ++i) {
            // In the timeout case b stays silent (a signal of b's would keep the pair).
            if (how != ending::timeout) b.ws->send(tagged("b:" + r + ":" + std::to_string(i)));
            if (i != 20) continue;
            switch (how) {
            case ending::next: a.ws->send(R"({"type":"next"})"); break;
            case ending::leave: a.ws->send(R"({"type":"leave"})"); break;
            case ending::report: a.ws->send(R"({"type":"report","reason":"spam"})"); break;
            case ending::disconnect: a.ws.reset(); break;  // the connection drops without a word
            case ending::timeout:
                for (int k = 0; k < 40; ++k) a.ws->send(tagged("a:" + r + ":" + std::to_string(k)));
                break;
            }
            // Sent after a ended the pair: they must never reach b.
            if (how != ending::disconnect && how != ending::timeout)
                for (int k = 0; k < 20; ++k) a.ws->send(tagged("late:" + r + ":" + std::to_string(k)));
        }
        // b: a's signals (if any) all come before peer_left, none after it,
        // and none that a sent after it ended the pair.
        auto seen_by_b = drain(*b.ws, how == ending::disconnect || how == ending::timeout ? 500ms : 200ms);
        bool left = false;
        for (const auto& f : seen_by_b) {
            if (f["type"] == "peer_left") {
                left = true;
                continue;
            }
            if (f["type"] == "signal") {
                EXPECT_FALSE(left) << "after peer_left b got " << f.dump();
                EXPECT_EQ(tag_of(f).rfind("a:" + r + ":", 0), 0u) << f.dump();
            }
        }
        if (how != ending::timeout) {
            EXPECT_TRUE(left) << "b was told the pair ended";
        }
        if (how == ending::timeout && left) {
            // Both were told: what either sends now reaches nobody.
            a.ws->expect("peer_left", 2s);
            for (int k = 0; k < 20; ++k) {
                a.ws->send(tagged("after:a:" + r));
                b.ws->send(tagged("after:b:" + r));
            }
            for (auto* w : {a.ws.get(), b.ws.get()})
                for (const auto& f : drain(*w)) {
                    if (f["type"] != "signal") continue;
                    ADD_FAILURE() << "after the timeout: " << f.dump();
                }
        }
        if (how == ending::timeout) timed_out += left;
        if (how == ending::timeout && !left) continue;  // a's signal beat the deadline: the pair lives on
        // The next pair of the side that is still here: its new partner c
        // never hears the old pair, and after the new matched it hears only c.
        peer& stays = how == ending::disconnect ? b : a;
        if (how != ending::next && how != ending::report) stays.ws->send(join());  // next and report re-queue
        auto c = connect(server.port());
        c.ws->send(join());
        stays.ws->expect("matched", 5s);  // frames of the old pair may come before it
        c.ws->expect("matched", 5s);
        c.ws->send(tagged("c:" + r));
        stays.ws->send(tagged("stays:" + r));
        bool got_c = false;
        for (const auto& f : drain(*stays.ws)) {
            if (f["type"] != "signal") continue;
            EXPECT_EQ(tag_of(f), "c:" + r) << "after the new matched: " << f.dump();
            got_c = true;
        }
        EXPECT_TRUE(got_c);
        for (const auto& f : drain(*c.ws)) {
            if (f["type"] != "signal") continue;
            EXPECT_EQ(tag_of(f), "stays:" + r) << "the new partner got " << f.dump();
        }
    }
    if (how == ending::timeout) {
        EXPECT_GT(timed_out, 0) << "no round met the deadline";
    }
}

// ---- 1,000 pairs at full speed on four io threads, with random nexts --------

namespace {

struct load_stats {
    std::uint64_t signals = 0, matches = 0, nexts = 0;
    std::vector<std::string> violations;
    // (session, its pair number) -> (partner's session, partner's pair number)
    std::map<std::pair<std::string, int>, std::pair<std::string, int>> pairs;
    void violation(std::string what) {
        if (violations.size() < 20) violations.push_back(std::move(what));
    }
};

// One client of the load, as a state machine over the frames it gets: it
// joins, and in each pair ping-pongs signals tagged "session:pair:seq" with
// its partner, sometimes pressing next. It checks every signal: from its
// current partner, in order, none missing, never while unpaired or after
// peer_left.
class load_client {
public:
    load_client(load_stats& stats, std::mt19937& rng, const bool& stopping)
        : stats_(stats), rng_(rng), stopping_(stopping) {}

    std::vector<std::string> on_frame(const json& f) {
        std::vector<std::string> out;
        const std::string type = f["type"];
        if (type == "welcome") {
            session_ = f["session"];
            out.push_back(join().dump());
        } else if (type == "matched") {
            if (state_ == state::paired) stats_.violation(session_ + ": matched again without peer_left");
            ++stats_.matches;
            ++pair_;
            state_ = state::paired;
            partner_.clear();
            partner_pair_ = -1;
            received_ = sent_ = 0;
            if (f["role"] == "offerer") signal(out);
        } else if (type == "peer_left") {
            if (state_ == state::waiting) stats_.violation(session_ + ": peer_left while waiting");
            state_ = state::ended;
            if (!stopping_) {
                out.push_back(join().dump());
                state_ = state::waiting;
            }
        } else if (type == "signal") {
            on_signal(tag_of(f), out);
        }
        return out;
    }

private:
    enum class state { waiting, paired, left, ended };

    void signal(std::vector<std::string>& out) {
        if (!stopping_) out.push_back(tagged(session_ + ":" + std::to_string(pair_) + ":" + std::to_string(++sent_)).dump());
    }

    void on_signal(const std::string& tag, std::vector<std::string>& out) {
        ++stats_.signals;
        if (tag.rfind("late:", 0) == 0) {
            // Sent after its sender pressed next: it may reach the sender's
            // next partner (the server pairs it again at once), never the
            // partner of the pair it left.
            auto rest = tag.substr(5);
            auto colon = rest.rfind(':');
            if (state_ == state::paired && rest.substr(0, colon) == partner_ && std::stoi(rest.substr(colon + 1)) == partner_pair_)
                stats_.violation(session_ + ": got a signal its partner sent after pressing next: " + tag);
            return;
        }
        auto first = tag.find(':'), second = tag.rfind(':');
        std::string from = tag.substr(0, first);
        int their_pair = std::stoi(tag.substr(first + 1, second - first - 1));
        long seq = std::stol(tag.substr(second + 1));
        if (state_ == state::waiting || state_ == state::ended)
            return stats_.violation(session_ + ": a signal while not in a pair: " + tag);
        if (partner_.empty()) {
            partner_ = from;
            partner_pair_ = their_pair;
            stats_.pairs[{session_, pair_}] = {from, their_pair};
        } else if (from != partner_ || their_pair != partner_pair_) {
            return stats_.violation(session_ + ": from someone other than the partner: " + tag);
        }
        if (seq != received_ + 1) return stats_.violation(session_ + ": expected " + std::to_string(received_ + 1) + ", got " + tag);
        received_ = seq;
        if (state_ != state::paired || stopping_) return;  // after our own next: the old pair's last frames
        if (rng_() % 40 == 0) {
            ++stats_.nexts;
            state_ = state::left;
            out.push_back(R"({"type":"next"})");
            // Right behind the next: the old partner must never get these.
            for (int k = 0; k < 2; ++k) out.push_back(tagged("late:" + session_ + ":" + std::to_string(pair_)).dump());
        } else {
            signal(out);
        }
    }

    load_stats& stats_;
    std::mt19937& rng_;
    const bool& stopping_;
    std::string session_, partner_;
    state state_ = state::waiting;
    int pair_ = 0, partner_pair_ = -1;
    long sent_ = 0, received_ = 0;
};

}  // namespace

TEST(relay_load_test, a_thousand_pairs_at_full_speed_on_four_threads_hear_only_their_partner_in_order) {
    test_server server{[](config& c) {
        c.threads = 4;
        c.rate_per_sec = 1'000'000;
        c.burst = 1'000'000;
        c.join_rate_per_sec = 1'000'000;
        c.free_quick_skips = 1'000'000;
        c.pair_timeout = std::chrono::milliseconds(600'000);
        c.max_per_address = 1'000'000;
        c.new_per_minute = 1'000'000;
    }};
    load_stats stats;
    std::mt19937 rng(2026);
    bool stopping = false;
    std::vector<load_client> clients;
    for (int i = 0; i < 2000; ++i) clients.emplace_back(stats, rng, stopping);
    client_swarm swarm(server.port(), clients.size(), [&](std::size_t i, const json& f) { return clients[i].on_frame(f); });
    swarm.run_for(10s);
    stopping = true;  // no new signals; what is in flight still arrives and is checked
    swarm.run_for(1500ms);
    swarm.close_all();
    EXPECT_EQ(swarm.failures(), 0u);

    for (const auto& v : stats.violations) ADD_FAILURE() << v;
    // Every pair both sides heard of is the same pair from both sides.
    std::size_t mutual = 0;
    for (const auto& [me, them] : stats.pairs) {
        auto back = stats.pairs.find(them);
        if (back == stats.pairs.end()) continue;  // the partner never heard from this side
        EXPECT_EQ(back->second, me) << me.first << " pair " << me.second;
        ++mutual;
    }
    std::printf("# relay load: %llu signals checked, %llu matches, %llu nexts, %zu pairs heard from both sides\n",
                static_cast<unsigned long long>(stats.signals), static_cast<unsigned long long>(stats.matches),
                static_cast<unsigned long long>(stats.nexts), mutual);
    // Real load, even under ThreadSanitizer (about 20,000 signals there,
    // 200,000 in a release build).
    EXPECT_GE(stats.matches, 1000u);
    EXPECT_GT(stats.nexts, 100u) << "pairs ended and new ones formed under load";
    EXPECT_GT(stats.signals, 5'000u);
}
