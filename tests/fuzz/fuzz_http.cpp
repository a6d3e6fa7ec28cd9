// libFuzzer target: the server's HTTP request handling (src/http_session.hpp
// and src/http_session.cpp), driven through Beast's in-memory test stream.
// The input is the raw bytes a client sends on one connection (several
// pipelined requests, a WebSocket upgrade, garbage...), followed by EOF.
// Besides not crashing (ASan, UBSan, Beast's assertions), every run must
// keep these promises:
//  - the output is a sequence of well-formed HTTP/1.x responses, at most one
//    per request read (plus one for a request that fails to parse);
//  - each has the security headers and a status this server uses;
//  - no byte of a file outside the web root is ever sent (the root holds a
//    symlink out of it, and the secret's text is known);
//  - an upgrade reaches the WebSocket layer only for GET /ws with an
//    allowed Origin, never while draining, with a well-formed resume token.

#include "http_session.hpp"

#include "serendip/memory_store.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/_experimental/test/stream.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>

namespace fs = std::filesystem;
namespace net = serendip::net;
namespace http = boost::beast::http;
namespace asio = boost::asio;
using test_stream = boost::beast::test::stream;

#define CHECK(cond)                                                                          \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            std::fprintf(stderr, "fuzz_http: invariant failed: %s (line %d)\n", #cond, __LINE__); \
            std::abort();                                                                    \
        }                                                                                    \
    } while (0)

namespace {

constexpr std::string_view secret = "SERENDIP-FUZZ-SECRET-5be1";

struct world {
    asio::io_context ioc;
    serendip::config cfg;
    serendip::metrics stats;
    serendip::memory_store store{asio::make_strand(ioc), serendip::matchmaker_settings{}};
    serendip::hub matchmaking{asio::make_strand(ioc), store, serendip::hub_settings{}, stats};
    net::context ctx{cfg, stats, matchmaking, {}, {}};
    fs::path dir;
    std::size_t upgrades = 0;
};

world* w = nullptr;

void write_file(const fs::path& p, std::string_view text) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
}

// A web root like the client's, a secret beside it, and a symlink to it.
void make_web_root(const fs::path& dir) {
    fs::remove_all(dir);
    write_file(dir / "secret.txt", secret);
    auto www = dir / "www";
    write_file(www / "index.html", "<!doctype html><title>fuzz</title>\n");
    write_file(www / "assets" / "app-AbCdEf12.js", "console.log(1)\n");
    write_file(www / "sub" / "style.css", "body{}\n");
    write_file(www / ".hidden", "hidden\n");
    fs::create_symlink(dir / "secret.txt", www / "leak.txt");
    fs::create_directory_symlink(dir, www / "up");
}

bool valid_token(std::string_view t) {
    return t.empty() || t == "-" ||
           (t.size() <= 64 && std::all_of(t.begin(), t.end(), [](char c) {
                return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
            }));
}

// What the session read: the method of every complete request, in order,
// parsed by the same parser under the same limits.
std::vector<http::verb> requests_in(std::string_view input) {
    test_stream in(w->ioc), peer(w->ioc);
    in.connect(peer);
    in.append(input);
    in.close_remote();
    boost::beast::flat_buffer buffer;
    std::vector<http::verb> methods;
    for (;;) {
        http::request_parser<http::string_body> p;
        p.header_limit(net::header_limit);
        p.body_limit(net::body_limit);
        boost::beast::error_code ec;
        http::read(in, buffer, p, ec);
        if (ec) break;
        methods.push_back(p.get().method());
    }
    return methods;
}

void check_responses(std::string_view input, std::string_view output) {
    auto methods = requests_in(input);
    test_stream out(w->ioc), peer(w->ioc);
    out.connect(peer);
    out.append(output);
    out.close_remote();
    boost::beast::flat_buffer buffer;
    std::size_t count = 0;
    static constexpr std::array<unsigned, 9> statuses = {200, 304, 400, 403, 404, 405, 413, 431, 503};
    for (;; ++count) {
        http::response_parser<http::string_body> p;
        p.body_limit(boost::none);
        // A HEAD response announces a length it does not send.
        if (count < methods.size() && methods[count] == http::verb::head) p.skip(true);
        boost::beast::error_code ec;
        http::read(out, buffer, p, ec);
        if (ec == http::error::end_of_stream) break;
        CHECK(!ec);
        const auto& res = p.get();
        CHECK(std::find(statuses.begin(), statuses.end(), res.result_int()) != statuses.end());
        CHECK(res["Content-Security-Policy"].starts_with("default-src 'self'"));
        CHECK(res["X-Content-Type-Options"] == "nosniff");
        CHECK(res["X-Frame-Options"] == "DENY");
        if (count >= methods.size()) CHECK(res.result_int() == 400 || res.result_int() == 413 || res.result_int() == 431);
    }
    CHECK(count <= methods.size() + 1);
    if (input.find(secret) == std::string_view::npos) CHECK(output.find(secret) == std::string_view::npos);
}

}  // namespace

// Upgrades that pass the checks arrive here instead of at a WebSocket
// session: the stream is dropped, and the peer sees the connection reset. A
// plain overload, found by argument-dependent lookup and preferred to the
// template in net.hpp.
namespace serendip::net {
void start_websocket(test_stream&&, request&& req, std::string token, address_hashes address, context& ctx) {
    CHECK(!ctx.draining);
    CHECK(req.method() == http::verb::get);
    CHECK(path_of(req.target()) == "/ws");
    CHECK(req.count(http::field::origin) == 1 && !req[http::field::origin].empty());
    CHECK(req[http::field::origin] == "http://" + std::string(req[http::field::host]));
    CHECK(valid_token(token));
    CHECK(address.today.empty() && address.yesterday.empty());  // no address hashing here
    ++w->upgrades;
}
}  // namespace serendip::net

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    w = new world;
    w->dir = fs::temp_directory_path() / ("serendip-fuzz-http-" + std::to_string(::getpid()));
    make_web_root(w->dir);
    w->ctx.files.emplace(w->dir / "www");
    std::atexit([] { std::error_code ec; fs::remove_all(w->dir, ec); });
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    // Deterministic per input, so a crash reproduces: how the bytes arrive
    // (all at once down to one at a time) and, rarely, a draining server.
    static constexpr std::array<std::size_t, 5> chunks = {std::size_t(-1), 1460, 64, 7, 1};
    w->ctx.draining = size % 16 == 15;

    test_stream server(w->ioc), client(w->ioc);
    server.connect(client);
    server.append(input);
    // Byte-sized pieces cost one handler each: only for inputs of at most 1 KiB.
    server.read_size(std::max(chunks[size % chunks.size()], size > 1024 ? std::size_t(64) : std::size_t(1)));
    server.close_remote();  // EOF once the input is read
    std::make_shared<net::http_session<test_stream>>(std::move(server), boost::beast::flat_buffer{}, w->ctx)->run();
    w->ioc.restart();
    w->ioc.run();
    // FUZZ_HTTP_PRINT=1 shows what the server answered (when reproducing one input).
    static const bool print = std::getenv("FUZZ_HTTP_PRINT") != nullptr;
    if (print) std::fprintf(stderr, "--- %zu bytes answered:\n%.*s\n---\n", client.str().size(),
                            static_cast<int>(client.str().size()), client.str().data());
    check_responses(input, client.str());
    return 0;
}
