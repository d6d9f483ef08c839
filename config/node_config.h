// The node's configuration: one TOML file, read into plain structs (one per section)
// and validated as a whole before anything starts. config/examples/sz-node.toml and
// hk-node.toml show and explain every key.
//
// The loader only reads the TOML file. It never opens the files the configuration
// names (key set, pseudonymisation key, passphrase file, trust files, certificates
// and CA files, store, audit log): it resolves their paths and leaves reading them
// to their owners (crypto/, the store, the server), which report their own errors.
//
// Loading stops at the first problem. A problem in the text is kInvalidArgument
// with a one-line message naming the file, the position where toml++ knows it, and
// the dotted key:
//   node.toml:12:1: signing.validity_days: must be between 1 and 366, got 0
// Unknown keys are errors everywhere, so a misspelt key never silently becomes a
// default.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
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

// A configurable integer: the least and the most the file may set, and the default
// when it sets nothing.
struct IntRange {
  int64_t min;
  int64_t default_value;
  int64_t max;
};

// [store]: where the node keeps feeds, evaluations and attestations. Only SQLite for
// now; a postgresql:// URL is recognised and refused as not supported yet.
inline constexpr std::string_view kDefaultStoreFile = "node.db";  // in the config directory

// [api]: the HTTPS listener (client certificates required).
inline constexpr std::string_view kDefaultApiHost = "127.0.0.1";
inline constexpr uint16_t kDefaultApiPort = 8443;
inline constexpr IntRange kApiThreadsRange{1, 2, 64};  // network (TLS and HTTP) threads
// Threads answering requests other than lookups and issuances (the network threads
// answer those: an issuance waits for its group commit without holding a thread). A
// recognition holds one while its group commit syncs, and a cross-border request
// while the peer answers.
inline constexpr IntRange kApiHandlerThreadsRange{1, 64, 1024};

// The roles a client certificate can carry (DESIGN §7). Written "agency", "firm",
// "bank", "peer", "operator".
enum class Role { kAgency, kFirm, kBank, kPeer, kOperator };
std::string_view RoleName(Role role);
// Every role, in the order above.
inline constexpr Role kAllRoles[] = {Role::kAgency, Role::kFirm, Role::kBank, Role::kPeer,
                                     Role::kOperator};
// A firm may ask only about its own subjects: the entity ids written in its client
// certificate as subjectAltName URIs of this prefix, "urn:gba-credit:subject:uscc:...".
inline constexpr std::string_view kSubjectUriPrefix = "urn:gba-credit:subject:";
// An organizational unit named in [api.roles]: 1 to this many bytes (X.509's upper
// bound), printable, no control characters.
inline constexpr size_t kMaxOrganizationalUnitLength = 64;

// [admin]: the plain-HTTP listener for /healthz, /readyz and /metrics.
inline constexpr std::string_view kDefaultAdminHost = "127.0.0.1";
inline constexpr uint16_t kDefaultAdminPort = 9464;

// [limits]: what one client or connection may use. Sizes in bytes, times in
// milliseconds, rates in requests per second.
inline constexpr IntRange kMaxHeaderBytesRange{1024, 8192, 65536};
inline constexpr IntRange kMaxBodyBytesRange{1024, 1 << 20, 64 << 20};
inline constexpr IntRange kHeaderReadTimeoutMsRange{100, 10'000, 600'000};
inline constexpr IntRange kBodyReadTimeoutMsRange{100, 30'000, 600'000};
inline constexpr IntRange kIdleTimeoutMsRange{100, 30'000, 3'600'000};
inline constexpr IntRange kHandshakeTimeoutMsRange{100, 10'000, 600'000};
inline constexpr IntRange kMaxConnectionsRange{1, 1024, 100'000};
inline constexpr IntRange kMaxPipelinedRange{1, 16, 1024};
inline constexpr IntRange kClientRatePerSecondRange{1, 1000, 1'000'000};
inline constexpr IntRange kClientBurstRange{1, 2000, 10'000'000};
inline constexpr IntRange kShutdownGraceMsRange{0, 10'000, 600'000};

// [audit]: the append-only audit log.
inline constexpr std::string_view kDefaultAuditFile = "audit.log";  // in the config directory

// [peer]: how this node calls its peers (the [[trust]] entries with a base_url).
inline constexpr IntRange kPeerConnectTimeoutMsRange{100, 2'000, 60'000};
inline constexpr IntRange kPeerRequestTimeoutMsRange{100, 5'000, 300'000};
inline constexpr IntRange kPeerAttemptsRange{1, 3, 10};
// A peer's request, and the attestation it gets back, must be dated within this
// many seconds of the receiving node's clock.
inline constexpr IntRange kPeerTimestampWindowSecondsRange{5, 300, 3600};
// How often a serving node syncs with its peers (keys, status lists, statements);
// 0: only when an operator asks (POST /v1/peers/sync).
inline constexpr IntRange kPeerSyncIntervalSecondsRange{0, 300, 86'400};

// [policy]: a purpose is 1 to kMaxPurposeLength characters of [a-z0-9-].
inline constexpr size_t kMaxPurposeLength = 64;
bool IsPurpose(std::string_view text);

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

// [store]: optional table. The URL as Store::Open takes it (gateway/store.h):
// "sqlite:PATH" with PATH resolved like any other path, or "sqlite::memory:" as is.
struct StoreConfig {
  std::string url;  // default "sqlite:" + base directory / kDefaultStoreFile
};

// A listener's address, "host:port" in the file ("[::1]:8443" for IPv6).
struct ListenAddress {
  std::string host;   // IPv4 or IPv6 literal (without brackets), or a host name
  uint16_t port = 0;  // 0: any free port

  friend bool operator==(const ListenAddress&, const ListenAddress&) = default;
};
// "127.0.0.1:8443", "[::1]:8443": as written in the file.
std::string FormatListenAddress(const ListenAddress& address);

// [api]: optional table; without it the node has no API listener. When present,
// cert_file, key_file and client_ca_files are required.
struct ApiConfig {
  ListenAddress listen{std::string(kDefaultApiHost), kDefaultApiPort};
  std::string cert_file;                     // the server's certificate chain, PEM
  std::string key_file;                      // its private key, PEM
  std::vector<std::string> client_ca_files;  // CAs of client certificates, PEM; at least one
  int threads = static_cast<int>(kApiThreadsRange.default_value);  // network threads
  int handler_threads = static_cast<int>(kApiHandlerThreadsRange.default_value);
  // [api.roles]: a client certificate's subject OU (exact, case-sensitive) -> its
  // role. When the table is absent each role name maps to itself ("agency" ->
  // kAgency, ...); when present it replaces that default.
  std::map<std::string, Role, std::less<>> roles;
};

// [admin]: optional table. Plain HTTP, no authentication: keep it on loopback. Its
// listen must differ from api.listen (unless either port is 0).
struct AdminConfig {
  ListenAddress listen{std::string(kDefaultAdminHost), kDefaultAdminPort};
};

// [limits]: optional table; every key optional, defaults and ranges above.
struct LimitsConfig {
  int64_t max_header_bytes = kMaxHeaderBytesRange.default_value;
  int64_t max_body_bytes = kMaxBodyBytesRange.default_value;
  int64_t header_read_timeout_ms = kHeaderReadTimeoutMsRange.default_value;
  int64_t body_read_timeout_ms = kBodyReadTimeoutMsRange.default_value;
  int64_t idle_timeout_ms = kIdleTimeoutMsRange.default_value;
  int64_t handshake_timeout_ms = kHandshakeTimeoutMsRange.default_value;
  int64_t max_connections = kMaxConnectionsRange.default_value;
  int64_t max_pipelined = kMaxPipelinedRange.default_value;  // requests queued per connection
  int64_t client_rate_per_second = kClientRatePerSecondRange.default_value;  // per client cert
  int64_t client_burst = kClientBurstRange.default_value;  // token bucket size, per client cert
  int64_t shutdown_grace_ms = kShutdownGraceMsRange.default_value;

  friend bool operator==(const LimitsConfig&, const LimitsConfig&) = default;
};

// [audit]: optional table.
struct AuditConfig {
  std::string file;  // default base directory / kDefaultAuditFile
};

// [policy]: optional table; both keys optional.
struct PolicyConfig {
  // Attestation requests for these purposes must carry a consent reference. Unique,
  // each IsPurpose; in file order. Default: none.
  std::vector<std::string> consent_required_purposes;
  // Whether every attestation request must name its audience (the relying party);
  // false lets an attestation be issued for anyone.
  bool default_audience_required = false;
  // Whether an attestation for a peer node (the other side) needs the firm's consent,
  // whatever the purpose: true on a Hong Kong node, whose firms' records go to the
  // mainland only with consent.
  bool consent_required_for_peers = false;
};

// [peer]: optional table. cert_file and key_file (together) are this node's client
// certificate for calling peers: OU = peer, from a CA each peer lists in its
// [[trust]] ca_file. Without them the node answers peers but calls none.
//
// A [[trust]] entry's ca_file is the peer's CA: its server certificate must chain
// to it, and a client certificate issued by it is that peer, with role `peer` only
// (any other OU from that CA gets no role).
struct PeerConfig {
  std::string cert_file;
  std::string key_file;
  int64_t connect_timeout_ms = kPeerConnectTimeoutMsRange.default_value;
  int64_t request_timeout_ms = kPeerRequestTimeoutMsRange.default_value;
  int64_t attempts = kPeerAttemptsRange.default_value;
  int64_t timestamp_window_seconds = kPeerTimestampWindowSecondsRange.default_value;
  int64_t sync_interval_seconds = kPeerSyncIntervalSecondsRange.default_value;
};

// The whole file. [node], [signing] and [pseudonym] are required; the other tables
// and the [[trust]] entries are not.
struct NodeConfig {
  NodeIdentityConfig node;
  SigningConfig signing;
  PseudonymConfig pseudonym;
  std::vector<TrustedNodeConfig> trust;  // in file order
  LogConfig log;
  StoreConfig store;
  std::optional<ApiConfig> api;
  AdminConfig admin;
  LimitsConfig limits;
  AuditConfig audit;
  PolicyConfig policy;
  PeerConfig peer;
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
