#include "serendip/redis_store.hpp"

#include "redis_script.lua.hpp"
#include "serendip/hub.hpp"  // random_token

#include <boost/asio/post.hpp>
#include <openssl/sha.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <cstdio>

namespace serendip {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

namespace {

constexpr char US = '\x1f', RS = '\x1e', GS = '\x1d';

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    if (s.empty()) return out;
    while (true) {
        auto i = s.find(sep);
        out.push_back(s.substr(0, i));
        if (i == std::string_view::npos) break;
        s.remove_prefix(i + 1);
    }
    return out;
}

std::string join_list(const std::vector<std::string>& v) {
    std::string out;
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (i) out += RS;
        out += v[i];
    }
    return out;
}

std::vector<std::string> to_list(std::string_view s) {
    std::vector<std::string> out;
    for (auto x : split(s, RS)) out.emplace_back(x);
    return out;
}

template <class E>
std::optional<E> from_name(std::string_view n, std::size_t count) {
    for (std::size_t i = 0; i < count; ++i)
        if (protocol::name(static_cast<E>(i)) == n) return static_cast<E>(i);
    return std::nullopt;
}

std::string hex(const unsigned char* bytes, std::size_t n) {
    std::string out;
    char buf[3];
    for (std::size_t i = 0; i < n; ++i) {
        std::snprintf(buf, sizeof buf, "%02x", bytes[i]);
        out += buf;
    }
    return out;
}

std::string sha1_hex(std::string_view text) {
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
    return hex(digest, sizeof digest);
}

// Redis never sees a resume token, only this (128 bits of its SHA-256):
// whoever can read Redis still cannot resume anyone's session.
std::string token_key(std::string_view token) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), digest);
    return hex(digest, 16);
}

std::string ms(std::chrono::milliseconds d) { return std::to_string(d.count()); }

// What the script says is left of a ban (ms, as text), rounded up to whole
// seconds (a client told "0 s" would retry at once); nullopt if none.
std::optional<std::chrono::seconds> ban_left(std::string_view ms_text) {
    long long left = 0;
    std::from_chars(ms_text.data(), ms_text.data() + ms_text.size(), left);
    if (left <= 0) return std::nullopt;
    return std::chrono::ceil<std::chrono::seconds>(std::chrono::milliseconds(left));
}

// "to US kind US a US b US c" into an action. For `matched`, `m` gets the
// partner, its instance and the pair id; for a signal an instance published
// directly, `from` gets its sender.
std::optional<action> decode(std::string_view text, redis_store_match* m, session_id* from) {
    auto f = split(text, US);
    if (f.size() < 5) return std::nullopt;
    action a{std::string(f[0]), out::error{}};
    switch (f[1].empty() ? '?' : f[1][0]) {
    case 'q': a.what = out::queued{f[2] == "text" ? protocol::mode::text : protocol::mode::video, to_list(f[3])}; break;
    case 'm':
        a.what = out::matched{f[2] == "offerer" ? protocol::role::offerer : protocol::role::answerer, to_list(f[3]),
                              {}, 0, f.size() > 7 && f[7] == "1"};
        if (m) *m = {std::string(f[4]), f.size() > 6 ? std::string(f[5]) : "", f.size() > 6 ? std::string(f[6]) : ""};
        break;
    case 's':
        a.what = out::signal{std::string(f[2])};
        if (from) *from = std::string(f[3]);
        break;
    case 'l': {
        auto r = from_name<protocol::leave_reason>(f[2], 5);
        if (!r) return std::nullopt;
        a.what = out::peer_left{*r};
        break;
    }
    case 'e': {
        auto c = from_name<protocol::error_code>(f[2], protocol::error_code_count);
        auto ref = from_name<protocol::client_type>(f[3], protocol::client_type_count);
        if (!c || !ref) return std::nullopt;
        a.what = out::error{*c, *ref};
        break;
    }
    case 'b': a.what = out::banned{ban_left(f[2]).value_or(std::chrono::seconds(1))}; break;
    case 'w': a.what = out::rematch_wanted{}; break;
    default: return std::nullopt;
    }
    return a;
}

}  // namespace

redis_store::redis_store(asio::any_io_executor strand, matchmaker_settings rules, redis_store_settings settings)
    : strand_(std::move(strand)),
      rules_(rules),
      settings_(std::move(settings)),
      self_(settings_.instance_id.empty() ? random_token(6) : settings_.instance_id),
      sha_(sha1_hex(detail::redis_script)),
      beat_timer_(strand_),
      tick_timer_(strand_),
      pair_timer_(strand_) {
    fixed_args_ = {self_,
                   ms(rules_.fallback_after),
                   ms(rules_.pair_timeout),
                   ms(rules_.resume_window),
                   std::to_string(rules_.held_signals),
                   std::to_string(rules_.recent_partners),
                   ms(settings_.session_ttl),
                   ms(settings_.instance_ttl),
                   std::to_string(settings_.reports.threshold),
                   std::to_string(settings_.reports.per_reporter_per_hour),
                   ms(rules_.rematch_window)};
    link_ = std::make_unique<redis_link>(
        strand_, settings_.where, settings_.link, "sd:c:" + self_,
        [this](std::string_view payload) { on_message(payload); }, [this](bool r) { on_link(r); });
    asio::post(strand_, [this] { start(); });
}

redis_store::~redis_store() = default;

void redis_store::start() {
    if (stopped_) return;
    spdlog::info("redis store: instance {}", self_);
    link_->start();
    beat();
}

// ---- talking to the script ----

void redis_store::eval(std::string op, std::vector<std::string> args, result_handler done) {
    // Client operations carry the (Redis) time after which they must not run.
    bool client_op = op == "join" || op == "next" || op == "leave" || op == "report" || op == "signal" ||
                     op == "rematch" || op == "connect" || op == "resume";
    std::string expires = "0";
    if (client_op && offset_ms_) {
        auto now = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now().time_since_epoch()).count();
        expires = std::to_string(now + *offset_ms_ + settings_.link.command_timeout.count());
    }
    waiting_ops_.push_back({std::move(op), std::move(expires), std::move(args), std::move(done)});
    if (!call_in_flight_) send_waiting();
}

// One script call at a time: the operations that arrive while it runs go
// together in the next, so that under load the call's fixed cost (in Redis
// and on both ends of the socket) is shared by many.
void redis_store::send_waiting() {
    if (waiting_ops_.empty()) return;
    constexpr std::size_t max_words = 4096;  // keeps one call from holding Redis long
    auto ops = std::make_shared<std::vector<script_op>>();
    auto cmd = std::make_shared<std::vector<std::string>>();
    cmd->insert(cmd->end(), {"EVALSHA", sha_, "0"});
    cmd->insert(cmd->end(), fixed_args_.begin(), fixed_args_.end());
    std::size_t taken = 0;
    for (; taken < waiting_ops_.size(); ++taken) {
        auto& op = waiting_ops_[taken];
        if (taken > 0 && cmd->size() + 3 + op.args.size() > max_words) break;
        cmd->push_back(op.name);
        cmd->push_back(op.expires);
        cmd->push_back(std::to_string(op.args.size()));
        for (auto& a : op.args) cmd->push_back(std::move(a));
        ops->push_back(std::move(op));
    }
    waiting_ops_.erase(waiting_ops_.begin(), waiting_ops_.begin() + static_cast<std::ptrdiff_t>(taken));
    call_in_flight_ = true;
    // `cmd` is kept until the reply, so that a NOSCRIPT can re-send it as EVAL.
    link_->command(*cmd, [this, cmd, ops](boost::system::error_code ec, redis_reply r) {
        if (!ec && r.kind == redis_reply::error && r.str.rfind("NOSCRIPT", 0) == 0) {
            // Redis forgot the script (restart, SCRIPT FLUSH): EVAL sends and caches it again.
            (*cmd)[0] = "EVAL";
            (*cmd)[1] = detail::redis_script;
            return link_->command(*cmd, [this, ops](boost::system::error_code ec, redis_reply r) {
                answered(ec, r, *ops);
            });
        }
        answered(ec, r, *ops);
    });
}

void redis_store::answered(boost::system::error_code ec, const redis_reply& r, std::vector<script_op>& ops) {
    static const redis_reply none;
    bool ok = !ec && r.kind == redis_reply::array && r.elements.size() == 2 &&
              r.elements[1].elements.size() == ops.size();
    if (!ec && !ok) spdlog::error("redis store: unexpected script reply ({})", r.kind == redis_reply::error ? r.str : "shape");
    if (ok) arm_tick(r.elements[0].integer);
    // Still "in flight" while the answers run, so that operations they start
    // gather into the next call.
    for (std::size_t i = 0; i < ops.size(); ++i) {
        if (!ok) {
            ops[i].done(false, none);
            continue;
        }
        const auto& extra = r.elements[1].elements[i];
        bool stale = extra.elements.size() == 1 && extra.elements[0].str == "stale";
        ops[i].done(!stale, extra);
    }
    call_in_flight_ = false;
    if (!link_->ready()) {
        // The link is down: what waits would only fail later.
        auto left = std::move(waiting_ops_);
        waiting_ops_.clear();
        for (auto& op : left) op.done(false, none);
        return;
    }
    send_waiting();
}

void redis_store::deliver(actions batch) {
    update_counts();
    if (!batch.empty() && sink_) sink_->deliver(std::move(batch));
}

void redis_store::update_counts() {
    local_count_.store(locals_.size(), std::memory_order_relaxed);
    queued_.store(n_waiting_, std::memory_order_relaxed);
    paired_.store(n_paired_, std::memory_order_relaxed);
}

// Every change of a mirror entry goes through here, so the counts stay O(1).
void redis_store::set_state(const session_id& id, local& l, bool waiting, session_id partner) {
    n_waiting_ += static_cast<std::size_t>(waiting) - static_cast<std::size_t>(l.waiting);
    n_paired_ += static_cast<std::size_t>(!partner.empty()) - static_cast<std::size_t>(!l.partner.empty());
    l.waiting = waiting;
    if (partner != l.partner) {
        clear_pair_timeout(id, l);
        l.partner_instance.clear();
        l.pair_id.clear();
    }
    l.partner = std::move(partner);
}

void redis_store::note(const session_id& id, local& l, const action& a, const redis_store_match& m) {
    if (std::holds_alternative<out::queued>(a.what)) {
        set_state(id, l, true, l.partner);
    } else if (auto* matched = std::get_if<out::matched>(&a.what)) {
        set_state(id, l, false, {});
        set_state(id, l, false, m.partner);
        l.partner_instance = m.instance;
        l.pair_id = m.pair_id;
        if (matched->role == protocol::role::offerer && !m.pair_id.empty()) arm_pair_timeout(id, l);
    } else if (std::holds_alternative<out::signal>(a.what)) {
        clear_pair_timeout(id, l);
    } else if (std::holds_alternative<out::peer_left>(a.what)) {
        set_state(id, l, l.waiting, {});
    }
}

// A batch of actions for sessions of this instance, published by a script
// call of any instance or directly by the sending instance (signals).
void redis_store::on_message(std::string_view payload) {
    if (stopped_) return;
    actions batch;
    for (auto item : split(payload, GS)) take(item, batch);
    deliver(std::move(batch));
}

void redis_store::take(std::string_view item, actions& batch) {
    auto us = item.find(US);
    if (us != std::string_view::npos && item.substr(us + 1, 2) == "x\x1f") return replaced(std::string(item.substr(0, us)));
    if (us != std::string_view::npos && item.substr(us + 1, 2) == "B\x1f") return banish_others(item);
    if (us != std::string_view::npos && item.substr(us + 1, 2) == "u\x1f") {
        // The session's own rematch ended its pair: the mirror forgets the partner.
        if (auto it = locals_.find(std::string(item.substr(0, us))); it != locals_.end())
            set_state(it->first, it->second, it->second.waiting, {});
        return;
    }
    redis_store_match m;
    session_id from;
    auto a = decode(item, &m, &from);
    if (!a) return;
    auto it = locals_.find(a->to);
    if (it == locals_.end() && resumes_in_flight_ && early_.size() < 4096) {
        // Perhaps for a session whose resume here has run in Redis but whose
        // reply has not arrived yet: kept until it does.
        early_.emplace_back(item);
        return;
    }
    if (!from.empty() && (it == locals_.end() || it->second.partner != from || it->second.forwarding)) {
        // Sent directly by the partner's instance, but the pair changed
        // meanwhile or the session moved: the script decides.
        return forward(from, a->to, std::move(std::get<out::signal>(a->what).data));
    }
    if (it == locals_.end()) return;  // resumed elsewhere meanwhile: at most once
    note(it->first, it->second, *a, m);
    batch.push_back(std::move(*a));
}

// An address was banned: this instance's other sessions from it go too
// (the reported session itself, named first, was told already).
void redis_store::banish_others(std::string_view item) {
    auto f = split(item, US);
    if (f.size() < 3 || f[2].empty() || !link_->ready()) return;
    for (const auto& [id, l] : locals_)
        if (id != f[0] && l.address == f[2]) eval("banish", {id}, [](bool, const redis_reply&) {});
}

void redis_store::forward(const session_id& from, const session_id& to, std::string data) {
    if (!link_->ready()) return;
    if (auto it = locals_.find(to); it != locals_.end()) ++it->second.forwarding;
    eval("relay", {from, to, std::move(data)}, [this, to](bool, const redis_reply&) {
        if (auto it = locals_.find(to); it != locals_.end() && it->second.forwarding) --it->second.forwarding;
    });
}

void redis_store::replaced(const session_id& id) {
    auto it = locals_.find(id);
    if (it == locals_.end()) return;
    set_state(id, it->second, false, {});
    locals_.erase(it);
    update_counts();
    if (sink_) sink_->replaced(id);
}

// ---- rule 8, for this instance's offerers ----

void redis_store::arm_pair_timeout(const session_id& id, local& l) {
    clear_pair_timeout(id, l);
    l.timeout_at = clock::now() + rules_.pair_timeout;
    pair_deadlines_.emplace(*l.timeout_at, id);
    schedule_pair_timer();
}

void redis_store::clear_pair_timeout(const session_id& id, local& l) {
    if (!l.timeout_at) return;
    pair_deadlines_.erase({*l.timeout_at, id});
    l.timeout_at.reset();
}

void redis_store::schedule_pair_timer() {
    if (pair_deadlines_.empty()) return;
    arm_earliest(pair_timer_, pair_timer_at_, pair_deadlines_.begin()->first, [this] { on_pair_timer(); });
}

// Arms `timer` for `at` unless it already fires no later; `fire` runs on the
// strand once it does (not after shutdown).
void redis_store::arm_earliest(boost::asio::steady_timer& timer, std::optional<clock::time_point>& armed_for,
                               clock::time_point at, std::function<void()> fire) {
    if (stopped_ || (armed_for && *armed_for <= at)) return;
    armed_for = at;
    timer.expires_at(at);
    timer.async_wait([this, &armed_for, fire = std::move(fire)](boost::system::error_code ec) {
        if (ec || stopped_) return;
        armed_for.reset();
        fire();
    });
}

void redis_store::on_pair_timer() {
    auto now = clock::now();
    while (!pair_deadlines_.empty() && pair_deadlines_.begin()->first <= now) {
        auto id = pair_deadlines_.begin()->second;
        pair_deadlines_.erase(pair_deadlines_.begin());
        auto it = locals_.find(id);
        if (it == locals_.end()) continue;
        it->second.timeout_at.reset();
        // The script ends the pair only if it is still this one.
        if (link_->ready()) eval("timeout", {id, it->second.pair_id}, [](bool, const redis_reply&) {});
    }
    schedule_pair_timer();
}

void redis_store::arm_tick(long long delay_ms) {
    if (delay_ms < 0) return;
    arm_earliest(tick_timer_, tick_at_, clock::now() + std::chrono::milliseconds(delay_ms), [this] {
        if (link_->ready()) eval("tick", {}, [](bool, const redis_reply&) {});
    });
}

// ---- link state, heartbeat, restore ----

void redis_store::on_link(bool ready) {
    if (stopped_) return;
    if (!ready) {
        ready_.store(false);
        restored_ = false;
        tick_at_.reset();
        tick_timer_.cancel();
        return;
    }
    // Redis is back (or new): finish what failed meanwhile, then rebuild this
    // instance's sessions if it lost them.
    for (const auto& id : pending_disconnects_) eval("disconnect", {id}, [](bool, const redis_reply&) {});
    pending_disconnects_.clear();
    beats_ = 0;
    beat_timer_.cancel();
    beat();
}

void redis_store::beat() {
    if (stopped_) return;
    beat_timer_.expires_after(settings_.heartbeat);
    // Re-arming cancels the previous wait (its handler sees operation_aborted).
    beat_timer_.async_wait([this](boost::system::error_code ec) {
        if (ec || stopped_) return;
        beat();
    });
    if (!link_->ready()) return;
    // Session TTLs are refreshed every tenth beat; liveness every beat.
    // Each beat refreshes the TTLs of a tenth of the sessions, so that no
    // single call holds Redis long (all 2,000 at once took ~20 ms: a p99 spike).
    std::vector<std::string> args{std::to_string(locals_.size())};
    auto slice = beats_++ % 10;
    for (const auto& [id, l] : locals_)
        if (std::hash<std::string>{}(id) % 10 == slice) args.push_back(id);
    eval("beat", std::move(args), [this](bool ok, const redis_reply& extra) {
        if (!ok || extra.elements.size() != 3) return;
        auto now = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now().time_since_epoch()).count();
        offset_ms_ = extra.elements[2].integer - now;
        others_.store(static_cast<std::uint64_t>(std::max(0LL, extra.elements[1].integer)), std::memory_order_relaxed);
        // Our liveness key was missing: Redis is new or lost its data, or it
        // buried this instance while it could not beat. Either way, rebuild.
        if (extra.elements[0].integer == 0 || !restored_) restore();
    });
}

void redis_store::restore() {
    if (stopped_) return;
    std::vector<std::string> args;
    std::size_t groups = 0;
    auto flush = [&](bool last) {
        auto done = [this, last](bool ok, const redis_reply&) {
            if (!last) return;
            if (!ok) return;  // the link is down again; the next ready restores
            if (!restored_) spdlog::info("redis store: ready ({} local sessions restored)", locals_.size());
            restored_ = true;
            ready_.store(true);
        };
        eval("restore", std::move(args), done);
        args.clear();
        groups = 0;
    };
    for (const auto& [id, l] : locals_) {
        args.insert(args.end(), {id, l.token, l.address,
                                 l.last_join ? std::string(protocol::name(l.last_join->mode)) : "",
                                 l.last_join ? join_list(l.last_join->interests) : "",
                                 l.last_join && l.last_join->fallback ? "1" : "0", l.waiting ? "1" : "0", l.partner});
        if (++groups == 200) flush(false);
    }
    flush(true);
}

// ---- the store interface ----

void redis_store::unavailable(const session_id& id, protocol::client_type ref) {
    deliver({{id, out::error{protocol::error_code::unavailable, ref}}});
}

void redis_store::simple(const char* op, const session_id& id, protocol::client_type ref, std::vector<std::string> more) {
    auto it = locals_.find(id);
    if (it == locals_.end()) return;
    if (!ready_.load()) return unavailable(id, ref);
    std::vector<std::string> args{id, it->second.token};
    for (auto& m : more) args.push_back(std::move(m));
    eval(op, std::move(args), [this, id, ref](bool ok, const redis_reply&) {
        if (!ok && locals_.count(id)) unavailable(id, ref);
    });
}

// Without Redis no ban can be read: the connection is let in (a ban is a
// deterrent, and refusing everyone would be worse).
void redis_store::check_ban(const address_hashes& address,
                            std::function<void(std::optional<std::chrono::seconds>)> done) {
    asio::post(strand_, [this, address, done = std::move(done)]() mutable {
        auto answer = [this, done = std::move(done)](std::optional<std::chrono::seconds> ban) mutable {
            asio::post(strand_, [done = std::move(done), ban] { done(ban); });
        };
        if (stopped_ || !link_->ready() || address.today.empty()) return answer(std::nullopt);
        eval("ban", {address.today, address.yesterday},
             [answer = std::move(answer)](bool ok, const redis_reply& extra) mutable {
                 answer(ok && extra.elements.size() == 1 ? ban_left(extra.elements[0].str) : std::nullopt);
             });
    });
}

void redis_store::connect(const session_id& id, const std::string& resume_token, const std::string& address) {
    asio::post(strand_, [this, id, resume_token, address] {
        if (stopped_) return;
        auto& l = locals_[id];
        l.token = token_key(resume_token);
        l.address = address;
        update_counts();
        if (!link_->ready()) return;  // created by the restore when Redis is back
        eval("connect", {id, l.token, address}, [](bool, const redis_reply&) {});
    });
}

void redis_store::resume(const std::string& token, const std::string& new_token, const std::string& address,
                         std::function<void(std::optional<resumed>)> done) {
    asio::post(strand_, [this, token, new_token, address, done = std::move(done)]() mutable {
        if (stopped_ || !ready_.load()) return asio::post(strand_, [done = std::move(done)] { done(std::nullopt); });
        ++resumes_in_flight_;
        eval("resume", {token_key(token), token_key(new_token), address}, [this, new_token, address,
                                                     done = std::move(done)](bool ok, const redis_reply& extra) {
            --resumes_in_flight_;
            std::optional<resumed> result;
            if (ok && extra.elements.size() >= 7 && extra.elements[0].str != "-") {
                const auto& e = extra.elements;
                resumed r{e[0].str, {}};
                local& l = locals_[r.id];
                l.token = token_key(new_token);
                l.address = address;
                if (!e[1].str.empty())
                    l.last_join = protocol::join{e[1].str == "text" ? protocol::mode::text : protocol::mode::video,
                                                 to_list(e[2].str), e[3].str == "1", false};
                set_state(r.id, l, e[5].str == "1", e[4].str);  // its instance unknown: signals by the script
                for (std::size_t i = 7; i < e.size(); ++i)
                    if (auto a = decode(r.id + US + e[i].str, nullptr, nullptr)) r.held.push_back(std::move(*a));
                // Then what was published for it before this reply came.
                std::vector<std::string> early = std::move(early_);
                early_.clear();
                for (const auto& item : early) {
                    if (item.compare(0, r.id.size() + 1, r.id + US) == 0) take(item, r.held);
                    else if (resumes_in_flight_) early_.push_back(item);
                }
                update_counts();
                result = std::move(r);
            }
            if (!resumes_in_flight_) early_.clear();
            // Posted, never inline (handle() may run inside other work).
            asio::post(strand_, [done = std::move(done), result = std::move(result)]() mutable { done(std::move(result)); });
        });
    });
}

void redis_store::join(const session_id& id, protocol::join request) {
    asio::post(strand_, [this, id, request = std::move(request)] {
        if (stopped_) return;
        auto it = locals_.find(id);
        if (it == locals_.end()) return;
        it->second.last_join = request;
        if (!ready_.load()) return unavailable(id, protocol::client_type::join);
        set_state(id, it->second, it->second.waiting, {});
        simple("join", id, protocol::client_type::join,
               {std::string(protocol::name(request.mode)), join_list(request.interests), request.fallback ? "1" : "0"});
    });
}

void redis_store::next(const session_id& id) {
    asio::post(strand_, [this, id] {
        if (stopped_) return;
        if (ready_.load())
            if (auto it = locals_.find(id); it != locals_.end()) set_state(id, it->second, it->second.waiting, {});
        simple("next", id, protocol::client_type::next);
    });
}

void redis_store::leave(const session_id& id) {
    asio::post(strand_, [this, id] {
        if (stopped_) return;
        if (auto it = locals_.find(id); it != locals_.end() && ready_.load()) {
            set_state(id, it->second, false, {});
        }
        simple("leave", id, protocol::client_type::leave);
        update_counts();
    });
}

void redis_store::report(const session_id& id, protocol::report_reason) {
    asio::post(strand_, [this, id] {
        if (stopped_) return;
        if (auto it = locals_.find(id); it != locals_.end() && ready_.load())
            set_state(id, it->second, it->second.waiting, {});
        simple("report", id, protocol::client_type::report);
    });
}

void redis_store::rematch(const session_id& id) {
    // The mirror keeps the partner: the script may refuse, and says so ('u')
    // when the pair does end.
    asio::post(strand_, [this, id] {
        if (stopped_) return;
        simple("rematch", id, protocol::client_type::rematch);
    });
}

void redis_store::signal(const session_id& id, std::string data) {
    asio::post(strand_, [this, id, data = std::move(data)]() mutable {
        if (stopped_) return;
        auto it = locals_.find(id);
        if (it == locals_.end()) return;
        local& me = it->second;
        if (!ready_.load()) {
            // Redis is away, but a partner on this instance can still be reached.
            auto p = locals_.find(me.partner);
            if (!me.partner.empty() && p != locals_.end() && p->second.partner == id)
                return deliver({{p->first, out::signal{std::move(data)}}});
            return unavailable(id, protocol::client_type::signal);
        }
        clear_pair_timeout(id, me);
        if (!signal_directly(id, me, data)) signal_by_script(id, std::move(data));
    });
}

// The hot path: no script. A partner on this instance gets the signal at
// once; one on another instance by a PUBLISH to its channel. False when the
// script must decide (partner away or unknown, or an earlier signal of this
// session still on its way through the script, which must not be overtaken).
bool redis_store::signal_directly(const session_id& id, local& me, std::string& data) {
    if (me.partner.empty() || me.partner_instance.empty() || me.scripted) return false;
    if (me.partner_instance == self_) {
        auto p = locals_.find(me.partner);
        if (p == locals_.end() || p->second.partner != id || p->second.forwarding) return false;
        clear_pair_timeout(p->first, p->second);
        deliver({{p->first, out::signal{std::move(data)}}});
        return true;
    }
    std::string payload;
    payload.reserve(me.partner.size() + data.size() + id.size() + 8);
    payload.append(me.partner).append(1, US).append("s").append(1, US).append(data).append(1, US).append(id).append(1, US);
    link_->command({"PUBLISH", "sd:c:" + me.partner_instance, std::move(payload)},
                   [this, id, data = std::move(data)](boost::system::error_code ec, redis_reply r) mutable {
                       if (!locals_.count(id)) return;
                       if (ec) return unavailable(id, protocol::client_type::signal);
                       // Nobody listens on that channel: the script knows whether the
                       // partner's instance is gone (peer_left) or the partner moved.
                       if (r.kind == redis_reply::number && r.integer == 0) signal_by_script(id, std::move(data));
                   });
    return true;
}

void redis_store::signal_by_script(const session_id& id, std::string data) {
    auto it = locals_.find(id);
    if (it == locals_.end()) return;
    ++it->second.scripted;
    eval("signal", {id, it->second.token, std::move(data)}, [this, id](bool ok, const redis_reply&) {
        auto it = locals_.find(id);
        if (it == locals_.end()) return;
        if (it->second.scripted) --it->second.scripted;
        if (!ok) unavailable(id, protocol::client_type::signal);
    });
}

void redis_store::disconnect(const session_id& id) {
    asio::post(strand_, [this, id] {
        if (stopped_) return;
        auto it = locals_.find(id);
        if (it == locals_.end()) return;
        set_state(id, it->second, false, {});
        locals_.erase(it);
        update_counts();
        if (!link_->ready()) {
            pending_disconnects_.insert(id);
            return;
        }
        eval("disconnect", {id}, [this, id](bool ok, const redis_reply&) {
            if (!ok && !locals_.count(id)) pending_disconnects_.insert(id);
        });
    });
}

std::uint64_t redis_store::online() const {
    return local_count_.load(std::memory_order_relaxed) + others_.load(std::memory_order_relaxed);
}

store_status redis_store::status() const {
    if (ready_.load()) return {};
    return {false, "redis unavailable"};
}

store::stats redis_store::snapshot() const {
    auto n = local_count_.load(std::memory_order_relaxed);
    return {n, n, queued_.load(std::memory_order_relaxed), paired_.load(std::memory_order_relaxed)};
}

void redis_store::shutdown() {
    asio::post(strand_, [this] {
        if (stopped_) return;
        stopped_ = true;
        ready_.store(false);
        beat_timer_.cancel();
        tick_timer_.cancel();
        pair_timer_.cancel();
        if (!link_->ready()) return link_->stop();
        // Leave no liveness behind: hold what is still here for resume elsewhere.
        eval("drop", {}, [this](bool, const redis_reply&) { link_->stop(); });
    });
}

}  // namespace serendip
