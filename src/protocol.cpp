#include "serendip/protocol.hpp"
#include "serendip/signal_scanner.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <array>
#include <limits>

namespace serendip::protocol {

using json = nlohmann::json;

namespace {

// Builds a DOM like nlohmann's own parser, but refuses duplicate keys
// (parsers disagree on which one wins) and nesting deeper than max_depth
// (nlohmann recurses per level when destroying and dumping).
class strict_builder {
public:
    explicit strict_builder(json& root) : root_(root) {}

    bool null() { return put(nullptr); }
    bool boolean(bool v) { return put(v); }
    bool number_integer(json::number_integer_t v) { return put(v); }
    bool number_unsigned(json::number_unsigned_t v) { return put(v); }
    bool number_float(json::number_float_t v, const std::string&) { return put(v); }
    bool string(std::string& v) { return put(std::move(v)); }
    bool binary(json::binary_t&) { return fail("binary values are not JSON"); }
    bool start_object(std::size_t) { return open(json::object()); }
    bool start_array(std::size_t) { return open(json::array()); }
    bool end_object() { return close(); }
    bool end_array() { return close(); }
    bool key(std::string& k) {
        json& obj = *stack_.back();
        if (obj.contains(k)) return fail("duplicate key");
        pending_ = &obj[k];
        return true;
    }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
        return fail("not valid JSON");
    }

    const char* error() const { return error_; }

private:
    bool fail(const char* why) {
        if (!error_) error_ = why;
        return false;
    }
    json* slot() {
        if (stack_.empty()) return &root_;
        json& top = *stack_.back();
        if (top.is_array()) {
            top.push_back(nullptr);
            return &top.back();
        }
        return pending_;
    }
    template <class T>
    bool put(T&& v) {
        *slot() = std::forward<T>(v);
        return true;
    }
    bool open(json&& container) {
        if (stack_.size() >= max_depth) return fail("nested too deeply");
        json* s = slot();
        *s = std::move(container);
        stack_.push_back(s);
        return true;
    }
    bool close() {
        stack_.pop_back();
        return true;
    }

    json& root_;
    std::vector<json*> stack_;
    json* pending_ = nullptr;
    const char* error_ = nullptr;
};

decode_error bad(std::string_view ref, std::string message) {
    return {error_code::bad_message, std::move(message), std::string(ref)};
}

const json* field(const json& obj, const char* name) {
    auto it = obj.find(name);
    return it == obj.end() ? nullptr : &*it;
}

std::size_t utf8_length(std::string_view s) {
    return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](char c) {
        return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    }));
}

// C0, DEL and the C1 range (U+0080..U+009F, encoded as C2 80..C2 9F).
bool has_control_chars(std::string_view s) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x20 || c == 0x7F) return true;
        if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) < 0xA0) return true;
    }
    return false;
}

std::variant<join, decode_error> decode_join(const json& m) {
    join j;
    const json* mode_field = field(m, "mode");
    if (!mode_field || !mode_field->is_string()) return bad("join", "join needs mode \"video\" or \"text\"");
    const auto& mode_text = mode_field->get_ref<const std::string&>();
    if (mode_text == "video") j.mode = mode::video;
    else if (mode_text == "text") j.mode = mode::text;
    else return bad("join", "join needs mode \"video\" or \"text\"");

    if (const json* f = field(m, "fallback"); f && !f->is_null()) {
        if (!f->is_boolean()) return bad("join", "fallback must be a boolean");
        j.fallback = f->get<bool>();
    }
    if (const json* f = field(m, "relayOnly"); f && !f->is_null()) {
        if (!f->is_boolean()) return bad("join", "relayOnly must be a boolean");
        j.relay_only = f->get<bool>();
    }
    if (const json* f = field(m, "interests"); f && !f->is_null()) {
        if (!f->is_array() || f->size() > max_interests)
            return bad("join", "interests must be an array of at most 5 strings");
        std::vector<std::string> raw;
        for (const auto& item : *f) {
            if (!item.is_string()) return bad("join", "interests must be strings");
            raw.push_back(item.get<std::string>());
        }
        auto normalised = normalise_interests(raw);
        if (!normalised)
            return bad("join", "each interest must be 1 to 32 characters, without control characters");
        j.interests = std::move(*normalised);
    }
    return j;
}

bool is_int_in(const json& v, std::int64_t lo, std::int64_t hi) {
    if (!v.is_number_integer()) return false;  // true for signed and unsigned
    if (v.is_number_unsigned()) return v.get<std::uint64_t>() <= static_cast<std::uint64_t>(hi);
    auto n = v.get<std::int64_t>();
    return n >= lo && n <= hi;
}

std::variant<signal, decode_error> decode_signal(const json& m) {
    const json* data = field(m, "data");
    if (!data || !data->is_object()) return bad("signal", "signal needs an object data");
    const json* description = field(*data, "description");
    const json* candidate = field(*data, "candidate");
    if ((description != nullptr) == (candidate != nullptr))
        return bad("signal", "signal data needs exactly one of description or candidate");

    json out = json::object();
    signal s;
    if (description) {
        if (!description->is_object()) return bad("signal", "description must be an object");
        const json* type = field(*description, "type");
        static constexpr std::array<std::string_view, 4> types = {"offer", "answer", "pranswer", "rollback"};
        if (!type || !type->is_string() ||
            std::find(types.begin(), types.end(), type->get_ref<const std::string&>()) == types.end())
            return bad("signal", "description.type must be offer, answer, pranswer or rollback");
        const json* sdp = field(*description, "sdp");
        bool is_rollback = type->get_ref<const std::string&>() == "rollback";
        // A rollback carries no SDP; every other description must.
        if (sdp && !sdp->is_string()) return bad("signal", "description.sdp must be a string");
        if (!sdp && !is_rollback) return bad("signal", "description.sdp is required");
        json d = {{"type", *type}};
        if (sdp) d["sdp"] = *sdp;
        out["description"] = std::move(d);
    } else {
        if (!candidate->is_object()) return bad("signal", "candidate must be an object");
        const json* cand = field(*candidate, "candidate");
        if (!cand || !cand->is_string()) return bad("signal", "candidate.candidate must be a string");
        json c = {{"candidate", *cand}};
        if (const json* mid = field(*candidate, "sdpMid")) {
            if (!mid->is_string() && !mid->is_null()) return bad("signal", "candidate.sdpMid must be a string or null");
            c["sdpMid"] = *mid;
        }
        if (const json* index = field(*candidate, "sdpMLineIndex")) {
            if (!index->is_null() && !is_int_in(*index, 0, 65535))
                return bad("signal", "candidate.sdpMLineIndex must be an integer 0-65535 or null");
            c["sdpMLineIndex"] = *index;
        }
        if (const json* ufrag = field(*candidate, "usernameFragment")) {
            if (!ufrag->is_string() && !ufrag->is_null())
                return bad("signal", "candidate.usernameFragment must be a string or null");
            c["usernameFragment"] = *ufrag;
        }
        s.candidate = classify_candidate(cand->get_ref<const std::string&>());
        out["candidate"] = std::move(c);
        s.is_candidate = true;
    }
    s.data = out.dump();
    return s;
}

template <class T, class F>
decode_result lift(F&& decoded) {
    if (auto* e = std::get_if<decode_error>(&decoded)) return std::move(*e);
    return message{std::move(std::get<T>(decoded))};
}

std::string dump(const json& j) {
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

std::optional<std::vector<std::string>> normalise_interests(const std::vector<std::string>& raw) {
    std::vector<std::string> out;
    for (std::string s : raw) {
        auto first = s.find_first_not_of(" \t\r\n");
        if (first == std::string::npos) return std::nullopt;
        s = s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
        // ASCII lower-casing: Unicode case folding needs ICU, and what matters
        // is that both sides are normalised the same way.
        for (char& c : s)
            if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        auto length = utf8_length(s);
        if (length < 1 || length > max_interest_chars || has_control_chars(s)) return std::nullopt;
        if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(std::move(s));
    }
    return out;
}

candidate_type classify_candidate(std::string_view line) {
    if (line.empty()) return candidate_type::none;
    // libwebrtc accepts the SDP attribute form too.
    if (line.starts_with("a=")) line.remove_prefix(2);
    if (!line.starts_with("candidate:")) return candidate_type::unknown;
    line.remove_prefix(10);
    // foundation, component, transport, priority, address, port, "typ", type
    std::array<std::string_view, 8> fields;
    for (std::size_t i = 0; i < fields.size(); ++i) {
        auto space = line.find(' ');
        if (space == std::string_view::npos && i + 1 < fields.size()) return candidate_type::unknown;  // too few
        fields[i] = line.substr(0, space);
        if (fields[i].empty()) return candidate_type::unknown;  // doubled separators
        line = space == std::string_view::npos ? std::string_view{} : line.substr(space + 1);
    }
    if (fields[6] != "typ") return candidate_type::unknown;
    static constexpr std::array<std::pair<std::string_view, candidate_type>, 4> types = {{
        {"host", candidate_type::host},
        {"srflx", candidate_type::srflx},
        {"prflx", candidate_type::prflx},
        {"relay", candidate_type::relay},
    }};
    for (const auto& [text, type] : types)
        if (fields[7] == text) return type;
    return candidate_type::unknown;
}

bool relay_only_allows(const signal& s) {
    return !s.is_candidate || s.candidate == candidate_type::none || s.candidate == candidate_type::relay;
}

decode_result decode(std::string_view text) {
    if (auto s = scan_signal(text)) return message{std::move(*s)};
    return decode_reference(text);
}

decode_result decode_reference(std::string_view text) {
    json root;
    strict_builder builder(root);
    if (!json::sax_parse(text.begin(), text.end(), &builder) || builder.error())
        return decode_error{error_code::bad_json, std::string("message is ") + (builder.error() ? builder.error() : "not valid JSON"), {}};
    if (!root.is_object()) return bad({}, "a message must be a JSON object");
    const json* type = field(root, "type");
    if (!type || !type->is_string()) return bad({}, "a message needs a string field type");
    const auto& t = type->get_ref<const std::string&>();

    if (t == "join") return lift<join>(decode_join(root));
    if (t == "signal") return lift<signal>(decode_signal(root));
    if (t == "next") return message{next{}};
    if (t == "leave") return message{leave{}};
    if (t == "rematch") return message{rematch{}};
    if (t == "report") {
        const json* r = field(root, "reason");
        static constexpr std::array<std::string_view, 5> reasons = {"nudity", "harassment", "spam", "underage", "other"};
        if (r && r->is_string()) {
            auto it = std::find(reasons.begin(), reasons.end(), r->get_ref<const std::string&>());
            if (it != reasons.end()) return message{report{static_cast<report_reason>(it - reasons.begin())}};
        }
        return bad("report", "report needs reason nudity, harassment, spam, underage or other");
    }
    if (t == "face") {
        const json* p = field(root, "present");
        if (!p || !p->is_boolean()) return bad("face", "face needs a boolean present");
        return message{face{p->get<bool>()}};
    }
    // Echo at most 32 bytes of an unknown type back, as a reference.
    std::string ref = t.substr(0, 32);
    return decode_error{error_code::unknown_type, "unknown message type", std::move(ref)};
}

client_type type_of(const message& m) {
    return static_cast<client_type>(m.index());
}

std::string_view name(mode m) { return m == mode::video ? "video" : "text"; }

std::string_view name(error_code c) {
    static constexpr std::array<std::string_view, error_code_count> names = {
        "bad_json", "bad_message", "unknown_type", "too_large", "rate_limited",
        "not_paired", "face_required", "unavailable", "resume_failed", "rematch_unavailable", "internal"};
    return names[static_cast<std::size_t>(c)];
}

std::string_view name(leave_reason r) {
    static constexpr std::array<std::string_view, 5> names = {"next", "leave", "disconnect", "report", "timeout"};
    return names[static_cast<std::size_t>(r)];
}

std::string_view name(report_reason r) {
    static constexpr std::array<std::string_view, 5> names = {"nudity", "harassment", "spam", "underage", "other"};
    return names[static_cast<std::size_t>(r)];
}

std::string_view name(role r) { return r == role::offerer ? "offerer" : "answerer"; }

std::string_view name(client_type t) {
    static constexpr std::array<std::string_view, client_type_count> names = {
        "join", "signal", "next", "leave", "report", "face", "rematch", "unknown"};
    return names[static_cast<std::size_t>(t)];
}

std::string encode_ice_servers(const std::vector<ice_server>& servers) {
    json out = json::array();
    for (const auto& s : servers) {
        json entry = {{"urls", s.urls}};
        if (!s.username.empty()) {
            entry["username"] = s.username;
            entry["credential"] = s.credential;
        }
        out.push_back(std::move(entry));
    }
    return dump(out);
}

namespace {
// 20, not 20.0, when the configured rate is whole.
json number(double v) {
    if (v == std::floor(v) && std::abs(v) < 9e15) return static_cast<std::int64_t>(v);
    return v;
}
}  // namespace

std::string encode_welcome(std::string_view session, std::string_view resume_token, std::uint64_t online,
                           const limits& l, std::string_view ice_servers_json) {
    json j = {{"type", "welcome"},
              {"v", version},
              {"session", session},
              {"resume", resume_token},
              {"online", online},
              {"limits", {{"maxMessage", l.max_message}, {"ratePerSec", number(l.rate_per_sec)}, {"burst", number(l.burst)}}}};
    j["iceServers"] = json::parse(ice_servers_json);
    return dump(j);
}

std::string encode_online(std::uint64_t count) {
    return R"({"type":"online","count":)" + std::to_string(count) + "}";
}

std::string encode_queued(mode m, const std::vector<std::string>& interests) {
    return dump({{"type", "queued"}, {"mode", name(m)}, {"interests", interests}});
}

std::string encode_matched(role r, const std::vector<std::string>& common, std::string_view ice_servers_json,
                           bool rematch) {
    std::string out = dump({{"type", "matched"}, {"role", name(r)}, {"common", common}});
    if (rematch) {
        out.pop_back();
        out += R"(,"rematch":true})";
    }
    // Splice the pre-encoded array in rather than parsing it again per match.
    out.pop_back();
    out += R"(,"iceServers":)";
    out += ice_servers_json;
    out += '}';
    return out;
}

constexpr std::string_view signal_prefix = R"({"type":"signal","data":)";

std::string encode_signal(std::string_view data_json) {
    std::string out;
    out.reserve(data_json.size() + signal_prefix.size() + 1);
    out += signal_prefix;
    out += data_json;
    out += '}';
    return out;
}

std::string_view signal_data_of(std::string_view signal_frame) {
    return signal_frame.substr(signal_prefix.size(), signal_frame.size() - signal_prefix.size() - 1);
}

std::string encode_rematch_wanted() { return R"({"type":"rematch_wanted"})"; }

std::string encode_peer_left(leave_reason r) {
    return R"({"type":"peer_left","reason":")" + std::string(name(r)) + "\"}";
}

std::string encode_error(error_code code, std::string_view message, std::string_view ref) {
    json j = {{"type", "error"}, {"code", name(code)}, {"message", message}};
    if (!ref.empty()) j["ref"] = ref;
    return dump(j);
}

std::string encode_banned(std::int64_t until_unix, std::string_view reason) {
    return dump({{"type", "banned"}, {"until", until_unix}, {"reason", reason}});
}

std::string encode_join(mode m, const std::vector<std::string>& interests, bool fallback, bool relay_only) {
    json j = {{"type", "join"}, {"mode", name(m)}, {"interests", interests}, {"fallback", fallback}};
    if (relay_only) j["relayOnly"] = true;
    return dump(j);
}

}  // namespace serendip::protocol
