// The integration harness: runs the real `dialtone` binary in a temporary folder with a config
// written by the test, finds the port it bound from its log, and stops it at the end.
#pragma once

#include <chrono>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

namespace dialtone::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Millis = std::chrono::milliseconds;

// Paths CMake bakes into the test binary.
fs::path host_binary();
fs::path fixture_plugin_dir(); // echo.so, firehose.so, wrong_abi.so, ...
fs::path fixture_www_dir();    // tests/fixtures/www in the source tree

// A fresh folder under $TMPDIR (or /tmp), removed with its contents when the object goes.
class TempDir {
  public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir &) = delete;
    TempDir &operator=(const TempDir &) = delete;

    const fs::path &path() const { return path_; }
    // Writes `content` to `relative` (creating folders) and returns the full path.
    fs::path write(const fs::path &relative, std::string_view content) const;

  private:
    fs::path path_;
};

std::string read_file(const fs::path &path);
// Writes `content` to `path`, creating missing folders; throws on failure.
void write_file(const fs::path &path, std::string_view content);

// Replaces the placeholders a test's TOML may use:
//   @PLUGINS@  the fixture plugin folder      @WWW@  the fixture site
//   @DIR@      the config's own folder (the temporary folder the host runs in)
std::string expand_placeholders(std::string text, const fs::path &dir);

// The outcome of a program that ran to its end (or was killed at the timeout).
struct ProcessResult {
    int exit_code = -1; // 128 + signal number when killed by a signal
    bool timed_out = false;
    std::string out;
    std::string err;
};

// Runs argv[0] (a path) with stdin from /dev/null, collecting stdout and stderr.
ProcessResult run_process(const std::vector<std::string> &argv, Millis timeout = 10s);

// Runs the host binary with `args`.
ProcessResult run_host(const std::vector<std::string> &args, Millis timeout = 10s);

// Writes `toml` (placeholders expanded) to dir/config.toml and runs
// `dialtone --check --config dir/config.toml`, or without --check when `check` is false.
ProcessResult run_host_with_config(const TempDir &dir, std::string_view toml, bool check = true,
                                   Millis timeout = 10s);

struct HostOptions {
    // Fills the host's folder before it starts (extra files, symlinks, ...).
    std::function<void(const fs::path &dir)> prepare;
    // How many "listening on" lines to wait for.
    std::size_t listeners = 1;
    // Whether the destructor checks that the host exited with 0 after SIGTERM.
    bool expect_clean_exit = true;
    Millis start_timeout = 5s;
};

// One running host. The constructor writes the config, starts the host and waits for its
// listeners; the destructor stops it with SIGTERM (if the test did not) and checks the exit.
class HostProcess {
  public:
    explicit HostProcess(std::string_view toml, HostOptions options = {});
    ~HostProcess();
    HostProcess(const HostProcess &) = delete;
    HostProcess &operator=(const HostProcess &) = delete;

    std::uint16_t port(std::size_t listener = 0) const { return ports_.at(listener); }
    // The address part of each "listening on" line: "127.0.0.1", "[::1]".
    const std::vector<std::string> &addresses() const { return addresses_; }
    pid_t pid() const { return pid_; }
    const fs::path &dir() const { return dir_.path(); }
    fs::path config_path() const { return dir_.path() / "config.toml"; }

    std::string stderr_text() const;
    // Polls the host's stderr until it contains `needle`.
    bool wait_for_stderr(std::string_view needle, Millis timeout = 15s) const;

    // Sends `sig` and waits up to `timeout` for the exit; then kills it. Returns the exit code
    // (128 + signal when killed). Idempotent: later calls return the first result.
    int stop(int sig = SIGTERM, Millis timeout = 15s);
    // Waits up to `timeout` for an exit the test caused some other way, then kills the host.
    // Returns the exit code like stop().
    int wait_exit(Millis timeout);
    // The exit code if the host has exited by itself, without waiting; -1 while it runs.
    int poll_exit();
    bool running() { return poll_exit() == -1; }

    // The host's resident set size from /proc/<pid>/status, in KiB (-1 when unknown).
    long rss_kib() const;
    // How many file descriptors the host has open (from /proc/<pid>/fd).
    long fd_count() const;

  private:
    TempDir dir_;
    HostOptions options_;
    pid_t pid_ = -1;
    bool exited_ = false;
    int exit_code_ = -1;
    std::vector<std::string> addresses_;
    std::vector<std::uint16_t> ports_;
};

} // namespace dialtone::test
