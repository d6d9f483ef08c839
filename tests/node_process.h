// Test support for tests that run a whole node as the real credit-gateway binary
// (CG_BINARY): a node directory made ready once (init, synthetic feeds, load,
// evaluate) and `credit-gateway serve` on it as a child process, its bound ports
// read from the line it prints, stopped or reloaded by signal.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "specs/status.h"
#include "tests/test_process.h"

namespace cg::test {

// What PrepareNodeDirectory makes.
struct NodeDirectoryOptions {
  std::string side = "sz";  // "sz" or "hk"
  std::string node_id;      // empty: init's default, "<side>-node-1"
  // An existing pseudonymisation key file to share with another node; empty: a new one.
  std::string pseudonym_key;
  // Feeds already written by `credit-gateway synth` (shared by two nodes); empty:
  // synth writes new ones into <dir>/feeds.
  std::string feeds_dir;
  uint64_t entities = 2000;
  uint64_t seed = 3;
  std::string period = "2026-10";  // of the feeds and of the evaluation
  // [limits] keys of node.toml to change, e.g. {"header_read_timeout_ms", "1000"}.
  std::vector<std::pair<std::string, std::string>> limits;
};

// A node directory as `credit-gateway init` lays it out.
struct NodeDirectory {
  std::string dir;
  std::string config_file;  // dir/node.toml
  std::string feeds_dir;    // the feeds it was loaded from

  // dir/relative_path, e.g. File("tls/clients/bank.pem").
  std::string File(std::string_view relative_path) const;
};

// Runs `init --side S --dir DIR --api-port 0 --admin-port 0 --kdf interactive`
// (DIR new or empty), applies `options.limits` to node.toml, writes the synthetic
// feeds (unless given), loads the side's feeds (sz-grades or hk-bureau, then
// ownership and performance) and evaluates the period. Takes seconds: call it once
// per test suite (SetUpTestSuite) and give tests that change the node a copy
// (CopyNodeDirectory). kInternal with the failing command's output when a step fails.
StatusOr<NodeDirectory> PrepareNodeDirectory(const std::string& dir,
                                             const NodeDirectoryOptions& options);

// Copies a node directory with its file modes to `to`, which must not exist yet.
// Relative paths in node.toml keep working, so the copy is a node of its own (same
// keys, certificates and store contents). The feeds directory is shared, not copied.
StatusOr<NodeDirectory> CopyNodeDirectory(const NodeDirectory& from, const std::string& to);

// Replaces the value of `key = ...` in the [table] section of a TOML file (as init
// writes it: one key per line) with `value`, a TOML literal ("1000", "\"text\"").
// kNotFound when the table has no such key.
Status SetTomlValue(const std::string& file, std::string_view table, std::string_view key,
                    std::string_view value);

// `credit-gateway serve --config FILE` as a child process. Not thread-safe: one
// thread drives a NodeProcess (other threads may talk to the node over the network).
class NodeProcess {
 public:
  struct Options {
    std::string config_file;
    // Where the child's stderr goes (appended); empty: serve.stderr next to the
    // config file.
    std::string stderr_file;
    // How long to wait for the "serving" line.
    std::chrono::milliseconds start_timeout{15'000};
    // Set for the child on top of the caller's environment without its CG_*
    // variables (as RunProcess).
    std::vector<std::pair<std::string, std::string>> env;
  };

  // Starts the node (fork, exec) and waits until it prints
  //   <node_id> (<side>) serving https://HOST:PORT (admin http://HOST:PORT)
  // kDeadlineExceeded when it does not within options.start_timeout (the child is
  // then killed), kUnavailable when it exits first; either with its stderr. The
  // child gets SIGKILL if the thread that started it ends (so a crashed test
  // leaves no node behind): start nodes from the test's own thread.
  static StatusOr<std::unique_ptr<NodeProcess>> Start(const Options& options);

  // Kills the child (SIGKILL) if it is still running.
  ~NodeProcess();
  NodeProcess(const NodeProcess&) = delete;
  NodeProcess& operator=(const NodeProcess&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& node_id() const { return node_id_; }
  const std::string& side() const { return side_; }
  uint16_t api_port() const { return api_port_; }
  uint16_t admin_port() const { return admin_port_; }
  const std::string& serving_line() const { return serving_line_; }
  // False once the child has been waited for.
  bool running() const { return pid_ > 0; }

  // SIGTERM, then waits up to `timeout` for the exit; SIGKILL after that
  // (timed_out set). The result holds the exit status, what the child wrote to
  // stdout after the serving line and its whole stderr file.
  ProcessResult Terminate(std::chrono::milliseconds timeout = std::chrono::seconds(15));
  // SIGKILL and wait.
  ProcessResult Kill();
  // SIGHUP (the node reloads its TLS files). kFailedPrecondition when not running.
  Status Hangup();

  // Everything the child has written to its stderr file so far.
  std::string StderrText() const;
  // What the child has written to stdout after the serving line so far (its
  // operational log goes there too).
  std::string StdoutText() const;

 private:
  NodeProcess() = default;
  ProcessResult SignalAndWait(int signal, std::chrono::milliseconds timeout);
  // Reads the child's stdout until it closes, so that the child never blocks on a
  // full pipe; runs on stdout_reader_ once the node serves.
  void ReadStdout();

  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::thread stdout_reader_;
  std::string stderr_file_;
  mutable std::mutex stdout_mu_;
  std::string stdout_text_;  // after the serving line, guarded by stdout_mu_
  std::string serving_line_;
  std::string node_id_;
  std::string side_;
  uint16_t api_port_ = 0;
  uint16_t admin_port_ = 0;
};

}  // namespace cg::test
