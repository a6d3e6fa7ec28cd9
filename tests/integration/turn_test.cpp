// TURN credentials in `welcome` and `matched`, and "hide my IP" (join
// relayOnly), over real WebSockets; then the issued credentials against a
// real coturn (Debian's `coturn` package: turnserver and turnutils_uclient).

#include "child_process.hpp"
#include "test_server.hpp"
#include "ws_client.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <filesystem>
#include <regex>

using namespace serendip;
using namespace serendip::testing;

namespace {

constexpr const char* secret = "integration-test-secret";
const std::vector<std::string> turn_urls = {"turn:127.0.0.1:3478?transport=udp", "turns:turn.example:5349?transport=tcp"};

// Recomputed here with OpenSSL directly, not with the server's helper.
std::string expected_credential(const std::string& key, const std::string& username) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(username.data()),
         username.size(), mac, &length);
    unsigned char text[64];
    int n = EVP_EncodeBlock(text, mac, static_cast<int>(length));
    return std::string(reinterpret_cast<const char*>(text), static_cast<std::size_t>(n));
}

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

struct issued {
    std::int64_t expiry = 0;
    std::string pseudonym, username, credential;
};

// Checks the shape of an iceServers array with TURN and returns the TURN
// credentials; `stun` is the expected STUN entry's urls.
issued check_ice_servers(const json& ice, const json& stun, const std::string& key = secret) {
    issued out;
    EXPECT_TRUE(ice.is_array() && ice.size() == 2) << ice;
    if (!ice.is_array() || ice.size() != 2) return out;
    EXPECT_EQ(ice[0], json({{"urls", stun}})) << "a STUN entry first, without credentials";
    EXPECT_EQ(ice[1]["urls"], json(turn_urls));
    out.username = ice[1].value("username", "");
    out.credential = ice[1].value("credential", "");
    std::smatch m;
    EXPECT_TRUE(std::regex_match(out.username, m, std::regex("([0-9]+):([0-9a-f]{24})"))) << out.username;
    if (m.empty()) return out;
    out.expiry = std::stoll(m[1]);
    out.pseudonym = m[2];
    EXPECT_EQ(out.credential, expected_credential(key, out.username)) << "base64(HMAC-SHA1(secret, username))";
    return out;
}

json candidate(const std::string& line) {
    return {{"type", "signal"}, {"data", {{"candidate", {{"candidate", line}, {"sdpMid", "0"}, {"sdpMLineIndex", 0}}}}}};
}

json description(const std::string& type, const std::string& sdp) {
    return {{"type", "signal"}, {"data", {{"description", {{"type", type}, {"sdp", sdp}}}}}};
}

const std::string host_line = "candidate:1 1 udp 2122260223 192.0.2.10 54400 typ host generation 0";
const std::string mdns_line = "candidate:2 1 udp 2122260223 3f8a2b1c-7d4e-4f1a-9b2c-1d2e3f4a5b6c.local 54401 typ host";
const std::string srflx_line = "candidate:3 1 udp 1677729535 198.51.100.7 50432 typ srflx raddr 0.0.0.0 rport 0";
const std::string prflx_line = "candidate:4 1 udp 1845501695 198.51.100.7 50433 typ prflx raddr 192.0.2.10 rport 54400";
const std::string sneaky_line = "candidate:5 1 udp 2122260223 192.0.2.10 54402 typ host raddr relay rport 0 typ relay";
const std::string upper_line = "candidate:6 1 udp 41885439 192.0.2.10 49170 typ RELAY";
const std::string relay_line = "candidate:7 1 udp 41885439 203.0.113.5 49170 typ relay raddr 0.0.0.0 rport 0 generation 0";
const std::string relay_line2 = "candidate:8 1 udp 41885439 203.0.113.5 49171 typ relay raddr 0.0.0.0 rport 0";

struct client {
    std::unique_ptr<ws_client> ws;
    json welcome;
};

client connect(std::uint16_t port, const std::string& path = "/ws") {
    client c{ws_client::connect(port, {.path = path}), {}};
    c.welcome = c.ws->expect_next("welcome");
    return c;
}

json join(bool relay_only) {
    json j = {{"type", "join"}, {"mode", "video"}};
    if (relay_only) j["relayOnly"] = true;
    return j;
}

std::string received_candidate(ws_client& ws) {
    return ws.expect_next("signal")["data"]["candidate"]["candidate"];
}

}  // namespace

TEST(turn_test, welcome_and_every_matched_carry_fresh_credentials) {
    test_server server{[](config& c) {
        c.turn_urls = turn_urls;
        c.turn_secret = secret;
    }};
    // Without --stun-urls, STUN is the TURN servers' own (turns: -> default port).
    json stun = {"stun:127.0.0.1:3478", "stun:turn.example"};
    auto before = unix_now();
    auto a = connect(server.port());
    auto b = connect(server.port());
    auto wa = check_ice_servers(a.welcome["iceServers"], stun);
    auto wb = check_ice_servers(b.welcome["iceServers"], stun);
    EXPECT_GE(wa.expiry, before + 600) << "default ttl 10 minutes";
    EXPECT_LE(wa.expiry, unix_now() + 600);

    // One pseudonym per session, random, nothing to do with the session id.
    EXPECT_NE(wa.pseudonym, wb.pseudonym);
    for (const auto& [w, id] : {std::pair{wa, a.welcome["session"].get<std::string>()},
                                std::pair{wb, b.welcome["session"].get<std::string>()}}) {
        EXPECT_EQ(w.username.find(id), std::string::npos);
        EXPECT_NE(w.pseudonym, id);
    }

    // Credentials are issued again at every matched: a later expiry.
    std::this_thread::sleep_for(1100ms);
    a.ws->send(join(false));
    b.ws->send(join(false));
    auto ma = check_ice_servers(a.ws->expect("matched")["iceServers"], stun);
    auto mb = check_ice_servers(b.ws->expect("matched")["iceServers"], stun);
    EXPECT_GT(ma.expiry, wa.expiry);
    EXPECT_GT(mb.expiry, wb.expiry);
    EXPECT_EQ(ma.pseudonym, wa.pseudonym) << "the session keeps its pseudonym";
    EXPECT_EQ(mb.pseudonym, wb.pseudonym);

    // Next: a new pair, new credentials again.
    std::this_thread::sleep_for(1100ms);
    auto c = connect(server.port());
    c.ws->send(join(false));
    a.ws->send(R"({"type":"next"})");
    auto ma2 = check_ice_servers(a.ws->expect("matched")["iceServers"], stun);
    EXPECT_GT(ma2.expiry, ma.expiry);
    auto mc = check_ice_servers(c.ws->expect("matched")["iceServers"], stun);
    EXPECT_NE(mc.pseudonym, ma2.pseudonym);
}

TEST(turn_test, ttl_and_explicit_stun_urls) {
    test_server server{[](config& c) {
        c.turn_urls = turn_urls;
        c.turn_secret = secret;
        c.turn_ttl = std::chrono::seconds(90);
        c.stun_urls = {"stun:stun.example.org:3478"};
    }};
    auto before = unix_now();
    auto a = connect(server.port());
    auto w = check_ice_servers(a.welcome["iceServers"], json{"stun:stun.example.org:3478"});
    EXPECT_GE(w.expiry, before + 90);
    EXPECT_LE(w.expiry, unix_now() + 90);
}

TEST(turn_test, relay_only_client_never_leaks_a_non_relay_candidate) {
    test_server server{[](config& c) {
        c.turn_urls = turn_urls;
        c.turn_secret = secret;
    }};
    auto a = connect(server.port());  // hides its IP
    auto b = connect(server.port());  // does not
    a.ws->send(join(true));
    a.ws->expect_next("queued");
    b.ws->send(join(false));
    a.ws->expect("matched");
    b.ws->expect("matched");

    for (const auto& m : {description("offer", "v=0\r\n"), candidate(host_line), candidate(mdns_line),
                          candidate(srflx_line), candidate(prflx_line), candidate(sneaky_line), candidate(upper_line),
                          candidate(relay_line), candidate("not a candidate typ relay"), candidate(relay_line2),
                          candidate("")})
        a.ws->send(m);
    // Exactly these reach b, in order: the description, the relay candidates, end-of-candidates.
    auto offer = b.ws->expect_next("signal");
    EXPECT_EQ(offer["data"], json::parse(R"({"description":{"type":"offer","sdp":"v=0\r\n"}})"));
    EXPECT_EQ(received_candidate(*b.ws), relay_line);
    EXPECT_EQ(received_candidate(*b.ws), relay_line2);
    auto end = b.ws->expect_next("signal");
    EXPECT_EQ(end["data"], json::parse(R"({"candidate":{"candidate":"","sdpMid":"0","sdpMLineIndex":0}})"));
    EXPECT_TRUE(b.ws->quiet_for(300ms)) << "nothing else arrives";
    EXPECT_TRUE(a.ws->quiet_for(0ms)) << "dropped quietly: no error to the sender";

    // The other side did not ask for it: everything it sends passes.
    b.ws->send(description("answer", "v=0\r\n"));
    b.ws->send(candidate(host_line));
    b.ws->send(candidate(srflx_line));
    b.ws->send(candidate(relay_line));
    EXPECT_EQ(a.ws->expect_next("signal")["data"]["description"]["type"], "answer");
    EXPECT_EQ(received_candidate(*a.ws), host_line);
    EXPECT_EQ(received_candidate(*a.ws), srflx_line);
    EXPECT_EQ(received_candidate(*a.ws), relay_line);
}

TEST(turn_test, relay_only_follows_the_latest_join_of_the_connection) {
    test_server server;  // the filter does not depend on TURN being configured here
    auto a = connect(server.port());
    auto b = connect(server.port());
    auto c = connect(server.port());
    a.ws->send(join(true));
    a.ws->expect_next("queued");
    b.ws->send(join(false));
    a.ws->expect("matched");
    b.ws->expect("matched");
    a.ws->send(candidate(host_line));
    a.ws->send(candidate(relay_line));
    EXPECT_EQ(received_candidate(*b.ws), relay_line);

    // `next` keeps the last join's settings, relayOnly included.
    a.ws->send(R"({"type":"next"})");
    EXPECT_EQ(b.ws->expect_next("peer_left")["reason"], "next");
    c.ws->send(join(false));
    a.ws->expect("matched");
    c.ws->expect("matched");
    a.ws->send(candidate(srflx_line));
    a.ws->send(candidate(relay_line2));
    EXPECT_EQ(received_candidate(*c.ws), relay_line2);

    // A join without relayOnly turns it off (here while paired: it acts as next).
    a.ws->send(join(false));
    EXPECT_EQ(c.ws->expect_next("peer_left")["reason"], "next");
    b.ws->send(join(false));
    a.ws->expect("matched");
    b.ws->expect("matched");
    a.ws->send(candidate(host_line));
    EXPECT_EQ(received_candidate(*b.ws), host_line);
}

TEST(turn_test, relay_only_belongs_to_the_connection_not_the_resumed_session) {
    test_server server{[](config& c) { c.resume_window = std::chrono::seconds(5); }};
    auto a = connect(server.port());
    auto b = connect(server.port());
    auto c = connect(server.port());
    a.ws->send(join(true));
    a.ws->expect_next("queued");
    b.ws->send(join(false));
    a.ws->expect("matched");
    b.ws->expect("matched");

    auto token = a.welcome["resume"].get<std::string>();
    a.ws.reset();
    std::this_thread::sleep_for(100ms);
    auto again = connect(server.port(), "/ws?resume=" + token);
    ASSERT_EQ(again.welcome["session"], a.welcome["session"]);
    // As documented: the new connection has not declared relayOnly yet (the
    // client's own relay policy still holds) ...
    again.ws->send(candidate(host_line));
    EXPECT_EQ(received_candidate(*b.ws), host_line);
    // ... and re-declares it with a join, which also moves on to a new partner.
    again.ws->send(join(true));
    EXPECT_EQ(b.ws->expect_next("peer_left")["reason"], "next");
    c.ws->send(join(false));
    again.ws->expect("matched");
    c.ws->expect("matched");
    again.ws->send(candidate(host_line));
    again.ws->send(candidate(relay_line));
    EXPECT_EQ(received_candidate(*c.ws), relay_line);
}

TEST(turn_test, relay_only_must_be_a_boolean) {
    test_server server;
    auto a = connect(server.port());
    a.ws->send(R"({"type":"join","mode":"video","relayOnly":"yes"})");
    auto e = a.ws->expect_next("error");
    EXPECT_EQ(e["code"], "bad_message");
    EXPECT_EQ(e["ref"], "join");
    EXPECT_TRUE(a.ws->quiet_for(200ms)) << "not queued";
}

// ---------------------------------------------------------------------------
// Against a real coturn.

namespace {

std::uint16_t free_udp_port() {
    int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

// Exit status of a child, killing it after `timeout`.
int wait_exit(pid_t pid, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
        if (waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        std::this_thread::sleep_for(10ms);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

// coturn on a loopback UDP port, authenticating with the TURN REST scheme.
class coturn {
public:
    explicit coturn(const std::string& shared_secret)
        : dir_(std::filesystem::temp_directory_path() / ("serendip-coturn-" + std::to_string(getpid()))),
          port_(free_udp_port()) {
        std::filesystem::create_directories(dir_);
        pid_ = spawn_logged({"/usr/bin/turnserver", "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
                             "--listening-port=" + std::to_string(port_), "--use-auth-secret",
                             "--static-auth-secret=" + shared_secret, "--realm=serendip.test", "--no-tcp", "--no-tls",
                             "--no-dtls", "--no-cli", "--allow-loopback-peers",
                             "--pidfile=" + (dir_ / "turnserver.pid").string(), "--db=" + (dir_ / "turndb").string(),
                             "--log-file=" + log(), "--simple-log", "--no-stdout-log"},
                            (dir_ / "stdout.log").string());
        if (pid_ <= 0) throw std::runtime_error("cannot start turnserver (is the coturn package installed?)");
    }
    ~coturn() {
        kill(pid_, SIGTERM);
        if (wait_exit(pid_, 5s) < 0) ADD_FAILURE() << "turnserver did not stop";
        std::filesystem::remove_all(dir_);
    }
    std::uint16_t port() const { return port_; }
    std::string log() const { return (dir_ / "turnserver.log").string(); }

    // A STUN binding request to the port a derived stun: URL names; true
    // once answered (turnutils_stunclient retries forever, hence the limit).
    bool answers_stun() const {
        pid_t pid = spawn_logged({"/usr/bin/turnutils_stunclient", "-p", std::to_string(port_), "127.0.0.1"},
                                 (dir_ / "stunclient.log").string());
        return wait_exit(pid, 1s) == 0;
    }

    // turnutils_uclient allocates two relays and sends through them; it exits
    // 0 when the credentials were accepted. Started in parallel (a success
    // takes about 5 s), collected with finish().
    pid_t start_allocate(const std::string& username, const std::string& password, const std::string& name) const {
        return spawn_logged({"/usr/bin/turnutils_uclient", "-p", std::to_string(port_), "-u", username, "-w", password,
                             "-y", "-c", "-n", "1", "127.0.0.1"},
                            (dir_ / (name + ".log")).string());
    }
    int finish(pid_t pid) const { return wait_exit(pid, 30s); }
    std::string client_log(const std::string& name) const { return slurp((dir_ / (name + ".log")).string()); }

private:
    std::filesystem::path dir_;
    std::uint16_t port_;
    pid_t pid_ = -1;
};

}  // namespace

TEST(turn_test, coturn_accepts_issued_credentials_and_nothing_else) {
    coturn turn(secret);
    test_server server{[&](config& c) {
        c.turn_urls = {"turn:127.0.0.1:" + std::to_string(turn.port()) + "?transport=udp"};
        c.turn_secret = secret;
    }};
    auto a = connect(server.port());
    auto b = connect(server.port());
    const auto& ice = a.welcome["iceServers"];
    ASSERT_EQ(ice.size(), 2u) << ice;
    EXPECT_EQ(ice[0]["urls"], json({"stun:127.0.0.1:" + std::to_string(turn.port())}));
    std::string username = ice[1]["username"], credential = ice[1]["credential"];

    // The derived STUN URL works: coturn answers binding requests there.
    bool up = false;
    for (auto deadline = std::chrono::steady_clock::now() + 10s; !up && std::chrono::steady_clock::now() < deadline;)
        up = turn.answers_stun();
    ASSERT_TRUE(up) << slurp(turn.log());

    a.ws->send(join(false));
    b.ws->send(join(false));
    auto matched = a.ws->expect("matched")["iceServers"];
    auto colon = username.find(':');
    auto expired = std::to_string(unix_now() - 5) + username.substr(colon);
    auto valid = std::to_string(unix_now() + 60) + username.substr(colon);
    struct attempt {
        const char* name;
        std::string username, password;
        bool accepted;
    };
    std::vector<attempt> attempts = {
        {"welcome", username, credential, true},
        {"matched", matched[1]["username"], matched[1]["credential"], true},
        // Made with another secret.
        {"other-secret", username, expected_credential("another-secret", username), false},
        // A username that is not the one the credential was made for.
        {"tampered", username.substr(0, colon) + ":" + std::string(24, '0'), credential, false},
        // Expired: coturn reads the expiry the way we write it ...
        {"expired", expired, expected_credential(secret, expired), false},
        // ... since the same scheme with a future expiry is accepted.
        {"valid", valid, expected_credential(secret, valid), true},
    };
    std::vector<pid_t> pids;
    for (const auto& t : attempts) pids.push_back(turn.start_allocate(t.username, t.password, t.name));
    for (std::size_t i = 0; i < attempts.size(); ++i) {
        int status = turn.finish(pids[i]);
        if (attempts[i].accepted)
            EXPECT_EQ(status, 0) << attempts[i].name << " refused\n" << turn.client_log(attempts[i].name) << slurp(turn.log());
        else
            EXPECT_NE(status, 0) << attempts[i].name << " accepted";
    }
}

// The secret and the credentials never reach the log, even at trace level.
TEST(turn_test, secret_and_credentials_are_never_logged) {
    auto dir = std::filesystem::temp_directory_path();
    auto port_file = (dir / ("serendip-turn-port-" + std::to_string(getpid()))).string();
    auto log = (dir / ("serendip-turn-log-" + std::to_string(getpid()))).string();
    std::filesystem::remove(port_file);
    const std::string unusual_secret = "S3cr3t-Never-Logged-7f9a";
    pid_t pid = spawn_logged({SERENDIP_SERVER_BINARY, "--listen", "127.0.0.1", "--port", "0", "--port-file", port_file,
                              "--web-root", SERENDIP_FIXTURES "/www", "--threads", "2", "--log-level", "trace",
                              "--turn-urls", "turn:127.0.0.1:3478", "--turn-secret", unusual_secret},
                             log);
    ASSERT_GT(pid, 0);
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!std::filesystem::exists(port_file) && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(20ms);
    ASSERT_TRUE(std::filesystem::exists(port_file)) << slurp(log);
    auto port = static_cast<std::uint16_t>(std::stoi(slurp(port_file)));
    std::string credential, pseudonym;
    {
        auto a = connect(port);
        auto b = connect(port);
        credential = a.welcome["iceServers"][1]["credential"];
        std::string username = a.welcome["iceServers"][1]["username"];
        pseudonym = username.substr(username.find(':') + 1);
        a.ws->send(join(true));
        b.ws->send(join(false));
        a.ws->expect("matched");
        b.ws->expect("matched");
        a.ws->send(candidate(host_line));
        a.ws->send(candidate(relay_line));
        received_candidate(*b.ws);
    }
    kill(pid, SIGTERM);
    EXPECT_EQ(wait_exit(pid, 10s), 0);
    auto text = slurp(log);
    EXPECT_NE(text.find("TURN"), std::string::npos) << "the log does say TURN is on";
    for (const auto& s : {unusual_secret, credential, pseudonym, std::string("192.0.2.10"), std::string("203.0.113.5")})
        EXPECT_EQ(text.find(s), std::string::npos) << s << " in the log:\n" << text;
    std::filesystem::remove(port_file);
    std::filesystem::remove(log);
}
