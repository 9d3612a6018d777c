#include "host_process.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace dialtone::test {

// DIALTONE_TEST_BUILD_DIR points the tests at another build of the host and plugins (the
// sanitizer builds), so the harness itself is compiled once.
namespace {
fs::path from_build_dir(const char *relative, const char *baked) {
    const char *dir = std::getenv("DIALTONE_TEST_BUILD_DIR");
    return dir && *dir ? fs::path(dir) / relative : fs::path(baked);
}
} // namespace

fs::path host_binary() { return from_build_dir("bin/dialtone", DIALTONE_HOST_BIN); }
fs::path fixture_plugin_dir() {
    return from_build_dir("tests/fixtures/plugins", DIALTONE_FIXTURE_PLUGIN_DIR);
}
fs::path fixture_www_dir() { return DIALTONE_FIXTURE_WWW_DIR; }

namespace {

using Clock = std::chrono::steady_clock;

int decode_wait_status(int status) {
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -1;
}

// fork + exec with stdin from /dev/null and stdout/stderr on the given descriptors. The child
// dies with the test process (PR_SET_PDEATHSIG), so a crashed test leaves no host behind.
pid_t spawn(const std::vector<std::string> &argv, int out_fd, int err_fd) {
    std::vector<char *> args;
    for (const auto &arg : argv)
        args.push_back(const_cast<char *>(arg.c_str()));
    args.push_back(nullptr);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(127);
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
        _exit(127);
    close_range(3, ~0U, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    execvp(args[0], args.data());
    _exit(127);
}

// Waits for `pid` until `deadline`; the decoded exit code, or -1 if it is still running.
int wait_until(pid_t pid, Clock::time_point deadline) {
    for (;;) {
        int status = 0;
        pid_t got = waitpid(pid, &status, WNOHANG);
        if (got == pid)
            return decode_wait_status(status);
        if (got < 0 && errno != EINTR)
            return -1;
        if (Clock::now() >= deadline)
            return -1;
        std::this_thread::sleep_for(2ms);
    }
}

// The end of a log for a failure message, or, when a sanitizer reported, its report from the
// start (where the faulting stack is).
std::string last_lines(const std::string &text, std::size_t max_chars = 4000) {
    for (const char *marker : {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                               "WARNING: ThreadSanitizer", "runtime error:"}) {
        std::size_t at = text.find(marker);
        if (at == std::string::npos)
            continue;
        std::size_t line = text.rfind('\n', at);
        return "..." + text.substr(line == std::string::npos ? 0 : line + 1, 2 * max_chars);
    }
    return text.size() <= max_chars ? text : "..." + text.substr(text.size() - max_chars);
}

} // namespace

TempDir::TempDir() {
    const char *base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/dialtone-it-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr)
        throw std::runtime_error("mkdtemp failed: " + std::string(std::strerror(errno)));
    path_ = pattern;
}

TempDir::~TempDir() {
    if (std::getenv("DIALTONE_KEEP_TMP") != nullptr)
        return;
    std::error_code ignored;
    fs::remove_all(path_, ignored);
}

fs::path TempDir::write(const fs::path &relative, std::string_view content) const {
    write_file(path_ / relative, content);
    return path_ / relative;
}

void write_file(const fs::path &path, std::string_view content) {
    fs::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    if (!out)
        throw std::runtime_error("cannot write " + path.string());
}

std::string read_file(const fs::path &path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string expand_placeholders(std::string text, const fs::path &dir) {
    const std::pair<std::string, std::string> replacements[] = {
        {"@PLUGINS@", fixture_plugin_dir().string()},
        {"@WWW@", fixture_www_dir().string()},
        {"@DIR@", dir.string()},
    };
    for (const auto &[from, to] : replacements) {
        for (std::size_t at = text.find(from); at != std::string::npos;
             at = text.find(from, at + to.size()))
            text.replace(at, from.size(), to);
    }
    return text;
}

ProcessResult run_process(const std::vector<std::string> &argv, Millis timeout) {
    int out_pipe[2], err_pipe[2];
    if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0)
        throw std::runtime_error("pipe2 failed");
    pid_t pid = spawn(argv, out_pipe[1], err_pipe[1]);
    close(out_pipe[1]);
    close(err_pipe[1]);

    ProcessResult result;
    auto deadline = Clock::now() + timeout;
    pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
    std::string *sinks[2] = {&result.out, &result.err};
    int open_pipes = 2;
    while (open_pipes > 0) {
        auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
        if (left <= 0) {
            result.timed_out = true;
            break;
        }
        if (poll(fds, 2, static_cast<int>(left)) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || fds[i].revents == 0)
                continue;
            char buffer[65536];
            ssize_t n = read(fds[i].fd, buffer, sizeof buffer);
            if (n > 0) {
                sinks[i]->append(buffer, static_cast<std::size_t>(n));
            } else if (n == 0 || errno != EINTR) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_pipes--;
            }
        }
    }
    for (auto &fd : fds)
        if (fd.fd >= 0)
            close(fd.fd);
    if (result.timed_out)
        kill(pid, SIGKILL);
    result.exit_code = wait_until(pid, result.timed_out ? Clock::now() + 5s : deadline + 1s);
    if (result.exit_code == -1) {
        kill(pid, SIGKILL);
        result.timed_out = true;
        result.exit_code = wait_until(pid, Clock::now() + 5s);
    }
    return result;
}

ProcessResult run_host(const std::vector<std::string> &args, Millis timeout) {
    std::vector<std::string> argv{host_binary().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_process(argv, timeout);
}

ProcessResult run_host_with_config(const TempDir &dir, std::string_view toml, bool check,
                                   Millis timeout) {
    fs::path config = dir.write("config.toml", expand_placeholders(std::string(toml), dir.path()));
    std::vector<std::string> args;
    if (check)
        args.push_back("--check");
    args.insert(args.end(), {"--config", config.string()});
    return run_host(args, timeout);
}

HostProcess::HostProcess(std::string_view toml, HostOptions options)
    : options_(std::move(options)) {
    if (options_.prepare)
        options_.prepare(dir_.path());
    fs::path config =
        dir_.write("config.toml", expand_placeholders(std::string(toml), dir_.path()));
    int out =
        open((dir_.path() / "stdout.txt").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int err =
        open((dir_.path() / "stderr.txt").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    REQUIRE(out >= 0);
    REQUIRE(err >= 0);
    pid_ = spawn({host_binary().string(), "--config", config.string()}, out, err);
    close(out);
    close(err);
    REQUIRE(pid_ > 0);

    static const std::regex listening(R"(listening on (\S+):(\d+))");
    auto deadline = Clock::now() + options_.start_timeout;
    std::string failure;
    for (;;) {
        std::string text = stderr_text();
        addresses_.clear();
        ports_.clear();
        for (std::sregex_iterator it(text.begin(), text.end(), listening), end; it != end; ++it) {
            addresses_.push_back((*it)[1]);
            ports_.push_back(static_cast<std::uint16_t>(std::stoi((*it)[2])));
        }
        // "listening on" is logged when the sockets are bound, before the workers exist; a
        // test that counts the host's descriptors needs them all, so wait for "started" too.
        if (ports_.size() >= options_.listeners && text.find(" started") != std::string::npos)
            return;
        int code = poll_exit();
        if (code != -1) {
            failure = "the host exited with " + std::to_string(code) +
                      " before listening; stderr:\n" + last_lines(text);
            break;
        }
        if (Clock::now() >= deadline) {
            failure = "the host logged " + std::to_string(ports_.size()) + " of " +
                      std::to_string(options_.listeners) +
                      " 'listening on' lines and 'started' in time; stderr:\n" + last_lines(text);
            break;
        }
        std::this_thread::sleep_for(5ms);
    }
    stop(SIGKILL, 5s);
    FAIL(failure);
}

HostProcess::~HostProcess() {
    int code = stop(SIGTERM, 15s);
    if (options_.expect_clean_exit && std::uncaught_exceptions() == 0) {
        std::string err = stderr_text();
        INFO("host stderr:\n" << last_lines(err));
        CHECK(code == 0);
        // Every run of the host doubles as a leak check of libuv handles: a worker whose loop
        // still holds one when it closes says so (Worker::~Worker).
        CHECK(err.find("loop closed with live handles") == std::string::npos);
    }
}

std::string HostProcess::stderr_text() const { return read_file(dir_.path() / "stderr.txt"); }

bool HostProcess::wait_for_stderr(std::string_view needle, Millis timeout) const {
    auto deadline = Clock::now() + timeout;
    for (;;) {
        if (stderr_text().find(needle) != std::string::npos)
            return true;
        if (Clock::now() >= deadline)
            return false;
        std::this_thread::sleep_for(10ms);
    }
}

int HostProcess::poll_exit() {
    if (exited_)
        return exit_code_;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) != pid_)
        return -1;
    exited_ = true;
    exit_code_ = decode_wait_status(status);
    return exit_code_;
}

int HostProcess::stop(int sig, Millis timeout) {
    if (pid_ > 0 && poll_exit() == -1)
        kill(pid_, sig);
    return wait_exit(timeout);
}

int HostProcess::wait_exit(Millis timeout) {
    if (pid_ <= 0 || poll_exit() != -1)
        return exit_code_;
    int code = wait_until(pid_, Clock::now() + timeout);
    if (code == -1) {
        kill(pid_, SIGKILL);
        code = wait_until(pid_, Clock::now() + 5s);
        WARN("the host did not exit within " << timeout.count() << " ms and was killed");
    }
    exited_ = true;
    exit_code_ = code;
    return code;
}

long HostProcess::rss_kib() const {
    std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmRSS:", 0) == 0)
            return std::strtol(line.c_str() + 6, nullptr, 10);
    }
    return -1;
}

long HostProcess::fd_count() const {
    std::error_code error;
    long count = 0;
    for (fs::directory_iterator it("/proc/" + std::to_string(pid_) + "/fd", error), end;
         !error && it != end; it.increment(error))
        count++;
    return error ? -1 : count;
}

} // namespace dialtone::test
