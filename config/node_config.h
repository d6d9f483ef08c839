// The node's configuration: one TOML file, read into plain structs (one per section)
// and validated as a whole before anything starts. config/examples/sz-node.toml and
// hk-node.toml show and explain every key.
//
// The loader only reads the TOML file. It never opens the files the configuration
// names (key set, pseudonymisation key, passphrase file, trust files, CA files): it
// resolves their paths and leaves reading them to their owners (crypto/), which
// report their own errors.
//
// Loading stops at the first problem. A problem in the text is kInvalidArgument
// with a one-line message naming the file, the position where toml++ knows it, and
// the dotted key:
//   node.toml:12:1: signing.validity_days: must be between 1 and 366, got 0
// Unknown keys are errors everywhere, so a misspelt key never silently becomes a
// default.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "specs/status.h"
#include "specs/timestamps.h"

namespace cg::config {

// Which side of the border a node serves. Written "sz" or "hk" in files and keys.
enum class Side { kShenzhen, kHongKong };
std::string_view SideName(Side side);

enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError };
// "trace", "debug", "info", "warn", "error".
std::string_view LogLevelName(LogLevel level);

enum class LogFormat { kText, kJson };
// "text", "json".
std::string_view LogFormatName(LogFormat format);

// Limits and defaults of the configuration: the one place each is set.

// The largest configuration file read, in bytes.
inline constexpr size_t kMaxConfigFileBytes = 1 << 20;
// A node_id is 1 to kMaxNodeIdLength characters of [a-z0-9-].
inline constexpr size_t kMaxNodeIdLength = 64;
bool IsNodeId(std::string_view text);
// The environment variable holding the key passphrase when [signing] names neither
// passphrase_env nor passphrase_file.
inline constexpr std::string_view kDefaultPassphraseEnv = "CG_KEY_PASSPHRASE";
// How long an attestation is valid unless a request asks otherwise, in days.
inline constexpr int kDefaultValidityDays = 30;
// The least and the most signing.validity_days accepts, in days.
inline constexpr int kMinValidityDays = 1;
inline constexpr int kMaxValidityDays = 366;
// An inline trusted key's key_id: lower-case hex of 16 bytes (crypto's key id).
inline constexpr size_t kKeyIdHexLength = 32;
// The least severe operational log event written.
inline constexpr LogLevel kDefaultLogLevel = LogLevel::kInfo;
// Operational log lines: text for people; json (one object per line) for collectors.
inline constexpr LogFormat kDefaultLogFormat = LogFormat::kText;

// Paths below are as written when absolute, otherwise joined to the base directory
// (see LoadNodeConfig/ParseNodeConfig) and lexically normalised. "~" is not
// expanded. An optional path that is not set is empty.

// [node]: who this node is. Both keys required.
struct NodeIdentityConfig {
  Side side = Side::kShenzhen;
  std::string node_id;
};

// [signing]: the node's key set and how attestations are signed. key_file required.
struct SigningConfig {
  std::string key_file;  // the key set file (crypto::KeySet::Load)
  // Where the key set's passphrase comes from: exactly one is non-empty, and the pair
  // maps onto crypto::PassphraseSource{env_var, file}. When the file gives neither,
  // passphrase_env keeps its default.
  std::string passphrase_env{kDefaultPassphraseEnv};
  std::string passphrase_file;
  int validity_days = kDefaultValidityDays;  // kMinValidityDays..kMaxValidityDays
};

// [pseudonym]: the pseudonymisation key both nodes share. key_file required.
struct PseudonymConfig {
  std::string key_file;  // 64 hex characters (crypto::Pseudonymizer::FromKeyFile)
};

// One [[trust.key]]: a peer's public signing key written into the configuration.
// Checked for form only; crypto decodes and checks the key itself.
struct TrustedKeyConfig {
  std::string key_id;                           // empty, or kKeyIdHexLength lower-case hex
  std::string public_key_base64;                // non-empty base64 (standard or URL-safe)
  std::optional<Clock::time_point> not_before;  // from a TOML date-time with offset
  std::optional<Clock::time_point> not_after;   // later than not_before when both set
  // Where it was written, "node.toml:14:1: trust[0].key[1]", to prefix errors found
  // when the key is decoded: status.WithContext(origin).
  std::string origin;
};

// One [[trust]]: a peer node whose attestations this node accepts, and how to reach
// it. node_id and side required; at least one of keys_file and keys is given.
struct TrustedNodeConfig {
  std::string node_id;  // unique among the [[trust]] entries
  Side side = Side::kShenzhen;
  std::string base_url;                // empty, or "https://..."
  std::string ca_file;                 // CA bundle for the peer's server certificate; optional
  std::string keys_file;               // a JSON trust file as `credit-gateway key export` writes
  std::vector<TrustedKeyConfig> keys;  // inline [[trust.key]] entries, in file order
  std::string origin;                  // "node.toml:9:1: trust[0]", as TrustedKeyConfig::origin
};

// [log]: operational logging. Optional, as are both keys.
struct LogConfig {
  LogLevel level = kDefaultLogLevel;
  LogFormat format = kDefaultLogFormat;
};

// The whole file. [node], [signing] and [pseudonym] are required; [log] and the
// [[trust]] entries are not.
struct NodeConfig {
  NodeIdentityConfig node;
  SigningConfig signing;
  PseudonymConfig pseudonym;
  std::vector<TrustedNodeConfig> trust;  // in file order
  LogConfig log;
};

// Reads and validates the configuration file at `path` (at most kMaxConfigFileBytes).
// Relative paths inside it are resolved against the directory that holds the file,
// made absolute. Errors: kNotFound (no such file), kPermissionDenied (unreadable),
// kResourceExhausted (too large), kInvalidArgument (not a regular file, or anything
// ParseNodeConfig rejects), kInternal (other I/O failures); messages name `path` as
// given.
StatusOr<NodeConfig> LoadNodeConfig(const std::string& path);

// Validates configuration text. `source_name` names it in error messages (usually
// the file's path). Relative paths inside are joined to `base_dir`; when `base_dir`
// is empty they are left relative, that is, relative to the working directory of
// whoever opens them. Errors: kInvalidArgument, for the first problem found: a TOML
// syntax error, an unknown key, a value of the wrong type, a missing required key or
// section, or a value out of its range or form.
StatusOr<NodeConfig> ParseNodeConfig(std::string_view toml_text, std::string_view source_name,
                                     std::string_view base_dir = {});

}  // namespace cg::config
