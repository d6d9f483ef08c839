#include "gateway/cross_border.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

#include "crypto/attestation.h"
#include "crypto/key_rollover.h"
#include "gateway/peer_client.h"
#include "mapping/identifier.h"
#include "specs/file_io.h"
#include "specs/json.h"

namespace cg::gateway {
namespace {

constexpr std::string_view kProtobuf = "application/x-protobuf";
// The most of a peer's error message passed on to the caller.
constexpr size_t kMaxPassedMessage = 300;

// Text from the peer, fit to pass on: at most kMaxPassedMessage bytes, no control
// characters.
std::string Printable(std::string_view text) {
  std::string out(text.substr(0, kMaxPassedMessage));
  std::erase_if(out, [](unsigned char c) { return c < 0x20 || c == 0x7f; });
  return out;
}

CrossBorderError Unavailable(std::string_view peer, const Status& status) {
  return {503, "PEER_UNAVAILABLE", fmt::format("{} is unavailable: {}", peer, status.message())};
}

CrossBorderError BadPeer(std::string_view peer, std::string_view why) {
  return {502, "BAD_PEER",
          fmt::format("{} answered something this node cannot accept: {}", peer, Printable(why))};
}

// A transport failure of PeerClient::Call, as the caller should see it.
CrossBorderError FromCallError(std::string_view peer, const Status& status) {
  switch (status.code()) {
    case StatusCode::kUnavailable:
    case StatusCode::kDeadlineExceeded:
      return Unavailable(peer, status);
    case StatusCode::kDataLoss:
    case StatusCode::kUnauthenticated:
      return BadPeer(peer, status.message());
    default:
      return {500, "INTERNAL", "internal error calling " + std::string(peer)};
  }
}

bool IsErrorCode(std::string_view code) {
  return !code.empty() && code.size() <= 40 && std::all_of(code.begin(), code.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || c == '_';
  });
}

// The home node refused the request (a 4xx): pass its status and code on, so a
// withdrawn consent reads CONSENT_WITHDRAWN on this side too.
CrossBorderError FromRefusal(std::string_view peer, const PeerResponse& response) {
  cg::v1::ErrorBody body;
  if (!JsonToMessage(response.body, &body).ok() || !IsErrorCode(body.code())) {
    return BadPeer(peer, fmt::format("a {} without a readable error body", response.status));
  }
  const std::string message = Printable(body.message());
  const int status = response.status == 429 ? 503 : response.status;
  return {status, body.code(), fmt::format("{} refused: {}", peer, message)};
}

// A local failure while recognising, as the API maps service errors.
CrossBorderError FromLocal(const Status& status) {
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
      return {400, "INVALID_ARGUMENT", status.message()};
    case StatusCode::kPermissionDenied:
      return {403, std::string(ConsentRefusalCode(status)), status.message()};
    case StatusCode::kFailedPrecondition:
      return {409, "CONFLICT", status.message()};
    case StatusCode::kUnavailable:
    case StatusCode::kAborted:
    case StatusCode::kResourceExhausted:
      return {503, "UNAVAILABLE", "the node cannot answer now; retry shortly"};
    default:
      spdlog::error("cross-border request: {}", status.ToString());
      return {500, "INTERNAL", "internal error"};
  }
}

// "sz" for a uscc: subject, "hk" for hkbrn:/hkcrn:; empty for any other.
std::string_view HomeSideOf(const mapping::EntityId& id) {
  switch (id.scheme) {
    case mapping::IdScheme::kUscc:
      return "sz";
    case mapping::IdScheme::kHkBrn:
    case mapping::IdScheme::kHkCrn:
      return "hk";
    default:
      return {};
  }
}

}  // namespace

struct CrossBorder::Peer {
  std::string node_id;
  std::string side;
  std::string keys_file;               // where accepted rollovers are saved; may be empty
  std::unique_ptr<PeerClient> client;  // GETs and idempotent calls, with retries
  // Attestation requests: one attempt per call. A retry must carry a fresh nonce
  // and time (the home node refuses a nonce twice), so Request retries itself.
  std::unique_ptr<PeerClient> issuing_client;
};

StatusOr<PeerEndpoint> PeerEndpointFor(const config::NodeConfig& config,
                                       const config::TrustedNodeConfig& trusted) {
  if (config.peer.cert_file.empty()) {
    return InvalidArgumentError(trusted.origin +
                                ": base_url is set but [peer] names no "
                                "cert_file and key_file to call " +
                                trusted.node_id + " with");
  }
  if (trusted.ca_file.empty()) {
    return InvalidArgumentError(trusted.origin + ": base_url needs ca_file, the CA of " +
                                trusted.node_id + "'s certificates");
  }
  return PeerEndpoint{trusted.base_url, trusted.ca_file, config.peer.cert_file,
                      config.peer.key_file, ""};
}

CrossBorderOptions CrossBorderOptionsFrom(const config::PeerConfig& peer) {
  CrossBorderOptions o;
  o.timestamp_window = std::chrono::seconds(peer.timestamp_window_seconds);
  o.connect_timeout = std::chrono::milliseconds(peer.connect_timeout_ms);
  o.request_timeout = std::chrono::milliseconds(peer.request_timeout_ms);
  o.attempts = static_cast<int>(peer.attempts);
  return o;
}

CrossBorder::CrossBorder(NodeService& service, CrossBorderOptions options)
    : service_(service), options_(std::move(options)) {}
CrossBorder::~CrossBorder() = default;

size_t CrossBorder::peer_count() const { return peers_.size(); }

StatusOr<std::unique_ptr<CrossBorder>> CrossBorder::Create(NodeService& service,
                                                           const config::NodeConfig& config,
                                                           CrossBorderOptions options) {
  std::unique_ptr<CrossBorder> out(new CrossBorder(service, std::move(options)));
  PeerClientOptions client_options;
  client_options.connect_timeout = out->options_.connect_timeout;
  client_options.request_timeout = out->options_.request_timeout;
  client_options.attempts = out->options_.attempts;
  // Concurrent cross-border requests each hold a connection to the peer: keep as
  // many open as the handler threads may use, rather than a new TLS handshake each.
  client_options.max_idle_connections = kPeerIdleConnections;
  for (const config::TrustedNodeConfig& trusted : config.trust) {
    if (trusted.base_url.empty()) continue;
    CG_ASSIGN_OR_RETURN(PeerEndpoint endpoint, PeerEndpointFor(config, trusted));
    auto client = PeerClient::Create(endpoint, client_options);
    if (!client.ok()) return client.status().WithContext(trusted.origin);
    PeerClientOptions once = client_options;
    once.attempts = 1;
    auto issuing_client = PeerClient::Create(std::move(endpoint), once);
    if (!issuing_client.ok()) return issuing_client.status().WithContext(trusted.origin);
    auto peer = std::make_unique<Peer>();
    peer->node_id = trusted.node_id;
    peer->side = std::string(config::SideName(trusted.side));
    peer->keys_file = trusted.keys_file;
    peer->client = std::move(*client);
    peer->issuing_client = std::move(*issuing_client);
    out->peers_.push_back(std::move(peer));
  }
  return out;
}

CrossBorderResult CrossBorder::Request(const cg::v1::CrossBorderRequest& request,
                                       std::string_view requesting_party,
                                       std::string_view request_id) {
  auto subject = mapping::ParseEntityId(request.subject_id());
  if (!subject.ok()) {
    return CrossBorderError{400, "INVALID_ARGUMENT", "subject_id: " + subject.status().message()};
  }
  const std::string_view side = HomeSideOf(*subject);
  if (side.empty()) {
    return CrossBorderError{400, "INVALID_ARGUMENT",
                            "subject_id: a cross-border request names a Shenzhen (uscc:) or "
                            "Hong Kong (hkbrn:, hkcrn:) entity"};
  }
  if (side == service_.side()) {
    return CrossBorderError{400, "INVALID_ARGUMENT",
                            "subject_id: " + request.subject_id() +
                                " is of this node's side; ask POST /v1/attestations"};
  }
  auto found =
      std::find_if(peers_.begin(), peers_.end(), [&](const auto& p) { return p->side == side; });
  if (found == peers_.end()) {
    return CrossBorderError{409, "NO_PEER",
                            fmt::format("no peer node of side {} is configured", side)};
  }
  Peer& peer = **found;

  // 1. Ask the home node, bound to a fresh nonce and to the audience. A try that
  // does not reach it is repeated with a new nonce and time, after a backoff.
  const std::string audience = request.audience().empty() ? service_.node_id() : request.audience();
  cg::v1::IssueRequest ask;
  ask.set_subject_id(request.subject_id());
  ask.set_audience(audience);
  ask.set_purpose(request.purpose());
  ask.set_consent_ref(request.consent_ref());
  ask.set_requesting_party(std::string(requesting_party.substr(0, kMaxRequestingPartyLength - 40)) +
                           " via " + service_.node_id());
  Clock::time_point now;
  StatusOr<PeerResponse> answer = UnavailableError("not asked");
  for (int attempt = 1; attempt <= options_.attempts; ++attempt) {
    if (attempt > 1) std::this_thread::sleep_for(std::chrono::milliseconds(100 << attempt));
    now = options_.now();
    ask.set_nonce(crypto::NewRandomId());
    *ask.mutable_requested_at() = ToProtoTimestamp(now);
    answer = peer.issuing_client->Call("POST", "/v1/attestations", ask.SerializeAsString(),
                                       kProtobuf, request_id);
    const StatusCode code = answer.status().code();
    if (code != StatusCode::kUnavailable && code != StatusCode::kDeadlineExceeded) break;
  }
  if (!answer.ok()) return FromCallError(peer.node_id, answer.status());
  if (answer->status != 201) {
    if (answer->status >= 400 && answer->status < 500) {
      CrossBorderError refusal = FromRefusal(peer.node_id, *answer);
      // Refusals of this node's own request, not of the caller's: a replay it did
      // not make, or clocks too far apart.
      if (refusal.code == "REPLAYED_REQUEST" || refusal.code == "REQUEST_OUTSIDE_WINDOW") {
        return BadPeer(peer.node_id, refusal.message + " (are both nodes' clocks right?)");
      }
      return refusal;
    }
    return BadPeer(peer.node_id, fmt::format("HTTP {} to an attestation request", answer->status));
  }
  cg::v1::IssueResponse issued;
  if (!issued.ParseFromString(answer->body) || !issued.has_envelope()) {
    return BadPeer(peer.node_id, "the answer is not an IssueResponse");
  }

  // 2. Bound to this request? (The signature is checked by Recognize, over the
  // same payload bytes.)
  auto attestation = crypto::PeekAttestation(issued.envelope());
  if (!attestation.ok()) return BadPeer(peer.node_id, attestation.status().message());
  const Clock::time_point issued_at = FromProtoTimestamp(attestation->issued_at());
  std::string unbound;
  if (attestation->kind() != cg::v1::ATTESTATION_KIND_ATTESTATION) {
    unbound = "not an attestation";
  } else if (attestation->issuer().node_id() != peer.node_id) {
    unbound = "issued by " + attestation->issuer().node_id().substr(0, 64);
  } else if (attestation->evaluation().subject().id() != request.subject_id()) {
    unbound = "about another subject";
  } else if (attestation->nonce() != ask.nonce()) {
    unbound = "not bound to this request's nonce";
  } else if (attestation->audience() != audience) {
    unbound = "for another audience";
  } else if (attestation->purpose() != request.purpose()) {
    unbound = "for another purpose";
  } else if (attestation->consent_ref() != request.consent_ref()) {
    unbound = "under another consent";
  } else if (issued_at < now - options_.timestamp_window ||
             issued_at > now + options_.timestamp_window) {
    unbound = "dated " + FormatRfc3339(issued_at) + ", outside the timestamp window";
  } else if (attestation->attestation_id() != issued.attestation_id()) {
    unbound = "its id differs from the answer's";
  }
  if (!unbound.empty()) return BadPeer(peer.node_id, "the attestation is " + unbound);

  // 3. Recognise it.
  cg::v1::RecognizeRequest recognize;
  *recognize.mutable_attestation() = issued.envelope();
  recognize.set_audience(audience);
  recognize.set_purpose(request.purpose());
  recognize.set_consent_ref(request.consent_ref());
  recognize.set_requesting_party(
      std::string(requesting_party.substr(0, kMaxRequestingPartyLength)));
  auto recognised = service_.Recognize(recognize);
  if (!recognised.ok() && std::string_view(recognised.status().message())
                              .starts_with("attestation not valid: UNKNOWN_KEY")) {
    // The home node may have rotated its key since the last sync: take its signed
    // rollovers now and try once more.
    if (auto added = SyncKeys(peer, request_id); added.ok() && *added > 0) {
      recognised = service_.Recognize(recognize);
    }
  }
  if (!recognised.ok()) {
    const std::string_view message = recognised.status().message();
    if ((recognised.status().code() == StatusCode::kInvalidArgument &&
         message.starts_with("attestation not valid")) ||
        recognised.status().code() == StatusCode::kFailedPrecondition) {
      return BadPeer(peer.node_id, message);
    }
    return FromLocal(recognised.status());
  }
  auto recognition = crypto::PeekAttestation(recognised->envelope());
  if (!recognition.ok()) return FromLocal(recognition.status());

  cg::v1::CrossBorderResponse response;
  response.set_peer_node_id(peer.node_id);
  response.set_attestation_id(issued.attestation_id());
  *response.mutable_attestation() = issued.envelope();
  response.set_recognition_id(recognised->attestation_id());
  *response.mutable_recognition() = recognised->envelope();
  *response.mutable_original_grade() = attestation->evaluation().joint_grade();
  *response.mutable_recognized_grade() = recognition->recognizes().translated_grade();
  return response;
}

StatusOr<uint32_t> CrossBorder::SyncKeys(Peer& peer, std::string_view request_id) {
  CG_ASSIGN_OR_RETURN(PeerResponse keys,
                      peer.client->Call("GET", "/v1/keys/signed", "", kProtobuf, request_id));
  if (keys.status != 200) return DataLossError(fmt::format("HTTP {}", keys.status));
  // An empty chain in binary protobuf: the peer never rotated its key.
  if (keys.body.empty()) return 0u;
  CG_ASSIGN_OR_RETURN(const cg::v1::KeyRolloverChain chain, crypto::ParseRolloverChain(keys.body));
  size_t added = 0;
  // Under the trust list's update lock, so that two syncs never save an older list
  // over a newer one; saved before it is made current, so a restart trusts the same.
  const Status accepted = service_.UpdateTrust([&](crypto::TrustList& trust) -> Status {
    CG_ASSIGN_OR_RETURN(added, trust.AcceptRolloverChain(chain, options_.now()));
    if (added == 0 || peer.keys_file.empty()) return OkStatus();
    cg::v1::TrustList saved;
    *saved.add_issuers() = trust.IssuerKeysOf(peer.node_id);
    const Status written = WriteFileAtomically(peer.keys_file, MessageToJson(saved), 0644);
    return written.WithContext("the new keys cannot be saved, so they are not taken");
  });
  if (!accepted.ok()) return accepted;
  if (added > 0) spdlog::info("{} rolled its key over: {} new key(s) trusted", peer.node_id, added);
  return static_cast<uint32_t>(added);
}

cg::v1::PeerSyncReport CrossBorder::Sync(std::string_view request_id) {
  cg::v1::PeerSyncReport report;
  for (const auto& peer : peers_) {
    cg::v1::PeerSyncResult* result = report.add_peers();
    result->set_peer_node_id(peer->node_id);
    auto fail = [&](std::string_view step, std::string_view why) {
      if (result->error().empty()) result->set_error(fmt::format("{}: {}", step, why));
      spdlog::warn("sync with {}: {}: {}", peer->node_id, step, why);
    };

    // Keys first: a status list or statement signed by a new key verifies after it.
    if (auto added = SyncKeys(*peer, request_id); !added.ok()) {
      fail("keys", added.status().message());
    } else {
      result->set_keys_added(*added);
    }

    // Status: supersede and revoke recognitions of what the peer no longer stands by.
    auto status = peer->client->Call("GET", "/v1/status-list", "", kProtobuf, request_id);
    if (!status.ok()) {
      fail("status list", status.status().message());
    } else if (status->status != 200) {
      fail("status list", fmt::format("HTTP {}", status->status));
    } else {
      cg::v1::Envelope envelope;
      if (!envelope.ParseFromString(status->body)) {
        fail("status list", "not an Envelope");
      } else if (auto changes = service_.ApplyPeerStatusList(envelope, peer->node_id);
                 !changes.ok()) {
        fail("status list", changes.status().message());
      } else {
        result->set_recognitions_superseded(changes->superseded);
        result->set_recognitions_revoked(changes->revoked);
      }
    }
    // Statements of the peer's entities that hold this side's entities.
    if (auto holders = service_.ForeignHolders(); !holders.ok()) {
      fail("statements", holders.status().message());
    } else {
      const std::vector<std::string>& ids = *holders;
      for (size_t from = 0; from < ids.size(); from += kMaxStatementsPerRequest) {
        cg::v1::EntityStatementRequest ask;
        for (size_t i = from; i < std::min(ids.size(), from + kMaxStatementsPerRequest); ++i) {
          ask.add_subject_ids(ids[i]);
        }
        auto answer = peer->client->Call("POST", "/v1/entity-statements", ask.SerializeAsString(),
                                         kProtobuf, request_id);
        cg::v1::EntityStatementResponse statements;
        if (!answer.ok()) {
          fail("statements", answer.status().message());
          break;  // the peer is unreachable or misbehaving: not batch by batch
        }
        if (answer->status != 200 || !statements.ParseFromString(answer->body)) {
          fail("statements",
               fmt::format("HTTP {} without an EntityStatementResponse", answer->status));
          continue;
        }
        std::vector<cg::v1::Envelope> envelopes(statements.statements().begin(),
                                                statements.statements().end());
        auto intake = service_.AcceptEntityStatements(envelopes, peer->node_id);
        if (!intake.ok()) {
          fail("statements", intake.status().message());
          continue;
        }
        result->set_statements_stored(result->statements_stored() + intake->stored);
        if (intake->refused > 0) {
          fail("statements", fmt::format("{} refused, the first because {}", intake->refused,
                                         intake->first_refusal));
        }
      }
    }
    result->set_ok(result->error().empty());
  }
  return report;
}

}  // namespace cg::gateway
