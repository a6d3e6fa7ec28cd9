// HTTP over real sockets: static files, headers, health, metrics, limits.

#include "test_server.hpp"
#include "ws_client.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <thread>

using namespace serendip;
using namespace serendip::testing;
namespace fs = std::filesystem;

namespace {

class http_test : public ::testing::Test {
protected:
    test_server server{[](config& c) { c.request_timeout = std::chrono::milliseconds(700); }};
    std::uint16_t port() { return server.port(); }
};

void expect_security_headers(const std::string& res) {
    auto csp = header_of(res, "Content-Security-Policy");
    EXPECT_NE(csp.find("default-src 'self'"), std::string::npos) << res;
    EXPECT_NE(csp.find("'wasm-unsafe-eval'"), std::string::npos);
    EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos);
    EXPECT_EQ(header_of(res, "X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(header_of(res, "Referrer-Policy"), "no-referrer");
    EXPECT_EQ(header_of(res, "Permissions-Policy"), "camera=(self), microphone=(self)");
}

}  // namespace

TEST_F(http_test, serves_index_with_types_caching_and_security_headers) {
    auto res = http_get(port(), "/");
    EXPECT_EQ(status_of(res), 200);
    EXPECT_EQ(header_of(res, "Content-Type"), "text/html; charset=utf-8");
    EXPECT_EQ(header_of(res, "Cache-Control"), "no-cache");
    EXPECT_FALSE(header_of(res, "ETag").empty());
    EXPECT_NE(body_of(res).find("<title>fixture</title>"), std::string::npos);
    expect_security_headers(res);

    auto js = http_get(port(), "/assets/app-AbCdEf12.js");
    EXPECT_EQ(status_of(js), 200);
    EXPECT_EQ(header_of(js, "Content-Type"), "text/javascript; charset=utf-8");
    EXPECT_EQ(header_of(js, "Cache-Control"), "public, max-age=31536000, immutable");
    expect_security_headers(js);
}

TEST_F(http_test, head_has_headers_and_no_body) {
    auto res = raw_http(port(), "HEAD /sub/style.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(status_of(res), 200);
    EXPECT_EQ(header_of(res, "Content-Type"), "text/css; charset=utf-8");
    EXPECT_EQ(header_of(res, "Content-Length"), std::to_string(fs::file_size(SERENDIP_FIXTURES "/www/sub/style.css")));
    EXPECT_TRUE(body_of(res).empty());
    // Generated answers too announce the length GET would send (RFC 9110 8.6).
    auto health = raw_http(port(), "HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(status_of(health), 200);
    EXPECT_EQ(header_of(health, "Content-Length"), "3") << "the length of \"ok\\n\"";
    EXPECT_TRUE(body_of(health).empty());
}

TEST_F(http_test, etag_revalidates_with_304) {
    auto first = http_get(port(), "/");
    auto etag = header_of(first, "ETag");
    ASSERT_FALSE(etag.empty());
    auto again = http_get(port(), "/", "If-None-Match: " + etag + "\r\n");
    EXPECT_EQ(status_of(again), 304);
    EXPECT_TRUE(body_of(again).empty());
    expect_security_headers(again);
    EXPECT_EQ(status_of(http_get(port(), "/", "If-None-Match: \"other\"\r\n")), 200);
}

TEST_F(http_test, missing_is_404_and_other_methods_405) {
    auto missing = http_get(port(), "/nope.js");
    EXPECT_EQ(status_of(missing), 404);
    expect_security_headers(missing);
    auto post = raw_http(port(), "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi");
    EXPECT_EQ(status_of(post), 405);
    EXPECT_EQ(header_of(post, "Allow"), "GET, HEAD");
    EXPECT_EQ(status_of(raw_http(port(), "DELETE /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")), 405);
}

TEST_F(http_test, traversal_never_reaches_files_outside_the_root) {
    std::error_code ec;
    auto link = fs::path(SERENDIP_FIXTURES) / "www" / "leak.txt";
    fs::remove(link, ec);
    fs::create_symlink(fs::path(SERENDIP_FIXTURES) / "outside.txt", link);
    for (const char* target : {"/../outside.txt", "/sub/../../outside.txt", "/%2e%2e/outside.txt",
                               "/%2E%2E%2Foutside.txt", "/..%2foutside.txt", "/..%5coutside.txt",
                               "/sub/..%2f..%2foutside.txt", "/leak.txt", "/index.html%00/../../outside.txt",
                               "//../outside.txt", "/.hidden", "/..", "/.%2e/outside.txt"}) {
        auto res = http_get(port(), target);
        int status = status_of(res);
        EXPECT_TRUE(status == 400 || status == 404) << target << " -> " << status;
        EXPECT_EQ(body_of(res).find("outside"), std::string::npos) << target;
        EXPECT_EQ(body_of(res).find("secret"), std::string::npos) << target;
    }
    // Absolute-form and NUL bytes in the raw request line.
    auto absolute = raw_http(port(), "GET http://127.0.0.1/../outside.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(body_of(absolute).find("outside"), std::string::npos);
    auto nul = raw_http(port(), std::string("GET /index.html\0/x HTTP/1.1\r\nHost: x\r\n\r\n", 40));
    EXPECT_EQ(status_of(nul), 400);
    fs::remove(link, ec);
}

TEST_F(http_test, health_ready_and_metrics) {
    auto health = http_get(port(), "/healthz");
    EXPECT_EQ(status_of(health), 200);
    EXPECT_EQ(header_of(health, "Cache-Control"), "no-store");
    EXPECT_EQ(status_of(http_get(port(), "/readyz")), 200);
    http_get(port(), "/missing");
    auto metrics = http_get(port(), "/metrics");
    EXPECT_EQ(status_of(metrics), 200);
    auto body = body_of(metrics);
    for (const char* line : {"serendip_connections_open 0", "serendip_connections_total 0",
                             "serendip_messages_in_total{type=\"join\"} 0", "serendip_messages_out_total{type=\"welcome\"} 0",
                             "serendip_errors_total{code=\"bad_json\"} 0", "serendip_closes_total{reason=\"slow_reader\"} 0",
                             "serendip_send_queue_overflows_total 0", "serendip_http_responses_total{status=\"404\"} 1",
                             "serendip_http_responses_total{status=\"200\"} 2", "# TYPE serendip_connections_open gauge"})
        EXPECT_NE(body.find(line), std::string::npos) << line << "\n" << body;
}

TEST_F(http_test, oversized_headers_get_431_and_bodies_413) {
    std::string big(20'000, 'a');
    auto res = raw_http(port(), "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + big + "\r\n\r\n");
    EXPECT_EQ(status_of(res), 431);
    auto body = raw_http(port(), "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" + std::string(1000, 'b'));
    EXPECT_EQ(status_of(body), 413);
    EXPECT_EQ(status_of(raw_http(port(), "BLAH\r\n\r\n")), 400);
}

TEST_F(http_test, slow_request_is_cut_at_the_deadline) {
    auto start = std::chrono::steady_clock::now();
    // Half a request, then silence: the server must close, not wait forever.
    auto res = raw_http(port(), "GET / HTTP/1.1\r\nHost: x\r\n", 5s);
    auto took = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(status_of(res), 0) << "no response to an unfinished request";
    EXPECT_LT(took, 3s) << "the 0.7 s request deadline closed the socket";
    EXPECT_GE(took, 600ms);
}

TEST_F(http_test, keep_alive_serves_several_requests) {
    auto res = raw_http(port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    std::size_t first = res.find("HTTP/1.1 200");
    ASSERT_NE(first, std::string::npos);
    EXPECT_NE(res.find("HTTP/1.1 200", first + 1), std::string::npos);
}

// A self-signed certificate in a fresh directory, removed with the object.
struct test_certificate {
    fs::path dir = fs::temp_directory_path() / ("serendip-tls-" + std::to_string(::getpid()));
    std::string cert = (dir / "cert.pem").string(), key = (dir / "key.pem").string();
    test_certificate() {
        fs::create_directories(dir);
        std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -keyout " + key + " -out " + cert +
                          " -days 1 -subj /CN=localhost >/dev/null 2>&1";
        if (std::system(cmd.c_str()) != 0) throw std::runtime_error("openssl req failed");
    }
    ~test_certificate() { fs::remove_all(dir); }
};

// What curl prints for `format` after fetching `url` (certificates not checked).
std::string curl_k(const std::string& url, const std::string& format) {
    std::string cmd = "curl -sk -o /dev/null -w '" + format + "' " + url;
    FILE* p = popen(cmd.c_str(), "r");
    char buf[256] = {};
    std::string out = fgets(buf, sizeof buf, p) ? buf : "";
    pclose(p);
    return out;
}

std::string curl_k_body(const std::string& url) {
    std::string cmd = "curl -sk " + url;
    FILE* p = popen(cmd.c_str(), "r");
    std::string out;
    char buf[4096];
    while (std::size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    pclose(p);
    return out;
}

// A server that speaks only HTTPS and WSS, with a certificate of its own.
class http_tls_test : public ::testing::Test {
protected:
    test_certificate certificate;
    test_server tls{[this](config& c) {
        c.tls_cert = certificate.cert;
        c.tls_key = certificate.key;
    }};
    std::string url = "https://127.0.0.1:" + std::to_string(tls.port());
};

TEST_F(http_tls_test, serves_https_when_given_a_certificate) {
    EXPECT_EQ(curl_k(url + "/healthz", "%{http_code}"), "200");
    // Plain HTTP to the TLS port gets nothing useful.
    EXPECT_NE(status_of(http_get(tls.port(), "/healthz")), 200);
}

// A tab that vanishes over TLS cuts the TCP connection without TLS's
// close_notify: the server sees a truncated stream. That is someone
// leaving (reason "client"), not a protocol violation.
TEST_F(http_tls_test, a_tls_stream_cut_short_is_counted_as_leaving) {
    constexpr int cuts = 3;
    for (int i = 0; i < cuts; ++i) ASSERT_NE(tls_first_frame_then_cut(tls.port()).find("\"welcome\""), std::string::npos);
    std::string metrics;
    for (int tries = 0; tries < 100; ++tries) {
        metrics = curl_k_body(url + "/metrics");
        if (metrics.find("serendip_connections_open 0\n") != std::string::npos) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_NE(metrics.find("serendip_closes_total{reason=\"client\"} " + std::to_string(cuts) + "\n"), std::string::npos) << metrics;
    EXPECT_NE(metrics.find("serendip_closes_total{reason=\"bad_frame\"} 0\n"), std::string::npos) << metrics;
}

TEST_F(http_test, websocket_upgrade_has_the_security_headers_and_names_no_library) {
    auto p = std::to_string(port());
    auto res = raw_http(port(),
                        "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:" + p +
                            "\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://127.0.0.1:" +
                            p + "\r\n\r\n",
                        500ms);
    EXPECT_EQ(status_of(res), 101) << res;
    expect_security_headers(res);
    EXPECT_EQ(header_of(res, "Server"), "serendip");
}
