// Test support for tests that run real programs: run a command and collect what it
// printed, and a temporary directory that cleans up after itself.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace cg::test {

struct ProcessOptions {
  // Variables set for the child on top of the caller's environment. The caller's
  // own CG_* variables are never passed on, so a developer's CG_KEY_PASSPHRASE
  // cannot leak into a test: a test gets exactly the CG_* variables it names here.
  std::vector<std::pair<std::string, std::string>> env;
  // Written to the child's standard input; when empty the child reads /dev/null.
  std::string stdin_text;
  // The child is killed with SIGKILL when it runs longer than this.
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
};

struct ProcessResult {
  // The exit status when the child exited by itself; -1 otherwise.
  int exit_code = -1;
  // The signal that ended the child (0 when it exited by itself).
  int term_signal = 0;
  // True when the child was killed because it outlived ProcessOptions::timeout.
  bool timed_out = false;
  std::string stdout_text;
  std::string stderr_text;

  bool exited() const { return term_signal == 0 && !timed_out; }
  // For assertion messages: exit status and both streams.
  std::string Describe() const;
};

// Runs argv[0] (a path; PATH is not searched) with arguments argv[1..] and no shell,
// waits for it to finish or time out, and returns what it printed. A program that
// cannot be started gives exit_code 127 and the reason in stderr_text.
// Not thread-safe with respect to other threads that fork.
ProcessResult RunProcess(const std::vector<std::string>& argv, const ProcessOptions& options = {});

// For starting a child with execve: the caller's environment without its CG_*
// variables or the ones in `extra`, then those in `extra` ...
std::vector<std::string> ChildEnvironment(
    const std::vector<std::pair<std::string, std::string>>& extra);
// ... and the pointer array execve takes, null-terminated, into `strings`.
std::vector<char*> CStrings(std::vector<std::string>& strings);
// Puts a waitpid() status into result: the exit code, or the signal that ended it.
void RecordWaitStatus(int status, ProcessResult& result);

// A fresh directory (mkdtemp under ::testing::TempDir()), removed with everything
// in it when the TempDir is destroyed.
class TempDir {
 public:
  TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();

  const std::string& path() const { return path_; }
  // path()/name; the file need not exist.
  std::string File(const std::string& name) const;
  // Writes `contents` to path()/name with `mode`, and returns that path.
  std::string WriteFile(const std::string& name, const std::string& contents,
                        unsigned mode = 0644) const;

 private:
  std::string path_;
};

// The whole contents of a file; fails the current test (and returns "") when it
// cannot be read.
std::string ReadWholeFile(const std::string& path);

}  // namespace cg::test
