#include "serendip/memory_store.hpp"

#include <boost/asio/post.hpp>

namespace serendip {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

memory_store::memory_store(asio::any_io_executor executor, matchmaker_settings settings, report_settings reports)
    : executor_(std::move(executor)), rules_(settings), reports_(reports), timer_(executor_) {}

// Runs one matchmaker step on the store's executor, then hands the actions
// to the sink and re-arms the deadline timer.
template <class F>
void memory_store::run(F&& step) {
    asio::post(executor_, [this, step = std::forward<F>(step)]() mutable {
        if (stopped_) return;
        actions out = step(clock::now());
        publish(std::move(out));
    });
}

void memory_store::publish(actions batch) {
    online_.store(rules_.connected_count(), std::memory_order_relaxed);
    sessions_.store(rules_.session_count(), std::memory_order_relaxed);
    queued_.store(rules_.queued_count(), std::memory_order_relaxed);
    paired_.store(rules_.paired_count(), std::memory_order_relaxed);
    if (!batch.empty() && sink_) sink_->deliver(std::move(batch));
    arm_timer();
}

void memory_store::arm_timer() {
    auto due = rules_.next_deadline();
    if (!due || (armed_for_ && *armed_for_ <= *due)) return;
    armed_for_ = due;
    timer_.expires_at(*due);
    timer_.async_wait([this](boost::system::error_code ec) {
        if (ec || stopped_) return;
        armed_for_.reset();
        publish(rules_.advance(clock::now()));
    });
}

void memory_store::check_ban(const address_hashes& address,
                             std::function<void(std::optional<std::chrono::seconds>)> done) {
    asio::post(executor_, [this, address, done = std::move(done)]() mutable {
        auto ban = stopped_ ? std::nullopt : reports_.banned_for(address.today, address.yesterday, clock::now());
        done(ban);
    });
}

void memory_store::connect(const session_id& id, const std::string& resume_token, const std::string& address) {
    run([this, id, resume_token, address](steady_time) {
        rules_.connect(id, resume_token, address);
        return actions{};
    });
}

void memory_store::resume(const std::string& token, const std::string& new_token, const std::string& address,
                          std::function<void(std::optional<resumed>)> done) {
    asio::post(executor_, [this, token, new_token, address, done = std::move(done)]() mutable {
        if (stopped_) return done(std::nullopt);
        auto result = rules_.resume(token, new_token, clock::now(), address);
        publish({});
        // Posted, never inline: the caller may hold its own state.
        asio::post(executor_, [done = std::move(done), result = std::move(result)]() mutable {
            done(std::move(result));
        });
    });
}

void memory_store::join(const session_id& id, protocol::join request) {
    run([this, id, request = std::move(request)](steady_time now) { return rules_.join(id, request, now); });
}

void memory_store::next(const session_id& id) {
    run([this, id](steady_time now) { return rules_.next(id, now); });
}

void memory_store::leave(const session_id& id) {
    run([this, id](steady_time now) { return rules_.leave(id, now); });
}

void memory_store::report(const session_id& id, protocol::report_reason) {
    run([this, id](steady_time now) {
        auto partner = rules_.partner_of(id);
        actions out = rules_.report(id, now);
        if (!partner) return out;
        auto reported_address = rules_.address_of(*partner);
        auto ban = reports_.record(rules_.address_of(id), reported_address, now);
        if (!ban) return out;
        out.push_back({*partner, out::banned{*ban}});
        rules_.revoke_resume(*partner);  // not from another address either
        // The address's other connections (other tabs) are banned too.
        for (const auto& other : rules_.connected_at(reported_address)) {
            if (other == *partner) continue;
            for (auto& a : rules_.banish(other)) out.push_back(std::move(a));
            out.push_back({other, out::banned{*ban}});
        }
        return out;
    });
}

void memory_store::signal(const session_id& id, std::string data) {
    run([this, id, data = std::move(data)](steady_time now) mutable { return rules_.signal(id, std::move(data), now); });
}

void memory_store::rematch(const session_id& id) {
    run([this, id](steady_time now) { return rules_.rematch(id, now); });
}

void memory_store::signaled(const session_id& id) {
    run([this, id](steady_time) {
        rules_.signaled(id);
        return actions{};
    });
}

void memory_store::disconnect(const session_id& id) {
    run([this, id](steady_time now) { return rules_.disconnect(id, now); });
}

store::stats memory_store::snapshot() const {
    return {sessions_.load(std::memory_order_relaxed), online_.load(std::memory_order_relaxed),
            queued_.load(std::memory_order_relaxed), paired_.load(std::memory_order_relaxed)};
}

void memory_store::shutdown() {
    asio::post(executor_, [this] {
        stopped_ = true;
        timer_.cancel();
    });
}

}  // namespace serendip
