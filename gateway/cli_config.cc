// config check: load a node's configuration and everything it names, as `serve`
// will, and say what is wrong or what the node would run with.
#include <fmt/core.h>
#include <fmt/ranges.h>

#include "config/node_config.h"
#include "gateway/cli.h"
#include "gateway/cross_border.h"
#include "gateway/node_keys.h"
#include "gateway/server/client_identity.h"
#include "gateway/server/tls_context.h"
#include "gateway/store.h"

namespace cg::gateway {
namespace {

int CheckConfig(const std::string& path, bool plaintext_for_tests) {
  auto config = config::LoadNodeConfig(path);
  if (!config.ok()) return ReportError(config.status());
  auto keys = LoadSigningKeys(*config, plaintext_for_tests);
  if (!keys.ok()) return ReportError(keys.status().WithContext("signing"));
  auto pseudonymizer = LoadPseudonymizer(*config);
  if (!pseudonymizer.ok()) return ReportError(pseudonymizer.status().WithContext("pseudonym"));
  auto trust = LoadTrustList(*config, /*include_own=*/false);
  if (!trust.ok()) return ReportError(trust.status().WithContext("trust"));
  if (config->api) {
    const server::TlsFiles tls{config->api->cert_file, config->api->key_file,
                               config->api->client_ca_files};
    auto context = server::BuildServerTlsContext(tls);
    if (!context.ok()) return ReportError(context.status().WithContext("api"));
  }
  // The peers as serve reaches them: certificates and CAs load, in both directions.
  std::vector<server::PeerAuthorities::Ca> peer_cas;
  for (const auto& peer : config->trust) {
    if (!peer.ca_file.empty()) peer_cas.push_back({peer.node_id, peer.ca_file});
    if (peer.base_url.empty()) continue;
    auto endpoint = PeerEndpointFor(*config, peer);
    if (!endpoint.ok()) return ReportError(endpoint.status());
    auto client = PeerClient::Create(*endpoint);
    if (!client.ok()) return ReportError(client.status().WithContext(peer.origin));
  }
  if (auto cas = server::PeerAuthorities::Load(peer_cas); !cas.ok()) {
    return ReportError(cas.status().WithContext("trust"));
  }
  auto store = Store::Open(config->store.url);
  if (!store.ok()) return ReportError(store.status().WithContext("store"));
  fmt::print("{}: OK\n", path);
  fmt::print("  node        {} ({})\n", config->node.node_id, config::SideName(config->node.side));
  fmt::print("  signing     key {} from {}; attestations valid {} days\n",
             keys->active_key().key_id(), config->signing.key_file, config->signing.validity_days);
  fmt::print("  pseudonyms  key from {}\n", config->pseudonym.key_file);
  fmt::print("  trust       {} peer(s), {} key(s)\n", config->trust.size(), trust->key_count());
  for (const auto& peer : config->trust) {
    fmt::print("    {} ({}){}\n", peer.node_id, config::SideName(peer.side),
               peer.base_url.empty() ? "" : " at " + peer.base_url);
  }
  fmt::print("  store       {} (schema version {})\n", config->store.url,
             (*store)->schema_version());
  if (config->api) {
    fmt::print("  api         https://{} with certificate {}; client CAs: {}\n",
               config::FormatListenAddress(config->api->listen), config->api->cert_file,
               fmt::join(config->api->client_ca_files, ", "));
    for (const auto& [unit, role] : config->api->roles) {
      fmt::print("    OU {:<12} -> {}\n", unit, config::RoleName(role));
    }
    fmt::print("  admin       http://{} (/healthz, /readyz, /metrics)\n",
               config::FormatListenAddress(config->admin.listen));
  } else {
    fmt::print("  api         none ([api] absent): the node serves nothing\n");
  }
  fmt::print("  audit log   {}\n", config->audit.file);
  if (!config->peer.cert_file.empty()) {
    fmt::print("  peer        client certificate {}; timestamp window {} s; sync every {}\n",
               config->peer.cert_file, config->peer.timestamp_window_seconds,
               config->peer.sync_interval_seconds == 0
                   ? std::string("(only on request)")
                   : std::to_string(config->peer.sync_interval_seconds) + " s");
  }
  if (config->policy.consent_required_for_peers) {
    fmt::print("  consent     required for every attestation to a peer node\n");
  }
  if (!config->policy.consent_required_purposes.empty()) {
    fmt::print("  consent     required for: {}\n",
               fmt::join(config->policy.consent_required_purposes, ", "));
  }
  return kExitOk;
}

}  // namespace

void AddConfigCommand(CLI::App& app, int& exit_code) {
  auto* config = app.add_subcommand("config", "Check a node configuration");
  config->require_subcommand(1);
  auto path = std::make_shared<std::string>();
  auto plaintext = std::make_shared<bool>(false);
  auto* check = config->add_subcommand(
      "check",
      "Load the configuration and every key, trust, TLS file and the store it names; report "
      "problems");
  check->add_option("--config", *path, "Node configuration (TOML)")->required();
  check->add_flag("--plaintext-for-tests", *plaintext, "Allow an unencrypted key (tests only)");
  check->callback([path, plaintext, &exit_code] { exit_code = CheckConfig(*path, *plaintext); });
}

}  // namespace cg::gateway
