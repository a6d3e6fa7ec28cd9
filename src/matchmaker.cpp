#include "serendip/matchmaker.hpp"

#include <algorithm>

namespace serendip {

namespace {

bool share_interest(const std::vector<std::string>& a, const std::vector<std::string>& b) {
    return std::any_of(a.begin(), a.end(), [&](const std::string& x) {
        return std::find(b.begin(), b.end(), x) != b.end();
    });
}

std::vector<std::string> common_interests(const std::vector<std::string>& a, const std::vector<std::string>& b) {
    std::vector<std::string> out;
    for (const auto& x : a)
        if (std::find(b.begin(), b.end(), x) != b.end()) out.push_back(x);
    return out;
}

std::size_t mode_index(protocol::mode m) { return m == protocol::mode::video ? 0 : 1; }

}  // namespace

matchmaker::matchmaker(matchmaker_settings settings) : settings_(settings) {}

matchmaker::session* matchmaker::find(const session_id& id) {
    auto it = sessions_.find(id);
    return it == sessions_.end() ? nullptr : &it->second;
}

const matchmaker::session* matchmaker::find(const session_id& id) const {
    auto it = sessions_.find(id);
    return it == sessions_.end() ? nullptr : &it->second;
}

void matchmaker::connect(const session_id& id, const std::string& resume_token, std::string address) {
    auto [it, inserted] = sessions_.try_emplace(id);
    if (!inserted) return;
    it->second.token = resume_token;
    it->second.address = std::move(address);
    tokens_[resume_token] = id;
    ++connected_;
}

std::optional<resumed> matchmaker::resume(const std::string& token, const std::string& new_token, steady_time,
                                          std::string address) {
    auto t = tokens_.find(token);
    if (t == tokens_.end()) return std::nullopt;
    session_id id = t->second;
    tokens_.erase(t);
    session& s = sessions_.at(id);
    s.token = new_token;
    s.address = std::move(address);
    tokens_[new_token] = id;
    if (!s.connected) {
        s.connected = true;
        ++connected_;
        ++s.hold_gen;
    }
    resumed r{id, std::move(s.held)};
    s.held.clear();
    s.held_signals = 0;
    return r;
}

void matchmaker::emit(actions& out, const session_id& to, decltype(action::what) what) {
    session* s = find(to);
    if (!s) return;
    if (s->connected) {
        out.push_back({to, std::move(what)});
        return;
    }
    // Away: keep it for the resume, signals up to a bound.
    if (std::holds_alternative<out::signal>(what)) {
        if (s->held_signals >= settings_.held_signals) return;
        ++s->held_signals;
    }
    s->held.push_back({to, std::move(what)});
}

bool matchmaker::open(const entry& e, steady_time now) const {
    return e.interests.empty() || (e.fallback && now - e.since >= settings_.fallback_after);
}

void matchmaker::schedule(steady_time at, deadline_kind kind, const session_id& id) {
    const session& s = sessions_.at(id);
    deadlines_.push({at, kind, id, kind == deadline_kind::hold_expiry ? s.hold_gen : s.place_gen});
}

void matchmaker::enqueue(actions& out, const session_id& id, const protocol::join& request, steady_time now) {
    session& s = sessions_.at(id);
    auto& q = queue_[mode_index(request.mode)];
    auto it = q.insert(q.end(), entry{id, request.mode, request.interests, request.fallback, now, seq_++});
    s.queued = it;
    ++s.place_gen;
    emit(out, id, out::queued{request.mode, request.interests});
    if (!try_match(out, it, now) && !request.interests.empty() && request.fallback)
        schedule(now + settings_.fallback_after, deadline_kind::open, id);
}

void matchmaker::dequeue(session& s) {
    if (!s.queued) return;
    queue_[mode_index((*s.queued)->mode)].erase(*s.queued);
    s.queued.reset();
    ++s.place_gen;
}

// Rules 1-3: a shared interest beats none, a non-recent partner beats a
// recent one (recent ones only when nobody else fits), then FIFO.
bool matchmaker::try_match(actions& out, queue_list::iterator e, steady_time now) {
    auto& q = queue_[mode_index(e->mode)];
    const session& me = sessions_.at(e->id);
    queue_list::iterator best = q.end();
    int best_rank = 4;
    for (auto c = q.begin(); c != q.end(); ++c) {
        if (c == e || me.blocked.count(c->id)) continue;
        bool shared = share_interest(e->interests, c->interests);
        if (!shared && !(open(*e, now) && open(*c, now))) continue;
        int rank = (recent(e->id, c->id) ? 2 : 0) + (shared ? 0 : 1);
        if (rank < best_rank) {
            best_rank = rank;
            best = c;
            if (rank == 0) break;
        }
    }
    if (best == q.end()) return false;
    bool e_older = e->seq < best->seq;
    pair_up(out, e_older ? e : best, e_older ? best : e, now);
    return true;
}

void matchmaker::pair_up(actions& out, queue_list::iterator older, queue_list::iterator newer, steady_time now) {
    // Rule 7: the longer-waiting side makes the offer.
    session_id a = older->id;
    session_id b = newer->id;
    pair_sessions(out, a, b, older->mode, common_interests(older->interests, newer->interests), false, now);
}

void matchmaker::pair_sessions(actions& out, const session_id& offerer, const session_id& answerer,
                               protocol::mode mode, std::vector<std::string> common, bool rematch, steady_time now) {
    session& sa = sessions_.at(offerer);
    session& sb = sessions_.at(answerer);
    dequeue(sa);
    dequeue(sb);
    auto pair = ++pairs_;
    for (session* x : {&sa, &sb}) {
        x->pair_signaled = false;
        x->pair = pair;
        x->pair_mode = mode;
        ++x->place_gen;
    }
    sa.partner = answerer;
    sb.partner = offerer;
    sa.pair_role = protocol::role::offerer;
    sb.pair_role = protocol::role::answerer;
    paired_ += 2;
    emit(out, offerer, out::matched{protocol::role::offerer, common, answerer, pair, rematch});
    emit(out, answerer, out::matched{protocol::role::answerer, std::move(common), offerer, pair, rematch});
    schedule(now + settings_.pair_timeout, deadline_kind::pair_timeout, offerer);
}

void matchmaker::remember_partner(session& s, const session_id& partner) {
    s.recent.push_back(partner);
    if (s.recent.size() > settings_.recent_partners) s.recent.erase(s.recent.begin());
}

// A pair that ends by `next` or `leave` stays open to "Going back" for the
// window; one ended by a report, a timeout or a disconnect does not. One
// ended because `id` asked to go back to an earlier stranger (`going_back`)
// does not either, and leaves `id`'s last ended pair the one it asked for.
void matchmaker::end_pair(actions& out, const session_id& id, protocol::leave_reason told_partner, steady_time now,
                          bool going_back) {
    session& s = sessions_.at(id);
    session_id partner = *s.partner;
    session& p = sessions_.at(partner);
    s.partner.reset();
    p.partner.reset();
    ++s.place_gen;
    ++p.place_gen;
    paired_ -= 2;
    remember_partner(s, partner);
    remember_partner(p, id);
    p.last_ended = s.pair;
    if (!going_back) s.last_ended = s.pair;
    bool rematchable = told_partner == protocol::leave_reason::next || told_partner == protocol::leave_reason::leave;
    if (rematchable && !going_back) {
        bool offers = s.pair_role == protocol::role::offerer;
        ended_[s.pair] = ended_pair{offers ? id : partner, offers ? partner : id, s.pair_mode, now};
        deadlines_.push({now + settings_.rematch_window, deadline_kind::rematch_expiry, id, s.pair});
    }
    emit(out, partner, out::peer_left{told_partner});
}

actions matchmaker::rematch(const session_id& id, steady_time now) {
    actions out;
    session* s = find(id);
    if (!s) return out;
    auto refuse = [&] {
        emit(out, id, out::error{protocol::error_code::rematch_unavailable, protocol::client_type::rematch});
        return out;
    };
    auto e = ended_.find(s->last_ended);
    if (e == ended_.end() || now - e->second.at > settings_.rematch_window) return refuse();
    const std::uint64_t number = e->first;
    ended_pair& ended = e->second;
    bool offerer = ended.offerer == id;
    const session_id other_id = offerer ? ended.answerer : ended.offerer;
    session* other = find(other_id);
    // The other side must still be there to go back to: not erased, not
    // banned, its own last ended pair still this one (rule 6 of "Going
    // back": reports always win), and connected now (rule 6 of matching).
    if (ended.asked(offerer) || !other || other->banned || s->banned ||
        other->last_ended != number || blocked(id, other_id) || blocked(other_id, id) || !other->connected)
        return refuse();
    if (ended.asked(!offerer)) {
        restore(out, number, now);
        return out;
    }
    ended.asked(offerer) = true;
    // Rule 2: asked while paired, the current pair ends as by `next`.
    if (s->partner) {
        end_pair(out, id, protocol::leave_reason::next, now, true);
        if (s->last_join) enqueue(out, id, *s->last_join, now);
    }
    emit(out, other_id, out::rematch_wanted{});
    return out;
}

// Both asked: out of whatever pair or queue place each holds now, and paired
// again with the earlier pair's mode and roles.
void matchmaker::restore(actions& out, std::uint64_t number, steady_time now) {
    auto node = ended_.extract(number);
    const ended_pair& ended = node.mapped();
    for (const session_id* x : {&ended.offerer, &ended.answerer}) {
        session& sx = sessions_.at(*x);
        if (sx.partner) end_pair(out, *x, protocol::leave_reason::next, now, true);
        dequeue(sx);
    }
    const session& a = sessions_.at(ended.offerer);
    const session& b = sessions_.at(ended.answerer);
    std::vector<std::string> common;
    if (a.last_join && b.last_join) common = common_interests(a.last_join->interests, b.last_join->interests);
    pair_sessions(out, ended.offerer, ended.answerer, ended.mode, std::move(common), true, now);
}

actions matchmaker::join(const session_id& id, const protocol::join& request, steady_time now) {
    actions out;
    session* s = find(id);
    if (!s) return out;
    if (s->partner) end_pair(out, id, protocol::leave_reason::next, now);
    dequeue(*s);
    s->last_join = request;
    enqueue(out, id, request, now);
    return out;
}

actions matchmaker::next(const session_id& id, steady_time now) {
    actions out;
    session* s = find(id);
    if (!s) return out;
    if (!s->last_join) {
        emit(out, id, out::error{protocol::error_code::bad_message, protocol::client_type::next});
        return out;
    }
    if (s->partner) end_pair(out, id, protocol::leave_reason::next, now);
    if (s->queued) {
        // Already waiting: keep the place in line.
        emit(out, id, out::queued{s->last_join->mode, s->last_join->interests});
        return out;
    }
    enqueue(out, id, *s->last_join, now);
    return out;
}

actions matchmaker::leave(const session_id& id, steady_time now) {
    actions out;
    session* s = find(id);
    if (!s) return out;
    if (s->partner) end_pair(out, id, protocol::leave_reason::leave, now);
    dequeue(*s);
    return out;
}

actions matchmaker::report(const session_id& id, steady_time now) {
    actions out;
    session* s = find(id);
    if (!s) return out;
    if (!s->partner) {
        emit(out, id, out::error{protocol::error_code::not_paired, protocol::client_type::report});
        return out;
    }
    session_id partner = *s->partner;
    s->blocked.insert(partner);
    sessions_.at(partner).blocked.insert(id);
    end_pair(out, id, protocol::leave_reason::report, now);
    if (s->last_join) enqueue(out, id, *s->last_join, now);
    return out;
}

actions matchmaker::signal(const session_id& id, std::string data, steady_time) {
    actions out;
    session* s = find(id);
    if (!s) return out;
    if (!s->partner) {
        emit(out, id, out::error{protocol::error_code::not_paired, protocol::client_type::signal});
        return out;
    }
    session_id partner = *s->partner;
    s->pair_signaled = true;
    sessions_.at(partner).pair_signaled = true;
    emit(out, partner, out::signal{std::move(data)});
    return out;
}

void matchmaker::signaled(const session_id& id) {
    session* s = find(id);
    if (!s || !s->partner) return;
    s->pair_signaled = true;
    sessions_.at(*s->partner).pair_signaled = true;
}

actions matchmaker::disconnect(const session_id& id, steady_time now) {
    actions out;
    session* s = find(id);
    if (!s || !s->connected) return out;
    s->connected = false;
    --connected_;
    dequeue(*s);
    ++s->hold_gen;
    schedule(now + settings_.resume_window, deadline_kind::hold_expiry, id);
    return out;
}

actions matchmaker::advance(steady_time now) {
    actions out;
    while (!deadlines_.empty() && deadlines_.top().at <= now) {
        deadline d = deadlines_.top();
        deadlines_.pop();
        if (d.kind == deadline_kind::rematch_expiry) {
            ended_.erase(d.generation);
            continue;
        }
        session* s = find(d.id);
        if (!s) continue;
        switch (d.kind) {
        case deadline_kind::open:
            if (s->queued && s->place_gen == d.generation) try_match(out, *s->queued, now);
            break;
        case deadline_kind::pair_timeout:
            // Rule 8: a pair that never signalled is ended for both.
            if (s->partner && s->place_gen == d.generation && !s->pair_signaled) {
                end_pair(out, d.id, protocol::leave_reason::timeout, now);
                emit(out, d.id, out::peer_left{protocol::leave_reason::timeout});
            }
            break;
        case deadline_kind::rematch_expiry:
            break;  // handled above: it outlives its sessions
        case deadline_kind::hold_expiry:
            if (!s->connected && s->hold_gen == d.generation) {
                if (s->partner) end_pair(out, d.id, protocol::leave_reason::disconnect, now);
                erase(d.id);
            }
            break;
        }
    }
    return out;
}

std::optional<steady_time> matchmaker::next_deadline() {
    if (deadlines_.empty()) return std::nullopt;
    return deadlines_.top().at;
}

void matchmaker::erase(const session_id& id) {
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return;
    tokens_.erase(it->second.token);
    sessions_.erase(it);
}

bool matchmaker::is_queued(const session_id& id) const {
    const session* s = find(id);
    return s && s->queued.has_value();
}

void matchmaker::revoke_resume(const session_id& id) {
    auto* s = find(id);
    if (!s) return;
    s->banned = true;
    if (s->token.empty()) return;
    tokens_.erase(s->token);
    s->token.clear();
}

actions matchmaker::banish(const session_id& id) {
    actions out;
    session* s = find(id);
    if (!s) return out;
    if (s->partner) end_pair(out, id, protocol::leave_reason::disconnect, {});
    dequeue(*s);
    revoke_resume(id);
    return out;
}

std::vector<session_id> matchmaker::connected_at(const std::string& address) const {
    std::vector<session_id> out;
    if (address.empty()) return out;
    for (const auto& [id, s] : sessions_)
        if (s.connected && s.address == address) out.push_back(id);
    return out;
}

std::string matchmaker::address_of(const session_id& id) const {
    auto* s = find(id);
    return s ? s->address : std::string{};
}

std::optional<session_id> matchmaker::partner_of(const session_id& id) const {
    const session* s = find(id);
    if (!s) return std::nullopt;
    return s->partner;
}

bool matchmaker::is_connected(const session_id& id) const {
    const session* s = find(id);
    return s && s->connected;
}

std::vector<session_id> matchmaker::queued_in(protocol::mode m) const {
    std::vector<session_id> out;
    for (const auto& e : queue_[mode_index(m)]) out.push_back(e.id);
    return out;
}

bool matchmaker::blocked(const session_id& a, const session_id& b) const {
    const session* s = find(a);
    return s && s->blocked.count(b);
}

bool matchmaker::recent(const session_id& a, const session_id& b) const {
    const session* sa = find(a);
    const session* sb = find(b);
    auto has = [](const session* s, const session_id& x) {
        return s && std::find(s->recent.begin(), s->recent.end(), x) != s->recent.end();
    };
    return has(sa, b) || has(sb, a);
}

bool matchmaker::eligible(const session_id& a, const session_id& b, steady_time now) const {
    const session* sa = find(a);
    const session* sb = find(b);
    if (!sa || !sb || a == b || !sa->queued || !sb->queued) return false;
    const entry& ea = **sa->queued;
    const entry& eb = **sb->queued;
    if (ea.mode != eb.mode || blocked(a, b) || blocked(b, a)) return false;
    return share_interest(ea.interests, eb.interests) || (open(ea, now) && open(eb, now));
}

}  // namespace serendip
