// The sanitizer and fuzz build keeps Boost's assertions on (no NDEBUG) and
// routes them here (BOOST_ENABLE_ASSERT_HANDLER, set by SERENDIP_FUZZ, which
// links this file into the core library), so that one proven false positive
// of Boost 1.81 can be let through and every other assertion still aborts.

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace boost {

void assertion_failed(char const* expr, char const* function, char const* file, long line) {
    // Beast's chunked-body parser asserts `n >= 5` on the bytes after a final
    // chunk, but 3 or 4 bytes are valid there ("0\r\n" then one byte of a
    // trailer) and the code below the assertion handles them: it asks for
    // more. Upstream relaxed the assertion (boostorg/beast pull request 2861,
    // 2024). Release builds (NDEBUG) never had it.
    if (std::strcmp(expr, "n >= 5") == 0 && std::strstr(file, "boost/beast/http/impl/basic_parser.ipp")) return;
    std::fprintf(stderr, "%s:%ld: %s: Assertion `%s' failed.\n", file, line, function, expr);
    std::abort();
}

void assertion_failed_msg(char const* expr, char const* msg, char const* function, char const* file, long line) {
    std::fprintf(stderr, "%s:%ld: %s: Assertion `%s' failed: %s\n", file, line, function, expr, msg);
    std::abort();
}

}  // namespace boost
