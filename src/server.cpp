#include "serendip/server.hpp"

#include "context.hpp"
#include "listener.hpp"
#include "serendip/hub.hpp"
#include "serendip/memory_store.hpp"
#include "serendip/redis_store.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <thread>

namespace serendip {

namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

std::optional<fs::path> find_web_root(const std::string& configured) {
    if (!configured.empty()) {
        if (fs::is_directory(configured)) return fs::path(configured);
        throw std::runtime_error("--web-root " + configured + " is not a directory");
    }
    for (const char* candidate : {"web/dist", "web"})
        if (fs::exists(fs::path(candidate) / "index.html")) return fs::path(candidate);
    return std::nullopt;
}

turn::ice_servers ice_servers_of(const config& cfg) {
    turn::settings s;
    // coturn answers STUN on its TURN ports: without --stun-urls, offer those.
    s.stun_urls = cfg.stun_urls.empty() ? turn::stun_urls_of(cfg.turn_urls) : cfg.stun_urls;
    s.turn_urls = cfg.turn_urls;
    s.secret = cfg.turn_secret;
    s.ttl = std::chrono::duration_cast<std::chrono::seconds>(cfg.turn_ttl);
    return turn::ice_servers(std::move(s));
}

matchmaker_settings rules_from(const config& cfg) {
    matchmaker_settings s;
    s.fallback_after = cfg.fallback_after;
    s.pair_timeout = cfg.pair_timeout;
    s.resume_window = cfg.resume_window;
    return s;
}

std::unique_ptr<store> make_store(const config& cfg, asio::io_context& ioc,
                                  const asio::strand<asio::io_context::executor_type>& hub_strand) {
    report_settings reports{.threshold = cfg.report_threshold, .per_reporter_per_hour = cfg.reports_per_hour};
    if (cfg.store == "memory") return std::make_unique<memory_store>(hub_strand, rules_from(cfg), reports);
    redis_store_settings s;
    s.where = *parse_redis_url(cfg.store);  // validated by parse_config
    s.link.command_timeout = cfg.redis_timeout;
    s.link.connect_timeout = cfg.redis_timeout;
    s.link.health_interval = cfg.redis_heartbeat;
    s.heartbeat = cfg.redis_heartbeat;
    s.instance_ttl = 5 * cfg.redis_heartbeat;
    s.instance_id = cfg.instance_id;
    s.reports = reports;
    // Its own strand: Redis replies never wait behind the hub.
    return std::make_unique<redis_store>(asio::make_strand(ioc), rules_from(cfg), std::move(s));
}

}  // namespace

// One io_context per io thread, each run by its thread alone: a connection
// stays on the thread that accepted it, so its handlers never wake another
// thread (one context shared by several threads hands every batch of ready
// sockets from the thread in epoll_wait to an idle one: a context switch
// each time). The first context also runs the hub, the store, the listener
// and the signals.
struct server::impl {
    config cfg;
    // The io context of each of threads 2..N, kept running while it has no
    // connection yet. Declared before the first context, so destroyed after
    // it: the first context's pending accept holds a socket of one of these.
    struct io_thread {
        asio::io_context ioc{1};
        asio::executor_work_guard<asio::io_context::executor_type> idle_ok{ioc.get_executor()};
    };
    static std::vector<std::unique_ptr<io_thread>> io_threads(unsigned n) {
        std::vector<std::unique_ptr<io_thread>> all;
        for (unsigned k = 0; k < n; ++k) all.push_back(std::make_unique<io_thread>());
        return all;
    }
    std::vector<std::unique_ptr<io_thread>> more_io{io_threads(cfg.resolved_threads() - 1)};
    asio::io_context ioc{1};
    metrics stats;
    asio::strand<asio::io_context::executor_type> hub_strand{asio::make_strand(ioc)};
    std::unique_ptr<store> store_ptr{make_store(cfg, ioc, hub_strand)};
    hub matchmaking{hub_strand, *store_ptr, hub_settings{{cfg.max_message_bytes, cfg.rate_per_sec, cfg.burst}, ice_servers_of(cfg), cfg.online_interval}, stats};
    net::context ctx{cfg, stats, matchmaking, {}, {}};
    std::shared_ptr<net::listener> acceptor;
    asio::steady_timer drain_timer{hub_strand};
    std::optional<asio::signal_set> signals;
    bool stopping = false;

    explicit impl(config c) : cfg(std::move(c)) {}

    std::vector<asio::io_context*> io_contexts() {
        std::vector<asio::io_context*> all{&ioc};
        for (auto& t : more_io) all.push_back(&t->ioc);
        return all;
    }

    void stop_io() {
        for (auto* c : io_contexts()) c->stop();
    }

    void poll_drain(std::chrono::steady_clock::time_point deadline) {
        if (ctx.stats.connections_open.load() <= 0 || std::chrono::steady_clock::now() >= deadline) {
            spdlog::info("drained ({} connections left)", ctx.stats.connections_open.load());
            stop_io();
            return;
        }
        drain_timer.expires_after(std::chrono::milliseconds(20));
        drain_timer.async_wait([this, deadline](boost::system::error_code) { poll_drain(deadline); });
    }
};

server::server(config cfg) : impl_(std::make_unique<impl>(std::move(cfg))) {}

server::~server() = default;

metrics& server::stats() { return impl_->stats; }

std::uint16_t server::start() {
    auto& i = *impl_;
    if (auto root = find_web_root(i.cfg.web_root)) i.ctx.files.emplace(*root);
    else spdlog::warn("no web root found: only /ws, /healthz, /readyz and /metrics are served");
    if (!i.cfg.tls_cert.empty()) {
        i.ctx.tls.emplace(asio::ssl::context::tls_server);
        auto& tls = *i.ctx.tls;
        tls.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                        asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1 |
                        asio::ssl::context::single_dh_use);
        tls.use_certificate_chain_file(i.cfg.tls_cert);
        tls.use_private_key_file(i.cfg.tls_key, asio::ssl::context::pem);
    }
    i.ctx.trusted_proxies = parse_address_blocks(i.cfg.trusted_proxies).value_or(std::vector<address_block>{});
    i.ctx.addresses = std::make_unique<address_hasher>(i.cfg.address_secret);
    i.ctx.admission = std::make_unique<connection_admission>(
        connection_limits{i.cfg.max_per_address, i.cfg.new_per_minute, i.cfg.max_connections});
    auto address = asio::ip::make_address(i.cfg.listen_address);
    i.acceptor = std::make_shared<net::listener>(i.io_contexts(), i.ctx, asio::ip::tcp::endpoint{address, i.cfg.port});
    i.acceptor->run();
    i.matchmaking.start();
    auto port = i.acceptor->port();
    spdlog::info("listening on {}:{} ({}, store {}, {} threads)", i.cfg.listen_address, port,
                 i.ctx.tls ? "https" : "http", i.cfg.store == "memory" ? "memory" : "redis", i.cfg.resolved_threads());
    if (!i.cfg.turn_urls.empty())
        spdlog::info("TURN: {} URLs, credentials valid {}s", i.cfg.turn_urls.size(),
                     std::chrono::duration_cast<std::chrono::seconds>(i.cfg.turn_ttl).count());
    if (!i.cfg.port_file.empty()) {
        std::ofstream(i.cfg.port_file + ".tmp") << port << '\n';
        fs::rename(i.cfg.port_file + ".tmp", i.cfg.port_file);
    }
    return port;
}

void server::run() {
    auto& i = *impl_;
    std::vector<std::thread> threads;
    for (auto& t : i.more_io) threads.emplace_back([&t] { t->ioc.run(); });
    i.ioc.run();
    for (auto& t : threads) t.join();
}

void server::stop() {
    auto& i = *impl_;
    asio::post(i.hub_strand, [&i] {
        if (i.stopping) return;
        i.stopping = true;
        spdlog::info("draining");
        i.ctx.draining = true;
        if (i.signals) i.signals->cancel();
        if (i.acceptor) i.acceptor->stop();
        i.matchmaking.shutdown();
        i.poll_drain(std::chrono::steady_clock::now() + std::chrono::seconds(5));
    });
}

void server::handle_signals() {
    auto& i = *impl_;
    i.signals.emplace(i.ioc, SIGINT, SIGTERM);
    i.signals->async_wait([this](boost::system::error_code ec, int) {
        if (!ec) stop();
    });
}

}  // namespace serendip
