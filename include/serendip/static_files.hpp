#pragma once
// Maps a request target to a file under the web root, safely: no path that
// escapes the root (dot segments, encoded slashes, NUL bytes, symlinks out)
// is ever resolved. No sockets here.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace serendip {

struct static_file {
    std::filesystem::path path;  // canonical, inside the root
    std::uint64_t size = 0;
    std::string content_type;
    std::string cache_control;
    std::string etag;
};

enum class static_error { bad_request, not_found };

class static_files {
public:
    // `root` must exist; it is canonicalised once.
    explicit static_files(const std::filesystem::path& root);

    std::variant<static_file, static_error> resolve(std::string_view target) const;
    const std::filesystem::path& root() const { return root_; }

private:
    std::filesystem::path root_;
};

// Percent-decodes a path; nullopt on a malformed escape.
std::optional<std::string> percent_decode(std::string_view in);
std::string_view content_type_for(const std::filesystem::path& p);
// Vite names built assets `name-HASH.ext` under /assets/: those never change.
bool is_hashed_asset(std::string_view url_path);

}  // namespace serendip
