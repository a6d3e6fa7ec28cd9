#include "serendip/static_files.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <system_error>

namespace serendip {

namespace fs = std::filesystem;

static_files::static_files(const fs::path& root) : root_(fs::canonical(root)) {}

std::optional<std::string> percent_decode(std::string_view in) {
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    std::string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] != '%') {
            out += in[i];
            continue;
        }
        if (i + 2 >= in.size()) return std::nullopt;
        int hi = hex(in[i + 1]), lo = hex(in[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
    }
    return out;
}

std::string_view content_type_for(const fs::path& p) {
    static constexpr std::array<std::pair<std::string_view, std::string_view>, 15> types = {{
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".wasm", "application/wasm"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".bin", "application/octet-stream"},
        {".woff2", "font/woff2"},
        {".txt", "text/plain; charset=utf-8"},
        {".webmanifest", "application/manifest+json"},
        {".jpg", "image/jpeg"},
        {".map", "application/json"},
    }};
    auto ext = p.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    for (const auto& [e, t] : types)
        if (e == ext) return t;
    return "application/octet-stream";
}

bool is_hashed_asset(std::string_view url_path) {
    if (url_path.rfind("/assets/", 0) != 0) return false;
    auto name = url_path.substr(url_path.rfind('/') + 1);
    auto dot = name.find('.');
    auto dash = name.substr(0, dot).rfind('-');
    if (dot == std::string_view::npos || dash == std::string_view::npos) return false;
    auto hash = name.substr(dash + 1, dot - dash - 1);
    return hash.size() >= 8 && std::all_of(hash.begin(), hash.end(), [](char c) {
               return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
           });
}

std::variant<static_file, static_error> static_files::resolve(std::string_view target) const {
    // Origin-form only ("/path?query").
    if (target.empty() || target.front() != '/') return static_error::bad_request;
    auto path_part = target.substr(0, target.find_first_of("?#"));
    // An encoded slash or backslash could smuggle a separator past the checks below.
    for (std::string_view bad : {"%2f", "%2F", "%5c", "%5C"})
        if (path_part.find(bad) != std::string_view::npos) return static_error::bad_request;
    auto decoded = percent_decode(path_part);
    if (!decoded || decoded->find('\0') != std::string::npos || decoded->find('\\') != std::string::npos)
        return static_error::bad_request;

    fs::path relative;
    std::string_view rest = *decoded;
    while (!rest.empty()) {
        auto slash = rest.find('/');
        auto segment = rest.substr(0, slash);
        rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
        if (segment.empty()) continue;
        if (segment == "." || segment == "..") return static_error::bad_request;
        // Dot files (.git, .env) are never served.
        if (segment.front() == '.') return static_error::not_found;
        relative /= std::string(segment);
    }
    fs::path candidate = root_ / relative;
    std::error_code ec;
    if (relative.empty() || decoded->back() == '/' || fs::is_directory(candidate, ec)) candidate /= "index.html";

    // Symlinks are followed, then the result must still be inside the root.
    fs::path real = fs::canonical(candidate, ec);
    if (ec) return static_error::not_found;
    auto [root_end, real_it] = std::mismatch(root_.begin(), root_.end(), real.begin(), real.end());
    if (root_end != root_.end() || !fs::is_regular_file(real, ec)) return static_error::not_found;

    static_file f;
    f.size = fs::file_size(real, ec);
    if (ec) return static_error::not_found;
    auto mtime = fs::last_write_time(real, ec).time_since_epoch();
    f.content_type = std::string(content_type_for(real));
    f.cache_control = is_hashed_asset(*decoded) ? "public, max-age=31536000, immutable" : "no-cache";
    auto micros = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(mtime).count());
    f.etag = "\"" + std::to_string(f.size) + "-" + std::to_string(micros) + "\"";
    f.path = std::move(real);
    return f;
}

}  // namespace serendip
