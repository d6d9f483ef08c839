#include "tests/node_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <regex>
#include <sstream>
#include <thread>

#include "specs/file_io.h"

namespace cg::test {
namespace {

namespace fs = std::filesystem;
using Args = std::vector<std::string>;

// Each preparation step is a command that finishes in seconds; a hung one fails
// the suite rather than the CTest timeout.
constexpr std::chrono::seconds kCommandTimeout{120};
// The largest node.toml SetTomlValue reads.
constexpr size_t kMaxTomlBytes = 1 << 20;

Status RunCli(const Args& args) {
  Args argv = {CG_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessOptions options;
  options.timeout = kCommandTimeout;
  const ProcessResult r = RunProcess(argv, options);
  if (r.exited() && r.exit_code == 0) return OkStatus();
  std::string command = "credit-gateway";
  for (const auto& a : args) command += " " + a;
  return InternalError(command + ": " + r.Describe());
}

std::string Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  return std::string(text);
}

std::string ReadIfPresent(const std::string& path) {
  auto text = ReadFileLimited(path, 16 << 20);
  return text.ok() ? *text : "";
}

}  // namespace

std::string NodeDirectory::File(std::string_view relative_path) const {
  return dir + "/" + std::string(relative_path);
}

StatusOr<NodeDirectory> PrepareNodeDirectory(const std::string& dir,
                                             const NodeDirectoryOptions& options) {
  NodeDirectory node{dir, dir + "/node.toml", options.feeds_dir};
  Args init = {"init", "--side",       options.side, "--dir", dir,          "--api-port",
               "0",    "--admin-port", "0",          "--kdf", "interactive"};
  if (!options.node_id.empty()) init.insert(init.end(), {"--node-id", options.node_id});
  if (!options.pseudonym_key.empty()) {
    init.insert(init.end(), {"--pseudonym-key", options.pseudonym_key});
  }
  CG_RETURN_IF_ERROR(RunCli(init));
  for (const auto& [key, value] : options.limits) {
    CG_RETURN_IF_ERROR(SetTomlValue(node.config_file, "limits", key, value));
  }
  if (node.feeds_dir.empty()) {
    node.feeds_dir = dir + "/feeds";
    CG_RETURN_IF_ERROR(RunCli({"synth", "--entities", std::to_string(options.entities), "--seed",
                               std::to_string(options.seed), "--period", options.period, "--out",
                               node.feeds_dir}));
  }
  const std::vector<std::pair<std::string, std::string>> feeds = {
      options.side == "hk" ? std::pair<std::string, std::string>{"hk-bureau", "hk-bureau.jsonl"}
                           : std::pair<std::string, std::string>{"sz-grades", "sz-grades.csv"},
      {"ownership", "ownership.csv"},
      {"performance", "performance.csv"}};
  for (const auto& [feed, file] : feeds) {
    CG_RETURN_IF_ERROR(
        RunCli({"load", feed, node.feeds_dir + "/" + file, "--config", node.config_file}));
  }
  CG_RETURN_IF_ERROR(
      RunCli({"evaluate", "--period", options.period, "--config", node.config_file}));
  return node;
}

StatusOr<NodeDirectory> CopyNodeDirectory(const NodeDirectory& from, const std::string& to) {
  std::error_code error;
  if (fs::exists(to, error)) return AlreadyExistsError(to + " exists");
  // Recursive copy keeps each file's permission bits (the secrets stay 0600).
  fs::copy(from.dir, to, fs::copy_options::recursive, error);
  if (error) return InternalError("copy " + from.dir + " to " + to + ": " + error.message());
  NodeDirectory copy = from;
  copy.dir = to;
  copy.config_file = to + "/node.toml";
  // A feeds directory inside the node was copied along; point at the copy.
  if (from.feeds_dir.starts_with(from.dir + "/")) {
    copy.feeds_dir = to + from.feeds_dir.substr(from.dir.size());
  }
  return copy;
}

Status SetTomlValue(const std::string& file, std::string_view table, std::string_view key,
                    std::string_view value) {
  CG_ASSIGN_OR_RETURN(const std::string text, ReadFileLimited(file, kMaxTomlBytes));
  std::istringstream in(text);
  std::string out;
  std::string current_table;
  bool replaced = false;
  for (std::string line; std::getline(in, line);) {
    const std::string trimmed = Trim(line);
    if (trimmed.starts_with("[")) {
      // "[[trust]]" opens an array element: no key of a plain table follows.
      current_table =
          trimmed.starts_with("[[") ? "" : Trim(trimmed.substr(1, trimmed.find(']') - 1));
    } else if (!replaced && current_table == table && trimmed.starts_with(key)) {
      const std::string rest = Trim(std::string_view(trimmed).substr(key.size()));
      if (rest.starts_with("=")) {
        line = std::string(key) + " = " + std::string(value);
        replaced = true;
      }
    }
    out += line + "\n";
  }
  if (!replaced) {
    return NotFoundError(file + " has no key " + std::string(key) + " in [" + std::string(table) +
                         "]");
  }
  return WriteFileAtomically(file, out, 0644);
}

StatusOr<std::unique_ptr<NodeProcess>> NodeProcess::Start(const Options& options) {
  std::unique_ptr<NodeProcess> node(new NodeProcess);
  node->stderr_file_ = options.stderr_file.empty()
                           ? (fs::path(options.config_file).parent_path() / "serve.stderr").string()
                           : options.stderr_file;
  const int stderr_fd =
      ::open(node->stderr_file_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (stderr_fd < 0) {
    return UnavailableError("open " + node->stderr_file_ + ": " + std::strerror(errno));
  }
  int out_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    ::close(stderr_fd);
    return UnavailableError(std::string("pipe: ") + std::strerror(errno));
  }

  // Everything the child needs is built before fork: after it, the child (a copy
  // of a multi-threaded process) may make only async-signal-safe calls.
  Args args = {CG_BINARY, "serve", "--config", options.config_file};
  std::vector<std::string> env = ChildEnvironment(options.env);
  std::vector<char*> c_args = CStrings(args);
  std::vector<char*> c_env = CStrings(env);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    // A test that crashes takes its nodes with it. (The signal follows the
    // starting thread: start nodes from the test's own thread.)
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    const int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd < 0 || ::dup2(null_fd, STDIN_FILENO) < 0 ||
        ::dup2(out_pipe[1], STDOUT_FILENO) < 0 || ::dup2(stderr_fd, STDERR_FILENO) < 0) {
      ::_exit(127);
    }
    // Default dispositions and no blocked signals, whatever the test runner set.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    for (int sig : {SIGPIPE, SIGTERM, SIGHUP, SIGINT}) ::sigaction(sig, &default_action, nullptr);
    ::execve(c_args[0], c_args.data(), c_env.data());
    ::_exit(127);
  }
  const int fork_errno = errno;
  ::close(out_pipe[1]);
  ::close(stderr_fd);
  node->stdout_fd_ = out_pipe[0];
  if (pid < 0) return UnavailableError(std::string("fork: ") + std::strerror(fork_errno));
  node->pid_ = pid;

  // Read lines until the serving line, the end of the stream or the deadline.
  static const std::regex kServing(
      R"(^(\S+) \((\w+)\) serving https://(\S+):(\d+) \(admin http://(\S+):(\d+)\)$)");
  const auto deadline = std::chrono::steady_clock::now() + options.start_timeout;
  std::string pending;
  while (true) {
    for (size_t newline; (newline = pending.find('\n')) != std::string::npos;) {
      const std::string line = pending.substr(0, newline);
      pending.erase(0, newline + 1);
      std::smatch m;
      if (!std::regex_match(line, m, kServing)) continue;
      node->serving_line_ = line;
      node->node_id_ = m[1];
      node->side_ = m[2];
      node->api_port_ = static_cast<uint16_t>(std::stoi(m[4]));
      node->admin_port_ = static_cast<uint16_t>(std::stoi(m[6]));
      node->stdout_text_ = pending;
      NodeProcess* raw = node.get();
      node->stdout_reader_ = std::thread([raw] { raw->ReadStdout(); });
      return node;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      const ProcessResult killed = node->Kill();
      return Status(StatusCode::kDeadlineExceeded,
                    "no serving line within " + std::to_string(options.start_timeout.count()) +
                        " ms; stdout so far: " + pending + "\n" + killed.Describe());
    }
    pollfd fd{node->stdout_fd_, POLLIN, 0};
    const int ready = ::poll(&fd, 1, static_cast<int>(std::min<int64_t>(left.count(), 200)));
    if (ready < 0 && errno != EINTR) return UnavailableError(std::strerror(errno));
    if (ready <= 0) continue;
    char buffer[4096];
    const ssize_t n = ::read(node->stdout_fd_, buffer, sizeof buffer);
    if (n > 0) {
      pending.append(buffer, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      // The child closed its stdout: it is exiting without having served.
      ProcessResult exited = node->SignalAndWait(0, std::chrono::seconds(5));
      exited.stdout_text = pending + exited.stdout_text;
      return UnavailableError("credit-gateway serve exited before serving: " + exited.Describe());
    }
  }
}

NodeProcess::~NodeProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  // The child is gone, so its stdout is at EOF (unless a grandchild inherited it,
  // which serve never makes).
  if (stdout_reader_.joinable()) stdout_reader_.join();
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
}

ProcessResult NodeProcess::Terminate(std::chrono::milliseconds timeout) {
  return SignalAndWait(SIGTERM, timeout);
}

ProcessResult NodeProcess::Kill() { return SignalAndWait(SIGKILL, std::chrono::seconds(10)); }

Status NodeProcess::Hangup() {
  if (pid_ <= 0) return FailedPreconditionError("the node is not running");
  if (::kill(pid_, SIGHUP) != 0) return InternalError(std::string("kill: ") + std::strerror(errno));
  return OkStatus();
}

std::string NodeProcess::StderrText() const { return ReadIfPresent(stderr_file_); }

std::string NodeProcess::StdoutText() const {
  std::lock_guard lock(stdout_mu_);
  return stdout_text_;
}

void NodeProcess::ReadStdout() {
  char buffer[4096];
  while (true) {
    const ssize_t n = ::read(stdout_fd_, buffer, sizeof buffer);
    if (n > 0) {
      std::lock_guard lock(stdout_mu_);
      stdout_text_.append(buffer, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      return;
    }
  }
}

// `signal` 0 sends nothing and just waits.
ProcessResult NodeProcess::SignalAndWait(int signal, std::chrono::milliseconds timeout) {
  ProcessResult result;
  if (pid_ <= 0) {
    result.stderr_text = "NodeProcess: not running";
    return result;
  }
  if (signal != 0) ::kill(pid_, signal);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (true) {
    const pid_t waited = ::waitpid(pid_, &status, WNOHANG);
    if (waited == pid_) break;
    if (waited < 0 && errno != EINTR) {
      result.stderr_text = std::string("NodeProcess: waitpid: ") + std::strerror(errno);
      pid_ = -1;
      return result;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid_, SIGKILL);
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
      result.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  pid_ = -1;
  RecordWaitStatus(status, result);
  if (stdout_reader_.joinable()) stdout_reader_.join();  // EOF now that the child is gone
  result.stdout_text = StdoutText();
  result.stderr_text = StderrText();
  return result;
}

}  // namespace cg::test
