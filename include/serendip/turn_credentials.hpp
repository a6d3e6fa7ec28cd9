#pragma once
// Short-lived TURN credentials in coturn's REST API scheme (`use-auth-secret`):
// the username is "EXPIRY:PSEUDONYM" (EXPIRY in unix seconds) and the
// password is base64(HMAC-SHA1(secret, username)). coturn recomputes the
// password from the same shared secret, so nothing per user is stored on
// either side. Also the iceServers list a client gets: STUN, then TURN with
// fresh credentials. Pure functions and values; OpenSSL underneath.

#include "serendip/protocol.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace serendip::turn {

std::string username(std::int64_t expiry_unix, std::string_view pseudonym);
// base64(HMAC-SHA1(secret, username)), standard alphabet, padded.
std::string credential(std::string_view secret, std::string_view username);
// RFC 4648 base64 (standard alphabet, padded, no line breaks).
std::string base64(std::string_view bytes);
// 96 bits from OpenSSL's CSPRNG as 24 hex digits: names one session to the
// TURN server without saying which (it is not derived from the session id).
std::string new_pseudonym();

// turn:HOST[:PORT][?transport=udp|tcp] or turns:... (RFC 7065).
bool valid_turn_url(std::string_view url);
// The STUN URLs a TURN deployment offers for free: coturn answers STUN on its
// listening port, so each turn: URL gives stun:HOST[:PORT] and each turns:
// URL stun:HOST (the default port, 3478). Duplicates dropped, order kept.
std::vector<std::string> stun_urls_of(const std::vector<std::string>& turn_urls);

struct settings {
    std::vector<std::string> stun_urls;  // one entry, no credentials
    std::vector<std::string> turn_urls;  // empty: no TURN entry
    std::string secret;                  // coturn's static-auth-secret
    std::chrono::seconds ttl{600};
};

// The iceServers array sent in `welcome` and `matched`.
class ice_servers {
public:
    ice_servers() : ice_servers(settings{}) {}
    explicit ice_servers(settings s);

    bool has_turn() const { return !settings_.turn_urls.empty(); }
    // JSON text: the STUN entry (if any), then the TURN entry with
    // credentials for `pseudonym` valid until now + ttl. Without TURN, the
    // same array every time and both arguments are ignored.
    std::string json(std::string_view pseudonym, std::chrono::system_clock::time_point now) const;

private:
    settings settings_;
    std::string fixed_;  // without TURN: encoded once
};

}  // namespace serendip::turn
