#include "gateway/node_service.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "crypto/attestation.h"
#include "crypto/digest.h"
#include "crypto/dsse.h"
#include "crypto/verifier.h"
#include "gateway/entity_statement.h"
#include "mapping/identifier.h"

namespace cg::gateway {
namespace {

int64_t UnixSeconds(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}
Clock::time_point FromUnixSeconds(int64_t s) { return Clock::time_point(std::chrono::seconds(s)); }

// Printable ASCII without control characters, at most `max` long.
Status CheckText(std::string_view field, std::string_view value, size_t max) {
  if (value.size() > max) {
    return InvalidArgumentError(std::string(field) + " is longer than " + std::to_string(max) +
                                " characters");
  }
  for (unsigned char c : value) {
    if (c < 0x20 || c == 0x7f) {
      return InvalidArgumentError(std::string(field) + " holds a control character");
    }
  }
  return OkStatus();
}

// A purpose: 1 to kMaxPurposeLength characters of a-z, 0-9 and '-'.
Status CheckPurpose(std::string_view purpose) {
  if (purpose.empty()) return OkStatus();
  if (purpose.size() > kMaxPurposeLength) {
    return InvalidArgumentError("purpose is longer than " + std::to_string(kMaxPurposeLength) +
                                " characters");
  }
  for (char c : purpose) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
      return InvalidArgumentError("purpose may hold only a-z, 0-9 and '-', got '" +
                                  std::string(purpose) + "'");
    }
  }
  return OkStatus();
}

// A subject id the node can evaluate: a valid entity id, not a person.
Status CheckSubject(std::string_view subject_id) {
  if (subject_id.empty()) return InvalidArgumentError("subject id is missing");
  auto id = mapping::ParseEntityId(subject_id);
  if (!id.ok()) return InvalidArgumentError("subject id: " + id.status().message());
  if (id->is_person()) return InvalidArgumentError("subject id names a person, not an entity");
  return OkStatus();
}

// A pool of store connections, each used by one thread at a time.
class StorePool {
 public:
  class Lease {
   public:
    Lease(StorePool& pool, std::unique_ptr<Store> store) : pool_(pool), store_(std::move(store)) {}
    Lease(Lease&&) = default;
    ~Lease() {
      if (store_) pool_.Return(std::move(store_));
    }
    Store* operator->() { return store_.get(); }
    Store& operator*() { return *store_; }

   private:
    StorePool& pool_;
    std::unique_ptr<Store> store_;
  };

  void Add(std::unique_ptr<Store> store) {
    std::lock_guard lock(mu_);
    free_.push_back(std::move(store));
  }
  Lease Take() {
    std::unique_lock lock(mu_);
    available_.wait(lock, [&] { return !free_.empty(); });
    auto store = std::move(free_.back());
    free_.pop_back();
    return Lease(*this, std::move(store));
  }

 private:
  void Return(std::unique_ptr<Store> store) {
    {
      std::lock_guard lock(mu_);
      free_.push_back(std::move(store));
    }
    available_.notify_one();
  }
  std::mutex mu_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<Store>> free_;
};

// The writer: callers hand it attestations; it stores whatever has gathered in one
// synced transaction, then tells each caller, on its own thread.
class AttestationLedger {
 public:
  // Told once, on the ledger's thread, whether the attestation is durably stored.
  // It must be quick (it holds up the next group) and must not throw.
  using Done = std::function<void(const Status&)>;

  // `own` is the ledger's own connection when the store can be shared: its page
  // cache then stays warm with the attestation tables' pages, where a connection
  // taken from the pool would bring another's (and cost a read per page touched).
  // Null: the ledger takes a connection from `pool` for each group.
  AttestationLedger(StorePool& pool, std::unique_ptr<Store> own)
      : pool_(pool), own_(std::move(own)), thread_([this] { Run(); }) {}
  // Stores what is queued, then stops.
  ~AttestationLedger() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }

  // Queues `a` for the next group and returns; `done` follows the group's commit.
  // When the ledger is stopping, `done` is told so at once, on this thread.
  void CommitAsync(StoredAttestation a, Done done) {
    {
      std::lock_guard lock(mu_);
      if (!stopping_) {
        queue_.push_back({std::move(a), std::move(done)});
        done = nullptr;
      }
    }
    if (done) return done(UnavailableError("the node is shutting down"));
    wake_.notify_one();
  }

 private:
  struct Pending {
    StoredAttestation attestation;
    Done done;
  };

  void Run() {
    std::vector<Pending> batch;
    std::vector<StoredAttestation> rows;
    while (true) {
      {
        std::unique_lock lock(mu_);
        wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, nothing left
        const size_t n = std::min(queue_.size(), kMaxGroupCommit);
        std::move(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(n),
                  std::back_inserter(batch));
        queue_.erase(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(n));
      }
      rows.clear();
      for (Pending& p : batch) rows.push_back(std::move(p.attestation));
      const Status stored = Put(rows);
      for (Pending& p : batch) Tell(p.done, stored);
      batch.clear();
    }
  }

  // A callback that throws (it should not) costs its own answer, never the others'
  // or the ledger's thread.
  static void Tell(const Done& done, const Status& stored) {
    try {
      done(stored);
    } catch (const std::exception& e) {
      spdlog::error("an attestation's commit callback threw: {}", e.what());
    } catch (...) {
      spdlog::error("an attestation's commit callback threw");
    }
  }

  Status Put(std::span<const StoredAttestation> rows) {
    if (own_) return own_->PutAttestations(rows);
    auto store = pool_.Take();
    return store->PutAttestations(rows);
  }

  StorePool& pool_;
  const std::unique_ptr<Store> own_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::vector<Pending> queue_;
  bool stopping_ = false;
  std::thread thread_;  // last: it starts running in the constructor
};

// The reasons a consent is refused, each the start of the refusal's message (see
// ConsentRefusalCode).
struct ConsentRefusal {
  std::string_view prefix;
  std::string_view code;
};
constexpr ConsentRefusal kConsentRefusals[] = {
    {"consent required", "CONSENT_REQUIRED"},       {"consent not found", "CONSENT_NOT_FOUND"},
    {"consent withdrawn", "CONSENT_WITHDRAWN"},     {"consent expired", "CONSENT_EXPIRED"},
    {"consent does not cover", "CONSENT_MISMATCH"},
};
Status ConsentRefused(std::string_view code, const std::string& detail) {
  for (const auto& r : kConsentRefusals) {
    if (r.code == code) return PermissionDeniedError(std::string(r.prefix) + ": " + detail);
  }
  return PermissionDeniedError(detail);
}

cg::v1::Consent ToConsent(const StoredConsent& c) {
  cg::v1::Consent out;
  out.set_consent_id(c.consent_id);
  out.set_subject_id(c.subject_id);
  out.set_purpose(c.purpose);
  out.set_audience(c.audience);
  *out.mutable_valid_until() = ToProtoTimestamp(FromUnixSeconds(c.valid_until));
  *out.mutable_recorded_at() = ToProtoTimestamp(FromUnixSeconds(c.recorded_at));
  out.set_recorded_by(c.recorded_by);
  out.set_withdrawn(c.withdrawn_at != 0);
  if (c.withdrawn_at != 0) {
    *out.mutable_withdrawn_at() = ToProtoTimestamp(FromUnixSeconds(c.withdrawn_at));
  }
  return out;
}

// What a caller asks to be signed into an attestation or recognition.
struct RequestTerms {
  std::string_view audience, nonce, purpose, consent_ref, requesting_party;
  Requester requester = Requester::kClient;
};

}  // namespace

class NodeService::Impl {
 public:
  Impl(crypto::KeySet keys, crypto::TrustList trust, NodeServiceOptions options)
      : node_id_(keys.node_id()),
        side_(keys.side()),
        keys_(std::make_shared<const crypto::KeySet>(std::move(keys))),
        trust_(std::make_shared<const crypto::TrustList>(std::move(trust))),
        options_(std::move(options)) {}

  const std::string node_id_;
  const std::string side_;
  // Replaced whole when the key set is reloaded after a rotation (SIGHUP).
  mutable std::mutex keys_mu_;
  std::shared_ptr<const crypto::KeySet> keys_;
  // Replaced whole (copy, change, swap) when a peer's key rollover is accepted;
  // readers keep the snapshot they took.
  mutable std::mutex trust_mu_;
  std::shared_ptr<const crypto::TrustList> trust_;
  NodeServiceOptions options_;
  StorePool pool_;
  std::unique_ptr<AttestationLedger> ledger_;
  std::atomic<uint64_t> next_status_index_{0};
  std::atomic<uint64_t> issued_{0};
  std::atomic<uint64_t> verification_failures_{0};

  std::shared_ptr<const crypto::KeySet> Keys() const {
    std::lock_guard lock(keys_mu_);
    return keys_;
  }

  std::shared_ptr<const crypto::TrustList> Trust() const {
    std::lock_guard lock(trust_mu_);
    return trust_;
  }

  Clock::time_point Now() const { return std::chrono::floor<std::chrono::seconds>(options_.now()); }

  bool ConsentRequired(std::string_view purpose) const {
    const auto& list = options_.consent_required_purposes;
    return std::find(list.begin(), list.end(), purpose) != list.end();
  }

  StatusOr<cg::v1::Envelope> SignedStatusList() {
    cg::v1::StatusList list;
    list.set_version(1);
    list.mutable_issuer()->set_node_id(node_id_);
    list.mutable_issuer()->set_side(side_);
    *list.mutable_issued_at() = ToProtoTimestamp(Now());
    // Read the next index first: every index below it was reserved before the scan,
    // so an attestation the scan misses was still active when the list was made.
    list.set_next_index(next_status_index_.load());
    auto store = pool_.Take();
    CG_RETURN_IF_ERROR(store->ScanInactiveAttestations([&](const StoredAttestation& a) {
      if (a.status_index >= list.next_index()) return OkStatus();
      auto* entry = list.add_entries();
      entry->set_index(a.status_index);
      entry->set_attestation_id(a.attestation_id);
      entry->set_state(static_cast<cg::v1::AttestationState>(a.state));
      entry->set_reason(a.reason);
      *entry->mutable_changed_at() = ToProtoTimestamp(FromUnixSeconds(a.changed_at));
      entry->set_superseded_by(a.superseded_by);
      return OkStatus();
    }));
    return crypto::SignStatusList(std::move(list), Keys()->active_key());
  }

  // The terms of an issuance or recognition: checked, and the policy applied.
  Status CheckTerms(const RequestTerms& t) const {
    CG_RETURN_IF_ERROR(CheckText("audience", t.audience, kMaxAudienceLength));
    CG_RETURN_IF_ERROR(CheckText("nonce", t.nonce, kMaxNonceLength));
    CG_RETURN_IF_ERROR(CheckText("consent_ref", t.consent_ref, kMaxConsentRefLength));
    CG_RETURN_IF_ERROR(
        CheckText("requesting_party", t.requesting_party, kMaxRequestingPartyLength));
    CG_RETURN_IF_ERROR(CheckPurpose(t.purpose));
    if (t.audience.empty() && options_.audience_required) {
      return InvalidArgumentError(
          "audience is missing: this node issues attestations only "
          "for a named relying party");
    }
    if (t.consent_ref.empty() && ConsentRequired(t.purpose)) {
      return ConsentRefused("CONSENT_REQUIRED", "the purpose '" + std::string(t.purpose) +
                                                    "' needs a consent reference (consent_ref)");
    }
    if (t.consent_ref.empty() && t.requester == Requester::kPeer &&
        options_.consent_required_for_peers) {
      return ConsentRefused("CONSENT_REQUIRED",
                            "this node attests to the other side only under the firm's "
                            "consent; give consent_ref");
    }
    return OkStatus();
  }

  // The consent named by an issuance for `subject_id`, when there is one: it must be
  // this node's, in force, and cover the subject, purpose and audience.
  Status CheckConsent(std::string_view subject_id, const RequestTerms& t) {
    if (t.consent_ref.empty()) return OkStatus();
    StatusOr<StoredConsent> consent = NotFoundError("");
    {
      auto store = pool_.Take();
      consent = store->GetConsent(t.consent_ref);
    }
    if (consent.status().code() == StatusCode::kNotFound) {
      return ConsentRefused("CONSENT_NOT_FOUND",
                            "no consent " + std::string(t.consent_ref) + " is recorded here");
    }
    if (!consent.ok()) return consent.status();
    const std::string& id = consent->consent_id;
    if (consent->withdrawn_at != 0) {
      return ConsentRefused("CONSENT_WITHDRAWN", "consent " + id + " was withdrawn");
    }
    if (consent->valid_until <= UnixSeconds(Now())) {
      return ConsentRefused("CONSENT_EXPIRED", "consent " + id + " has expired");
    }
    if (consent->subject_id != subject_id) {
      return ConsentRefused("CONSENT_MISMATCH", "consent " + id + " is for another subject");
    }
    if (consent->purpose != t.purpose) {
      return ConsentRefused("CONSENT_MISMATCH",
                            "consent " + id + " is for the purpose '" + consent->purpose + "'");
    }
    if (!consent->audience.empty() && consent->audience != t.audience) {
      return ConsentRefused("CONSENT_MISMATCH",
                            "consent " + id + " is for the audience '" + consent->audience + "'");
    }
    return OkStatus();
  }

  // Completes `attestation` (id, issuer, times, terms, status index), signs it and
  // hands it to the ledger with `stored`'s other fields; `done` gets it once it is
  // durably stored (on the ledger's thread), or why not (on this thread when
  // signing failed).
  void SignAndStore(cg::v1::Attestation attestation, StoredAttestation stored,
                    const RequestTerms& t, Clock::time_point now, Clock::time_point valid_until,
                    IssueCallback done) {
    attestation.set_attestation_id(crypto::NewAttestationId());
    attestation.mutable_issuer()->set_node_id(node_id_);
    attestation.mutable_issuer()->set_side(side_);
    *attestation.mutable_issued_at() = ToProtoTimestamp(now);
    *attestation.mutable_valid_until() = ToProtoTimestamp(valid_until);
    attestation.set_audience(std::string(t.audience));
    attestation.set_nonce(std::string(t.nonce));
    attestation.set_consent_ref(std::string(t.consent_ref));
    attestation.set_purpose(std::string(t.purpose));
    attestation.set_requesting_party(std::string(t.requesting_party));
    attestation.set_status_index(next_status_index_.fetch_add(1));
    stored.attestation_id = attestation.attestation_id();
    stored.issued_at = UnixSeconds(now);
    stored.valid_until = UnixSeconds(valid_until);
    stored.audience = std::string(t.audience);
    stored.consent_ref = std::string(t.consent_ref);
    stored.status_index = attestation.status_index();

    StatusOr<cg::v1::Envelope> envelope =
        crypto::SignAttestation(std::move(attestation), Keys()->active_key());
    if (!envelope.ok()) return done(envelope.status());
    stored.envelope = envelope->SerializeAsString();
    cg::v1::IssueResponse response;
    response.set_attestation_id(stored.attestation_id);
    *response.mutable_envelope() = *std::move(envelope);
    ledger_->CommitAsync(std::move(stored), [this, response = std::move(response),
                                             done = std::move(done)](const Status& s) mutable {
      if (!s.ok()) return done(s);
      issued_.fetch_add(1, std::memory_order_relaxed);
      done(std::move(response));
    });
  }

  // Runs `start`, which answers through the callback it is given, and waits for
  // the answer. Only the callback keeps the promise: dropped unanswered (a callback
  // that threw), it says so rather than leaving the caller waiting.
  template <typename Start>
  static StatusOr<cg::v1::IssueResponse> Wait(Start start) {
    struct Answer {
      std::promise<StatusOr<cg::v1::IssueResponse>> promise;
      bool given = false;
      ~Answer() {
        if (!given) promise.set_value(InternalError("the issuance was dropped unanswered"));
      }
    };
    auto answer = std::make_shared<Answer>();
    std::future<StatusOr<cg::v1::IssueResponse>> result = answer->promise.get_future();
    start([answer](StatusOr<cg::v1::IssueResponse> r) {
      answer->given = true;
      answer->promise.set_value(std::move(r));
    });
    answer.reset();
    return result.get();
  }

  Status ChangeState(std::string_view id, AttestationState state, std::string_view reason) {
    if (id.empty() || id.size() > 64) return InvalidArgumentError("malformed attestation id");
    if (reason.empty()) return InvalidArgumentError("reason is missing");
    CG_RETURN_IF_ERROR(CheckText("reason", reason, kMaxReasonLength));
    auto store = pool_.Take();
    return store->ChangeAttestationState(id, state, reason, UnixSeconds(Now()));
  }
};

NodeService::NodeService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

NodeService::~NodeService() {
  // The ledger's thread uses the pool: stop it first.
  if (impl_) impl_->ledger_.reset();
}

StatusOr<std::unique_ptr<NodeService>> NodeService::Create(crypto::KeySet keys,
                                                           crypto::TrustList trust,
                                                           std::unique_ptr<Store> store,
                                                           NodeServiceOptions options) {
  if (!store) return InvalidArgumentError("no store");
  if (options.validity <= std::chrono::seconds(0)) {
    return InvalidArgumentError("attestation validity must be positive");
  }
  if (!trust.HasIssuer(keys.node_id())) {
    CG_RETURN_IF_ERROR(trust.Add(keys.PublicKeys()));
  }
  const unsigned readers = std::max(1u, options.readers);
  auto impl = std::make_unique<Impl>(std::move(keys), std::move(trust), std::move(options));
  CG_ASSIGN_OR_RETURN(uint64_t next, store->NextStatusIndex());
  impl->next_status_index_ = next;
  for (unsigned i = 1; i < readers; ++i) {
    auto another = store->OpenAnother();
    // A store that cannot be shared serves every request through its one connection.
    if (another.status().code() == StatusCode::kFailedPrecondition) break;
    if (!another.ok()) return another.status();
    impl->pool_.Add(std::move(*another));
  }
  std::unique_ptr<Store> ledger_store;
  if (auto own = store->OpenAnother(); own.ok()) {
    ledger_store = std::move(*own);
  } else if (own.status().code() != StatusCode::kFailedPrecondition) {
    return own.status();
  }
  impl->pool_.Add(std::move(store));
  impl->ledger_ = std::make_unique<AttestationLedger>(impl->pool_, std::move(ledger_store));
  return std::unique_ptr<NodeService>(new NodeService(std::move(impl)));
}

const std::string& NodeService::node_id() const { return impl_->node_id_; }
bool NodeService::consent_required_for_peers() const {
  return impl_->options_.consent_required_for_peers;
}
const std::string& NodeService::side() const { return impl_->side_; }

Status NodeService::Ready() {
  auto store = impl_->pool_.Take();
  auto next = store->NextStatusIndex();
  if (!next.ok()) return UnavailableError("the store does not answer: " + next.status().message());
  if (impl_->Keys()->active_key().public_key().empty()) {
    return UnavailableError("no signing key is loaded");
  }
  return OkStatus();
}

StatusOr<std::string> NodeService::CurrentEvaluationBytes(std::string_view subject_id) {
  CG_RETURN_IF_ERROR(CheckSubject(subject_id));
  StatusOr<StoredEvaluation> stored = NotFoundError("");
  {
    auto store = impl_->pool_.Take();
    stored = store->GetEvaluation(subject_id, "");
  }
  if (!stored.ok()) return stored.status();
  return std::move(stored->evaluation);
}

StatusOr<uint64_t> NodeService::EvaluationsGeneration() {
  auto store = impl_->pool_.Take();
  return store->EvaluationsGeneration();
}

StatusOr<cg::v1::Evaluation> NodeService::CurrentEvaluation(std::string_view subject_id) {
  CG_ASSIGN_OR_RETURN(const std::string stored, CurrentEvaluationBytes(subject_id));
  cg::v1::Evaluation evaluation;
  if (!evaluation.ParseFromString(stored)) {
    return DataLossError("the stored evaluation of " + std::string(subject_id) + " cannot be read");
  }
  return evaluation;
}

StatusOr<cg::v1::IssueResponse> NodeService::Issue(const cg::v1::IssueRequest& request,
                                                   Requester requester) {
  return Impl::Wait([&](IssueCallback done) { IssueAsync(request, requester, std::move(done)); });
}

void NodeService::IssueAsync(const cg::v1::IssueRequest& request, Requester requester,
                             IssueCallback done) {
  const RequestTerms terms{request.audience(),         request.nonce(),
                           request.purpose(),          request.consent_ref(),
                           request.requesting_party(), requester};
  StatusOr<cg::v1::Evaluation> evaluation = [&]() -> StatusOr<cg::v1::Evaluation> {
    CG_RETURN_IF_ERROR(CheckSubject(request.subject_id()));
    CG_RETURN_IF_ERROR(impl_->CheckTerms(terms));
    CG_RETURN_IF_ERROR(impl_->CheckConsent(request.subject_id(), terms));
    return CurrentEvaluation(request.subject_id());
  }();
  if (!evaluation.ok()) return done(evaluation.status());

  const Clock::time_point now = impl_->Now();
  cg::v1::Attestation attestation;
  attestation.set_kind(cg::v1::ATTESTATION_KIND_ATTESTATION);
  StoredAttestation stored;
  stored.subject_id = evaluation->subject().id();
  stored.period = evaluation->period();
  stored.grade = evaluation->joint_grade().grade();
  *attestation.mutable_evaluation() = *std::move(evaluation);
  impl_->SignAndStore(std::move(attestation), std::move(stored), terms, now,
                      now + impl_->options_.validity, std::move(done));
}

StatusOr<cg::v1::IssueResponse> NodeService::Recognize(const cg::v1::RecognizeRequest& request) {
  if (!request.has_attestation()) return InvalidArgumentError("attestation is missing");
  RequestTerms terms{request.audience(), request.nonce(), request.purpose(), request.consent_ref(),
                     request.requesting_party()};

  // What is recognised must be valid now, by another node's key in the trust list.
  const auto trust = impl_->Trust();
  crypto::AttestationVerifier verifier(*trust);
  crypto::VerifyOptions verify_options;
  verify_options.now = impl_->options_.now();
  const crypto::Verification foreign = verifier.Verify(request.attestation(), verify_options);
  if (!foreign.valid()) {
    return InvalidArgumentError(
        "attestation not valid: " + std::string(crypto::VerifyFailureCode(foreign.failure)) + ": " +
        foreign.reason);
  }
  const cg::v1::Attestation& a = foreign.attestation;
  if (a.kind() != cg::v1::ATTESTATION_KIND_ATTESTATION) {
    return InvalidArgumentError("only an attestation can be recognised, not a recognition");
  }
  if (a.issuer().node_id() == impl_->node_id_) {
    return InvalidArgumentError("the attestation is this node's own: nothing to recognise");
  }
  // The consent is the one the home node checked and signed into the attestation.
  if (!terms.consent_ref.empty() && terms.consent_ref != a.consent_ref()) {
    return ConsentRefused("CONSENT_MISMATCH", "the attestation was issued under consent '" +
                                                  a.consent_ref() + "', not '" +
                                                  std::string(terms.consent_ref) + "'");
  }
  terms.consent_ref = a.consent_ref();
  if (terms.purpose.empty()) terms.purpose = a.purpose();
  CG_RETURN_IF_ERROR(impl_->CheckTerms(terms));

  // Its grade, translated onto the home scale through PD bands.
  const mapping::Scale& home = impl_->options_.scales.front();
  const cg::v1::ScaleGrade& original = a.evaluation().joint_grade();
  const mapping::Scale* from = nullptr;
  for (const auto& scale : impl_->options_.scales) {
    if (scale.name() == original.scale()) from = &scale;
  }
  if (from == nullptr) {
    return FailedPreconditionError("the attestation grades on scale '" +
                                   original.scale().substr(0, 64) +
                                   "', which this node does not know");
  }
  const mapping::ScaleTranslator translator(*from, home, impl_->options_.translation);
  auto translated = translator.Translate(original.grade());
  if (!translated.ok()) {
    return InvalidArgumentError("the attestation's grade '" + original.grade().substr(0, 16) +
                                "' is not on scale " + from->name());
  }

  const Clock::time_point now = impl_->Now();
  const Clock::time_point foreign_until = FromProtoTimestamp(a.valid_until());
  cg::v1::Attestation recognition;
  recognition.set_kind(cg::v1::ATTESTATION_KIND_RECOGNITION);
  *recognition.mutable_evaluation() = a.evaluation();
  auto* recognizes = recognition.mutable_recognizes();
  recognizes->set_payload_digest(crypto::Sha256(request.attestation().payload()));
  recognizes->set_attestation_id(a.attestation_id());
  *recognizes->mutable_issuer() = a.issuer();
  *recognizes->mutable_original_grade() = original;
  recognizes->mutable_translated_grade()->set_scale(home.name());
  recognizes->mutable_translated_grade()->set_grade(*translated);
  recognizes->set_scale_table_digest(crypto::Sha256(translator.CanonicalText()));
  *recognizes->mutable_valid_until() = a.valid_until();

  StoredAttestation stored;
  stored.recognition = true;
  stored.subject_id = a.evaluation().subject().id();
  stored.period = a.evaluation().period();
  stored.grade = *translated;
  stored.recognizes = a.attestation_id();
  // A recognition never outlives what it recognises.
  return Impl::Wait([&](IssueCallback done) {
    impl_->SignAndStore(std::move(recognition), std::move(stored), terms, now,
                        std::min(now + impl_->options_.validity, foreign_until), std::move(done));
  });
}

StatusOr<cg::v1::Consent> NodeService::RecordConsent(const cg::v1::ConsentRequest& request,
                                                     std::string_view recorded_by) {
  CG_RETURN_IF_ERROR(CheckSubject(request.subject_id()));
  if (request.purpose().empty()) return InvalidArgumentError("purpose is missing");
  CG_RETURN_IF_ERROR(CheckPurpose(request.purpose()));
  CG_RETURN_IF_ERROR(CheckText("audience", request.audience(), kMaxAudienceLength));
  const Clock::time_point now = impl_->Now();
  if (!request.has_valid_until()) return InvalidArgumentError("valid_until is missing");
  const Clock::time_point until = FromProtoTimestamp(request.valid_until());
  if (until <= now) return InvalidArgumentError("valid_until is not in the future");
  if (until > now + kMaxConsentValidity) {
    return InvalidArgumentError("valid_until is more than " +
                                std::to_string(kMaxConsentValidity.count() / 24) + " days ahead");
  }
  StoredConsent consent;
  consent.consent_id = "consent-" + crypto::NewRandomId();
  consent.subject_id = request.subject_id();
  consent.purpose = request.purpose();
  consent.audience = request.audience();
  consent.valid_until = UnixSeconds(until);
  consent.recorded_at = UnixSeconds(now);
  consent.recorded_by = std::string(recorded_by.substr(0, 200));
  auto store = impl_->pool_.Take();
  CG_RETURN_IF_ERROR(store->PutConsent(consent));
  return ToConsent(consent);
}

StatusOr<cg::v1::Consent> NodeService::GetConsent(std::string_view consent_id) {
  if (consent_id.empty() || consent_id.size() > kMaxConsentRefLength) {
    return InvalidArgumentError("malformed consent id");
  }
  auto store = impl_->pool_.Take();
  CG_ASSIGN_OR_RETURN(StoredConsent consent, store->GetConsent(consent_id));
  return ToConsent(consent);
}

StatusOr<cg::v1::Consent> NodeService::WithdrawConsent(std::string_view consent_id) {
  if (consent_id.empty() || consent_id.size() > kMaxConsentRefLength) {
    return InvalidArgumentError("malformed consent id");
  }
  auto store = impl_->pool_.Take();
  CG_RETURN_IF_ERROR(store->WithdrawConsent(consent_id, UnixSeconds(impl_->Now())));
  CG_ASSIGN_OR_RETURN(StoredConsent consent, store->GetConsent(consent_id));
  return ToConsent(consent);
}

std::string_view ConsentRefusalCode(const Status& status) {
  if (status.code() == StatusCode::kPermissionDenied) {
    for (const auto& r : kConsentRefusals) {
      if (std::string_view(status.message()).starts_with(r.prefix)) return r.code;
    }
  }
  return "FORBIDDEN";
}

StatusOr<StoredAttestation> NodeService::GetAttestation(std::string_view attestation_id) {
  if (attestation_id.empty() || attestation_id.size() > 64) {
    return InvalidArgumentError("malformed attestation id");
  }
  auto store = impl_->pool_.Take();
  return store->GetAttestation(attestation_id);
}

StatusOr<std::vector<StoredAttestation>> NodeService::ListAttestations(
    std::string_view subject_id) {
  CG_RETURN_IF_ERROR(CheckSubject(subject_id));
  auto store = impl_->pool_.Take();
  return store->ListAttestations(subject_id, kMaxListedAttestations);
}

StatusOr<cg::v1::VerificationReport> NodeService::Verify(const cg::v1::VerifyRequest& request) {
  if (!request.has_envelope()) return InvalidArgumentError("envelope is missing");
  const auto trust = impl_->Trust();
  crypto::AttestationVerifier verifier(*trust);
  // This node's own status, as it stands now.
  CG_ASSIGN_OR_RETURN(cg::v1::Envelope own_status, impl_->SignedStatusList());
  CG_RETURN_IF_ERROR(verifier.AddStatusList(own_status));
  crypto::VerifyOptions options;
  options.now = impl_->options_.now();
  if (!request.audience().empty()) options.expected_audience = request.audience();
  if (!request.nonce().empty()) options.expected_nonce = request.nonce();
  cg::v1::VerificationReport report;
  if (request.has_attestation()) {
    report = crypto::ToReport(
        verifier.VerifyRecognition(request.envelope(), request.attestation(), options));
  } else {
    report = crypto::ToReport(verifier.Verify(request.envelope(), options));
  }
  if (!report.valid()) impl_->verification_failures_.fetch_add(1, std::memory_order_relaxed);
  return report;
}

Status NodeService::Revoke(std::string_view attestation_id, std::string_view reason) {
  return impl_->ChangeState(attestation_id, AttestationState::kRevoked, reason);
}

Status NodeService::Supersede(std::string_view attestation_id, std::string_view reason) {
  return impl_->ChangeState(attestation_id, AttestationState::kSuperseded, reason);
}

StatusOr<cg::v1::Envelope> NodeService::StatusList() { return impl_->SignedStatusList(); }

std::shared_ptr<const crypto::TrustList> NodeService::Trust() const { return impl_->Trust(); }

Status NodeService::UpdateTrust(const std::function<Status(crypto::TrustList&)>& change) {
  // One update at a time: two rollovers accepted together must not lose either.
  static std::mutex update_mu;
  std::lock_guard update(update_mu);
  auto copy = std::make_shared<crypto::TrustList>(*impl_->Trust());
  CG_RETURN_IF_ERROR(change(*copy));
  std::lock_guard lock(impl_->trust_mu_);
  impl_->trust_ = std::move(copy);
  return OkStatus();
}

StatusOr<PeerStatusChanges> NodeService::ApplyPeerStatusList(const cg::v1::Envelope& envelope,
                                                             std::string_view peer_node_id) {
  if (peer_node_id == node_id()) {
    return InvalidArgumentError("a status list of this node's own is not a peer's");
  }
  const auto trust = impl_->Trust();
  crypto::AttestationVerifier verifier(*trust);
  CG_RETURN_IF_ERROR(verifier.AddStatusList(envelope));
  // Verified; a list by any other node than the peer asked is not taken from it.
  const cg::v1::StatusList* list = verifier.StatusListFor(peer_node_id);
  if (list == nullptr) {
    return PermissionDeniedError("the status list is not signed by " + std::string(peer_node_id));
  }
  // Only what the peer says of its own attestations, superseded or revoked.
  std::unordered_map<std::string_view, const cg::v1::StatusEntry*> ended;
  for (const auto& entry : list->entries()) {
    if (entry.state() == cg::v1::ATTESTATION_STATE_SUPERSEDED ||
        entry.state() == cg::v1::ATTESTATION_STATE_REVOKED) {
      ended.emplace(entry.attestation_id(), &entry);
    }
  }

  std::vector<std::pair<StoredAttestation, const cg::v1::StatusEntry*>> affected;
  auto store = impl_->pool_.Take();
  CG_RETURN_IF_ERROR(store->ScanActiveRecognitions([&](const StoredAttestation& a) {
    auto it = ended.find(a.recognizes);
    if (it == ended.end()) return OkStatus();
    // Attestation ids are unique per issuer only: the recognition must be of an
    // attestation by this peer.
    cg::v1::Envelope own;
    cg::v1::Attestation recognition;
    if (!own.ParseFromString(a.envelope) || !recognition.ParseFromString(own.payload())) {
      return DataLossError("stored recognition " + a.attestation_id + " is unreadable");
    }
    if (recognition.recognizes().issuer().node_id() != peer_node_id) return OkStatus();
    affected.emplace_back(a, it->second);
    return OkStatus();
  }));
  PeerStatusChanges changes;
  const int64_t now = UnixSeconds(impl_->Now());
  for (const auto& [recognition, entry] : affected) {
    // The recognition follows what it recognises: revoked with it, or superseded
    // with it (a new period, a credit repair).
    const bool revoked = entry->state() == cg::v1::ATTESTATION_STATE_REVOKED;
    const std::string reason = fmt::format(
        "{} {} the recognised attestation {}{}{}", peer_node_id, revoked ? "revoked" : "superseded",
        entry->attestation_id(), entry->reason().empty() ? "" : ": ",
        entry->reason().substr(0, kMaxReasonLength / 2));
    const Status changed = store->ChangeAttestationState(
        recognition.attestation_id,
        revoked ? AttestationState::kRevoked : AttestationState::kSuperseded, reason, now);
    if (changed.code() == StatusCode::kFailedPrecondition) continue;  // changed meanwhile
    CG_RETURN_IF_ERROR(changed);
    ++(revoked ? changes.revoked : changes.superseded);
  }
  return changes;
}

cg::v1::IssuerKeys NodeService::PublicKeys() const { return impl_->Keys()->PublicKeys(); }

cg::v1::KeyRolloverChain NodeService::RolloverChain() const {
  return impl_->Keys()->RolloverChain();
}

Status NodeService::ReplaceKeys(crypto::KeySet keys) {
  if (keys.node_id() != node_id() || keys.side() != side()) {
    return InvalidArgumentError("the key set is for " + keys.node_id() + " (" + keys.side() +
                                "), not this node " + node_id() + " (" + side() + ")");
  }
  auto fresh = std::make_shared<const crypto::KeySet>(std::move(keys));
  // The node verifies its own attestations too: its entry in the trust list follows.
  const Status updated = UpdateTrust([&](crypto::TrustList& trust) {
    const cg::v1::TrustList current = trust.ToProto();
    crypto::TrustList rebuilt;
    for (const auto& issuer : current.issuers()) {
      if (issuer.node_id() != node_id()) CG_RETURN_IF_ERROR(rebuilt.Add(issuer));
    }
    CG_RETURN_IF_ERROR(rebuilt.Add(fresh->PublicKeys()));
    trust = std::move(rebuilt);
    return OkStatus();
  });
  if (!updated.ok()) return updated;
  std::lock_guard lock(impl_->keys_mu_);
  impl_->keys_ = std::move(fresh);
  return OkStatus();
}

StatusOr<std::vector<std::string>> NodeService::ForeignHolders() {
  const std::string today = FormatRfc3339(impl_->Now()).substr(0, 10);
  std::vector<std::string> out;
  auto store = impl_->pool_.Take();
  CG_RETURN_IF_ERROR(store->ScanForeignHolders(today, side(), [&](const std::string& id) {
    out.push_back(id);
    return OkStatus();
  }));
  return out;
}

StatusOr<StatementIntake> NodeService::AcceptEntityStatements(
    const std::vector<cg::v1::Envelope>& statements, std::string_view peer_node_id) {
  const auto trust = impl_->Trust();
  const Clock::time_point now = impl_->Now();
  StatementIntake intake;
  std::vector<StoredEntityStatement> accepted;
  for (const cg::v1::Envelope& envelope : statements) {
    auto statement = VerifyEntityStatement(envelope, *trust, now);
    Status refusal = statement.status();
    if (statement.ok() && statement->issuer().node_id() != peer_node_id) {
      refusal = PermissionDeniedError("a statement by another node than the peer asked");
    }
    if (!refusal.ok()) {
      if (intake.refused++ == 0) intake.first_refusal = refusal.message();
      continue;
    }
    accepted.push_back(ToStoredEntityStatement(*statement, envelope, now));
  }
  if (!accepted.empty()) {
    auto store = impl_->pool_.Take();
    CG_RETURN_IF_ERROR(store->PutEntityStatements(accepted));
  }
  intake.stored = static_cast<uint32_t>(accepted.size());
  return intake;
}

StatusOr<cg::v1::Envelope> NodeService::SignEntityStatement(std::string_view entity_id) {
  CG_RETURN_IF_ERROR(CheckSubject(entity_id));
  auto store = impl_->pool_.Take();
  CG_ASSIGN_OR_RETURN(StoredEvaluation stored, store->GetEvaluation(entity_id, ""));
  cg::v1::Evaluation evaluation;
  if (!evaluation.ParseFromString(stored.evaluation)) {
    return DataLossError("stored evaluation of " + std::string(entity_id) + " is unreadable");
  }
  cg::v1::Issuer issuer;
  issuer.set_node_id(node_id());
  issuer.set_side(side());
  return gateway::SignEntityStatement(
      MakeEntityStatement(evaluation, issuer, impl_->Now(), impl_->options_.validity),
      impl_->Keys()->active_key());
}

uint64_t NodeService::attestations_issued() const { return impl_->issued_.load(); }
uint64_t NodeService::verification_failures() const { return impl_->verification_failures_.load(); }

cg::v1::AttestationRecord ToRecord(const StoredAttestation& a) {
  cg::v1::AttestationRecord r;
  r.set_attestation_id(a.attestation_id);
  r.set_kind(a.recognition ? cg::v1::ATTESTATION_KIND_RECOGNITION
                           : cg::v1::ATTESTATION_KIND_ATTESTATION);
  r.set_subject_id(a.subject_id);
  r.set_period(a.period);
  r.set_grade(a.grade);
  *r.mutable_issued_at() = ToProtoTimestamp(FromUnixSeconds(a.issued_at));
  *r.mutable_valid_until() = ToProtoTimestamp(FromUnixSeconds(a.valid_until));
  r.set_audience(a.audience);
  r.set_status_index(a.status_index);
  r.set_state(static_cast<cg::v1::AttestationState>(a.state));
  r.set_reason(a.reason);
  r.set_superseded_by(a.superseded_by);
  return r;
}

}  // namespace cg::gateway
