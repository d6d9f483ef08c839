// What a node does for its callers, without HTTP: look up evaluations, issue
// attestations (durable before they are returned), list and fetch them, verify
// envelopes, supersede and revoke, publish the status list and the node's keys.
// The API layer (gateway/api.h) authorises callers and maps these results onto
// HTTP; this layer checks every input it is given.
//
// Thread-safe: the service holds a pool of store connections and one writer thread
// with a connection of its own that gathers concurrent issuances into one
// transaction (group commit; on SQLite its commits leave WAL checkpoints to another
// thread, so a group seldom waits for one: sqlite_store.cc, BackgroundCheckpointer). Status
// indexes are handed out from a counter read from the store at start, so one
// serving process per SQLite store; several nodes on one PostgreSQL store will take
// them from a sequence instead.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "crypto/key_set.h"
#include "crypto/trust_list.h"
#include "gateway/store.h"
#include "mapping/scale.h"
#include "proto/api.pb.h"
#include "proto/attestation.pb.h"
#include "proto/keys.pb.h"
#include "specs/status.h"
#include "specs/timestamps.h"

namespace cg::gateway {

// Limits of the inputs the service accepts: the one place each is set.
inline constexpr size_t kMaxAudienceLength = 200;
inline constexpr size_t kMaxNonceLength = 128;
inline constexpr size_t kMaxConsentRefLength = 128;
inline constexpr size_t kMaxPurposeLength = 64;
inline constexpr size_t kMaxReasonLength = 200;
inline constexpr size_t kMaxRequestingPartyLength = 200;
// Attestations listed for one subject at most, newest first.
inline constexpr size_t kMaxListedAttestations = 100;
// The longest a consent may run, from when it is recorded.
inline constexpr std::chrono::hours kMaxConsentValidity{24 * 731};
// Issuances gathered into one transaction at most.
inline constexpr size_t kMaxGroupCommit = 512;

struct NodeServiceOptions {
  // How long an attestation is valid.
  std::chrono::seconds validity = std::chrono::hours(24 * 30);
  // Purposes for which an issuance must carry a consent reference.
  std::vector<std::string> consent_required_purposes;
  // Whether every issuance must name its audience (the relying party).
  bool audience_required = false;
  // Whether an issuance for a peer node (the other side) needs a consent reference,
  // whatever the purpose ([policy] consent_required_for_peers).
  bool consent_required_for_peers = false;
  // The scales the node grades on, its home scale first: recognitions translate
  // foreign grades onto the home scale through these, by `translation`.
  std::vector<mapping::Scale> scales = {mapping::ShenzhenSixLevelScale(),
                                        mapping::HongKongBureauScale()};
  mapping::TranslationPolicy translation = mapping::TranslationPolicy::kConservative;
  // Store connections for concurrent requests (a private in-memory store has one).
  unsigned readers = 4;
  // The clock (tests set it).
  std::function<Clock::time_point()> now = [] { return Clock::now(); };
};

// Who asks for an attestation: a client of this node, or the other side's node.
enum class Requester { kClient, kPeer };

// Where an issuance's result goes (NodeService::IssueAsync).
using IssueCallback = std::function<void(StatusOr<cg::v1::IssueResponse>)>;

// What became of the statements a peer sent.
struct StatementIntake {
  uint32_t stored = 0;
  uint32_t refused = 0;
  std::string first_refusal;  // why the first refused one was refused
};

// What a peer's status list changed here.
struct PeerStatusChanges {
  uint32_t superseded = 0;
  uint32_t revoked = 0;
};

class NodeService {
 public:
  // `store` is the service's first connection; the others come from OpenAnother.
  // `trust` holds the peers' keys; the node's own are added to it.
  static StatusOr<std::unique_ptr<NodeService>> Create(crypto::KeySet keys, crypto::TrustList trust,
                                                       std::unique_ptr<Store> store,
                                                       NodeServiceOptions options);
  ~NodeService();

  const std::string& node_id() const;
  const std::string& side() const;

  // kOk when the store answers and the signing key is loaded; why not otherwise.
  Status Ready();

  // The subject's latest evaluation. kInvalidArgument for a malformed id,
  // kNotFound when there is none.
  StatusOr<cg::v1::Evaluation> CurrentEvaluation(std::string_view subject_id);
  // The same, as the store holds it (a binary cg.v1.Evaluation), unparsed.
  StatusOr<std::string> CurrentEvaluationBytes(std::string_view subject_id);
  // The store's generation of the evaluations (Store::EvaluationsGeneration): what
  // CurrentEvaluation answers is the same while it is.
  StatusOr<uint64_t> EvaluationsGeneration();

  // Signs an attestation of the subject's latest evaluation and stores it durably
  // before returning. kInvalidArgument for a malformed field (the message names it)
  // or a missing audience the policy requires; kPermissionDenied (ConsentRefusalCode
  // says why) when the purpose needs a consent and there is none, or the consent
  // named is unknown, withdrawn, expired or for another subject, purpose or audience;
  // kNotFound when the subject has no evaluation. `requester` kPeer: the other
  // side's node asks, and consent_required_for_peers applies.
  StatusOr<cg::v1::IssueResponse> Issue(const cg::v1::IssueRequest& request,
                                        Requester requester = Requester::kClient);
  // As Issue, without waiting for the group commit: returns once the attestation
  // is signed and queued for it (or has failed), having read what it needs of
  // `request`. `done` is called once: on this thread when issuing fails before the
  // commit, on the ledger's thread after it. It must be quick and must not throw.
  void IssueAsync(const cg::v1::IssueRequest& request, Requester requester, IssueCallback done);

  // Whether the other side gets this node's evaluations only as attestations under
  // the firm's consent (NodeServiceOptions::consent_required_for_peers).
  bool consent_required_for_peers() const;

  // Recognises another side's attestation: verifies it against the trust list (it
  // must be valid, an attestation, and issued by another node), translates its joint
  // grade onto the home scale, and signs and stores a recognition that names it
  // (payload digest, id, issuer, both grades, the translation table's digest) and
  // never outlives it. kInvalidArgument for a malformed request, or with the failure
  // code ("attestation not valid: EXPIRED: ...") when the attestation is not valid;
  // kFailedPrecondition when its grade is on a scale the node does not know;
  // kPermissionDenied when the policy needs a consent for the purpose and the
  // attestation carries none, or the request names another consent than it carries
  // (the home node checked the consent when it issued the attestation, and revokes
  // the attestation if the consent is withdrawn).
  StatusOr<cg::v1::IssueResponse> Recognize(const cg::v1::RecognizeRequest& request);

  // Consents. RecordConsent: kInvalidArgument for a malformed subject, a missing or
  // malformed purpose, a too long audience, or a valid_until not in the future or
  // beyond kMaxConsentValidity. WithdrawConsent also revokes every attestation
  // issued under the consent; kFailedPrecondition when withdrawn already. kNotFound
  // for an unknown id.
  StatusOr<cg::v1::Consent> RecordConsent(const cg::v1::ConsentRequest& request,
                                          std::string_view recorded_by);
  StatusOr<cg::v1::Consent> GetConsent(std::string_view consent_id);
  StatusOr<cg::v1::Consent> WithdrawConsent(std::string_view consent_id);

  // kNotFound for an unknown id.
  StatusOr<StoredAttestation> GetAttestation(std::string_view attestation_id);
  StatusOr<std::vector<StoredAttestation>> ListAttestations(std::string_view subject_id);

  // Verifies an envelope (or a recognition with its attestation) against the node's
  // own keys and its trust list, with this node's current status of what it issued.
  // kInvalidArgument only when the request itself is unusable (no envelope).
  StatusOr<cg::v1::VerificationReport> Verify(const cg::v1::VerifyRequest& request);

  // Operator actions. kInvalidArgument for a missing or too long reason; kNotFound;
  // kFailedPrecondition when the attestation is already revoked (or superseded).
  Status Revoke(std::string_view attestation_id, std::string_view reason);
  Status Supersede(std::string_view attestation_id, std::string_view reason);

  // The node's status list, signed now: every attestation it issued that is no
  // longer active, and the next index, so that a verifier can tell "active" from
  // "unknown".
  StatusOr<cg::v1::Envelope> StatusList();

  // The trust list as it is now (the peers' keys and the node's own).
  std::shared_ptr<const crypto::TrustList> Trust() const;
  // Applies `change` to a copy of the trust list and, when it succeeds, makes the
  // copy current (a peer's key rollover); when it fails nothing changes.
  Status UpdateTrust(const std::function<Status(crypto::TrustList&)>& change);

  // Takes the signed status list of the peer `peer_node_id` (its GET
  // /v1/status-list): verifies it against the trust list, then supersedes or revokes
  // each of this node's active recognitions of an attestation by that peer which the
  // list says is superseded or revoked (DESIGN flow 4: a recognition never outlives
  // what it recognises). kInvalidArgument or kUnauthenticated when the list is
  // malformed or not signed by a trusted key; kPermissionDenied when it is another
  // node's list.
  StatusOr<PeerStatusChanges> ApplyPeerStatusList(const cg::v1::Envelope& status_list,
                                                  std::string_view peer_node_id);

  // The node's public keys, active and retired, with their validity.
  cg::v1::IssuerKeys PublicKeys() const;
  // Its signed key rollovers, oldest first (GET /v1/keys/signed): how a peer that
  // trusts an older key comes to trust the current one.
  cg::v1::KeyRolloverChain RolloverChain() const;
  // Signs with `keys` from now on: the same node's key set, reloaded after `key
  // rotate` (SIGHUP). The node's own entry in the trust list follows.
  // kInvalidArgument for another node's key set.
  Status ReplaceKeys(crypto::KeySet keys);

  // A signed statement of one of the node's entities for the other side's
  // cross-border penetration (gateway/entity_statement.h), from its latest
  // evaluation. kInvalidArgument for a malformed id, kNotFound when not evaluated.
  StatusOr<cg::v1::Envelope> SignEntityStatement(std::string_view entity_id);

  // The other side's entities that hold entities of this side in the ownership
  // feed (as of today), sorted: whose statements the node asks its peer for.
  StatusOr<std::vector<std::string>> ForeignHolders();
  // Verifies statements a peer sent (VerifyEntityStatement against the trust list;
  // each must be issued by `peer_node_id`) and stores those that pass, in one
  // transaction; the batch evaluation then penetrates through them.
  StatusOr<StatementIntake> AcceptEntityStatements(const std::vector<cg::v1::Envelope>& statements,
                                                   std::string_view peer_node_id);

  // Counts since start, for metrics.
  uint64_t attestations_issued() const;
  uint64_t verification_failures() const;

  class Impl;

 private:
  explicit NodeService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Issue and Recognize refuse a request for want of a valid consent with
// kPermissionDenied; this names the reason for the API: CONSENT_REQUIRED,
// CONSENT_NOT_FOUND, CONSENT_WITHDRAWN, CONSENT_EXPIRED or CONSENT_MISMATCH (the
// consent is for another subject, purpose or audience). "FORBIDDEN" for any other.
std::string_view ConsentRefusalCode(const Status& status);

// The cg.v1 record of a stored attestation (without its envelope).
cg::v1::AttestationRecord ToRecord(const StoredAttestation& a);

}  // namespace cg::gateway
