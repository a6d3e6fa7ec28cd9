#pragma once
// Starting the real server binary (or any program) as a child process, its
// output going to a log file, for tests that need signals or several
// processes.

#include <fcntl.h>
#include <spawn.h>
#include <sys/types.h>
#include <unistd.h>  // environ

#include <fstream>
#include <iterator>
#include <string>
#include <vector>



namespace serendip::testing {

// Starts argv[0] with stdout and stderr appended to `log_path`; -1 on failure.
inline pid_t spawn_logged(std::vector<std::string> args, const std::string& log_path) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    pid_t pid = -1;
    if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) != 0) pid = -1;
    posix_spawn_file_actions_destroy(&actions);
    return pid;
}

inline std::string slurp(const std::string& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), {}};
}

}  // namespace serendip::testing
