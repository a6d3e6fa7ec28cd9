#include "serendip/client_address.hpp"

#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace serendip {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

std::optional<ip_address> parse_address(std::string_view text) {
    boost::system::error_code ec;
    auto a = boost::asio::ip::make_address(std::string(trim(text)), ec);
    if (ec) return std::nullopt;
    return a;
}

// IPv4-mapped IPv6 (::ffff:a.b.c.d, what a dual-stack socket reports) as IPv4.
ip_address plain(const ip_address& a) {
    if (a.is_v6() && a.to_v6().is_v4_mapped())
        return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6());
    return a;
}

std::array<unsigned char, 16> bytes16(const ip_address& a) {
    std::array<unsigned char, 16> out{};
    if (a.is_v4()) {
        auto b = a.to_v4().to_bytes();
        std::copy(b.begin(), b.end(), out.begin());
    } else {
        out = a.to_v6().to_bytes();
    }
    return out;
}

bool trusted(const ip_address& a, const std::vector<address_block>& blocks) {
    return std::any_of(blocks.begin(), blocks.end(), [&](const address_block& b) { return b.contains(a); });
}

}  // namespace

bool address_block::contains(const ip_address& raw) const {
    auto a = plain(raw);
    if (a.is_v4() != network.is_v4()) return false;
    auto x = bytes16(a), n = bytes16(network);
    unsigned full = prefix / 8, rest = prefix % 8;
    if (!std::equal(x.begin(), x.begin() + full, n.begin())) return false;
    if (rest == 0) return true;
    unsigned char mask = static_cast<unsigned char>(0xff << (8 - rest));
    return (x[full] & mask) == (n[full] & mask);
}

std::optional<std::vector<address_block>> parse_address_blocks(std::string_view list) {
    std::vector<address_block> out;
    while (!trim(list).empty()) {
        auto comma = list.find(',');
        auto item = trim(list.substr(0, comma));
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
        if (item.empty()) continue;
        auto slash = item.find('/');
        auto a = parse_address(item.substr(0, slash));
        if (!a) return std::nullopt;
        auto network = plain(*a);
        address_block b{network, network.is_v4() ? 32u : 128u};
        if (slash != std::string_view::npos) {
            auto bits = item.substr(slash + 1);
            if (bits.empty() || bits.size() > 3 || !std::all_of(bits.begin(), bits.end(), ::isdigit)) return std::nullopt;
            unsigned n = static_cast<unsigned>(std::stoul(std::string(bits)));
            if (n > b.prefix) return std::nullopt;
            b.prefix = n;
        }
        out.push_back(b);
    }
    return out;
}

ip_address client_address(const ip_address& peer, std::string_view forwarded_for, std::string_view real_ip,
                          const std::vector<address_block>& trusted_proxies) {
    if (!trusted(peer, trusted_proxies)) return plain(peer);
    // Walk X-Forwarded-For from the right: each trusted proxy appended the
    // address it saw; the first one that is not a trusted proxy is the client.
    std::string_view rest = forwarded_for;
    std::optional<ip_address> leftmost_valid;
    while (!trim(rest).empty()) {
        auto comma = rest.rfind(',');
        auto item = comma == std::string_view::npos ? rest : rest.substr(comma + 1);
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(0, comma);
        auto a = parse_address(item);
        if (!a) break;  // garbage: nothing further left can be believed
        if (!trusted(*a, trusted_proxies)) return plain(*a);
        leftmost_valid = a;
    }
    if (auto a = parse_address(real_ip)) return plain(*a);
    if (leftmost_valid) return plain(*leftmost_valid);
    return plain(peer);
}

std::string address_identity(const ip_address& raw) {
    auto a = plain(raw);
    if (a.is_v4()) {
        auto b = a.to_v4().to_bytes();
        return std::string("4") + std::string(b.begin(), b.end());
    }
    auto b = a.to_v6().to_bytes();
    return std::string("6") + std::string(b.begin(), b.begin() + 8);  // the /64
}

address_hasher::address_hasher(std::string secret) : secret_(std::move(secret)) {
    for (auto& k : keys_) k.first = -1;
}

std::array<unsigned char, 32> address_hasher::key_for(long day) {
    for (auto& k : keys_)
        if (k.first == day) return k.second;
    std::array<unsigned char, 32> key{};
    if (secret_.empty()) {
        if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) throw std::runtime_error("RAND_bytes failed");
    } else {
        auto label = "serendip-address-key-day-" + std::to_string(day);
        unsigned len = 0;
        HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
             reinterpret_cast<const unsigned char*>(label.data()), label.size(), key.data(), &len);
    }
    // Replace the oldest slot: only two days are ever held.
    auto& slot = keys_[0].first < keys_[1].first ? keys_[0] : keys_[1];
    slot = {day, key};
    return key;
}

address_hasher::hashes address_hasher::hash(const ip_address& a, std::chrono::system_clock::time_point now) {
    long day = static_cast<long>(std::chrono::duration_cast<std::chrono::hours>(now.time_since_epoch()).count() / 24);
    auto id = address_identity(a);
    auto one = [&](const std::array<unsigned char, 32>& key) {
        unsigned char out[32];
        unsigned len = 0;
        HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(id.data()),
             id.size(), out, &len);
        static const char* hex = "0123456789abcdef";
        std::string s;
        for (unsigned i = 0; i < 16; ++i) {  // 128 bits: plenty to tell addresses apart
            s += hex[out[i] >> 4];
            s += hex[out[i] & 15];
        }
        return s;
    };
    std::lock_guard lock(mutex_);
    // Yesterday first, so that today's key takes the older slot.
    auto y = key_for(day - 1);
    auto t = key_for(day);
    return {one(t), one(y)};
}

}  // namespace serendip
