#pragma once
// Where the queue, pairs and presence live. The hub talks to this interface
// only; `memory_store` keeps everything in this process, a Redis store lets
// several instances share it. Every implementation passes the contract tests
// in tests/store_contract_test.cpp.
//
// Threading: commands may be called from any thread. Completions and events
// run on the executor given at construction, never inline in the call.

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

    virtual void connect(const session_id& id, const std::string& resume_token) = 0;
    virtual void resume(const std::string& token, const std::string& new_token,
                        std::function<void(std::optional<resumed>)> done) = 0;
    virtual void join(const session_id& id, protocol::join request) = 0;
    virtual void next(const session_id& id) = 0;
    virtual void leave(const session_id& id) = 0;
    virtual void report(const session_id& id, protocol::report_reason reason) = 0;
    virtual void signal(const session_id& id, std::string data) = 0;
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
