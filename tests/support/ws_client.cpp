#include "ws_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace serendip::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

struct ws_client::impl {
    asio::io_context ioc;
    websocket::stream<beast::tcp_stream> ws{ioc};
    beast::flat_buffer buffer;
    std::thread thread;

    mutable std::mutex mutex;
    std::condition_variable cv;
    std::deque<std::string> frames;
    bool closed = false;
    int close_code = -1;
    std::size_t received = 0;

    std::deque<std::pair<std::string, bool>> outbox;  // text, binary (io thread only)
    bool writing = false;

    void read_loop() {
        ws.async_read(buffer, [this](beast::error_code ec, std::size_t) {
            std::lock_guard lock(mutex);
            if (ec) {
                closed = true;
                close_code = ws.reason().code ? static_cast<int>(ws.reason().code) : 0;
                cv.notify_all();
                return;
            }
            frames.push_back(beast::buffers_to_string(buffer.data()));
            ++received;
            buffer.consume(buffer.size());
            cv.notify_all();
            read_loop();
        });
    }

    void write_next() {
        if (writing || outbox.empty()) return;
        writing = true;
        auto& [text, binary] = outbox.front();
        ws.binary(binary);
        ws.async_write(asio::buffer(text), [this](beast::error_code, std::size_t) {
            outbox.pop_front();
            writing = false;
            write_next();
        });
    }
};

ws_client::ws_client(std::unique_ptr<impl> i) : impl_(std::move(i)) {}

ws_client::~ws_client() {
    asio::post(impl_->ioc, [i = impl_.get()] {
        beast::error_code ec;
        beast::get_lowest_layer(i->ws).socket().close(ec);
    });
    impl_->thread.join();
}

namespace {

std::unique_ptr<ws_client::impl> handshake(std::uint16_t port, const ws_client::options& opts,
                                           websocket::response_type& res, beast::error_code& ec) {
    auto i = std::make_unique<ws_client::impl>();
    beast::get_lowest_layer(i->ws).connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    std::string host = opts.host.empty() ? "127.0.0.1:" + std::to_string(port) : opts.host;
    std::string origin = opts.origin.value_or("http://127.0.0.1:" + std::to_string(port));
    i->ws.set_option(websocket::stream_base::decorator([origin, fwd = opts.forwarded_for](websocket::request_type& req) {
        if (!origin.empty()) req.set(beast::http::field::origin, origin);
        if (!fwd.empty()) req.set("X-Forwarded-For", fwd);
    }));
    i->ws.read_message_max(64 * 1024 * 1024);
    i->ws.handshake(res, host, opts.path, ec);
    return i;
}

}  // namespace

upgrade_result ws_client::try_connect(std::uint16_t port, options opts) {
    websocket::response_type res;
    beast::error_code ec;
    auto i = handshake(port, opts, res, ec);
    return {!ec, static_cast<int>(res.result_int())};
}

std::unique_ptr<ws_client> ws_client::connect(std::uint16_t port, options opts) {
    websocket::response_type res;
    beast::error_code ec;
    auto i = handshake(port, opts, res, ec);
    if (ec) throw std::runtime_error("upgrade refused: " + std::to_string(res.result_int()) + " " + ec.message());
    if (!opts.answer_pings) {
        // Beast answers pings inside read; a client that "never answers" simply stops reading.
    }
    auto* raw = i.get();
    raw->read_loop();
    raw->thread = std::thread([raw] { raw->ioc.run(); });
    return std::unique_ptr<ws_client>(new ws_client(std::move(i)));
}

void ws_client::send(std::string text) {
    asio::post(impl_->ioc, [i = impl_.get(), text = std::move(text)]() mutable {
        i->outbox.emplace_back(std::move(text), false);
        i->write_next();
    });
}

void ws_client::send_binary(std::string bytes) {
    asio::post(impl_->ioc, [i = impl_.get(), bytes = std::move(bytes)]() mutable {
        i->outbox.emplace_back(std::move(bytes), true);
        i->write_next();
    });
}

void ws_client::send_fragmented(std::string text, std::size_t pieces) {
    std::promise<void> done;
    auto fut = done.get_future();
    asio::post(impl_->ioc, [i = impl_.get(), text = std::move(text), pieces, &done] {
        i->ws.binary(false);
        std::size_t step = std::max<std::size_t>(1, text.size() / pieces);
        beast::error_code ec;
        for (std::size_t at = 0; at < text.size() && !ec; at += step) {
            bool fin = at + step >= text.size();
            i->ws.write_some(fin, asio::buffer(text.data() + at, std::min(step, text.size() - at)), ec);
        }
        done.set_value();
    });
    fut.wait();
}

std::optional<json> ws_client::recv(std::chrono::milliseconds timeout) {
    std::unique_lock lock(impl_->mutex);
    if (!impl_->cv.wait_for(lock, timeout, [&] { return !impl_->frames.empty() || impl_->closed; })) return std::nullopt;
    if (impl_->frames.empty()) return std::nullopt;
    std::string text = std::move(impl_->frames.front());
    impl_->frames.pop_front();
    lock.unlock();
    auto j = json::parse(text, nullptr, false);
    if (j.is_discarded()) throw std::runtime_error("server sent invalid JSON: " + text);
    return j;
}

json ws_client::expect(const std::string& type, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) throw std::runtime_error("timed out waiting for " + type);
        auto j = recv(left);
        if (!j) throw std::runtime_error("timed out or closed waiting for " + type);
        if ((*j)["type"] == type) return *j;
    }
}

json ws_client::expect_next(const std::string& type, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        auto j = left.count() > 0 ? recv(left) : std::nullopt;
        if (!j) throw std::runtime_error("timed out or closed waiting for " + type);
        if ((*j)["type"] == type) return *j;
        if ((*j)["type"] != "online") throw std::runtime_error("expected " + type + ", got " + j->dump());
    }
}

bool ws_client::quiet_for(std::chrono::milliseconds window) {
    auto deadline = std::chrono::steady_clock::now() + window;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return true;
        auto j = recv(left);
        if (!j) return true;
        if ((*j)["type"] != "online") return false;
    }
}

int ws_client::wait_closed(std::chrono::milliseconds timeout) {
    std::unique_lock lock(impl_->mutex);
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!impl_->closed) {
        if (impl_->cv.wait_until(lock, deadline) == std::cv_status::timeout && !impl_->closed) return -1;
        impl_->frames.clear();
    }
    return impl_->close_code;
}

bool ws_client::is_open() const {
    std::lock_guard lock(impl_->mutex);
    return !impl_->closed;
}

void ws_client::close() {
    asio::post(impl_->ioc, [i = impl_.get()] {
        i->ws.async_close(websocket::close_code::normal, [](beast::error_code) {});
    });
}

std::size_t ws_client::received_count() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->received;
}

struct raw_ws::impl {
    asio::io_context ioc;
    tcp::socket socket{ioc};
    std::string pending;  // bytes read but not yet parsed

    // Reads more bytes with a deadline; false on timeout or EOF.
    bool read_some(std::chrono::milliseconds timeout, bool& eof) {
        std::array<char, 65536> chunk;
        bool done = false;
        socket.async_read_some(asio::buffer(chunk), [&](boost::system::error_code ec, std::size_t n) {
            pending.append(chunk.data(), n);
            // A cancelled read (our own timeout) is not the end of the stream.
            if (ec && ec != asio::error::operation_aborted) eof = true;
            done = true;
        });
        ioc.restart();
        ioc.run_for(timeout);
        if (!done) {
            socket.cancel();
            ioc.restart();
            ioc.run();
            return false;
        }
        return !eof || !pending.empty();
    }

    // Parses one frame from `pending`: opcode and payload; false if incomplete.
    bool parse(std::uint8_t& opcode, std::string& payload) {
        if (pending.size() < 2) return false;
        auto b = [&](std::size_t i) { return static_cast<std::uint8_t>(pending[i]); };
        opcode = b(0) & 0x0F;
        std::uint64_t len = b(1) & 0x7F;
        std::size_t at = 2;
        if (len == 126) {
            if (pending.size() < 4) return false;
            len = (b(2) << 8) | b(3);
            at = 4;
        } else if (len == 127) {
            if (pending.size() < 10) return false;
            len = 0;
            for (int i = 0; i < 8; ++i) len = (len << 8) | b(2 + i);
            at = 10;
        }
        if (pending.size() < at + len) return false;
        payload = pending.substr(at, len);
        pending.erase(0, at + len);
        return true;
    }
};

raw_ws::raw_ws(std::uint16_t port, const std::string& path, int receive_buffer) : impl_(std::make_unique<impl>()) {
    impl_->socket.open(tcp::v4());
    if (receive_buffer > 0) impl_->socket.set_option(asio::socket_base::receive_buffer_size(receive_buffer));
    impl_->socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                      "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      "Sec-WebSocket-Version: 13\r\nOrigin: http://127.0.0.1:" + std::to_string(port) + "\r\n\r\n";
    asio::write(impl_->socket, asio::buffer(req));
    bool eof = false;
    while (impl_->pending.find("\r\n\r\n") == std::string::npos)
        if (!impl_->read_some(3s, eof) || eof) throw std::runtime_error("raw upgrade failed");
    if (impl_->pending.rfind("HTTP/1.1 101", 0) != 0) throw std::runtime_error("raw upgrade refused");
    impl_->pending.erase(0, impl_->pending.find("\r\n\r\n") + 4);
}

raw_ws::~raw_ws() = default;

void raw_ws::send_frame(std::uint8_t opcode, const std::string& payload, bool fin) { send_raw(frame(opcode, payload, fin)); }

void raw_ws::send_raw(const std::string& bytes) {
    boost::system::error_code ec;
    asio::write(impl_->socket, asio::buffer(bytes), ec);
}

void raw_ws::reset() {
    boost::system::error_code ec;
    impl_->socket.set_option(asio::socket_base::linger(true, 0), ec);  // close() then sends RST
    impl_->socket.close(ec);
}

std::string raw_ws::frame(std::uint8_t opcode, const std::string& payload, bool fin) {
    std::string f;
    f += static_cast<char>((fin ? 0x80 : 0) | opcode);
    if (payload.size() < 126) {
        f += static_cast<char>(0x80 | payload.size());
    } else if (payload.size() < 65536) {
        f += static_cast<char>(0x80 | 126);
        f += static_cast<char>(payload.size() >> 8);
        f += static_cast<char>(payload.size() & 0xFF);
    } else {
        f += static_cast<char>(0x80 | 127);
        for (int i = 7; i >= 0; --i) f += static_cast<char>((static_cast<std::uint64_t>(payload.size()) >> (8 * i)) & 0xFF);
    }
    const char mask[4] = {0x12, 0x34, 0x56, 0x78};
    f.append(mask, 4);
    for (std::size_t i = 0; i < payload.size(); ++i) f += static_cast<char>(payload[i] ^ mask[i % 4]);
    return f;
}

int raw_ws::wait_close(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        std::uint8_t op;
        std::string payload;
        while (impl_->parse(op, payload)) {
            if (op == 0x8) return payload.size() >= 2 ? (static_cast<std::uint8_t>(payload[0]) << 8) | static_cast<std::uint8_t>(payload[1]) : 0;
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return -1;
        bool eof = false;
        if (!impl_->read_some(left, eof)) return eof ? 0 : -1;
        if (eof && impl_->pending.empty()) return 0;
    }
}

std::string raw_ws::read_text(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        std::uint8_t op;
        std::string payload;
        while (impl_->parse(op, payload))
            if (op == 0x1) return payload;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        bool eof = false;
        if (left.count() <= 0 || !impl_->read_some(left, eof) || eof) return {};
    }
}

std::string raw_http(std::uint16_t port, const std::string& bytes, std::chrono::milliseconds timeout) {
    asio::io_context ioc;
    tcp::socket socket(ioc);
    socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    asio::write(socket, asio::buffer(bytes));
    std::string out;
    std::array<char, 8192> chunk;
    std::function<void()> read_more = [&] {
        socket.async_read_some(asio::buffer(chunk), [&](boost::system::error_code ec, std::size_t n) {
            out.append(chunk.data(), n);
            if (!ec) read_more();
        });
    };
    read_more();
    ioc.run_for(timeout);
    return out;
}

int status_of(const std::string& response) {
    if (response.size() < 12 || response.rfind("HTTP/1.", 0) != 0) return 0;
    return std::stoi(response.substr(9, 3));
}

std::string header_of(const std::string& response, const std::string& name) {
    auto head = response.substr(0, response.find("\r\n\r\n"));
    std::string lower_head = head, lower_name = name + ":";
    for (auto& c : lower_head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (auto& c : lower_name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto at = lower_head.find("\r\n" + lower_name);
    if (at == std::string::npos) return {};
    auto start = at + 2 + lower_name.size();
    auto end = head.find("\r\n", start);
    auto value = head.substr(start, end - start);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    return value;
}

std::string body_of(const std::string& response) {
    auto at = response.find("\r\n\r\n");
    return at == std::string::npos ? std::string{} : response.substr(at + 4);
}

std::string http_get(std::uint16_t port, const std::string& target, const std::string& extra_headers) {
    return raw_http(port, "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + extra_headers +
                              "\r\n");
}

// ---- client_swarm --------------------------------------------------------------

namespace {

class swarm_client : public std::enable_shared_from_this<swarm_client> {
public:
    swarm_client(asio::io_context& ioc, std::size_t index, const client_swarm::handler& on_frame, std::size_t& failures)
        : ws_(ioc), index_(index), on_frame_(on_frame), failures_(failures) {}

    void start(std::uint16_t port) {
        boost::system::error_code ec;
        beast::get_lowest_layer(ws_).socket().connect({asio::ip::make_address("127.0.0.1"), port}, ec);
        if (ec) {
            ++failures_;
            return;
        }
        ws_.set_option(websocket::stream_base::decorator([port](websocket::request_type& req) {
            req.set(beast::http::field::origin, "http://127.0.0.1:" + std::to_string(port));
        }));
        ws_.async_handshake("127.0.0.1:" + std::to_string(port), "/ws", [self = shared_from_this()](beast::error_code ec) {
            if (ec) {
                ++self->failures_;
                return;
            }
            self->read();
        });
    }

    void cut() {
        boost::system::error_code ignored;
        beast::get_lowest_layer(ws_).socket().close(ignored);
    }

private:
    void read() {
        ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) {
                if (ec != asio::error::operation_aborted && ec != websocket::error::closed) ++self->failures_;
                return;
            }
            auto frame = json::parse(beast::buffers_to_string(self->buffer_.data()));
            self->buffer_.consume(self->buffer_.size());
            for (auto& text : self->on_frame_(self->index_, frame)) self->send(std::move(text));
            self->read();
        });
    }
    void send(std::string text) {
        out_.push_back(std::move(text));
        if (out_.size() == 1) write();
    }
    void write() {
        ws_.async_write(asio::buffer(out_.front()), [self = shared_from_this()](beast::error_code ec, std::size_t) {
            self->out_.pop_front();
            if (!ec && !self->out_.empty()) self->write();
        });
    }

    websocket::stream<beast::tcp_stream> ws_;
    beast::flat_buffer buffer_;
    std::deque<std::string> out_;
    std::size_t index_;
    const client_swarm::handler& on_frame_;
    std::size_t& failures_;
};

}  // namespace

struct client_swarm::impl {
    asio::io_context ioc;
    handler on_frame;
    std::size_t failures = 0;
    std::vector<std::shared_ptr<swarm_client>> clients;
};

client_swarm::client_swarm(std::uint16_t port, std::size_t clients, handler on_frame) : impl_(std::make_unique<impl>()) {
    impl_->on_frame = std::move(on_frame);
    for (std::size_t i = 0; i < clients; ++i) {
        impl_->clients.push_back(std::make_shared<swarm_client>(impl_->ioc, i, impl_->on_frame, impl_->failures));
        impl_->clients.back()->start(port);
    }
}

client_swarm::~client_swarm() {
    close_all();
    impl_->ioc.restart();
    impl_->ioc.run_for(200ms);
}

void client_swarm::run_for(std::chrono::milliseconds d) {
    impl_->ioc.restart();
    impl_->ioc.run_for(d);
}

void client_swarm::close_all() {
    for (auto& c : impl_->clients) c->cut();
}

std::size_t client_swarm::failures() const { return impl_->failures; }

std::string tls_first_frame_then_cut(std::uint16_t port) {
    asio::io_context ioc;
    asio::ssl::context ssl(asio::ssl::context::tls_client);
    ssl.set_verify_mode(asio::ssl::verify_none);
    websocket::stream<asio::ssl::stream<tcp::socket>> ws(ioc, ssl);
    beast::get_lowest_layer(ws).connect({asio::ip::make_address("127.0.0.1"), port});
    ws.next_layer().handshake(asio::ssl::stream_base::client);
    ws.set_option(websocket::stream_base::decorator([port](websocket::request_type& req) {
        req.set(beast::http::field::origin, "https://127.0.0.1:" + std::to_string(port));
    }));
    ws.handshake("127.0.0.1:" + std::to_string(port), "/ws");
    beast::flat_buffer first;
    ws.read(first);
    beast::get_lowest_layer(ws).close();  // no close frame, no close_notify
    return beast::buffers_to_string(first.data());
}

}  // namespace serendip::testing
