#pragma once
// Where the queue, pairs and presence live. The hub talks to this interface
// only; `memory_store` keeps everything in this process, a Redis store lets
// several instances share it. Every implementation passes the contract tests
// in tests/store_contract_test.cpp.
//
// Threading: commands may be called from any thread. Completions and events
// run on the executor given at construction, never inline in the call.

#include "serendip/address_hashes.hpp"
#include "serendip/matchmaker.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace serendip {

// Receives what the store decides for sessions of this instance.
class store_sink {
public:
    virtual ~store_sink() = default;
    virtual void deliver(actions batch) = 0;
    // The session resumed on a connection of another instance: close this
    // instance's connection of it (the newer connection wins).
    virtual void replaced(const session_id& id) = 0;
};

struct store_status {
    bool ready = true;
    std::string reason;  // why not, for /readyz
};

class store {
public:
    virtual ~store() = default;

    virtual void set_sink(store_sink* sink) = 0;

    // What remains of a ban on this address (nullopt: none, or the store
    // cannot tell right now: a connection is not refused for that).
    virtual void check_ban(const address_hashes& address,
                           std::function<void(std::optional<std::chrono::seconds>)> done) = 0;
    // `address`: today's hash of the client's address, for reports.
    virtual void connect(const session_id& id, const std::string& resume_token, const std::string& address) = 0;
    virtual void resume(const std::string& token, const std::string& new_token, const std::string& address,
                        std::function<void(std::optional<resumed>)> done) = 0;
    virtual void join(const session_id& id, protocol::join request) = 0;
    virtual void next(const session_id& id) = 0;
    virtual void leave(const session_id& id) = 0;
    // Also counts against the partner's address (abuse_rules.hpp's
    // report_book); a ban it imposes is delivered as out::banned.
    virtual void report(const session_id& id, protocol::report_reason reason) = 0;
    virtual void signal(const session_id& id, std::string data) = 0;
    // "Going back" (PROTOCOL.md): answered with out::rematch_wanted to the
    // other side, out::matched (rematch) to both, or out::error.
    virtual void rematch(const session_id& id) = 0;
    // The session relayed a signal to its partner straight from connection
    // to connection (given a route by the hub): the pair has signalled, for
    // the silent-pair timeout (rule 8). Only stores whose `matched` names
    // the partner are ever told.
    virtual void signaled(const session_id& id) = 0;
    virtual void disconnect(const session_id& id) = 0;

    // Connected sessions (across all instances sharing the store).
    virtual std::uint64_t online() const = 0;
    virtual store_status status() const = 0;

    struct stats {
        std::uint64_t sessions, connected, queued, paired;
    };
    virtual stats snapshot() const = 0;

    // Stop timers and connections so the io_context can run out.
    virtual void shutdown() = 0;
};

}  // namespace serendip
