// The node as the asking side of the peer protocol (specs/peer-protocol.md): it asks
// the other side's node for attestations of that side's subjects and recognises
// them (DESIGN §2 flows 1 and 2), and keeps itself in step with its peers: their key
// rollovers, their status lists (flow 4) and statements of their entities for
// cross-border equity penetration (flow 3).
//
// One PeerClient per [[trust]] entry with a base_url, over mutual TLS with the
// node's [peer] client certificate. Thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/node_config.h"
#include "gateway/node_service.h"
#include "gateway/peer_client.h"
#include "proto/api.pb.h"
#include "specs/status.h"
#include "specs/timestamps.h"

namespace cg::gateway {

// Keep-alive connections kept open to each peer between calls.
inline constexpr size_t kPeerIdleConnections = 64;

// The most entity statements one request asks for (POST /v1/entity-statements).
inline constexpr size_t kMaxStatementsPerRequest = 500;

// Why a cross-border request got no recognition: what the API answers, with a
// stable code. PEER_UNAVAILABLE (503: the peer could not be reached or timed out),
// BAD_PEER (502: it answered something unreadable, or an attestation that does not
// verify or is not bound to this request), NO_PEER (409: no peer of the subject's
// side is configured), or the home node's own refusal passed on with its status
// and code (CONSENT_WITHDRAWN, NOT_FOUND, ...). Nothing is stored on any failure.
struct CrossBorderError {
  int http_status = 500;
  std::string code;
  std::string message;
};

using CrossBorderResult = std::variant<cg::v1::CrossBorderResponse, CrossBorderError>;

struct CrossBorderOptions {
  // A peer's attestation must be dated within this of now.
  std::chrono::seconds timestamp_window{300};
  std::chrono::milliseconds connect_timeout{2'000};
  std::chrono::milliseconds request_timeout{5'000};
  int attempts = 3;
  std::function<Clock::time_point()> now = [] { return Clock::now(); };
};

// How this node reaches the [[trust]] peer `trusted` (which has a base_url): its
// URL, its CA, and this node's [peer] certificate. kInvalidArgument naming the
// entry when [peer] has no certificate or the entry no ca_file.
StatusOr<PeerEndpoint> PeerEndpointFor(const config::NodeConfig& config,
                                       const config::TrustedNodeConfig& trusted);

// The options of a node's [peer] table.
CrossBorderOptions CrossBorderOptionsFrom(const config::PeerConfig& peer);

class CrossBorder {
 public:
  // A client for each [[trust]] entry with a base_url (its ca_file checks the peer's
  // server certificate; [peer] cert_file/key_file is this node's certificate).
  // kInvalidArgument when a peer has a base_url but [peer] names no certificate, or
  // a peer has no ca_file; PeerClient::Create's errors for unreadable files.
  static StatusOr<std::unique_ptr<CrossBorder>> Create(NodeService& service,
                                                       const config::NodeConfig& config,
                                                       CrossBorderOptions options);
  ~CrossBorder();

  // Flows 1 and 2: asks the subject's home node for an attestation (a fresh nonce,
  // the audience, purpose, consent reference and requesting party; dated now),
  // checks that the answer is bound to this request (issuer, subject, nonce,
  // audience, time), and recognises it (NodeService::Recognize: signature against
  // the trust list, conservative translation, a stored recognition).
  CrossBorderResult Request(const cg::v1::CrossBorderRequest& request,
                            std::string_view requesting_party, std::string_view request_id);

  // Syncs with every peer: signed key rollovers into the trust list (and into the
  // peer's keys_file, so that a restart keeps them), the status list onto this
  // node's recognitions, and statements of the peer's entities that hold entities
  // of this side. A peer that fails is reported and the others still synced.
  cg::v1::PeerSyncReport Sync(std::string_view request_id);

  // The peers this node can call.
  size_t peer_count() const;

 private:
  struct Peer;
  CrossBorder(NodeService& service, CrossBorderOptions options);
  // Takes the peer's signed key rollovers into the trust list and its keys_file;
  // how many keys are new.
  StatusOr<uint32_t> SyncKeys(Peer& peer, std::string_view request_id);

  NodeService& service_;
  CrossBorderOptions options_;
  std::vector<std::unique_ptr<Peer>> peers_;
};

}  // namespace cg::gateway
