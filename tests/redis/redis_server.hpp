#pragma once
// A real redis-server (the Debian package) for the tests: started on a free
// loopback port with no persistence, stopped, frozen (SIGSTOP) or restarted
// on the same port. start() throws if it cannot: tests fail, never skip.
// Also a small synchronous client (hiredis) to inspect the keyspace.

#include <hiredis/hiredis.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace serendip::testing {

inline std::uint16_t free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

// One reply, flattened for tests: strings of an array, or the one value.
struct sync_reply {
    bool ok = false;
    long long integer = 0;
    std::string str;
    std::vector<std::string> items;
};

class redis_server {
public:
    redis_server() { start(); }
    ~redis_server() { stop(); }
    redis_server(const redis_server&) = delete;
    redis_server& operator=(const redis_server&) = delete;

    std::uint16_t port() const { return port_; }
    std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
    pid_t pid() const { return pid_; }

    void start() {
        for (int attempt = 0; attempt < 5; ++attempt) {
            if (!port_fixed_) port_ = free_port();
            if (spawn() && wait_up(std::chrono::seconds(10))) return;
            stop();
        }
        throw std::runtime_error("cannot start redis-server (is the redis-server package installed?)");
    }
    // Kills it (SIGKILL: data gone) and starts a new one on the same port.
    void stop() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGCONT);
        ::kill(pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
    }
    void restart_same_port() {
        stop();
        port_fixed_ = true;
        start();
    }
    void freeze() { ::kill(pid_, SIGSTOP); }
    void thaw() { ::kill(pid_, SIGCONT); }

    sync_reply cmd(const std::vector<std::string>& args) const {
        sync_reply out;
        timeval tv{2, 0};
        std::unique_ptr<redisContext, void (*)(redisContext*)> c(
            redisConnectWithTimeout("127.0.0.1", port_, tv), redisFree);
        if (!c || c->err) return out;
        redisSetTimeout(c.get(), tv);
        std::vector<const char*> argv;
        std::vector<std::size_t> lens;
        for (const auto& a : args) {
            argv.push_back(a.data());
            lens.push_back(a.size());
        }
        auto* r = static_cast<redisReply*>(redisCommandArgv(c.get(), static_cast<int>(argv.size()), argv.data(), lens.data()));
        if (!r) return out;
        out.ok = r->type != REDIS_REPLY_ERROR;
        if (r->type == REDIS_REPLY_INTEGER) out.integer = r->integer;
        if (r->str) out.str.assign(r->str, r->len);
        for (std::size_t i = 0; i < r->elements; ++i)
            if (r->element[i]->str) out.items.emplace_back(r->element[i]->str, r->element[i]->len);
        freeReplyObject(r);
        return out;
    }
    std::vector<std::string> keys() const { return cmd({"KEYS", "*"}).items; }
    // Keys without a TTL (TTL -1): must always be empty.
    std::vector<std::string> keys_without_ttl() const {
        std::vector<std::string> out;
        for (const auto& k : keys())
            if (cmd({"PTTL", k}).integer == -1) out.push_back(k);
        return out;
    }

private:
    bool spawn() {
        auto log = (std::filesystem::temp_directory_path() / ("serendip-redis-" + std::to_string(port_) + ".log")).string();
        std::vector<std::string> args{"redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1",
                                      "--save", "", "--appendonly", "no", "--daemonize", "no",
                                      "--protected-mode", "no", "--logfile", log};
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
        int rc = posix_spawnp(&pid_, "redis-server", &actions, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        if (rc != 0) pid_ = -1;
        return rc == 0;
    }
    bool wait_up(std::chrono::seconds timeout) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                return false;  // exited: port taken, most likely
            }
            if (cmd({"PING"}).str == "PONG") return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return false;
    }

    std::uint16_t port_ = 0;
    bool port_fixed_ = false;
    pid_t pid_ = -1;
};

}  // namespace serendip::testing
