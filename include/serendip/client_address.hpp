#pragma once
// Who is at the other end of a connection, as far as abuse rules care, and
// how that is kept without keeping the address: see docs/privacy.md.
//
// - `client_address` picks the address: the TCP peer, or what a trusted
//   proxy (nginx) says in X-Forwarded-For / X-Real-IP. Headers from anyone
//   else are ignored: they are trivially forged.
// - `address_hasher` turns it into an HMAC-SHA256 under a key that changes
//   every day (UTC). Only today's and yesterday's keys are held at any
//   moment. Without a configured secret each day's key is random and
//   forgotten after two days, so an old hash can no longer be tied to an
//   address, not even by us; with one (several instances must agree) the
//   day's key is derived from it, and whoever holds the secret could derive
//   old keys again. IPv6 addresses are cut to their /64 first (one
//   subscriber's allocation), IPv4-mapped ones read as IPv4.
//
// Pure functions and small classes, no sockets: tested in
// tests/unit/client_address_test.cpp.

#include "serendip/address_hashes.hpp"

#include <boost/asio/ip/address.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace serendip {

using ip_address = boost::asio::ip::address;

// An address block such as 10.0.0.0/8 or fd00::/8.
struct address_block {
    ip_address network;
    unsigned prefix = 0;
    bool contains(const ip_address& a) const;
};

// "10.0.0.0/8, 127.0.0.1, ::1" into blocks (a bare address is a /32 or
// /128); nullopt if any entry is malformed.
std::optional<std::vector<address_block>> parse_address_blocks(std::string_view list);

// The client's address: `peer` unless it is a trusted proxy; then the
// rightmost X-Forwarded-For entry that is not itself a trusted proxy (the
// one the nearest trusted proxy saw), or X-Real-IP, or `peer` if neither
// parses.
ip_address client_address(const ip_address& peer, std::string_view forwarded_for, std::string_view real_ip,
                          const std::vector<address_block>& trusted_proxies);

// The bytes that identify a subscriber: IPv4 as is, IPv6 cut to its /64.
std::string address_identity(const ip_address& a);

class address_hasher {
public:
    // `secret` empty: random daily keys (hashes then agree only within this
    // process; give every instance the same secret to share bans).
    explicit address_hasher(std::string secret);

    // Hex HMAC-SHA256 of the address under the key of the day of `now`
    // (UTC), and under the previous day's key.
    using hashes = address_hashes;
    hashes hash(const ip_address& a, std::chrono::system_clock::time_point now);

private:
    std::array<unsigned char, 32> key_for(long day);

    std::mutex mutex_;
    std::string secret_;
    // The two keys in use: {day, key}. Older ones are dropped, never kept.
    std::array<std::pair<long, std::array<unsigned char, 32>>, 2> keys_{};
};

}  // namespace serendip
