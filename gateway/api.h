// The node's HTTPS API (specs/openapi.yaml) over NodeService: routes, who may call
// what, JSON or binary protobuf by Content-Type/Accept, errors as
// {code, message, request_id}, an audit line per request.
//
//   GET  /v1/entities/{id}/evaluation     the subject's current evaluation
//   GET  /v1/entities/{id}/attestations   the subject's attestations, newest first
//   POST /v1/attestations                 issue one (IssueRequest -> IssueResponse)
//   GET  /v1/attestations/{id}            its envelope
//   POST /v1/attestations/{id}/revoke     operator (StatusChangeRequest)
//   POST /v1/attestations/{id}/supersede  operator (StatusChangeRequest)
//   POST /v1/recognitions                 recognise another side's attestation
//                                         (RecognizeRequest -> IssueResponse)
//   POST /v1/consents                     a firm (own subject) or operator records
//                                         consent (ConsentRequest -> Consent)
//   GET  /v1/consents/{id}                firm (own), operator, peer
//   POST /v1/consents/{id}/withdraw       firm (own) or operator; revokes what the
//                                         consent allowed
//   POST /v1/verify                       VerifyRequest -> VerificationReport
//   GET  /v1/status-list                  the signed status list (an Envelope)
//   GET  /v1/keys                         the node's public keys (a TrustList, the
//                                         form `credit-gateway key export` writes)
//   POST /v1/cross-border/attestations    an attestation of a subject of the other
//                                         side, from its home node, with this node's
//                                         recognition (CrossBorderRequest ->
//                                         CrossBorderResponse); not for peers
//   POST /v1/peers/sync                   operator: sync with the peers now
//                                         (-> PeerSyncReport)
//   GET  /v1/keys/signed                  the node's signed key rollovers
//                                         (KeyRolloverChain), for peers to follow
//                                         a rotation
//   POST /v1/entity-statements            peer, operator: signed statements of
//                                         entities (EntityStatementRequest ->
//                                         EntityStatementResponse)
//   GET  /v1/entities/{id}/statement      peer, operator: one (an Envelope)
//
// A peer's POST /v1/attestations must carry a nonce and requested_at, checked by the
// ReplayGuard (409 REPLAYED_REQUEST, 400 REQUEST_OUTSIDE_WINDOW).
//
// Roles: every role may verify and read the status list and keys; agency, bank,
// peer and operator may look up, issue and list for any subject; a firm only for
// the subjects its certificate names; only an operator revokes or supersedes.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "gateway/cross_border.h"
#include "gateway/node_service.h"
#include "gateway/rendered_cache.h"
#include "gateway/replay_guard.h"
#include "gateway/server/http_types.h"
#include "gateway/server/metrics.h"
#include "specs/status.h"

namespace cg::v1 {
class AuditRecord;
}

namespace cg::gateway {

struct ApiCall;  // one request on its way through (api.cc)

// The append-only audit log: one JSON line (cg.v1.AuditRecord) per API request,
// written and flushed before the response leaves. Thread-safe.
class AuditLog {
 public:
  // Opens `path` for appending (created 0600). kUnavailable when it cannot be.
  static StatusOr<std::unique_ptr<AuditLog>> Open(const std::string& path);
  virtual ~AuditLog() = default;
  virtual void Record(const std::string& json_line) = 0;
};

// An audit record as a line of JSON (protobuf's JSON mapping of cg.v1.AuditRecord,
// field names as in the .proto, empty fields left out), ending in a newline.
std::string AuditLine(const cg::v1::AuditRecord& record);

// What the Api needs for the peer protocol; both optional. Without `cross_border`
// the cross-border routes answer 409 NO_PEER; without `replay` peers' requests are
// not checked for replays.
struct ApiPeers {
  CrossBorder* cross_border = nullptr;
  ReplayGuard* replay = nullptr;
};

// Memory for the JSON of recent evaluation lookups: about 40,000 evaluations (an
// entry counts about 1.6 KiB: 1.4 KiB of JSON, the key, the map).
inline constexpr size_t kRenderedEvaluationBytes = size_t{64} << 20;
// How often a node reads the generation of its evaluations to tell whether the JSON
// it keeps still holds: a JSON lookup shows a newly committed evaluation period at
// most this long after the commit (a binary lookup, an attestation at once).
inline constexpr std::chrono::milliseconds kEvaluationsRecheck{10};

class Api {
 public:
  // `service`, `audit`, `metrics` and what `peers` points to must outlive the Api.
  Api(NodeService& service, AuditLog& audit, server::MetricsRegistry& metrics, ApiPeers peers = {});

  // Answers one request; thread-safe.
  server::HttpResponse Handle(const server::HttpRequest& request);
  // The same, answering through `respond` (server::AsyncRequestHandler): an
  // issuance is answered once the group commit has stored its attestation, without
  // holding the calling thread meanwhile; anything else at once.
  void HandleAsync(const server::HttpRequest& request, server::Responder respond);

  // The route template of a request, for metric labels: "/v1/attestations/{id}",
  // or "other".
  static std::string RouteOf(std::string_view method, std::string_view target);

  // How the server should answer a request, by its method and route (RouteOf):
  // kInline for what is quick and never waits long (a point read of the store, no
  // disk sync, no call to a peer: an evaluation lookup, the node's keys); kAsync for
  // an issuance (HandleAsync), which waits only for the group commit; on a handler
  // thread for the rest.
  static server::Answering AnsweringOf(std::string_view method, std::string_view route);

 private:
  ApiCall Begin(const server::HttpRequest& request);
  // Nothing when the call was handed on to answer through its responder.
  std::optional<server::HttpResponse> Dispatch(ApiCall& call);
  // The response to an issuance (or a recognition), counted (Count) when it was
  // stored.
  server::HttpResponse Issued(ApiCall& call, const StatusOr<cg::v1::IssueResponse>& issued);
  // The response to an issuance that failed.
  server::HttpResponse Refused(ApiCall& call, const Status& status);
  // Counts a stored issuance and names it in the call's audit record.
  void Count(ApiCall& call, const cg::v1::IssueResponse& issued);
  // Writes the call's audit line, for an answer of `http_status`.
  void Audit(ApiCall& call, int http_status);
  // Audit() for `response`; returns it.
  server::HttpResponse Finish(ApiCall& call, server::HttpResponse response);

  NodeService& service_;
  AuditLog& audit_;
  ApiPeers peers_;
  // The JSON of recent evaluation lookups (gateway/rendered_cache.h).
  RenderedCache rendered_evaluations_{kRenderedEvaluationBytes};
  RecheckedGeneration evaluations_generation_{kEvaluationsRecheck};
  server::Counter* issued_ = nullptr;  // looked up once: counted on the ledger's thread
  server::CounterFamily* verification_failures_ = nullptr;
  server::CounterFamily* rejected_ = nullptr;
  server::CounterFamily* cross_border_failures_ = nullptr;
};

}  // namespace cg::gateway
