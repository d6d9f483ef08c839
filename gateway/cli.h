// The `credit-gateway` command line: one CLI11 app whose subcommands each live in
// a file of their own (cli_keys.cc, cli_attest.cc, cli_verify.cc).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "crypto/key_set.h"
#include "specs/status.h"

namespace cg::gateway {

// Exit codes of every subcommand.
enum ExitCode : int {
  kExitOk = 0,
  kExitInvalid = 1,  // `verify`: the envelope is not valid
  kExitUsage = 2,    // bad arguments, or input that cannot be read or parsed
};

// Runs the command line; returns the process exit code.
int RunCli(int argc, char** argv);

// Registration of each group of subcommands. `exit_code` receives the result of
// whichever subcommand runs.
void AddKeyCommands(CLI::App& app, int& exit_code);
void AddAttestCommand(CLI::App& app, int& exit_code);
void AddVerifyCommand(CLI::App& app, int& exit_code);
void AddConfigCommand(CLI::App& app, int& exit_code);
void AddLoadCommand(CLI::App& app, int& exit_code);
void AddSynthCommand(CLI::App& app, int& exit_code);
void AddEvaluateCommands(CLI::App& app, int& exit_code);
void AddInitCommand(CLI::App& app, int& exit_code);
void AddServeCommand(CLI::App& app, int& exit_code);
void AddPeerCommand(CLI::App& app, int& exit_code);

// Options shared by the commands that unseal a key set.
struct KeyOptions {
  std::string key_file;
  std::string passphrase_env = "CG_KEY_PASSPHRASE";
  std::string passphrase_file;
  bool plaintext_for_tests = false;
};
void AddKeyOptions(CLI::App& command, KeyOptions& options, bool key_required = true);
// The passphrase the options point at: the file's first line, else the variable.
// With --plaintext-for-tests a missing passphrase is an empty one.
StatusOr<std::string> ReadKeyPassphrase(const KeyOptions& options);
StatusOr<crypto::KeySet> LoadKeySet(const KeyOptions& options, std::string_view passphrase);

// Prints "error: <message>" to stderr and returns kExitUsage.
int ReportError(const Status& status);

}  // namespace cg::gateway
