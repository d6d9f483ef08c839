#include "tests/test_process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>
#include <thread>

extern char** environ;

namespace cg::test {
namespace {

// Closes a file descriptor when it goes out of scope.
class ScopedFd {
 public:
  explicit ScopedFd(int fd = -1) : fd_(fd) {}
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  ~ScopedFd() { Reset(); }
  int get() const { return fd_; }
  void Reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

std::string TempRoot() {
  std::string root = ::testing::TempDir();
  if (root.empty()) root = "/tmp/";
  if (root.back() != '/') root += '/';
  return root;
}

// An already unlinked file holding `text`, positioned at its start.
int StdinFile(const std::string& text) {
  std::string name = TempRoot() + "cg-stdin-XXXXXX";
  const int fd = ::mkstemp(name.data());
  if (fd < 0) return -1;
  ::unlink(name.c_str());
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      return -1;
    }
    done += static_cast<size_t>(n);
  }
  ::lseek(fd, 0, SEEK_SET);
  return fd;
}

}  // namespace

void RecordWaitStatus(int status, ProcessResult& result) {
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.term_signal = WTERMSIG(status);
  }
}

// The caller's environment without its CG_* variables or the ones being set, then
// the ones being set.
std::vector<std::string> ChildEnvironment(
    const std::vector<std::pair<std::string, std::string>>& extra) {
  std::vector<std::string> env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const std::string_view name = text.substr(0, text.find('='));
    if (name.starts_with("CG_")) continue;
    bool overridden = false;
    for (const auto& [key, value] : extra) overridden = overridden || key == name;
    if (!overridden) env.emplace_back(text);
  }
  for (const auto& [key, value] : extra) env.push_back(key + "=" + value);
  return env;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (auto& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

std::string ProcessResult::Describe() const {
  std::ostringstream out;
  out << "exit code " << exit_code << ", signal " << term_signal << (timed_out ? ", timed out" : "")
      << "\n--- stdout ---\n"
      << stdout_text << "--- stderr ---\n"
      << stderr_text << "---";
  return out.str();
}

ProcessResult RunProcess(const std::vector<std::string>& argv, const ProcessOptions& options) {
  ProcessResult result;
  if (argv.empty()) {
    result.exit_code = 127;
    result.stderr_text = "RunProcess: empty argv";
    return result;
  }
  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    result.exit_code = 127;
    result.stderr_text = std::string("RunProcess: pipe: ") + std::strerror(errno);
    return result;
  }
  ScopedFd out_read(out_pipe[0]), out_write(out_pipe[1]);
  ScopedFd err_read(err_pipe[0]), err_write(err_pipe[1]);
  ScopedFd stdin_fd(options.stdin_text.empty() ? -1 : StdinFile(options.stdin_text));

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (stdin_fd.get() >= 0) {
    posix_spawn_file_actions_adddup2(&actions, stdin_fd.get(), STDIN_FILENO);
  } else {
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  }
  posix_spawn_file_actions_adddup2(&actions, out_write.get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_write.get(), STDERR_FILENO);

  // The child starts with default SIGPIPE handling and no blocked signals, whatever
  // the test runner did to its own.
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  sigset_t no_signals;
  sigemptyset(&no_signals);
  posix_spawnattr_setsigmask(&attributes, &no_signals);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  std::vector<std::string> args(argv);
  std::vector<std::string> env = ChildEnvironment(options.env);
  std::vector<char*> c_args = CStrings(args);
  std::vector<char*> c_env = CStrings(env);
  pid_t pid = -1;
  const int spawned =
      ::posix_spawn(&pid, c_args[0], &actions, &attributes, c_args.data(), c_env.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (spawned != 0) {
    result.exit_code = 127;
    result.stderr_text = "RunProcess: cannot start " + argv[0] + ": " + std::strerror(spawned);
    return result;
  }
  // Only the child holds the write ends now, so EOF means it closed its streams.
  out_write.Reset();
  err_write.Reset();
  stdin_fd.Reset();

  const auto deadline = std::chrono::steady_clock::now() + options.timeout;
  auto remaining_ms = [&deadline] {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    return std::max<int64_t>(0, left.count());
  };

  struct Stream {
    ScopedFd* fd;
    std::string* text;
  };
  Stream streams[] = {{&out_read, &result.stdout_text}, {&err_read, &result.stderr_text}};
  while (out_read.get() >= 0 || err_read.get() >= 0) {
    const int64_t wait_ms = remaining_ms();
    if (wait_ms == 0) break;
    pollfd fds[2];
    for (int i = 0; i < 2; ++i) fds[i] = {streams[i].fd->get(), POLLIN, 0};
    const int ready = ::poll(fds, 2, static_cast<int>(std::min<int64_t>(wait_ms, 1000)));
    if (ready < 0 && errno != EINTR) break;
    for (int i = 0; i < 2 && ready > 0; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buffer[8192];
      const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        streams[i].text->append(buffer, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        streams[i].fd->Reset();
      }
    }
  }

  // The streams are closed (or time is up); wait for the exit until the deadline.
  int status = 0;
  while (true) {
    const pid_t waited = ::waitpid(pid, &status, WNOHANG);
    if (waited == pid) {
      RecordWaitStatus(status, result);
      return result;
    }
    if (waited < 0 && errno != EINTR) {
      result.stderr_text += std::string("\nRunProcess: waitpid: ") + std::strerror(errno);
      return result;
    }
    if (remaining_ms() == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::kill(pid, SIGKILL);
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.timed_out = true;
  RecordWaitStatus(status, result);
  return result;
}

TempDir::TempDir() {
  std::string name = TempRoot() + "cg-test-XXXXXX";
  if (::mkdtemp(name.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp(" << name << "): " << std::strerror(errno);
    return;
  }
  path_ = name;
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  std::error_code error;
  std::filesystem::remove_all(path_, error);
}

std::string TempDir::File(const std::string& name) const { return path_ + "/" + name; }

std::string TempDir::WriteFile(const std::string& name, const std::string& contents,
                               unsigned mode) const {
  const std::string file = File(name);
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    if (!out) ADD_FAILURE() << "cannot write " << file;
  }
  if (::chmod(file.c_str(), static_cast<mode_t>(mode)) != 0) {
    ADD_FAILURE() << "chmod " << file << ": " << std::strerror(errno);
  }
  return file;
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "cannot read " << path;
    return {};
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

}  // namespace cg::test
