#include "serendip/hub.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <stdexcept>

namespace serendip {

namespace asio = boost::asio;

std::string random_token(std::size_t bytes) {
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::vector<unsigned char> raw(bytes);
    if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1) throw std::runtime_error("RAND_bytes failed");
    // base64url without padding
    std::string out;
    out.reserve((bytes * 4 + 2) / 3);
    for (std::size_t i = 0; i < bytes; i += 3) {
        std::uint32_t n = raw[i] << 16;
        if (i + 1 < bytes) n |= raw[i + 1] << 8;
        if (i + 2 < bytes) n |= raw[i + 2];
        std::size_t chars = std::min<std::size_t>(4, (bytes - i) * 4 / 3 + ((bytes - i) % 3 ? 1 : 0));
        for (std::size_t k = 0; k < chars; ++k) out += alphabet[(n >> (18 - 6 * k)) & 63];
    }
    return out;
}

hub::hub(asio::any_io_executor strand, store& rules, hub_settings settings, metrics& m)
    : strand_(std::move(strand)), store_(rules), settings_(std::move(settings)), metrics_(m), online_timer_(strand_) {
    store_.set_sink(this);
}

std::string hub::welcome(const session_id& id, const std::string& token) const {
    return protocol::encode_welcome(id, token, store_.online(), settings_.limits, ice_servers_for(id));
}

// Credentials are issued fresh for every frame that carries them, so a
// `matched` long after `welcome` still gets a full lifetime.
std::string hub::ice_servers_for(const session_id& id) const {
    if (!settings_.ice.has_turn()) return settings_.ice.json({}, {});
    auto it = pseudonyms_.find(id);
    // open() names every session it links; a fresh name is the safe fallback.
    auto pseudonym = it != pseudonyms_.end() ? it->second : turn::new_pseudonym();
    return settings_.ice.json(pseudonym, std::chrono::system_clock::now());
}

namespace {

frame banned_frame(std::chrono::seconds length) {
    auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
    return make_frame(protocol::encode_banned((now + length).count(), "reports"));
}

}  // namespace

// A banned address gets `banned` and no session (docs/protocol.md).
void hub::open(std::weak_ptr<client_link> link, address_hashes address, std::string resume_token,
               std::function<void(opened)> done) {
    // `today` is copied, not moved: check_ban reads `address` too.
    store_.check_ban(address, [this, link = std::move(link), today = address.today,
                               resume_token = std::move(resume_token),
                               done = std::move(done)](std::optional<std::chrono::seconds> ban) mutable {
        if (ban) {
            asio::post(strand_, [ban, done = std::move(done)] { done({{}, {{server_type::banned, banned_frame(*ban)}}}); });
            return;
        }
        open_session(std::move(link), std::move(today), std::move(resume_token), std::move(done));
    });
}

void hub::open_session(std::weak_ptr<client_link> link, std::string address, std::string resume_token,
                       std::function<void(opened)> done) {
    asio::post(strand_, [this, link = std::move(link), address = std::move(address),
                         resume_token = std::move(resume_token), done = std::move(done)]() mutable {
        // 72 bits is plenty for an id that is not a secret; the token is the secret.
        session_id fresh_id = random_token(9);
        std::string token = random_token(16);

        auto start_fresh = [this, link, address, fresh_id, token](std::function<void(opened)> done,
                                                                  bool resume_failed) {
            store_.connect(fresh_id, token, address);
            links_[fresh_id] = link;
            if (settings_.ice.has_turn()) pseudonyms_[fresh_id] = turn::new_pseudonym();
            // Posted after connect so that `online` counts this client.
            asio::post(strand_, [this, fresh_id, token, done = std::move(done), resume_failed] {
                opened o{fresh_id, {{server_type::welcome, make_frame(welcome(fresh_id, token))}}};
                if (resume_failed)
                    o.frames.emplace_back(server_type::error,
                                          make_frame(protocol::encode_error(
                                              protocol::error_code::resume_failed,
                                              "that session cannot be resumed; this is a new one")));
                done(std::move(o));
            });
        };

        if (resume_token.empty()) return start_fresh(std::move(done), false);

        store_.resume(resume_token, token, address, [this, link, token, start_fresh,
                                            done = std::move(done)](std::optional<resumed> r) mutable {
            if (!r) return start_fresh(std::move(done), true);
            auto& slot = links_[r->id];
            if (auto old = slot.lock(); old && old.get() != link.lock().get()) old->close(close_reason::replaced);
            slot = link;
            drop_route_to(r->id);  // the partner's route led to the old connection
            if (settings_.ice.has_turn() && !pseudonyms_.contains(r->id)) pseudonyms_[r->id] = turn::new_pseudonym();
            opened o{r->id, {{server_type::welcome, make_frame(welcome(r->id, token))}}};
            for (const auto& a : r->held) {
                auto type = static_cast<server_type>(a.what.index() + 2);  // queued..error
                o.frames.emplace_back(type, encode(a));
            }
            done(std::move(o));
        });
    });
}

void hub::closed(const session_id& id, const client_link* link) {
    asio::post(strand_, [this, id, link] {
        auto it = links_.find(id);
        if (it == links_.end()) return;
        auto current = it->second.lock();
        // A resumed session has a newer link: the old one's close changes nothing.
        if (current && current.get() != link) return;
        links_.erase(it);
        pseudonyms_.erase(id);
        // The disconnect first: once its route is cut, the partner's signals
        // go to the store, and must find this session away (held for it).
        store_.disconnect(id);
        drop_route_to(id);
    });
}

void hub::drop_route_to(const session_id& id) {
    auto r = routes_.find(id);
    if (r == routes_.end()) return;
    if (auto p = links_.find(r->second.partner); p != links_.end())
        if (auto partner = p->second.lock()) partner->cut_route(r->second.pair);
    routes_.erase(r);
}

void hub::signal_via_store(const session_id& from, std::string data) {
    asio::post(strand_, [this, from, data = std::move(data)]() mutable { store_.signal(from, std::move(data)); });
}

frame hub::encode(const action& a) const {
    return std::visit(
        [this, &a](const auto& w) -> frame {
            using T = std::decay_t<decltype(w)>;
            if constexpr (std::is_same_v<T, out::queued>) return make_frame(protocol::encode_queued(w.mode, w.interests));
            if constexpr (std::is_same_v<T, out::matched>)
                return make_frame(protocol::encode_matched(w.role, w.common, ice_servers_for(a.to), w.rematch));
            if constexpr (std::is_same_v<T, out::rematch_wanted>) return make_frame(protocol::encode_rematch_wanted());
            if constexpr (std::is_same_v<T, out::signal>) return make_frame(protocol::encode_signal(w.data));
            if constexpr (std::is_same_v<T, out::peer_left>) return make_frame(protocol::encode_peer_left(w.reason));
            if constexpr (std::is_same_v<T, out::banned>) return banned_frame(w.length);
            if constexpr (std::is_same_v<T, out::error>) {
                const char* text = w.code == protocol::error_code::not_paired ? "you have no partner right now"
                                   : w.code == protocol::error_code::unavailable
                                       ? "matchmaking is unavailable; retry later"
                                   : w.code == protocol::error_code::rematch_unavailable
                                       ? "that stranger cannot be brought back"
                                       : "this message needs a join first";
                return make_frame(protocol::encode_error(w.code, text, protocol::name(w.ref)));
            }
        },
        a.what);
}

void hub::deliver(actions batch) {
    // The store calls this on its executor, which for the memory store is
    // strand_ already; other stores post here first.
    asio::dispatch(strand_, [this, batch = std::move(batch)] {
        for (const auto& a : batch) {
            auto it = links_.find(a.to);
            if (it == links_.end()) continue;
            auto link = it->second.lock();
            if (!link) continue;
            auto type = static_cast<server_type>(a.what.index() + 2);
            if (type == server_type::error) metrics::add(metrics_.errors[static_cast<std::size_t>(std::get<out::error>(a.what).code)]);
            if (auto* m = std::get_if<out::matched>(&a.what)) link->set_route(route_for(a.to, *m));
            link->send(type, encode(a));
            if (type == server_type::banned) link->close(close_reason::banned);
        }
    });
}

// Both sides of a pair the store numbered, connected here: each gets the
// other's connection (in the same batch, so both or neither).
peer_route hub::route_for(const session_id& to, const out::matched& m) {
    routes_.erase(to);
    if (m.pair == 0) return {};
    auto p = links_.find(m.partner);
    if (p == links_.end()) return {};
    auto partner = p->second.lock();
    if (!partner) return {};
    routes_[to] = {m.partner, m.pair};
    return {m.pair, m.partner, partner};
}

void hub::replaced(const session_id& id) {
    asio::dispatch(strand_, [this, id] {
        auto it = links_.find(id);
        if (it == links_.end()) return;
        auto link = it->second.lock();
        // Forgotten first, so that this connection's close tells the store nothing.
        links_.erase(it);
        pseudonyms_.erase(id);
        drop_route_to(id);
        if (link) link->close(close_reason::replaced);
    });
}

void hub::start() {
    asio::post(strand_, [this] { broadcast_online(); });
}

void hub::broadcast_online() {
    if (stopping_) return;
    auto count = store_.online();
    if (count != last_online_) {
        last_online_ = count;
        auto f = make_frame(protocol::encode_online(count));
        for (auto& [id, weak] : links_)
            if (auto link = weak.lock()) link->send(server_type::online, f);
    }
    online_timer_.expires_after(settings_.online_interval);
    online_timer_.async_wait([this](boost::system::error_code ec) {
        if (!ec) broadcast_online();
    });
}

void hub::shutdown() {
    asio::post(strand_, [this] {
        stopping_ = true;
        online_timer_.cancel();
        for (auto& [id, weak] : links_)
            if (auto link = weak.lock()) link->close(close_reason::going_away);
        store_.shutdown();
    });
}

}  // namespace serendip
