// init: a ready-to-run node in one directory: a development PKI (gateway/dev_pki.h),
// an encrypted signing key set with a generated passphrase, a pseudonymisation key,
// node.toml naming them all, and an empty store.
#include <fmt/core.h>
#include <sodium.h>

#include <filesystem>
#include <map>
#include <system_error>
#include <vector>

#include "config/node_config.h"
#include "crypto/encoding.h"
#include "crypto/key_set.h"
#include "crypto/pseudonym.h"
#include "crypto/sodium.h"
#include "gateway/cli.h"
#include "gateway/dev_pki.h"
#include "gateway/store.h"
#include "mapping/identifier.h"
#include "specs/file_io.h"

namespace cg::gateway {
namespace {

namespace fs = std::filesystem;

// The layout of a node directory, relative to it; node.toml names these paths.
constexpr char kConfigFile[] = "node.toml";
constexpr char kKeySetFile[] = "keys/signing.json";
constexpr char kPseudonymKeyFile[] = "keys/pseudonym.key";
constexpr char kPassphraseFile[] = "secrets/signing.passphrase";
constexpr char kTlsDir[] = "tls";
constexpr char kStoreFile[] = "node.db";
constexpr char kAuditFile[] = "audit.log";

// Random bytes in the generated passphrase (hex encoded in the file).
constexpr size_t kPassphraseBytes = 32;
// The largest pseudonymisation key file --pseudonym-key copies.
constexpr size_t kMaxPseudonymKeyFileBytes = 4096;

// Ports of the two sides' nodes differ by default, so a Shenzhen and a Hong Kong
// node can run side by side on one machine.
struct SideDefaults {
  uint16_t api_port;
  uint16_t admin_port;
  // A valid sample entity id of the side, for the firm client certificate.
  const char* sample_subject_id;
};
constexpr SideDefaults kShenzhenDefaults{8443, 9464, "uscc:91440300MA5G2U7B88"};
constexpr SideDefaults kHongKongDefaults{8444, 9465, "hkbrn:12345678"};

struct InitOptions {
  std::string side;
  std::string dir;
  std::string node_id;  // default "<side>-node-1"
  int api_port = -1;    // -1: the side's default
  int admin_port = -1;
  std::string pseudonym_key;  // an existing key to copy; empty: a new one
  crypto::KdfStrength strength = crypto::KdfStrength::kModerate;
  bool force = false;
};

// The files init writes, relative to the node directory, for the --force report.
std::vector<std::string> FilesWritten() {
  std::vector<std::string> files = {kConfigFile,      kKeySetFile,     kPseudonymKeyFile,
                                    kPassphraseFile,  "tls/ca.pem",    "tls/ca.key",
                                    "tls/server.pem", "tls/server.key"};
  for (config::Role role : config::kAllRoles) {
    const std::string name(config::RoleName(role));
    files.push_back("tls/clients/" + name + ".pem");
    files.push_back("tls/clients/" + name + ".key");
  }
  return files;
}

// Creates `dir` or checks that it may be written: refused when it holds anything,
// unless `force`.
Status PrepareDirectory(const fs::path& dir, bool force) {
  std::error_code error;
  const fs::file_status status = fs::status(dir, error);
  if (fs::exists(status)) {
    if (!fs::is_directory(status)) {
      return FailedPreconditionError(dir.string() + " exists and is not a directory");
    }
    const bool empty = fs::is_empty(dir, error);
    if (error) return PermissionDeniedError("cannot read " + dir.string() + ": " + error.message());
    if (!empty && !force) {
      return AlreadyExistsError(
          dir.string() +
          " is not empty; init never overwrites files: give a new or empty directory, or "
          "--force to replace the files init makes (keys, certificates, node.toml; an "
          "existing store is kept)");
    }
  }
  for (const char* sub : {"keys", "secrets", "tls/clients"}) {
    fs::create_directories(dir / sub, error);
    if (error) {
      return PermissionDeniedError("cannot create " + (dir / sub).string() + ": " +
                                   error.message());
    }
  }
  // Secrets live in directories only the node's user can list.
  for (const char* sub : {"keys", "secrets"}) {
    fs::permissions(dir / sub, fs::perms::owner_all, fs::perm_options::replace, error);
    if (error) return PermissionDeniedError("cannot restrict " + (dir / sub).string());
  }
  return OkStatus();
}

std::string NewPassphrase() {
  crypto::EnsureSodium();
  std::string bytes(kPassphraseBytes, '\0');
  randombytes_buf(bytes.data(), bytes.size());
  std::string passphrase = crypto::HexEncode(bytes);
  sodium_memzero(bytes.data(), bytes.size());
  return passphrase;
}

// The pseudonymisation key file to write: a new key, or a checked copy of
// --pseudonym-key.
StatusOr<std::string> PseudonymKeyFile(const InitOptions& o) {
  if (o.pseudonym_key.empty()) return crypto::Pseudonymizer::NewKeyFileContents();
  auto key = crypto::Pseudonymizer::FromKeyFile(o.pseudonym_key);
  if (!key.ok()) return key.status().WithContext("--pseudonym-key");
  return ReadFileLimited(o.pseudonym_key, kMaxPseudonymKeyFileBytes);
}

std::string RoleTable() {
  std::string lines;
  for (config::Role role : config::kAllRoles) {
    lines += fmt::format("{0} = \"{0}\"\n", config::RoleName(role));
  }
  return lines;
}

std::string NodeToml(const InitOptions& o, uint16_t api_port, uint16_t admin_port,
                     const std::string& peer_node, uint16_t peer_port) {
  const config::LimitsConfig limits;  // the defaults, written out
  return fmt::format(
      R"(# credit-gateway node configuration, written by `credit-gateway init`.
# config/examples/sz-node.toml in the source tree explains every key. Relative paths
# are relative to this file's directory. Check the node with
#   credit-gateway config check --config node.toml
#
# The certificates under tls/ are a DEVELOPMENT PKI made by init (unencrypted keys):
# replace them with certificates from a real CA before going to production.

# Who this node is.
[node]
side = "{side}"
# Names the issuer of every attestation the node signs; the key set is made for it.
node_id = "{node_id}"

# The encrypted signing key set, and the file holding its passphrase (mode 0600).
[signing]
key_file = "{key_set}"
passphrase_file = "{passphrase}"
# How long an attestation is valid unless a request asks otherwise: 1 to 366 days.
validity_days = {validity_days}

# Both nodes must hold the same pseudonymisation key: give this file to the other
# side's node (`credit-gateway init --pseudonym-key FILE` copies it).
[pseudonym]
key_file = "{pseudonym}"

# sqlite:PATH (relative to this directory) or sqlite::memory:.
[store]
url = "sqlite:{store}"

# The HTTPS API; every client must present a certificate from a client CA.
[api]
# host:port; IPv6 in brackets ("[::1]:8443"); port 0 = any free port.
listen = "127.0.0.1:{api_port}"
cert_file = "tls/server.pem"
key_file = "tls/server.key"
client_ca_files = ["tls/ca.pem"]
threads = {threads}

# Client certificate subject OU -> role (agency, firm, bank, peer, operator). A firm
# may ask only about the subjects in its certificate's subjectAltName URIs
# urn:gba-credit:subject:<entity id>.
[api.roles]
{roles}
# /healthz, /readyz and /metrics over plain HTTP without authentication: keep it on
# loopback.
[admin]
listen = "127.0.0.1:{admin_port}"

# Per-connection and per-client limits, at their defaults (bytes, milliseconds,
# requests per second).
[limits]
max_header_bytes = {max_header_bytes}
max_body_bytes = {max_body_bytes}
header_read_timeout_ms = {header_read_timeout_ms}
body_read_timeout_ms = {body_read_timeout_ms}
idle_timeout_ms = {idle_timeout_ms}
handshake_timeout_ms = {handshake_timeout_ms}
max_connections = {max_connections}
max_pipelined = {max_pipelined}
client_rate_per_second = {client_rate_per_second}
client_burst = {client_burst}
shutdown_grace_ms = {shutdown_grace_ms}

# The append-only audit log: who asked what about which subject, and the result.
[audit]
file = "{audit}"

[policy]
# Purposes ([a-z0-9-]) whose attestation requests must carry a consent reference.
consent_required_purposes = []
# Whether every attestation request must name its audience (the relying party).
default_audience_required = false
# Whether attestations for the other side's node need the firm's consent, whatever
# the purpose (a Hong Kong firm's record goes to the mainland only with consent).
consent_required_for_peers = {peer_consent}

[log]
level = "info"
format = "text"

# How this node calls its peers: its client certificate (OU peer), timeouts, the
# timestamp window of peer requests, and how often it syncs with them (keys, status
# lists, entity statements; 0 = only on POST /v1/peers/sync).
[peer]
cert_file = "tls/clients/peer.pem"
key_file = "tls/clients/peer.key"
connect_timeout_ms = {peer_connect_ms}
request_timeout_ms = {peer_request_ms}
attempts = {peer_attempts}
timestamp_window_seconds = {peer_window}
sync_interval_seconds = {peer_sync}

# The peer nodes whose attestations this node accepts, one [[trust]] each. To trust
# the other side's node (with its files at hand):
#   credit-gateway peer add --config node.toml --peer-config ../{peer_side}/node.toml
# which copies its public keys and CA under trust/ and appends, for example:
# [[trust]]
# node_id = "{peer}"
# side = "{peer_side}"
# base_url = "https://127.0.0.1:{peer_port}"
# ca_file = "trust/{peer}-ca.pem"
# keys_file = "trust/{peer}.json"
)",
      fmt::arg("side", o.side), fmt::arg("node_id", o.node_id), fmt::arg("key_set", kKeySetFile),
      fmt::arg("passphrase", kPassphraseFile),
      fmt::arg("validity_days", config::kDefaultValidityDays),
      fmt::arg("pseudonym", kPseudonymKeyFile), fmt::arg("store", kStoreFile),
      fmt::arg("api_port", api_port), fmt::arg("threads", config::kApiThreadsRange.default_value),
      fmt::arg("roles", RoleTable()), fmt::arg("admin_port", admin_port),
      fmt::arg("max_header_bytes", limits.max_header_bytes),
      fmt::arg("max_body_bytes", limits.max_body_bytes),
      fmt::arg("header_read_timeout_ms", limits.header_read_timeout_ms),
      fmt::arg("body_read_timeout_ms", limits.body_read_timeout_ms),
      fmt::arg("idle_timeout_ms", limits.idle_timeout_ms),
      fmt::arg("handshake_timeout_ms", limits.handshake_timeout_ms),
      fmt::arg("max_connections", limits.max_connections),
      fmt::arg("max_pipelined", limits.max_pipelined),
      fmt::arg("client_rate_per_second", limits.client_rate_per_second),
      fmt::arg("client_burst", limits.client_burst),
      fmt::arg("shutdown_grace_ms", limits.shutdown_grace_ms), fmt::arg("audit", kAuditFile),
      fmt::arg("peer", peer_node), fmt::arg("peer_side", o.side == "sz" ? "hk" : "sz"),
      fmt::arg("peer_port", peer_port), fmt::arg("peer_consent", o.side == "hk"),
      fmt::arg("peer_connect_ms", config::kPeerConnectTimeoutMsRange.default_value),
      fmt::arg("peer_request_ms", config::kPeerRequestTimeoutMsRange.default_value),
      fmt::arg("peer_attempts", config::kPeerAttemptsRange.default_value),
      fmt::arg("peer_window", config::kPeerTimestampWindowSecondsRange.default_value),
      fmt::arg("peer_sync", config::kPeerSyncIntervalSecondsRange.default_value));
}

int Init(InitOptions o) {
  const bool shenzhen = o.side == "sz";
  const SideDefaults& defaults = shenzhen ? kShenzhenDefaults : kHongKongDefaults;
  const SideDefaults& peer_defaults = shenzhen ? kHongKongDefaults : kShenzhenDefaults;
  if (o.node_id.empty()) o.node_id = o.side + "-node-1";
  const auto api_port = static_cast<uint16_t>(o.api_port < 0 ? defaults.api_port : o.api_port);
  const auto admin_port =
      static_cast<uint16_t>(o.admin_port < 0 ? defaults.admin_port : o.admin_port);
  if (api_port != 0 && api_port == admin_port) {
    return ReportError(InvalidArgumentError("--api-port and --admin-port must differ, both are " +
                                            std::to_string(api_port)));
  }
  const fs::path dir(o.dir);
  std::vector<std::string> replaced;
  for (const std::string& file : FilesWritten()) {
    std::error_code ignored;
    if (fs::exists(dir / file, ignored)) replaced.push_back(file);
  }
  // Everything that can be checked or made in memory is, before the first file is
  // written. The sample subject must be one the API accepts as an entity id.
  if (Status valid = mapping::ParseEntityId(defaults.sample_subject_id).status(); !valid.ok()) {
    return ReportError(valid.WithContext("sample firm subject"));
  }
  auto pseudonym_key = PseudonymKeyFile(o);
  if (!pseudonym_key.ok()) return ReportError(pseudonym_key.status());
  const Clock::time_point now = Clock::now();
  DevPkiOptions pki_options;
  pki_options.node_id = o.node_id;
  pki_options.firm_subject_id = defaults.sample_subject_id;
  pki_options.now = now;
  auto pki = CreateDevPki(pki_options);
  if (!pki.ok()) return ReportError(pki.status().WithContext("development PKI"));
  const std::string passphrase = NewPassphrase();
  auto key_set = crypto::KeySet::Create(o.node_id, o.side, passphrase, o.strength, now);
  if (!key_set.ok()) return ReportError(key_set.status());

  if (Status ready = PrepareDirectory(dir, o.force); !ready.ok()) return ReportError(ready);
  if (Status written = WriteDevPki(*pki, (dir / kTlsDir).string()); !written.ok()) {
    return ReportError(written);
  }
  if (Status written =
          WriteFileAtomically((dir / kPassphraseFile).string(), passphrase + "\n", 0600);
      !written.ok()) {
    return ReportError(written);
  }
  if (Status saved = key_set->Save((dir / kKeySetFile).string()); !saved.ok()) {
    return ReportError(saved);
  }
  if (Status written =
          WriteFileAtomically((dir / kPseudonymKeyFile).string(), *pseudonym_key, 0600);
      !written.ok()) {
    return ReportError(written);
  }

  const std::string config_path = (dir / kConfigFile).string();
  const std::string toml =
      NodeToml(o, api_port, admin_port, std::string(shenzhen ? "hk" : "sz") + "-node-1",
               peer_defaults.api_port);
  if (Status written = WriteFileAtomically(config_path, toml, 0644); !written.ok()) {
    return ReportError(written);
  }
  // Read back through the loader `serve` uses: what init wrote must load.
  auto config = config::LoadNodeConfig(config_path);
  if (!config.ok()) return ReportError(config.status().WithContext("the written node.toml"));
  std::error_code ignored;
  const bool store_existed = fs::exists(dir / kStoreFile, ignored);
  auto store = Store::Open(config->store.url);
  if (!store.ok()) return ReportError(store.status());
  store->reset();
  // The store holds credit data: readable by the node's user only (SQLite gives its
  // -wal and -shm files the database file's mode).
  if (!store_existed) {
    fs::permissions(dir / kStoreFile, fs::perms::owner_read | fs::perms::owner_write,
                    fs::perm_options::replace, ignored);
  }

  const std::string role_list = [] {
    std::string list;
    for (config::Role role : config::kAllRoles) {
      if (!list.empty()) list += ", ";
      list += config::RoleName(role);
    }
    return list;
  }();
  fmt::print("initialised {} node {} in {}\n", shenzhen ? "Shenzhen" : "Hong Kong", o.node_id,
             o.dir);
  for (const std::string& file : replaced) fmt::print("  (replaced {})\n", file);
  fmt::print(
      "  node.toml                    the configuration\n"
      "  {:<28} signing key set, key id {}, encrypted with\n"
      "  {:<28} its generated passphrase (0600)\n"
      "  {:<28} pseudonymisation key{}\n"
      "  tls/ca.pem, tls/ca.key       development CA (valid {} days)\n"
      "  tls/server.pem, server.key   server certificate for localhost, 127.0.0.1, ::1\n"
      "  tls/clients/ROLE.pem, .key   client certificates with OU = ROLE: {}\n"
      "                               (firm's subject: {})\n"
      "  {:<28} store, {}\n",
      kKeySetFile, key_set->active_key().key_id(), kPassphraseFile, kPseudonymKeyFile,
      o.pseudonym_key.empty() ? " (new: give the same file to the other side's node)"
                              : " (copied from " + o.pseudonym_key + ")",
      kDevCaValidity.count(), role_list, defaults.sample_subject_id, kStoreFile,
      store_existed ? "existing one kept" : "empty");
  const fs::path shown(o.dir);
  fmt::print(
      "next:\n"
      "  credit-gateway config check --config {config}\n"
      "  credit-gateway serve --config {config}\n"
      "  curl --cacert {tls}/ca.pem --cert {tls}/clients/bank.pem --key {tls}/clients/bank.key "
      "https://127.0.0.1:{api_port}/v1/...\n"
      "  curl http://127.0.0.1:{admin_port}/healthz\n",
      fmt::arg("config", (shown / kConfigFile).string()),
      fmt::arg("tls", (shown / kTlsDir).string()), fmt::arg("api_port", api_port),
      fmt::arg("admin_port", admin_port));
  return kExitOk;
}

}  // namespace

void AddInitCommand(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<InitOptions>();
  auto* init = app.add_subcommand(
      "init",
      "Create a ready-to-run node in a directory: development PKI (CA, server and one client "
      "certificate per role), encrypted signing keys, pseudonymisation key, node.toml and an "
      "empty store");
  init->add_option("--side", options->side, "sz (Shenzhen) or hk (Hong Kong)")
      ->required()
      ->check([](const std::string& side) -> std::string {
        return side == "sz" || side == "hk"
                   ? std::string()
                   : "side must be sz (Shenzhen) or hk (Hong Kong), got '" + side + "'";
      });
  init->add_option("--dir", options->dir, "Directory to create the node in (new or empty)")
      ->required();
  init->add_option("--node-id", options->node_id, "This node's id (default: <side>-node-1)")
      ->check([](const std::string& id) -> std::string {
        return config::IsNodeId(id) ? std::string()
                                    : "node id must be 1-64 characters of a-z, 0-9 and '-'";
      });
  init->add_option("--api-port", options->api_port,
                   "HTTPS API port on 127.0.0.1 (default 8443 for sz, 8444 for hk; 0: any free)")
      ->check(CLI::Range(0, 65535));
  init->add_option("--admin-port", options->admin_port,
                   "Admin (health, metrics) port on 127.0.0.1 (default 9464 for sz, 9465 for hk)")
      ->check(CLI::Range(0, 65535));
  init->add_option("--pseudonym-key", options->pseudonym_key,
                   "Copy this pseudonymisation key (the other node's) instead of making one");
  const std::map<std::string, crypto::KdfStrength> strengths{
      {"interactive", crypto::KdfStrength::kInteractive},
      {"moderate", crypto::KdfStrength::kModerate},
      {"sensitive", crypto::KdfStrength::kSensitive}};
  init->add_option("--kdf", options->strength,
                   "Argon2id cost of the key set: interactive (64 MiB), moderate (256 MiB), "
                   "sensitive (1 GiB)")
      ->transform(CLI::CheckedTransformer(strengths))
      ->default_str("moderate");
  init->add_flag("--force", options->force,
                 "Write into a non-empty directory, replacing the files init makes");
  init->callback([options, &exit_code] { exit_code = Init(*options); });
}

}  // namespace cg::gateway
