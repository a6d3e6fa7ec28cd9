// The store contract: what the hub relies on, run against every store
// implementation through the same typed test suite.

#include "redis/redis_server.hpp"
#include "serendip/memory_store.hpp"
#include "serendip/redis_store.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

using namespace serendip;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

// Records every action the store delivers, for the test thread to wait on.
class recording_sink : public store_sink {
public:
    void deliver(actions batch) override {
        std::lock_guard lock(mutex_);
        for (auto& a : batch) seen_.push_back(std::move(a));
        cv_.notify_all();
    }
    // One store instance never sees its sessions resume elsewhere.
    void replaced(const session_id& id) override { ADD_FAILURE() << "replaced(" << id << ") from a single store"; }

    // Waits for an action of type T for `to`, consuming it and everything before it for `to`.
    template <class T>
    std::optional<T> wait_for(const session_id& to, std::chrono::milliseconds timeout = 3s) {
        std::unique_lock lock(mutex_);
        std::optional<T> found;
        cv_.wait_for(lock, timeout, [&] {
            for (auto it = seen_.begin(); it != seen_.end(); ++it) {
                if (it->to != to) continue;
                if (auto* p = std::get_if<T>(&it->what)) {
                    found = *p;
                    // drop it and what came before it for the same session
                    seen_.erase(std::remove_if(seen_.begin(), it + 1, [&](const action& a) { return a.to == to; }),
                                it + 1);
                    return true;
                }
            }
            return false;
        });
        return found;
    }

    bool nothing_for(const session_id& to, std::chrono::milliseconds window) {
        std::this_thread::sleep_for(window);
        std::lock_guard lock(mutex_);
        return std::none_of(seen_.begin(), seen_.end(), [&](const action& a) { return a.to == to; });
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<action> seen_;
};

matchmaker_settings fast_settings() {
    matchmaker_settings s;
    s.fallback_after = 300ms;
    s.pair_timeout = 600ms;
    s.resume_window = 500ms;
    s.rematch_window = 1500ms;
    return s;
}

struct memory_store_factory {
    static std::unique_ptr<store> make(asio::io_context& ioc) {
        return std::make_unique<memory_store>(asio::make_strand(ioc), fast_settings());
    }
};

// One redis-server for the whole binary, emptied before each test.
struct redis_store_factory {
    static std::unique_ptr<store> make(asio::io_context& ioc) {
        static serendip::testing::redis_server server;  // throws (test fails) if it cannot start
        server.cmd({"FLUSHALL"});
        redis_store_settings s;
        s.where = *parse_redis_url(server.url());
        s.heartbeat = 100ms;
        s.instance_ttl = 500ms;
        s.link.health_interval = 100ms;
        return std::make_unique<redis_store>(asio::make_strand(ioc), fast_settings(), s);
    }
};

template <class Factory>
class store_contract : public ::testing::Test {
protected:
    void SetUp() override {
        store_ = Factory::make(ioc_);
        store_->set_sink(&sink_);
        thread_ = std::thread([this] { ioc_.run(); });
        // A shared store may need a moment to reach its backend.
        auto deadline = std::chrono::steady_clock::now() + 10s;
        while (!store_->status().ready && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
        ASSERT_TRUE(store_->status().ready) << store_->status().reason;
    }
    void TearDown() override {
        store_->shutdown();
        work_.reset();
        thread_.join();
    }

    // Each session from its own address unless told otherwise.
    session_id connect(const std::string& id, const std::string& address = {}) {
        store_->connect(id, "tok-" + id, address.empty() ? "addr-" + id : address);
        return id;
    }
    std::optional<std::chrono::seconds> ban_of(const std::string& today, const std::string& yesterday = {}) {
        std::promise<std::optional<std::chrono::seconds>> p;
        auto f = p.get_future();
        store_->check_ban({today, yesterday}, [&](std::optional<std::chrono::seconds> b) { p.set_value(b); });
        return f.get();
    }
    static protocol::join video(std::vector<std::string> interests = {}, bool fallback = true) {
        return {protocol::mode::video, std::move(interests), fallback, false};
    }
    // `reporter` meets `victim` and reports them, then leaves the line it
    // was put back in.
    void report_from(const session_id& reporter, const session_id& victim) {
        pair(reporter, victim);
        store_->report(reporter, protocol::report_reason::harassment);
        ASSERT_TRUE(sink_.template wait_for<out::peer_left>(victim));
        ASSERT_TRUE(sink_.template wait_for<out::queued>(reporter));
        store_->leave(reporter);
    }
    void pair(const session_id& a, const session_id& b) {
        store_->join(a, video());
        ASSERT_TRUE(sink_.template wait_for<out::queued>(a));
        store_->join(b, video());
        ASSERT_TRUE(sink_.template wait_for<out::matched>(a));
        ASSERT_TRUE(sink_.template wait_for<out::matched>(b));
    }

    asio::io_context ioc_;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{ioc_.get_executor()};
    recording_sink sink_;
    std::unique_ptr<store> store_;
    std::thread thread_;
};

using store_types = ::testing::Types<memory_store_factory, redis_store_factory>;
TYPED_TEST_SUITE(store_contract, store_types);

}  // namespace

TYPED_TEST(store_contract, join_queues_then_pairs_with_roles) {
    auto a = this->connect("a");
    auto b = this->connect("b");
    this->store_->join(a, this->video({"music"}));
    auto q = this->sink_.template wait_for<out::queued>(a);
    ASSERT_TRUE(q);
    EXPECT_EQ(q->interests, std::vector<std::string>{"music"});
    this->store_->join(b, this->video({"music"}));
    auto ma = this->sink_.template wait_for<out::matched>(a);
    auto mb = this->sink_.template wait_for<out::matched>(b);
    ASSERT_TRUE(ma && mb);
    EXPECT_EQ(ma->role, protocol::role::offerer);
    EXPECT_EQ(mb->role, protocol::role::answerer);
    EXPECT_EQ(mb->common, std::vector<std::string>{"music"});
}

TYPED_TEST(store_contract, online_counts_connected_sessions) {
    this->connect("a");
    this->connect("b");
    auto deadline = std::chrono::steady_clock::now() + 2s;
    while (this->store_->online() != 2 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
    EXPECT_EQ(this->store_->online(), 2u);
    this->store_->disconnect("a");
    while (this->store_->online() != 1 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
    EXPECT_EQ(this->store_->online(), 1u);
    EXPECT_TRUE(this->store_->status().ready);
}

TYPED_TEST(store_contract, signal_reaches_partner_and_not_paired_otherwise) {
    auto a = this->connect("a");
    auto b = this->connect("b");
    auto c = this->connect("c");
    this->pair(a, b);
    this->store_->signal(a, R"({"candidate":{"candidate":""}})");
    auto s = this->sink_.template wait_for<out::signal>(b);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->data, R"({"candidate":{"candidate":""}})");
    this->store_->signal(c, "{}");
    auto e = this->sink_.template wait_for<out::error>(c);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code, protocol::error_code::not_paired);
}

TYPED_TEST(store_contract, next_leave_report_tell_the_partner) {
    auto a = this->connect("a");
    auto b = this->connect("b");
    this->pair(a, b);
    this->store_->next(a);
    auto l = this->sink_.template wait_for<out::peer_left>(b);
    ASSERT_TRUE(l);
    EXPECT_EQ(l->reason, protocol::leave_reason::next);
    ASSERT_TRUE(this->sink_.template wait_for<out::queued>(a));
    this->store_->next(b);  // only each other: recent partners may meet again
    ASSERT_TRUE(this->sink_.template wait_for<out::matched>(b));
    this->store_->leave(b);
    auto l2 = this->sink_.template wait_for<out::peer_left>(a);
    ASSERT_TRUE(l2);
    EXPECT_EQ(l2->reason, protocol::leave_reason::leave);

    auto c = this->connect("c");
    auto d = this->connect("d");
    this->pair(c, d);
    this->store_->report(d, protocol::report_reason::spam);
    auto l3 = this->sink_.template wait_for<out::peer_left>(c);
    ASSERT_TRUE(l3);
    EXPECT_EQ(l3->reason, protocol::leave_reason::report);
    ASSERT_TRUE(this->sink_.template wait_for<out::queued>(d)) << "the reporter is re-queued";
    this->store_->next(c);
    EXPECT_TRUE(this->sink_.nothing_for(c, 400ms) || !this->sink_.template wait_for<out::matched>(c, 10ms))
        << "c and d never meet again";
}

TYPED_TEST(store_contract, fallback_opens_after_the_delay) {
    auto a = this->connect("a");
    auto b = this->connect("b");
    this->store_->join(a, this->video({"chess"}));
    this->store_->join(b, this->video());
    EXPECT_FALSE(this->sink_.template wait_for<out::matched>(a, 150ms));
    auto m = this->sink_.template wait_for<out::matched>(a, 2s);
    ASSERT_TRUE(m);
    EXPECT_TRUE(m->common.empty());
}

TYPED_TEST(store_contract, silent_pair_times_out) {
    auto a = this->connect("a");
    auto b = this->connect("b");
    this->pair(a, b);
    auto la = this->sink_.template wait_for<out::peer_left>(a, 3s);
    auto lb = this->sink_.template wait_for<out::peer_left>(b, 3s);
    ASSERT_TRUE(la && lb);
    EXPECT_EQ(la->reason, protocol::leave_reason::timeout);
    EXPECT_EQ(lb->reason, protocol::leave_reason::timeout);
}

TYPED_TEST(store_contract, resume_within_window_restores_and_delivers_held_signals) {
    auto a = this->connect("a");
    auto b = this->connect("b");
    this->pair(a, b);
    this->store_->disconnect(b);
    this->store_->signal(a, R"({"n":1})");
    this->store_->signal(a, R"({"n":2})");
    std::promise<std::optional<resumed>> p;
    this->store_->resume("tok-b", "tok-b2", "addr-b", [&](std::optional<resumed> r) { p.set_value(std::move(r)); });
    auto r = p.get_future().get();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->id, b);
    ASSERT_EQ(r->held.size(), 2u);
    EXPECT_EQ(std::get<out::signal>(r->held[0].what).data, R"({"n":1})");
    EXPECT_EQ(std::get<out::signal>(r->held[1].what).data, R"({"n":2})");
    this->store_->signal(a, R"({"n":3})");
    ASSERT_TRUE(this->sink_.template wait_for<out::signal>(b));
}

TYPED_TEST(store_contract, hold_expiry_tells_partner_disconnect_and_token_dies) {
    auto a = this->connect("a");
    auto b = this->connect("b");
    this->pair(a, b);
    this->store_->signal(a, "{}");  // keep the pair from timing out
    this->store_->disconnect(b);
    auto l = this->sink_.template wait_for<out::peer_left>(a, 3s);
    ASSERT_TRUE(l);
    EXPECT_EQ(l->reason, protocol::leave_reason::disconnect);
    std::promise<std::optional<resumed>> p;
    this->store_->resume("tok-b", "x", "addr-b", [&](std::optional<resumed> r) { p.set_value(std::move(r)); });
    EXPECT_FALSE(p.get_future().get());
}

TYPED_TEST(store_contract, disconnected_session_is_never_matched) {
    auto a = this->connect("a");
    auto b = this->connect("b");
    this->store_->join(a, this->video());
    ASSERT_TRUE(this->sink_.template wait_for<out::queued>(a));
    this->store_->disconnect(a);
    this->store_->join(b, this->video());
    ASSERT_TRUE(this->sink_.template wait_for<out::queued>(b));
    EXPECT_FALSE(this->sink_.template wait_for<out::matched>(b, 300ms));
}

// Reports count against the reported session's address, once per distinct
// reporting address: the third gets it banned, in the store, for everyone.
TYPED_TEST(store_contract, three_reporting_addresses_ban_the_reported_address) {
    EXPECT_FALSE(this->ban_of("addr-v"));
    auto v = this->connect("v");
    // r1-again reports from r1's address: it counts once.
    for (const std::string r : {"r1", "r1-again", "r2"}) {
        this->report_from(this->connect(r, r == "r1-again" ? "addr-r1" : ""), v);
        EXPECT_TRUE(this->sink_.nothing_for(v, 100ms)) << "not banned after " << r;
    }
    this->report_from(this->connect("r3"), v);
    auto b = this->sink_.template wait_for<out::banned>(v);
    ASSERT_TRUE(b) << "banned after the third distinct address";
    EXPECT_EQ(b->length, 3600s);
    auto left = this->ban_of("addr-v");
    ASSERT_TRUE(left);
    EXPECT_GE(*left, 3598s);
    EXPECT_LE(*left, 3600s);
    EXPECT_FALSE(this->ban_of("addr-r1")) << "reporters are not banned";
    // The day's key rotated: found under yesterday's hash, kept under today's.
    EXPECT_TRUE(this->ban_of("addr-v-tomorrow", "addr-v"));
    EXPECT_TRUE(this->ban_of("addr-v-tomorrow"));
    // Its session cannot be resumed, not even from another address.
    this->store_->disconnect(v);
    std::promise<std::optional<resumed>> p;
    this->store_->resume("tok-v", "tok-v2", "addr-elsewhere", [&](std::optional<resumed> r) { p.set_value(std::move(r)); });
    EXPECT_FALSE(p.get_future().get());
}

// One address counts at most 5 reports an hour, and never against itself.
// A ban reaches the address's other connections too (another tab, paired
// with someone else): each gets `banned`, its partner `peer_left`
// `disconnect`, and it cannot be resumed.
TYPED_TEST(store_contract, a_ban_reaches_the_addresses_other_connections) {
    auto v = this->connect("v", "addr-x");
    auto tab = this->connect("tab", "addr-x");
    auto other = this->connect("other");
    this->pair(tab, other);
    for (const std::string r : {"r1", "r2", "r3"}) this->report_from(this->connect(r), v);
    ASSERT_TRUE(this->sink_.template wait_for<out::banned>(v));
    auto b = this->sink_.template wait_for<out::banned>(tab);
    ASSERT_TRUE(b) << "the address's other connection is banned too";
    EXPECT_GE(b->length, 3590s);
    auto left = this->sink_.template wait_for<out::peer_left>(other);
    ASSERT_TRUE(left) << "the other connection's partner is told";
    EXPECT_EQ(left->reason, protocol::leave_reason::disconnect);
    EXPECT_FALSE(this->sink_.template wait_for<out::banned>(other, 200ms)) << "its partner's address is not banned";
    this->store_->disconnect(tab);
    std::promise<std::optional<resumed>> p;
    this->store_->resume("tok-tab", "tok-tab2", "addr-elsewhere", [&](std::optional<resumed> r) { p.set_value(std::move(r)); });
    EXPECT_FALSE(p.get_future().get()) << "the other connection's session cannot be resumed";
}

TYPED_TEST(store_contract, reports_from_one_address_are_limited) {
    for (int i = 0; i < 6; ++i) {
        std::string n = std::to_string(i);
        auto v = this->connect("v" + n, "victim-" + n);
        this->report_from(this->connect("b" + n), v);
        this->report_from(this->connect("c" + n), v);
        // The third distinct address is always "addr-a".
        this->report_from(this->connect("a" + n, "addr-a"), v);
        if (i < 5) EXPECT_TRUE(this->sink_.template wait_for<out::banned>(v)) << "a's report " << i + 1 << " counts";
        else EXPECT_TRUE(this->sink_.nothing_for(v, 200ms)) << "a's sixth report in the hour does not";
    }
    auto self = this->connect("self", "addr-s");
    for (int i = 0; i < 3; ++i) this->report_from(this->connect("s" + std::to_string(i), "addr-s"), self);
    EXPECT_TRUE(this->sink_.nothing_for(self, 200ms));
    EXPECT_FALSE(this->ban_of("addr-s")) << "an address cannot get itself banned";
}

// Many operations at once (a Redis store sends those that arrive while its
// call runs as one batch): they take effect in the order they were made, so
// each newcomer pairs with the one who came just before it.
TYPED_TEST(store_contract, many_joins_at_once_pair_in_arrival_order) {
    constexpr int n = 300;
    std::vector<session_id> ids;
    for (int i = 0; i < n; ++i) ids.push_back(this->connect("s" + std::to_string(i)));
    for (const auto& id : ids) this->store_->join(id, this->video());
    for (int i = 0; i < n; i += 2) {
        auto older = this->sink_.template wait_for<out::matched>(ids[i]);
        auto newer = this->sink_.template wait_for<out::matched>(ids[i + 1]);
        ASSERT_TRUE(older && newer) << "pair " << i / 2;
        EXPECT_EQ(older->role, protocol::role::offerer) << "pair " << i / 2;
        EXPECT_EQ(newer->role, protocol::role::answerer) << "pair " << i / 2;
        this->store_->signal(ids[i], R"({"sdp":"x"})");
        auto got = this->sink_.template wait_for<out::signal>(ids[i + 1]);
        ASSERT_TRUE(got) << "pair " << i / 2 << " is not " << ids[i] << " with " << ids[i + 1];
    }
}

// Two who wait side by side and become open to each other at the same
// moment: the one who came first still makes the offer (rule 7), even when
// both were queued by one Redis call (its time stamps stay ordered).
TYPED_TEST(store_contract, fallback_pair_keeps_arrival_order) {
    auto busy = this->connect("busy");
    auto a = this->connect("a");
    auto b = this->connect("b");
    this->store_->join(busy, this->video({"solo"}, false));  // a call in flight while a and b join
    this->store_->join(a, this->video({"music"}));
    this->store_->join(b, this->video({"chess"}));
    auto ma = this->sink_.template wait_for<out::matched>(a);
    auto mb = this->sink_.template wait_for<out::matched>(b);
    ASSERT_TRUE(ma && mb);
    EXPECT_EQ(ma->role, protocol::role::offerer);
    EXPECT_EQ(mb->role, protocol::role::answerer);
    EXPECT_FALSE(this->sink_.template wait_for<out::matched>(busy, 100ms));  // it shares nothing and waits for a share
}

// "Going back" (PROTOCOL.md): a pair ended by `next` comes back once both
// ask, with the same roles; the first ask is announced to the other side
// once, and the asker hears nothing until the other answers.
TYPED_TEST(store_contract, both_asking_restores_the_pair_with_its_roles) {
    auto a = this->connect("a");
    auto b = this->connect("b");
    this->pair(a, b);  // a waited longer: a offers
    this->store_->next(b);
    ASSERT_TRUE(this->sink_.template wait_for<out::peer_left>(a));
    ASSERT_TRUE(this->sink_.template wait_for<out::queued>(b));
    this->store_->rematch(a);  // idle a asks first
    ASSERT_TRUE(this->sink_.template wait_for<out::rematch_wanted>(b));
    EXPECT_TRUE(this->sink_.nothing_for(a, 100ms)) << "the asker waits silently";
    this->store_->rematch(b);  // queued b answers
    auto ma = this->sink_.template wait_for<out::matched>(a);
    auto mb = this->sink_.template wait_for<out::matched>(b);
    ASSERT_TRUE(ma && mb);
    EXPECT_TRUE(ma->rematch);
    EXPECT_TRUE(mb->rematch);
    EXPECT_EQ(ma->role, protocol::role::offerer);
    EXPECT_EQ(mb->role, protocol::role::answerer);
    this->store_->signal(a, R"({"n":1})");
    ASSERT_TRUE(this->sink_.template wait_for<out::signal>(b)) << "the restored pair relays";
    EXPECT_FALSE(this->sink_.template wait_for<out::rematch_wanted>(b, 100ms)) << "announced once";
    // An ordinary pair from then on: it can end and come back again.
    this->store_->leave(a);
    ASSERT_TRUE(this->sink_.template wait_for<out::peer_left>(b));
    this->store_->rematch(b);
    ASSERT_TRUE(this->sink_.template wait_for<out::rematch_wanted>(a));
    this->store_->rematch(a);
    auto again = this->sink_.template wait_for<out::matched>(b);
    ASSERT_TRUE(again);
    EXPECT_TRUE(again->rematch);
    EXPECT_EQ(again->role, protocol::role::answerer);
}

// Asked while paired with someone else, that pair ends as by `next` (its
// partner told `next`, the asker queued again); both sides' new pairs end
// when the earlier one comes back.
TYPED_TEST(store_contract, asking_from_a_new_pair_ends_it_as_next) {
    auto a = this->connect("a");
    auto b = this->connect("b");
    auto c = this->connect("c");
    auto d = this->connect("d");
    this->pair(a, b);
    this->store_->next(a);
    ASSERT_TRUE(this->sink_.template wait_for<out::peer_left>(b));
    ASSERT_TRUE(this->sink_.template wait_for<out::queued>(a));
    this->store_->join(c, this->video());
    ASSERT_TRUE(this->sink_.template wait_for<out::matched>(a)) << "a meets c";
    ASSERT_TRUE(this->sink_.template wait_for<out::matched>(c));
    this->store_->join(d, this->video());
    ASSERT_TRUE(this->sink_.template wait_for<out::queued>(d));
    this->store_->join(b, this->video());
    ASSERT_TRUE(this->sink_.template wait_for<out::matched>(b)) << "b meets d";
    ASSERT_TRUE(this->sink_.template wait_for<out::matched>(d));

    this->store_->rematch(a);
    auto lc = this->sink_.template wait_for<out::peer_left>(c);
    ASSERT_TRUE(lc);
    EXPECT_EQ(lc->reason, protocol::leave_reason::next);
    ASSERT_TRUE(this->sink_.template wait_for<out::queued>(a)) << "the asker is back in line";
    ASSERT_TRUE(this->sink_.template wait_for<out::rematch_wanted>(b)) << "b hears it while paired with d";
    this->store_->rematch(b);
    auto ld = this->sink_.template wait_for<out::peer_left>(d);
    ASSERT_TRUE(ld);
    EXPECT_EQ(ld->reason, protocol::leave_reason::next);
    auto ma = this->sink_.template wait_for<out::matched>(a);
    auto mb = this->sink_.template wait_for<out::matched>(b);
    ASSERT_TRUE(ma && mb);
    EXPECT_TRUE(ma->rematch && mb->rematch);
    this->store_->signal(b, R"({"n":1})");
    ASSERT_TRUE(this->sink_.template wait_for<out::signal>(a));
    // c was skipped by a's own ask: that pair does not come back.
    this->store_->rematch(c);
    auto e = this->sink_.template wait_for<out::error>(c);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code, protocol::error_code::rematch_unavailable);
}

TYPED_TEST(store_contract, rematch_is_refused_when_it_cannot_be) {
    auto refused = [&](const session_id& id) {
        this->store_->rematch(id);
        auto e = this->sink_.template wait_for<out::error>(id);
        return e && e->code == protocol::error_code::rematch_unavailable && e->ref == protocol::client_type::rematch;
    };
    auto a = this->connect("a");
    EXPECT_TRUE(refused(a)) << "no pair has ended";
    auto b = this->connect("b");
    this->pair(a, b);
    this->store_->report(a, protocol::report_reason::spam);
    ASSERT_TRUE(this->sink_.template wait_for<out::peer_left>(b));
    EXPECT_TRUE(refused(b)) << "ended by a report";
    EXPECT_TRUE(refused(a)) << "ended by the asker's own report";
    this->store_->leave(a);

    auto c = this->connect("c");
    auto d = this->connect("d");
    this->pair(c, d);
    this->store_->leave(c);
    ASSERT_TRUE(this->sink_.template wait_for<out::peer_left>(d));
    this->store_->rematch(c);
    ASSERT_TRUE(this->sink_.template wait_for<out::rematch_wanted>(d));
    EXPECT_TRUE(refused(c)) << "asked twice";
    std::this_thread::sleep_for(1600ms);
    EXPECT_TRUE(refused(d)) << "past the window";

    auto e = this->connect("e");
    auto f = this->connect("f");
    this->pair(e, f);
    this->store_->next(e);
    ASSERT_TRUE(this->sink_.template wait_for<out::peer_left>(f));
    this->store_->disconnect(e);
    std::this_thread::sleep_for(700ms);  // past e's resume window: gone
    EXPECT_TRUE(refused(f)) << "the other side is gone";

    auto g = this->connect("g");
    auto h = this->connect("h");
    this->pair(g, h);
    this->store_->signal(g, "{}");
    this->store_->disconnect(h);  // held, then ended by disconnect
    auto l = this->sink_.template wait_for<out::peer_left>(g, 3s);
    ASSERT_TRUE(l);
    EXPECT_EQ(l->reason, protocol::leave_reason::disconnect);
    EXPECT_TRUE(refused(g)) << "ended by a disconnect";
}
