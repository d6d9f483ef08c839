// peer add: make one node trust another as its peer, from the other node's own
// configuration (both made by `init`, typically on one machine for development, or
// with the other node's files copied over): its public keys and CA are copied under
// trust/ and a [[trust]] entry is appended to this node's configuration. Run it on
// each side, so that each trusts the other.
#include <fmt/core.h>

#include <filesystem>

#include "config/node_config.h"
#include "crypto/key_set.h"
#include "gateway/cli.h"
#include "proto/keys.pb.h"
#include "specs/file_io.h"
#include "specs/json.h"

namespace cg::gateway {
namespace {

namespace fs = std::filesystem;

struct PeerAddOptions {
  std::string config_file;
  std::string peer_config_file;
  std::string base_url;  // default: https:// + the peer's api.listen
  std::string ca_file;   // default: the peer's first api.client_ca_files (its development CA)
};

int PeerAdd(const PeerAddOptions& o) {
  auto own = config::LoadNodeConfig(o.config_file);
  if (!own.ok()) return ReportError(own.status());
  auto peer = config::LoadNodeConfig(o.peer_config_file);
  if (!peer.ok()) return ReportError(peer.status());
  const std::string& peer_id = peer->node.node_id;
  if (peer_id == own->node.node_id) {
    return ReportError(InvalidArgumentError("both configurations name node " + peer_id +
                                            "; a node does not trust itself as a peer"));
  }
  for (const auto& trusted : own->trust) {
    if (trusted.node_id == peer_id) {
      return ReportError(AlreadyExistsError(o.config_file + " already trusts " + peer_id + " (" +
                                            trusted.origin + ")"));
    }
  }
  std::string base_url = o.base_url;
  if (base_url.empty()) {
    if (!peer->api || peer->api->listen.port == 0) {
      return ReportError(InvalidArgumentError(o.peer_config_file +
                                              " has no fixed api.listen port; give --base-url"));
    }
    const std::string host =
        peer->api->listen.host == "0.0.0.0" ? "127.0.0.1" : peer->api->listen.host;
    base_url = "https://" + config::FormatListenAddress({host, peer->api->listen.port});
  }
  std::string ca_source = o.ca_file;
  if (ca_source.empty()) {
    if (!peer->api || peer->api->client_ca_files.empty()) {
      return ReportError(
          InvalidArgumentError(o.peer_config_file + " has no [api] CA; give --ca-file"));
    }
    ca_source = peer->api->client_ca_files.front();
  }

  auto ca = ReadFileLimited(ca_source, 1 << 20);
  if (!ca.ok()) return ReportError(ca.status());
  if (ca->find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    return ReportError(InvalidArgumentError(ca_source + " holds no PEM certificate"));
  }
  auto keys = crypto::KeySet::LoadPublic(peer->signing.key_file);
  if (!keys.ok()) return ReportError(keys.status());
  cg::v1::TrustList list;
  *list.add_issuers() = crypto::PublicKeysOf(*keys);

  const fs::path dir = fs::path(o.config_file).parent_path();
  const std::string ca_name = "trust/" + peer_id + "-ca.pem";
  const std::string keys_name = "trust/" + peer_id + ".json";
  std::error_code ec;
  fs::create_directories(dir / "trust", ec);
  if (ec) return ReportError(UnavailableError("cannot create " + (dir / "trust").string()));
  if (Status written = WriteFileAtomically((dir / ca_name).string(), *ca, 0644); !written.ok()) {
    return ReportError(written);
  }
  if (Status written = WriteFileAtomically((dir / keys_name).string(), MessageToJson(list), 0644);
      !written.ok()) {
    return ReportError(written);
  }

  auto text = ReadFileLimited(o.config_file, config::kMaxConfigFileBytes);
  if (!text.ok()) return ReportError(text.status());
  std::string updated = *text;
  if (!updated.empty() && updated.back() != '\n') updated += '\n';
  updated += fmt::format(
      "\n# Added by `credit-gateway peer add`: the {side} node {id}, its CA (server and\n"
      "# client certificates) and its public keys, kept current by its signed rollovers.\n"
      "[[trust]]\nnode_id = \"{id}\"\nside = \"{side}\"\nbase_url = \"{url}\"\n"
      "ca_file = \"{ca}\"\nkeys_file = \"{keys}\"\n",
      fmt::arg("id", peer_id), fmt::arg("side", config::SideName(peer->node.side)),
      fmt::arg("url", base_url), fmt::arg("ca", ca_name), fmt::arg("keys", keys_name));
  // The result must load before it replaces the file.
  auto checked = config::ParseNodeConfig(updated, o.config_file, dir.string());
  if (!checked.ok()) return ReportError(checked.status());
  if (Status written = WriteFileAtomically(o.config_file, updated, 0600); !written.ok()) {
    return ReportError(written);
  }
  fmt::print("{} now trusts {} ({}) at {}\n", own->node.node_id, peer_id,
             config::SideName(peer->node.side), base_url);
  return kExitOk;
}

}  // namespace

void AddPeerCommand(CLI::App& app, int& exit_code) {
  auto* peer = app.add_subcommand("peer", "Manage this node's peers");
  peer->require_subcommand(1);
  auto options = std::make_shared<PeerAddOptions>();
  auto* add = peer->add_subcommand(
      "add",
      "Trust another node as a peer, from its configuration (copies its CA and public "
      "keys under trust/ and appends a [[trust]] entry)");
  add->add_option("--config", options->config_file, "This node's configuration")->required();
  add->add_option("--peer-config", options->peer_config_file, "The other node's configuration")
      ->required();
  add->add_option("--base-url", options->base_url,
                  "The peer's API URL (default: https:// and its api.listen)");
  add->add_option("--ca-file", options->ca_file,
                  "The peer's CA (default: its first api.client_ca_files, the development CA "
                  "init made)");
  add->callback([options, &exit_code] { exit_code = PeerAdd(*options); });
}

}  // namespace cg::gateway
