#pragma once
// The default store: the matchmaker on one strand of this process.

#include "serendip/abuse_rules.hpp"
#include "serendip/store.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>

namespace serendip {

class memory_store final : public store {
public:
    memory_store(boost::asio::any_io_executor executor, matchmaker_settings settings, report_settings reports = {});

    void set_sink(store_sink* sink) override { sink_ = sink; }
    void check_ban(const address_hashes& address,
                   std::function<void(std::optional<std::chrono::seconds>)> done) override;
    void connect(const session_id& id, const std::string& resume_token, const std::string& address) override;
    void resume(const std::string& token, const std::string& new_token, const std::string& address,
                std::function<void(std::optional<resumed>)> done) override;
    void join(const session_id& id, protocol::join request) override;
    void next(const session_id& id) override;
    void leave(const session_id& id) override;
    void report(const session_id& id, protocol::report_reason reason) override;
    void signal(const session_id& id, std::string data) override;
    void rematch(const session_id& id) override;
    void signaled(const session_id& id) override;
    void disconnect(const session_id& id) override;

    std::uint64_t online() const override { return online_.load(std::memory_order_relaxed); }
    store_status status() const override { return {}; }
    stats snapshot() const override;
    void shutdown() override;

private:
    template <class F>
    void run(F&& step);
    void publish(actions batch);
    void arm_timer();

    boost::asio::any_io_executor executor_;
    matchmaker rules_;  // touched only on executor_
    report_book reports_;  // likewise
    store_sink* sink_ = nullptr;
    boost::asio::steady_timer timer_;
    std::optional<steady_time> armed_for_;
    bool stopped_ = false;
    std::atomic<std::uint64_t> online_{0};
    std::atomic<std::uint64_t> sessions_{0}, queued_{0}, paired_{0};
};

}  // namespace serendip
