#include "serendip/turn_credentials.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <charconv>
#include <optional>
#include <stdexcept>

namespace serendip::turn {

namespace {

struct parsed_url {
    bool secure = false;    // turns:
    std::string_view host;  // brackets kept for IPv6
    std::string_view port;  // empty: the default
};

bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
           c == '_';
}

bool is_ipv6_char(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.';
}

std::optional<parsed_url> parse_url(std::string_view url) {
    parsed_url p;
    p.secure = url.starts_with("turns:");
    if (!p.secure && !url.starts_with("turn:")) return std::nullopt;
    url.remove_prefix(p.secure ? 6 : 5);

    if (auto q = url.find('?'); q != std::string_view::npos) {
        auto query = url.substr(q + 1);
        if (query != "transport=udp" && query != "transport=tcp") return std::nullopt;
        url = url.substr(0, q);
    }
    std::string_view rest;
    if (url.starts_with('[')) {
        auto close = url.find(']');
        if (close == std::string_view::npos || close < 3) return std::nullopt;
        p.host = url.substr(0, close + 1);
        if (!std::all_of(p.host.begin() + 1, p.host.end() - 1, is_ipv6_char)) return std::nullopt;
        rest = url.substr(close + 1);
    } else {
        auto colon = url.find(':');
        p.host = url.substr(0, colon);
        if (p.host.empty() || !std::all_of(p.host.begin(), p.host.end(), is_name_char)) return std::nullopt;
        rest = colon == std::string_view::npos ? std::string_view{} : url.substr(colon);
    }
    if (!rest.empty()) {
        if (rest.front() != ':') return std::nullopt;
        p.port = rest.substr(1);
        unsigned port = 0;
        auto [end, ec] = std::from_chars(p.port.data(), p.port.data() + p.port.size(), port);
        if (ec != std::errc{} || end != p.port.data() + p.port.size() || port == 0 || port > 65535)
            return std::nullopt;
    }
    return p;
}

}  // namespace

std::string username(std::int64_t expiry_unix, std::string_view pseudonym) {
    return std::to_string(expiry_unix) + ":" + std::string(pseudonym);
}

std::string base64(std::string_view bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');  // EVP_EncodeBlock adds a NUL
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::string credential(std::string_view secret, std::string_view user) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (!HMAC(EVP_sha1(), secret.data(), static_cast<int>(secret.size()),
              reinterpret_cast<const unsigned char*>(user.data()), user.size(), mac, &length))
        throw std::runtime_error("HMAC-SHA1 failed");
    return base64(std::string_view(reinterpret_cast<const char*>(mac), length));
}

std::string new_pseudonym() {
    unsigned char raw[12];
    if (RAND_bytes(raw, sizeof raw) != 1) throw std::runtime_error("RAND_bytes failed");
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(2 * sizeof raw);
    for (unsigned char b : raw) {
        out += hex[b >> 4];
        out += hex[b & 15];
    }
    return out;
}

bool valid_turn_url(std::string_view url) { return parse_url(url).has_value(); }

std::vector<std::string> stun_urls_of(const std::vector<std::string>& turn_urls) {
    std::vector<std::string> out;
    for (const auto& url : turn_urls) {
        auto p = parse_url(url);
        if (!p) continue;
        std::string stun = "stun:" + std::string(p->host);
        // A turns: port speaks TLS, which stun: clients do not.
        if (!p->secure && !p->port.empty()) stun += ":" + std::string(p->port);
        if (std::find(out.begin(), out.end(), stun) == out.end()) out.push_back(std::move(stun));
    }
    return out;
}

ice_servers::ice_servers(settings s) : settings_(std::move(s)) {
    if (!has_turn()) {
        std::vector<protocol::ice_server> list;
        if (!settings_.stun_urls.empty()) list.push_back({settings_.stun_urls, {}, {}});
        fixed_ = protocol::encode_ice_servers(list);
    }
}

std::string ice_servers::json(std::string_view pseudonym, std::chrono::system_clock::time_point now) const {
    if (!has_turn()) return fixed_;
    auto expiry = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch() + settings_.ttl).count();
    auto user = username(expiry, pseudonym);
    std::vector<protocol::ice_server> list;
    if (!settings_.stun_urls.empty()) list.push_back({settings_.stun_urls, {}, {}});
    list.push_back({settings_.turn_urls, user, credential(settings_.secret, user)});
    return protocol::encode_ice_servers(list);
}

}  // namespace serendip::turn
