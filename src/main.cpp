// Wiring only: configuration, logging, the server, signals.

#include "serendip/config.hpp"
#include "serendip/server.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <iostream>
#include <sys/resource.h>

int main(int argc, char** argv) {
    auto parsed = serendip::parse_config(argc, argv);
    if (auto* help = std::get_if<serendip::help_requested>(&parsed)) {
        std::cout << help->text;
        return 0;
    }
    if (auto* err = std::get_if<serendip::config_error>(&parsed)) {
        std::cerr << "serendip-server: " << err->message << '\n';
        return 2;
    }
    auto& cfg = std::get<serendip::config>(parsed);

    auto logger = spdlog::stderr_logger_mt("serendip");
    spdlog::set_default_logger(logger);
    spdlog::set_level(spdlog::level::from_str(cfg.log_level));
    // Only our own words reach the log (ids, reasons, counts), so the message
    // needs no escaping inside the JSON string.
    if (cfg.log_fmt == serendip::log_format::json)
        spdlog::set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","msg":"%v"})");
    else
        spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %l %v");

    // One descriptor per connection: use all the process may have.
    rlimit files{};
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
        files.rlim_cur = files.rlim_max;
        setrlimit(RLIMIT_NOFILE, &files);
    }

    try {
        serendip::server server(cfg);
        server.start();
        server.handle_signals();
        server.run();
    } catch (const std::exception& e) {
        spdlog::critical("fatal: {}", e.what());
        return 1;
    }
    spdlog::info("stopped");
    return 0;
}
