#include "serendip/static_files.hpp"

#include <gtest/gtest.h>

#include <filesystem>

using namespace serendip;
namespace fs = std::filesystem;

namespace {

class static_files_test : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        // A symlink from inside the root to a file outside it.
        auto link = fs::path(SERENDIP_FIXTURES) / "www" / "escape.txt";
        std::error_code ec;
        fs::remove(link, ec);
        fs::create_symlink(fs::path(SERENDIP_FIXTURES) / "outside.txt", link);
        auto dir_link = fs::path(SERENDIP_FIXTURES) / "www" / "up";
        fs::remove(dir_link, ec);
        fs::create_directory_symlink(fs::path(SERENDIP_FIXTURES), dir_link);
    }
    static void TearDownTestSuite() {
        std::error_code ec;
        fs::remove(fs::path(SERENDIP_FIXTURES) / "www" / "escape.txt", ec);
        fs::remove(fs::path(SERENDIP_FIXTURES) / "www" / "up", ec);
    }
    static_files files{fs::path(SERENDIP_FIXTURES) / "www"};
};

}  // namespace

TEST_F(static_files_test, serves_index_and_files_with_types) {
    auto root = std::get<static_file>(files.resolve("/"));
    EXPECT_EQ(root.path.filename(), "index.html");
    EXPECT_EQ(root.content_type, "text/html; charset=utf-8");
    EXPECT_EQ(root.cache_control, "no-cache");
    auto css = std::get<static_file>(files.resolve("/sub/style.css?v=1"));
    EXPECT_EQ(css.content_type, "text/css; charset=utf-8");
    // A directory without index.html is not listed.
    EXPECT_EQ(std::get<static_error>(files.resolve("/sub/")), static_error::not_found);
}

TEST_F(static_files_test, hashed_assets_cache_for_a_year) {
    auto js = std::get<static_file>(files.resolve("/assets/app-AbCdEf12.js"));
    EXPECT_EQ(js.content_type, "text/javascript; charset=utf-8");
    EXPECT_EQ(js.cache_control, "public, max-age=31536000, immutable");
    EXPECT_FALSE(js.etag.empty());
    EXPECT_TRUE(is_hashed_asset("/assets/index-BfG3x8Qa.css"));
    EXPECT_FALSE(is_hashed_asset("/assets/index.css"));
    EXPECT_FALSE(is_hashed_asset("/index-BfG3x8Qa.css"));
}

TEST_F(static_files_test, content_types) {
    for (auto [name, type] : std::vector<std::pair<const char*, const char*>>{
             {"a.html", "text/html; charset=utf-8"}, {"a.js", "text/javascript; charset=utf-8"},
             {"a.mjs", "text/javascript; charset=utf-8"}, {"a.css", "text/css; charset=utf-8"},
             {"a.json", "application/json"}, {"a.wasm", "application/wasm"}, {"a.svg", "image/svg+xml"},
             {"a.png", "image/png"}, {"a.ico", "image/x-icon"}, {"a.bin", "application/octet-stream"},
             {"a.woff2", "font/woff2"}, {"A.WASM", "application/wasm"}, {"noext", "application/octet-stream"}})
        EXPECT_EQ(content_type_for(name), type) << name;
}

TEST_F(static_files_test, traversal_attempts_never_resolve_outside) {
    struct attempt {
        const char* target;
        static_error expected;
    };
    for (auto [target, expected] : std::vector<attempt>{
             {"/../outside.txt", static_error::bad_request},
             {"/sub/../../outside.txt", static_error::bad_request},
             {"/%2e%2e/outside.txt", static_error::bad_request},
             {"/%2E%2E/outside.txt", static_error::bad_request},
             {"/..%2foutside.txt", static_error::bad_request},
             {"/..%5coutside.txt", static_error::bad_request},
             {"/sub%2f..%2f..%2foutside.txt", static_error::bad_request},
             {"/index.html%00.png", static_error::bad_request},
             {"/a\\..\\outside.txt", static_error::bad_request},
             {"/./index.html", static_error::bad_request},
             {"/%zz", static_error::bad_request},
             {"/%2", static_error::bad_request},
             {"relative.txt", static_error::bad_request},
             {"http://evil/outside.txt", static_error::bad_request},
             {"//etc/passwd", static_error::not_found},
             {"/etc/passwd", static_error::not_found},
             {"/escape.txt", static_error::not_found},
             {"/up/outside.txt", static_error::not_found},
             {"/.hidden", static_error::not_found},
             {"/missing.js", static_error::not_found},
         }) {
        auto r = files.resolve(target);
        ASSERT_TRUE(std::holds_alternative<static_error>(r)) << target << " resolved to "
                                                             << std::get<static_file>(r).path;
        EXPECT_EQ(std::get<static_error>(r), expected) << target;
    }
}

TEST(percent_decode_test, decodes_and_rejects_malformed) {
    EXPECT_EQ(percent_decode("/a%20b"), "/a b");
    EXPECT_EQ(percent_decode("/%41%42"), "/AB");
    EXPECT_FALSE(percent_decode("/%4"));
    EXPECT_FALSE(percent_decode("/%g1"));
}
