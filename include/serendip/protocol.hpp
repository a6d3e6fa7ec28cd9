#pragma once
// The wire format of ../shared/PROTOCOL.md: decode text frames into typed
// messages (or an error code), encode typed messages into text frames.
// Pure functions, no I/O; the JSON library stays inside protocol.cpp.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace serendip::protocol {

inline constexpr int version = 1;
inline constexpr std::size_t max_interests = 5;
inline constexpr std::size_t max_interest_chars = 32;
// Deeper JSON is refused before it can cost a recursion; real messages nest 3 levels.
inline constexpr std::size_t max_depth = 16;

enum class mode { video, text };
enum class report_reason { nudity, harassment, spam, underage, other };
enum class leave_reason { next, leave, disconnect, report, timeout };
enum class role { offerer, answerer };

enum class error_code {
    bad_json,
    bad_message,
    unknown_type,
    too_large,
    rate_limited,
    not_paired,
    face_required,
    unavailable,
    resume_failed,
    rematch_unavailable,
    internal,
};
inline constexpr std::size_t error_code_count = 11;

// Message types a client may send, for metrics and `ref`.
// In the order of `message`'s alternatives (type_of relies on it).
enum class client_type { join, signal, next, leave, report, face, rematch, unknown };
inline constexpr std::size_t client_type_count = 8;

struct join {
    protocol::mode mode = mode::video;
    std::vector<std::string> interests;  // normalised: trimmed, lower-cased, unique
    bool fallback = true;
    bool relay_only = false;  // extension: see docs/protocol.md
};

// The `typ` of an ICE candidate; `none` for end-of-candidates (an empty
// candidate string), `unknown` for anything that does not parse.
enum class candidate_type { none, host, srflx, prflx, relay, unknown };

struct signal {
    std::string data;  // re-encoded from validated fields, ready to relay
    bool is_candidate = false;
    candidate_type candidate = candidate_type::none;  // when is_candidate
};

struct next {};
struct leave {};
struct report {
    report_reason reason;
};
struct face {
    bool present;
};
// "Going back": take me back to the stranger of my pair that ended last.
struct rematch {};

using message = std::variant<join, signal, next, leave, report, face, rematch>;

struct decode_error {
    error_code code;
    std::string message;  // for people
    std::string ref;      // the type it answers, if known
};

using decode_result = std::variant<message, decode_error>;

// The common signals go through a one-pass scanner (signal_scanner.hpp);
// everything else, and whatever the scanner does not take, through the DOM
// decoder, which is the reference: both give the same result for any text.
decode_result decode(std::string_view text);
decode_result decode_reference(std::string_view text);

client_type type_of(const message& m);

std::string_view name(mode m);
std::string_view name(error_code c);
std::string_view name(leave_reason r);
std::string_view name(report_reason r);
std::string_view name(role r);
std::string_view name(client_type t);

// Reads the type of an RTCIceCandidate's `candidate` line by position, as
// browsers parse it (RFC 8839 section 5.1): "candidate:" foundation component
// transport priority address port "typ" TYPE [extensions]. Case-sensitive and
// strict: "typ relay" anywhere else (a foundation, raddr, an extension) does
// not count, and anything malformed is `unknown`.
candidate_type classify_candidate(std::string_view line);

// Whether a signal from a client that declared `relayOnly` may reach its
// partner: descriptions (SDP is opaque to us), end-of-candidates and relay
// candidates. Every other candidate would reveal an address of the client.
bool relay_only_allows(const signal& s);

// Normalises interests as PROTOCOL.md says; nullopt if one is invalid.
std::optional<std::vector<std::string>> normalise_interests(const std::vector<std::string>& raw);

struct ice_server {
    std::vector<std::string> urls;
    std::string username;    // empty for STUN
    std::string credential;  // empty for STUN
};

struct limits {
    std::size_t max_message;
    double rate_per_sec;
    double burst;
};

// Encoded once and reused: the iceServers array as JSON text.
std::string encode_ice_servers(const std::vector<ice_server>& servers);

std::string encode_welcome(std::string_view session, std::string_view resume_token, std::uint64_t online,
                           const limits& l, std::string_view ice_servers_json);
std::string encode_online(std::uint64_t count);
std::string encode_queued(mode m, const std::vector<std::string>& interests);
// `rematch`: the pair is one restored by "Going back" (the field is sent only then).
std::string encode_matched(role r, const std::vector<std::string>& common, std::string_view ice_servers_json,
                           bool rematch = false);
std::string encode_rematch_wanted();
std::string encode_signal(std::string_view data_json);
// The data inside a frame that encode_signal made.
std::string_view signal_data_of(std::string_view signal_frame);
std::string encode_peer_left(leave_reason r);
std::string encode_error(error_code code, std::string_view message, std::string_view ref = {});
std::string encode_banned(std::int64_t until_unix, std::string_view reason);

// For tests and clients written in C++ (the benchmark): client messages.
std::string encode_join(mode m, const std::vector<std::string>& interests, bool fallback, bool relay_only = false);

}  // namespace serendip::protocol
