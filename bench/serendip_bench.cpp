// serendip-bench: a load generator written against PROTOCOL.md. Runs one
// scenario against a running server and prints one JSON object with the
// client-side figures and, given --server-pid, the server's CPU time and
// memory read from /proc (the client shares the machine, so throughput alone
// would measure the client).
//
//   serendip-bench idle  --port 8080 --server-pid PID --connections 19000
//   serendip-bench relay --port 8080 --server-pid PID --pairs 500 --seconds 10 [--rate 5000]
//   serendip-bench churn --port 8080 --server-pid PID --clients 2000 --seconds 10 [--rate 2000]
//
// Several instances: --port 8081,8082 spreads the clients round-robin over
// them, and --server-pid PID1,PID2,REDIS_PID sums the CPU time and memory of
// all of them (instances plus Redis).
//
// --rate 0 (the default) runs at full speed; otherwise it is the total
// round trips (relay) or matches (churn) per second.

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <chrono>
#include <deque>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;
using json = nlohmann::json;

namespace {

struct options {
    std::string scenario;
    std::string host = "127.0.0.1";
    std::vector<std::uint16_t> ports{8080};  // several instances: clients spread round-robin
    std::vector<int> server_pids;            // CPU and RSS are summed (instances, Redis)
    int connections = 19'000;
    int pairs = 500;
    int clients = 2'000;
    double seconds = 10;
    double rate = 0;
    int concurrency = 256;  // connections being opened at once
};

// ---- /proc readings ----------------------------------------------------

double cpu_seconds(int pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), {});
    auto after = stat.rfind(')');
    if (after == std::string::npos) return 0;
    std::istringstream fields(stat.substr(after + 2));
    std::string f;
    std::vector<std::string> v;
    while (fields >> f) v.push_back(f);
    // utime and stime are fields 14 and 15 of the whole line (11, 12 after the state)
    if (v.size() < 13) return 0;
    return (std::stod(v[11]) + std::stod(v[12])) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

long rss_kib(int pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    return 0;
}

struct proc_sample {
    double server_cpu = 0, client_cpu = 0;
    long server_rss = 0;
    clock_type::time_point at;
};

proc_sample sample(const options& o) {
    proc_sample s{0, cpu_seconds(getpid()), 0, clock_type::now()};
    for (int pid : o.server_pids) {
        s.server_cpu += cpu_seconds(pid);
        s.server_rss += rss_kib(pid);
    }
    return s;
}

// ---- statistics ---------------------------------------------------------

json percentiles_us(std::vector<double>& v) {
    if (v.empty()) return nullptr;
    std::sort(v.begin(), v.end());
    auto at = [&](double q) { return v[std::min(v.size() - 1, static_cast<std::size_t>(q * v.size()))]; };
    auto round2 = [](double x) { return std::round(x * 100) / 100; };
    return {{"p50", round2(at(0.50))}, {"p99", round2(at(0.99))}, {"p999", round2(at(0.999))}, {"max", round2(v.back())}};
}

// ---- one client connection ----------------------------------------------

// Finds "type":"X" without parsing the whole frame: the client must stay cheap.
std::string_view type_of(std::string_view frame) {
    auto at = frame.find("\"type\":\"");
    if (at == std::string_view::npos) return {};
    at += 8;
    return frame.substr(at, frame.find('"', at) - at);
}

class connection : public std::enable_shared_from_this<connection> {
public:
    using handler = std::function<void(connection&, std::string_view)>;

    explicit connection(asio::io_context& ioc) : ws_(ioc) {}

    void open(const tcp::endpoint& at, const std::string& host, std::function<void(bool)> done) {
        beast::get_lowest_layer(ws_).async_connect(at, [self = shared_from_this(), host, done](beast::error_code ec) {
            if (ec) return done(false);
            beast::get_lowest_layer(self->ws_).socket().set_option(tcp::no_delay(true));
            self->ws_.set_option(websocket::stream_base::decorator([host](websocket::request_type& r) {
                r.set(beast::http::field::origin, "http://" + host);
            }));
            self->ws_.async_handshake(host, "/ws", [self, done](beast::error_code ec) {
                if (ec) return done(false);
                self->read();
                done(true);
            });
        });
    }

    void on_message(handler h) {
        handler_ = std::move(h);
        handler_replaced_ = true;
    }

    void send(std::string text) {
        out_.push_back(std::move(text));
        if (out_.size() == 1) write();
    }

    void close() {
        beast::error_code ec;
        beast::get_lowest_layer(ws_).socket().close(ec);
    }

    int id = 0;
    bool offerer = false;
    clock_type::time_point sent_at{};

private:
    void read() {
        ws_.async_read(buf_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) return;
            auto data = self->buf_.cdata();
            std::string_view text(static_cast<const char*>(data.data()), data.size());
            // The handler may replace itself: keep it alive while it runs.
            if (auto h = std::move(self->handler_)) {
                self->handler_replaced_ = false;
                h(*self, text);
                if (!self->handler_replaced_) self->handler_ = std::move(h);
            }
            self->buf_.consume(self->buf_.size());
            self->read();
        });
    }

    void write() {
        ws_.async_write(asio::buffer(out_.front()), [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) return;
            self->out_.pop_front();
            if (!self->out_.empty()) self->write();
        });
    }

    websocket::stream<beast::tcp_stream> ws_;
    beast::flat_buffer buf_;
    std::deque<std::string> out_;
    handler handler_;
    bool handler_replaced_ = false;
};

using conn_ptr = std::shared_ptr<connection>;

// Opens `n` connections, at most `concurrency` in flight; calls `done` with
// the ones that reached `welcome`.
void open_many(asio::io_context& ioc, const options& o, int n, std::function<void(std::vector<conn_ptr>, int)> done) {
    struct state {
        std::vector<conn_ptr> open;
        int started = 0, finished = 0, failed = 0;
    };
    auto st = std::make_shared<state>();
    auto start_one = std::make_shared<std::function<void()>>();
    *start_one = [&ioc, &o, st, n, done, start_one]() {
        if (st->started >= n) return;
        auto c = std::make_shared<connection>(ioc);
        c->id = st->started++;
        auto port = o.ports[static_cast<std::size_t>(c->id) % o.ports.size()];
        tcp::endpoint at(asio::ip::make_address(o.host), port);
        std::string host = o.host + ":" + std::to_string(port);
        // Welcome is the first frame: count the connection open when it comes.
        c->on_message([st, n, done, start_one](connection& self, std::string_view frame) {
            if (type_of(frame) != "welcome") return;
            self.on_message(nullptr);
            st->open.push_back(self.shared_from_this());
            if (++st->finished == n) done(std::move(st->open), st->failed);
            else (*start_one)();
        });
        c->open(at, host, [st, n, done, start_one](bool ok) {
            if (ok) return;
            ++st->failed;
            if (++st->finished == n) done(std::move(st->open), st->failed);
            else (*start_one)();
        });
    };
    for (int i = 0; i < std::min(n, o.concurrency); ++i) (*start_one)();
}

void run_for(asio::io_context& ioc, std::function<bool()> until, std::chrono::duration<double> limit) {
    auto deadline = clock_type::now() + std::chrono::duration_cast<clock_type::duration>(limit);
    while (!until() && clock_type::now() < deadline) ioc.run_for(std::chrono::milliseconds(20));
}

// ---- scenarios ------------------------------------------------------------

json idle(const options& o) {
    asio::io_context ioc;
    auto before = sample(o);
    std::vector<conn_ptr> conns;
    int failed = 0;
    bool done = false;
    auto t0 = clock_type::now();
    open_many(ioc, o, o.connections, [&](std::vector<conn_ptr> c, int f) {
        conns = std::move(c);
        failed = f;
        done = true;
    });
    run_for(ioc, [&] { return done; }, std::chrono::seconds(600));
    double took = std::chrono::duration<double>(clock_type::now() - t0).count();
    // Hold them a moment so the server settles, then read its memory.
    run_for(ioc, [] { return false; }, std::chrono::seconds(3));
    auto after = sample(o);
    json r = {{"scenario", "idle"},
              {"connections", conns.size()},
              {"failures", failed},
              {"connect_seconds", std::round(took * 100) / 100},
              {"connects_per_sec", std::round(conns.size() / took)},
              {"server_rss_kib_before", before.server_rss},
              {"server_rss_kib_after", after.server_rss},
              {"server_bytes_per_connection",
               conns.empty() ? 0 : std::round((after.server_rss - before.server_rss) * 1024.0 / conns.size())},
              {"server_cpu_us_per_connect",
               conns.empty() ? 0 : std::round((after.server_cpu - before.server_cpu) * 1e6 / conns.size())}};
    for (auto& c : conns) c->close();
    ioc.run_for(std::chrono::milliseconds(200));
    return r;
}

// Sets up `clients` connections that joined and reports when all are paired.
std::vector<conn_ptr> paired_clients(asio::io_context& ioc, const options& o, int clients) {
    std::vector<conn_ptr> conns;
    bool opened = false;
    open_many(ioc, o, clients, [&](std::vector<conn_ptr> c, int) {
        conns = std::move(c);
        opened = true;
    });
    run_for(ioc, [&] { return opened; }, std::chrono::seconds(300));
    int matched = 0;
    for (auto& c : conns) {
        c->on_message([&matched](connection& self, std::string_view f) {
            if (type_of(f) == "matched") {
                self.offerer = f.find("\"role\":\"offerer\"") != std::string_view::npos;
                ++matched;
            }
        });
        c->send(R"({"type":"join","mode":"video"})");
    }
    run_for(ioc, [&] { return matched == static_cast<int>(conns.size()); }, std::chrono::seconds(60));
    return conns;
}

// A 300-byte candidate-like signal carrying its send time.
std::string candidate_frame(std::int64_t stamp) {
    std::string c = "candidate:" + std::to_string(stamp) + " 1 udp 2122260223 192.0.2.10 51234 typ host generation 0 ufrag abcd network-id 1";
    json j = {{"type", "signal"}, {"data", {{"candidate", {{"candidate", c}, {"sdpMid", "0"}, {"sdpMLineIndex", 0}}}}}};
    std::string s = j.dump();
    if (s.size() < 300) {
        c += std::string(300 - s.size(), 'x');
        j["data"]["candidate"]["candidate"] = c;
        s = j.dump();
    }
    return s;
}

std::int64_t stamp_of(std::string_view frame) {
    auto at = frame.find("candidate:");
    if (at == std::string_view::npos) return -1;
    at += 10;
    std::int64_t v = -1;
    std::from_chars(frame.data() + at, frame.data() + frame.size(), v);
    return v;
}

std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now().time_since_epoch()).count();
}

// Runs the scenario for a warm-up second, then measures `o.seconds`:
// `measuring` is true only inside the window. Returns the shared fields.
struct window {
    proc_sample before, after;
    double seconds() const { return std::chrono::duration<double>(after.at - before.at).count(); }
    // Server CPU per unit of work in microseconds, and both sides' cores.
    json cpu(const char* per_unit_name, std::int64_t units) const {
        double server = after.server_cpu - before.server_cpu;
        auto two_places = [](double x) { return std::round(x * 100) / 100; };
        return {{per_unit_name, units ? std::round(server * 1e6 / units * 10) / 10 : 0},
                {"server_cpu_cores", two_places(server / seconds())},
                {"client_cpu_cores", two_places((after.client_cpu - before.client_cpu) / seconds())},
                {"server_rss_kib", after.server_rss}};
    }
};

window measure(asio::io_context& ioc, const options& o, bool& measuring) {
    run_for(ioc, [] { return false; }, std::chrono::seconds(1));  // warm up
    measuring = true;
    window w;
    w.before = sample(o);
    run_for(ioc, [] { return false; }, std::chrono::duration<double>(o.seconds));
    w.after = sample(o);
    measuring = false;
    return w;
}

// Calls `fire` `per_second` times a second on average from one timer,
// catching up after late wake-ups, until stopped or destroyed.
class pacer {
public:
    pacer(asio::io_context& ioc, double per_second, std::function<void()> fire)
        : timer_(ioc),
          interval_(std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(1.0 / per_second))),
          next_at_(clock_type::now()),
          fire_(std::move(fire)) {
        step();
    }
    ~pacer() { timer_.cancel(); }

private:
    void step() {
        for (auto now = clock_type::now(); next_at_ <= now; next_at_ += interval_) fire_();
        timer_.expires_at(next_at_);
        timer_.async_wait([this](beast::error_code ec) {
            if (!ec) step();
        });
    }

    asio::steady_timer timer_;
    clock_type::duration interval_;
    clock_type::time_point next_at_;
    std::function<void()> fire_;
};

json relay(const options& o) {
    asio::io_context ioc;
    auto conns = paired_clients(ioc, o, o.pairs * 2);
    std::vector<double> latencies;
    latencies.reserve(1'000'000);
    std::int64_t trips = 0;
    bool measuring = false;
    const bool paced = o.rate > 0;
    std::vector<conn_ptr> offerers;
    for (auto& c : conns) {
        if (c->offerer) offerers.push_back(c);
        c->on_message([&, paced](connection& self, std::string_view f) {
            if (type_of(f) != "signal") return;
            if (!self.offerer) return self.send(candidate_frame(stamp_of(f)));  // the answerer echoes
            auto sent = stamp_of(f);
            if (measuring) {
                latencies.push_back((now_ns() - sent) / 1000.0);
                ++trips;
            }
            if (!paced) self.send(candidate_frame(now_ns()));
        });
    }
    // Paced: one timer sends to the offerers in turn at the total rate.
    std::size_t next_offerer = 0;
    std::optional<pacer> pacing;
    if (paced)
        pacing.emplace(ioc, o.rate, [&] { offerers[next_offerer++ % offerers.size()]->send(candidate_frame(now_ns())); });
    else
        for (auto& c : offerers) c->send(candidate_frame(now_ns()));
    auto w = measure(ioc, o, measuring);
    pacing.reset();
    json r = {{"scenario", "relay"},
              {"pairs", offerers.size()},
              {"mode", paced ? "paced" : "full speed"},
              {"target_round_trips_per_sec", o.rate},
              {"round_trips", trips},
              {"round_trips_per_sec", std::round(trips / w.seconds())},
              {"latency_us", percentiles_us(latencies)}};
    r.update(w.cpu("server_cpu_us_per_round_trip", trips));
    for (auto& c : conns) c->close();
    ioc.run_for(std::chrono::milliseconds(200));
    return r;
}

json churn(const options& o) {
    asio::io_context ioc;
    std::vector<conn_ptr> conns;
    bool opened = false;
    open_many(ioc, o, o.clients, [&](std::vector<conn_ptr> c, int) {
        conns = std::move(c);
        opened = true;
    });
    run_for(ioc, [&] { return opened; }, std::chrono::seconds(300));

    std::vector<double> latencies;
    latencies.reserve(1'000'000);
    std::int64_t matches = 0;  // counted once per pair, by the offerer
    bool measuring = false;
    const bool paced = o.rate > 0;
    // Paced: clients ready to queue wait here and are released at 2x the match rate.
    std::deque<conn_ptr> ready;
    auto enter_queue = [&](connection& c, bool first) {
        c.sent_at = clock_type::now();
        c.send(first ? R"({"type":"join","mode":"video"})" : R"({"type":"next"})");
    };
    std::vector<bool> joined(conns.size(), false);
    auto want_queue = [&](connection& c) {
        if (paced) ready.push_back(c.shared_from_this());
        else enter_queue(c, !joined[c.id]);
        joined[c.id] = true;
    };
    for (auto& c : conns) {
        c->on_message([&](connection& self, std::string_view f) {
            auto type = type_of(f);
            if (type == "matched") {
                if (measuring) latencies.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - self.sent_at).count());
                self.offerer = f.find("\"role\":\"offerer\"") != std::string_view::npos;
                if (self.offerer) {
                    if (measuring) ++matches;
                    self.send(R"({"type":"signal","data":{"candidate":{"candidate":"","sdpMid":"0","sdpMLineIndex":0}}})");
                }
            } else if (type == "signal") {
                want_queue(self);  // the answerer moves on: `next` ends the pair
            } else if (type == "peer_left") {
                want_queue(self);
            }
        });
    }
    for (auto& c : conns) {
        joined[c->id] = true;
        enter_queue(*c, true);
    }
    std::optional<pacer> pacing;
    if (paced)
        pacing.emplace(ioc, 2 * o.rate, [&] {
            if (ready.empty()) return;
            auto c = ready.front();
            ready.pop_front();
            enter_queue(*c, false);
        });
    auto w = measure(ioc, o, measuring);
    pacing.reset();
    json r = {{"scenario", "churn"},
              {"clients", conns.size()},
              {"mode", paced ? "paced" : "full speed"},
              {"target_matches_per_sec", o.rate},
              {"matches", matches},
              {"matches_per_sec", std::round(matches / w.seconds())},
              {"join_to_matched_us", percentiles_us(latencies)}};
    r.update(w.cpu("server_cpu_us_per_match", matches));
    for (auto& c : conns) c->close();
    ioc.run_for(std::chrono::milliseconds(200));
    return r;
}

int usage() {
    std::cerr << "usage: serendip-bench idle|relay|churn [--host H] [--port N[,N...]] [--server-pid PID[,PID...]]\n"
                 "       [--connections N] [--pairs N] [--clients N] [--seconds S] [--rate R] [--concurrency N]\n";
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) return usage();
    options o;
    o.scenario = argv[1];
    for (int i = 2; i + 1 < argc; i += 2) {
        std::string k = argv[i], v = argv[i + 1];
        if (k == "--host") o.host = v;
        else if (k == "--port" || k == "--server-pid") {
            // A comma-separated list: several instances (and Redis's pid, to count its CPU).
            std::vector<int> list;
            std::istringstream in(v);
            for (std::string item; std::getline(in, item, ',');) list.push_back(std::stoi(item));
            if (k == "--port") o.ports.assign(list.begin(), list.end());
            else o.server_pids = list;
            if (o.ports.empty()) return usage();
        }
        else if (k == "--connections") o.connections = std::stoi(v);
        else if (k == "--pairs") o.pairs = std::stoi(v);
        else if (k == "--clients") o.clients = std::stoi(v);
        else if (k == "--seconds") o.seconds = std::stod(v);
        else if (k == "--rate") o.rate = std::stod(v);
        else if (k == "--concurrency") o.concurrency = std::stoi(v);
        else return usage();
    }
    json result;
    if (o.scenario == "idle") result = idle(o);
    else if (o.scenario == "relay") result = relay(o);
    else if (o.scenario == "churn") result = churn(o);
    else return usage();
    std::cout << result.dump() << std::endl;
    return 0;
}
