// config check: load a node's configuration and everything it names, as `serve`
// will, and say what is wrong or what the node would run with.
#include <fmt/core.h>

#include "config/node_config.h"
#include "gateway/cli.h"
#include "gateway/node_keys.h"

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
  return kExitOk;
}

}  // namespace

void AddConfigCommand(CLI::App& app, int& exit_code) {
  auto* config = app.add_subcommand("config", "Check a node configuration");
  config->require_subcommand(1);
  auto path = std::make_shared<std::string>();
  auto plaintext = std::make_shared<bool>(false);
  auto* check = config->add_subcommand(
      "check", "Load the configuration and every key and trust file it names; report problems");
  check->add_option("--config", *path, "Node configuration (TOML)")->required();
  check->add_flag("--plaintext-for-tests", *plaintext, "Allow an unencrypted key (tests only)");
  check->callback([path, plaintext, &exit_code] { exit_code = CheckConfig(*path, *plaintext); });
}

}  // namespace cg::gateway
