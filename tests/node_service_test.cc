#include "gateway/node_service.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "crypto/attestation.h"
#include "crypto/verifier.h"
#include "gateway/api.h"
#include "gateway/server/metrics.h"
#include "mapping/identifier.h"
#include "proto/api.pb.h"
#include "specs/json.h"
#include "tests/metric_value.h"

namespace cg::gateway {
namespace {

namespace fs = std::filesystem;

// A valid Shenzhen USCC around an 8-character organisation code.
std::string Uscc(const std::string& organisation8) {
  const std::string body =
      "91440300" + organisation8 + mapping::OrganizationCodeCheckCharacter(organisation8);
  return "uscc:" + body + mapping::UsccCheckCharacter(body);
}

class NodeServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/service-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    url_ = "sqlite:" + dir_ + "/node.db";
    subject_ = Uscc("MA5G2U7B");
    other_ = Uscc("MA5G2U7C");
    StoreEvaluations("2026-10", {{subject_, "B"}, {other_, "A"}});
  }
  void TearDown() override {
    service_.reset();
    fs::remove_all(dir_);
  }

  void StoreEvaluations(const std::string& period,
                        const std::vector<std::pair<std::string, std::string>>& grades) {
    auto store = Store::Open(url_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto load = (*store)->BeginEvaluations(period);
    ASSERT_TRUE(load.ok());
    for (const auto& [id, grade] : grades) {
      cg::v1::Evaluation e;
      e.mutable_subject()->set_id(id);
      e.mutable_subject()->set_scheme(cg::v1::ID_SCHEME_USCC);
      e.mutable_subject()->set_name("Test Co.");
      e.mutable_subject()->set_jurisdiction("CN-SZ");
      e.set_period(period);
      e.set_model_version("joint-1.0.0");
      e.set_parameter_digest(std::string(32, 'd'));
      e.mutable_joint_grade()->set_scale("sz-six-level");
      e.mutable_joint_grade()->set_grade(grade);
      e.set_joint_pd(0.01);
      e.set_joint_score(700);
      StoredEvaluation stored{id, period, 0.01, 700, grade, e.SerializeAsString()};
      ASSERT_TRUE((*load)->Put(stored).ok());
    }
    ASSERT_TRUE((*load)->Commit().ok());
  }

  // A service on the store; called again, a restart (the same keys, a new service).
  NodeService& Service(NodeServiceOptions options = {}) {
    service_.reset();
    auto store = Store::Open(url_);
    EXPECT_TRUE(store.ok());
    auto service =
        NodeService::Create(Keys(), crypto::TrustList(), std::move(*store), std::move(options));
    EXPECT_TRUE(service.ok()) << service.status().ToString();
    service_ = std::move(*service);
    return *service_;
  }

  // The node's key set, made on first use (a plaintext test key) and read back after.
  crypto::KeySet Keys() {
    const std::string path = dir_ + "/keys.json";
    if (!fs::exists(path)) {
      auto keys =
          crypto::KeySet::Create("sz-node-1", "sz", "", crypto::KdfStrength::kPlaintextForTests,
                                 Clock::now() - std::chrono::hours(1));
      EXPECT_TRUE(keys.ok());
      EXPECT_TRUE(keys->Save(path).ok());
    }
    crypto::KeySetLoadOptions options;
    options.allow_plaintext = true;
    auto loaded = crypto::KeySet::Load(path, "", options);
    EXPECT_TRUE(loaded.ok()) << loaded.status().ToString();
    return std::move(*loaded);
  }

  cg::v1::VerificationReport Verify(NodeService& service, const cg::v1::Envelope& envelope) {
    cg::v1::VerifyRequest request;
    *request.mutable_envelope() = envelope;
    auto report = service.Verify(request);
    EXPECT_TRUE(report.ok());
    return *report;
  }

  cg::v1::IssueRequest Request(const std::string& subject) {
    cg::v1::IssueRequest request;
    request.set_subject_id(subject);
    request.set_audience("Bank of Shenzhen");
    request.set_nonce("n-123");
    request.set_purpose("loan-application");
    return request;
  }

  std::string dir_, url_, subject_, other_;
  std::unique_ptr<NodeService> service_;
};

TEST_F(NodeServiceTest, IssuesAStoredAttestationThatVerifies) {
  NodeService& service = Service();
  auto issued = service.Issue(Request(subject_));
  ASSERT_TRUE(issued.ok()) << issued.status().ToString();
  auto payload = crypto::PeekAttestation(issued->envelope());
  ASSERT_TRUE(payload.ok());
  EXPECT_EQ(payload->attestation_id(), issued->attestation_id());
  EXPECT_EQ(payload->evaluation().subject().id(), subject_);
  EXPECT_EQ(payload->audience(), "Bank of Shenzhen");
  EXPECT_EQ(payload->nonce(), "n-123");
  EXPECT_EQ(payload->issuer().node_id(), "sz-node-1");

  auto report = Verify(service, issued->envelope());
  EXPECT_TRUE(report.valid()) << report.code() << ": " << report.reason();
  EXPECT_EQ(report.state(), cg::v1::ATTESTATION_STATE_ACTIVE);

  auto stored = service.GetAttestation(issued->attestation_id());
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->grade, "B");
  EXPECT_EQ(stored->period, "2026-10");
  cg::v1::Envelope again;
  ASSERT_TRUE(again.ParseFromString(stored->envelope));
  EXPECT_EQ(again.SerializeAsString(), issued->envelope().SerializeAsString());

  auto list = service.ListAttestations(subject_);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ(list->front().attestation_id, issued->attestation_id());
  EXPECT_TRUE(service.ListAttestations(other_)->empty());
  EXPECT_EQ(service.attestations_issued(), 1u);
}

TEST_F(NodeServiceTest, RefusesBadRequestsWithTheFieldNamed) {
  NodeService& service = Service();
  auto request = Request(subject_);
  request.set_subject_id("uscc:91440300MA5G2U7B8X");  // wrong check character
  EXPECT_EQ(service.Issue(request).status().code(), StatusCode::kInvalidArgument);
  request = Request(subject_);
  request.set_nonce(std::string(kMaxNonceLength + 1, 'n'));
  auto status = service.Issue(request).status();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("nonce"), std::string::npos);
  request = Request(subject_);
  request.set_audience("Bank\nInjected: yes");
  EXPECT_EQ(service.Issue(request).status().code(), StatusCode::kInvalidArgument);
  request = Request(subject_);
  request.set_purpose("Loan Application");
  EXPECT_EQ(service.Issue(request).status().code(), StatusCode::kInvalidArgument);
  request = Request(subject_);
  request.set_subject_id("person:ps1-abc");
  EXPECT_EQ(service.Issue(request).status().code(), StatusCode::kInvalidArgument);
  request = Request(Uscc("MA5G2U7D"));  // valid, never evaluated
  EXPECT_EQ(service.Issue(request).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service.GetAttestation("0123").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service.Verify(cg::v1::VerifyRequest()).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(service.attestations_issued(), 0u);
}

TEST_F(NodeServiceTest, ConsentIsRequiredWhereThePolicySaysSo) {
  NodeServiceOptions options;
  options.consent_required_purposes = {"loan-application"};
  NodeService& service = Service(options);
  auto refused = service.Issue(Request(subject_));
  EXPECT_EQ(refused.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(refused.status().message().find("consent"), std::string::npos);
  cg::v1::ConsentRequest record;
  record.set_subject_id(subject_);
  record.set_purpose("loan-application");
  *record.mutable_valid_until() = ToProtoTimestamp(Clock::now() + std::chrono::hours(24));
  auto consent = service.RecordConsent(record, "firm");
  ASSERT_TRUE(consent.ok());
  auto request = Request(subject_);
  request.set_consent_ref(consent->consent_id());
  auto issued = service.Issue(request);
  ASSERT_TRUE(issued.ok()) << issued.status().ToString();
  EXPECT_EQ(crypto::PeekAttestation(issued->envelope())->consent_ref(), consent->consent_id());
  request = Request(subject_);
  request.set_purpose("account-opening");  // not in the policy
  EXPECT_TRUE(service.Issue(request).ok());
}

TEST_F(NodeServiceTest, RevokeAndSupersedeShowInVerificationAndTheStatusList) {
  NodeService& service = Service();
  auto a = service.Issue(Request(subject_));
  auto b = service.Issue(Request(subject_));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(service.Revoke(a->attestation_id(), "").code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(service.Revoke(a->attestation_id(), "issued in error").ok());
  EXPECT_EQ(service.Revoke(a->attestation_id(), "again").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(service.Revoke("ffffffffffffffffffffffffffffffff", "x").code(), StatusCode::kNotFound);
  ASSERT_TRUE(service.Supersede(b->attestation_id(), "data corrected").ok());
  EXPECT_EQ(service.Supersede(b->attestation_id(), "again").code(),
            StatusCode::kFailedPrecondition);

  EXPECT_EQ(Verify(service, a->envelope()).code(), "REVOKED");
  EXPECT_EQ(Verify(service, b->envelope()).code(), "SUPERSEDED");

  // The signed status list says the same to an offline verifier.
  auto list = service.StatusList();
  ASSERT_TRUE(list.ok());
  crypto::TrustList trust;
  ASSERT_TRUE(trust.Add(service.PublicKeys()).ok());
  crypto::AttestationVerifier offline(trust);
  ASSERT_TRUE(offline.AddStatusList(*list).ok());
  EXPECT_EQ(offline.Verify(a->envelope(), {}).failure, crypto::VerifyFailure::kRevoked);
  EXPECT_EQ(offline.Verify(b->envelope(), {}).failure, crypto::VerifyFailure::kSuperseded);
  auto c = service.Issue(Request(subject_));
  ASSERT_TRUE(c.ok());
  // Issued after the list was made: not covered, so unknown rather than active.
  EXPECT_TRUE(offline.Verify(c->envelope(), {}).valid());
  EXPECT_FALSE(offline.Verify(c->envelope(), {}).state.has_value());
}

TEST_F(NodeServiceTest, ANewPeriodWithAChangedGradeSupersedesActiveAttestations) {
  NodeService& service = Service();
  auto changed = service.Issue(Request(subject_));
  auto unchanged = service.Issue(Request(other_));
  ASSERT_TRUE(changed.ok() && unchanged.ok());
  StoreEvaluations("2026-11", {{subject_, "C"}, {other_, "A"}});
  auto store = Store::Open(url_);
  ASSERT_TRUE(store.ok());
  auto superseded = (*store)->SupersedeChangedGrades(1800000000);
  ASSERT_TRUE(superseded.ok()) << superseded.status().ToString();
  EXPECT_EQ(*superseded, 1u);
  auto record = service.GetAttestation(changed->attestation_id());
  EXPECT_EQ(record->state, AttestationState::kSuperseded);
  EXPECT_NE(record->reason.find("2026-11"), std::string::npos) << record->reason;
  EXPECT_EQ(service.GetAttestation(unchanged->attestation_id())->state, AttestationState::kActive);
  EXPECT_EQ(Verify(service, changed->envelope()).code(), "SUPERSEDED");
  // A second run finds nothing more to do.
  EXPECT_EQ(*(*store)->SupersedeChangedGrades(1800000001), 0u);
}

TEST_F(NodeServiceTest, ConcurrentIssuanceLosesNothingAndIndexesStayUnique) {
  NodeService& service = Service();
  constexpr int kThreads = 8, kEach = 40;
  std::vector<std::vector<cg::v1::IssueResponse>> issued(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto r = service.Issue(Request(i % 2 ? subject_ : other_));
        if (r.ok()) issued[t].push_back(*r);
      }
    });
  }
  for (auto& t : threads) t.join();
  std::set<uint64_t> indexes;
  for (const auto& each : issued) {
    ASSERT_EQ(each.size(), static_cast<size_t>(kEach));
    for (const auto& r : each) {
      auto stored = service.GetAttestation(r.attestation_id());
      ASSERT_TRUE(stored.ok()) << r.attestation_id();
      indexes.insert(stored->status_index);
      EXPECT_TRUE(Verify(service, r.envelope()).valid());
    }
  }
  EXPECT_EQ(indexes.size(), static_cast<size_t>(kThreads * kEach));

  // A restarted service goes on after the largest index.
  NodeService& restarted = Service();
  auto next = restarted.Issue(Request(subject_));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(restarted.GetAttestation(next->attestation_id())->status_index,
            static_cast<uint64_t>(kThreads * kEach));
}

// IssueAsync from one thread with many in flight: each callback comes once, on
// the ledger's thread, after its attestation is stored; a refusal comes at once.
TEST_F(NodeServiceTest, IssuingWithoutWaitingAnswersEachOnceItIsStored) {
  NodeService& service = Service();
  constexpr size_t kCount = 200;
  std::mutex mu;
  std::condition_variable all_done;
  std::vector<StatusOr<cg::v1::IssueResponse>> results;
  std::set<std::thread::id> threads;
  for (size_t i = 0; i < kCount; ++i) {
    service.IssueAsync(Request(i % 2 ? subject_ : other_), Requester::kClient,
                       [&](StatusOr<cg::v1::IssueResponse> r) {
                         std::lock_guard lock(mu);
                         results.push_back(std::move(r));
                         threads.insert(std::this_thread::get_id());
                         all_done.notify_all();
                       });
  }
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(all_done.wait_for(lock, std::chrono::seconds(30),
                                  [&] { return results.size() >= kCount; }));
    EXPECT_EQ(threads.count(std::this_thread::get_id()), 0u);
  }
  std::set<std::string> ids;
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ids.insert(r->attestation_id());
    auto stored = service.GetAttestation(r->attestation_id());
    ASSERT_TRUE(stored.ok()) << r->attestation_id();
    EXPECT_TRUE(Verify(service, r->envelope()).valid());
  }
  EXPECT_EQ(ids.size(), kCount);
  EXPECT_EQ(service.attestations_issued(), kCount);

  // Refused before the commit: answered on this thread, before IssueAsync returns.
  std::optional<StatusOr<cg::v1::IssueResponse>> refused;
  std::thread::id refused_on;
  service.IssueAsync(Request("uscc:not-a-code"), Requester::kClient,
                     [&](StatusOr<cg::v1::IssueResponse> r) {
                       refused = std::move(r);
                       refused_on = std::this_thread::get_id();
                     });
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused_on, std::this_thread::get_id());
  EXPECT_EQ(service.attestations_issued(), kCount);
}

// Through the Api, answered later (HandleAsync): the issuance is counted and its
// audit line written once it is stored, before its answer is made, so a server
// that stops first (and never runs the maker) loses neither.
TEST_F(NodeServiceTest, AnIssuanceIsAuditedAndCountedBeforeItsAnswerIsMade) {
  NodeService& service = Service();
  const std::string audit_path = dir_ + "/audit.log";
  auto audit = AuditLog::Open(audit_path);
  ASSERT_TRUE(audit.ok());
  server::MetricsRegistry metrics;
  Api api(service, **audit, metrics);

  // A server side that keeps the maker without running it, as a stopped server does.
  struct Kept : server::Responder::Target {
    std::mutex mu;
    std::condition_variable delivered;
    std::optional<server::Responder::Make> make;
    void Deliver(server::Responder::Make m) noexcept override {
      std::lock_guard lock(mu);
      make = std::move(m);
      delivered.notify_all();
    }
  };
  auto kept = std::make_shared<Kept>();
  server::HttpRequest request;
  request.method = "POST";
  request.target = "/v1/attestations";
  request.headers = {{"content-type", "application/json"}};
  request.body = R"({"subject_id": ")" + subject_ +
                 R"(", "audience": "Bank of Shenzhen", "purpose": "loan-application"})";
  request.request_id = "0123456789abcdef";
  request.client.common_name = "bank.client.test";
  request.client.role = server::Role::kBank;
  api.HandleAsync(request, server::Responder(kept));
  {
    std::unique_lock lock(kept->mu);
    ASSERT_TRUE(kept->delivered.wait_for(lock, std::chrono::seconds(10),
                                         [&] { return kept->make.has_value(); }));
  }
  std::ifstream lines(audit_path);
  std::string line;
  ASSERT_TRUE(std::getline(lines, line));
  cg::v1::AuditRecord record;
  ASSERT_TRUE(JsonToMessage(line, &record).ok()) << line;
  EXPECT_EQ(record.request_id(), "0123456789abcdef");
  EXPECT_EQ(record.action(), "issue");
  EXPECT_EQ(record.result(), "ok");
  EXPECT_EQ(record.http_status(), 201);
  EXPECT_EQ(record.attestation_id().size(), 32u);
  EXPECT_EQ(test::MetricValue(metrics.Render(), "cg_attestations_issued_total"), 1);

  // The answer, made now, names the attestation the audit line names.
  // Taken out first: the maker holds the call, which holds the Responder, which
  // holds `kept`.
  const server::Responder::Make make = *std::move(kept->make);
  kept->make.reset();
  const server::HttpResponse answer = make();
  EXPECT_EQ(answer.status, 201);
  cg::v1::IssueResponse issued;
  ASSERT_TRUE(JsonToMessage(answer.body, &issued).ok()) << answer.body;
  EXPECT_EQ(issued.attestation_id(), record.attestation_id());
  EXPECT_TRUE(service.GetAttestation(issued.attestation_id()).ok());
  EXPECT_FALSE(std::getline(lines, line)) << "a second audit line: " << line;
}

TEST_F(NodeServiceTest, WorksOnAPrivateInMemoryStoreWithOneConnection) {
  auto keys = crypto::KeySet::Create("sz-node-1", "sz", "", crypto::KdfStrength::kPlaintextForTests,
                                     Clock::now());
  ASSERT_TRUE(keys.ok());
  auto store = Store::Open("sqlite::memory:");
  ASSERT_TRUE(store.ok());
  auto service = NodeService::Create(std::move(*keys), crypto::TrustList(), std::move(*store), {});
  ASSERT_TRUE(service.ok());
  EXPECT_TRUE((*service)->Ready().ok());
  EXPECT_EQ((*service)->Issue(Request(subject_)).status().code(), StatusCode::kNotFound);
  auto list = (*service)->StatusList();
  ASSERT_TRUE(list.ok());
}

}  // namespace
}  // namespace cg::gateway

namespace cg::gateway {
namespace {

// A Hong Kong node recognising the Shenzhen node's attestations.
class RecognitionTest : public NodeServiceTest {
 protected:
  // The Hong Kong node, trusting the Shenzhen node's keys when `trust_sz`.
  std::unique_ptr<NodeService> HongKong(bool trust_sz, NodeService& sz) {
    auto keys =
        crypto::KeySet::Create("hk-node-1", "hk", "", crypto::KdfStrength::kPlaintextForTests,
                               Clock::now() - std::chrono::hours(1));
    EXPECT_TRUE(keys.ok());
    crypto::TrustList trust;
    if (trust_sz) {
      EXPECT_TRUE(trust.Add(sz.PublicKeys()).ok());
    }
    auto store = Store::Open("sqlite:" + dir_ + "/hk.db");
    EXPECT_TRUE(store.ok());
    NodeServiceOptions options;
    options.scales = {mapping::HongKongBureauScale(), mapping::ShenzhenSixLevelScale()};
    auto service = NodeService::Create(std::move(*keys), std::move(trust), std::move(*store),
                                       std::move(options));
    EXPECT_TRUE(service.ok()) << service.status().ToString();
    return std::move(*service);
  }

  cg::v1::RecognizeRequest Recognize(const cg::v1::Envelope& attestation) {
    cg::v1::RecognizeRequest request;
    *request.mutable_attestation() = attestation;
    request.set_audience("HK Credit Agency");
    request.set_nonce("hk-n-1");
    return request;
  }
};

TEST_F(RecognitionTest, TranslatesConservativelyAndNeverOutlivesTheAttestation) {
  NodeService& sz = Service();
  auto attestation = sz.Issue(Request(subject_));
  ASSERT_TRUE(attestation.ok());
  auto hk = HongKong(/*trust_sz=*/true, sz);
  auto recognised = hk->Recognize(Recognize(attestation->envelope()));
  ASSERT_TRUE(recognised.ok()) << recognised.status().ToString();

  auto r = crypto::PeekAttestation(recognised->envelope());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->kind(), cg::v1::ATTESTATION_KIND_RECOGNITION);
  EXPECT_EQ(r->issuer().node_id(), "hk-node-1");
  EXPECT_EQ(r->recognizes().attestation_id(), attestation->attestation_id());
  EXPECT_EQ(r->recognizes().issuer().node_id(), "sz-node-1");
  EXPECT_EQ(r->recognizes().original_grade().grade(), "B");
  EXPECT_EQ(r->recognizes().translated_grade().scale(), "hk-bureau");
  // The translation through PD bands, conservative: the worse of the straddled grades.
  const mapping::ScaleTranslator translator(mapping::ShenzhenSixLevelScale(),
                                            mapping::HongKongBureauScale());
  EXPECT_EQ(r->recognizes().translated_grade().grade(), *translator.Translate("B"));
  EXPECT_EQ(r->recognizes().scale_table_digest().size(), 32u);
  auto a = crypto::PeekAttestation(attestation->envelope());
  EXPECT_LE(FromProtoTimestamp(r->valid_until()), FromProtoTimestamp(a->valid_until()));
  EXPECT_EQ(r->audience(), "HK Credit Agency");

  // The pair verifies at the Hong Kong node, and the recognition is stored there.
  cg::v1::VerifyRequest pair;
  *pair.mutable_envelope() = recognised->envelope();
  *pair.mutable_attestation() = attestation->envelope();
  auto report = hk->Verify(pair);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->valid()) << report->code() << ": " << report->reason();
  auto stored = hk->GetAttestation(recognised->attestation_id());
  ASSERT_TRUE(stored.ok());
  EXPECT_TRUE(stored->recognition);
  EXPECT_EQ(stored->recognizes, attestation->attestation_id());
  EXPECT_EQ(stored->subject_id, subject_);

  // Revoked at home: the pair fails with the attestation's own code.
  ASSERT_TRUE(sz.Revoke(attestation->attestation_id(), "issued in error").ok());
  auto status = sz.StatusList();
  ASSERT_TRUE(status.ok());
  crypto::TrustList trust;
  ASSERT_TRUE(trust.Add(sz.PublicKeys()).ok());
  ASSERT_TRUE(trust.Add(hk->PublicKeys()).ok());
  crypto::AttestationVerifier bank(trust);
  ASSERT_TRUE(bank.AddStatusList(*status).ok());
  EXPECT_EQ(bank.VerifyRecognition(recognised->envelope(), attestation->envelope(), {}).failure,
            crypto::VerifyFailure::kRevoked);
}

TEST_F(RecognitionTest, RefusesWhatItCannotTrustOrShouldNotRecognise) {
  NodeService& sz = Service();
  auto attestation = sz.Issue(Request(subject_));
  ASSERT_TRUE(attestation.ok());

  auto stranger = HongKong(/*trust_sz=*/false, sz);
  auto refused = stranger->Recognize(Recognize(attestation->envelope()));
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("UNKNOWN_ISSUER"), std::string::npos)
      << refused.status().message();
  stranger.reset();

  auto hk = HongKong(/*trust_sz=*/true, sz);
  cg::v1::Envelope tampered = attestation->envelope();
  tampered.mutable_payload()->back() ^= 1;
  refused = hk->Recognize(Recognize(tampered));
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("BAD_SIGNATURE"), std::string::npos);

  // A node does not recognise its own attestations, nor a recognition.
  EXPECT_EQ(sz.Recognize(Recognize(attestation->envelope())).status().code(),
            StatusCode::kInvalidArgument);
  auto recognised = hk->Recognize(Recognize(attestation->envelope()));
  ASSERT_TRUE(recognised.ok());
  EXPECT_EQ(sz.Recognize(Recognize(recognised->envelope())).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(hk->Recognize(cg::v1::RecognizeRequest()).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cg::gateway

namespace cg::gateway {
namespace {

// A peer's status list supersedes or revokes only recognitions of that peer's own
// attestations: another trusted node cannot end them by listing their ids.
TEST_F(RecognitionTest, APeerStatusListEndsOnlyRecognitionsOfThatPeersAttestations) {
  NodeService& sz = Service();
  auto attestation = sz.Issue(Request(subject_));
  ASSERT_TRUE(attestation.ok());
  auto hk = HongKong(/*trust_sz=*/true, sz);
  auto recognised = hk->Recognize(Recognize(attestation->envelope()));
  ASSERT_TRUE(recognised.ok()) << recognised.status().ToString();

  // Another node hk trusts lists sz's attestation id as superseded.
  auto rogue =
      crypto::KeySet::Create("sz-node-2", "sz", "", crypto::KdfStrength::kPlaintextForTests,
                             Clock::now() - std::chrono::hours(1));
  ASSERT_TRUE(rogue.ok());
  ASSERT_TRUE(
      hk->UpdateTrust([&](crypto::TrustList& t) { return t.Add(rogue->PublicKeys()); }).ok());
  cg::v1::StatusList list;
  list.set_version(1);
  list.mutable_issuer()->set_node_id("sz-node-2");
  list.mutable_issuer()->set_side("sz");
  *list.mutable_issued_at() = ToProtoTimestamp(Clock::now());
  list.set_next_index(1);
  auto* entry = list.add_entries();
  entry->set_index(0);
  entry->set_attestation_id(attestation->attestation_id());
  entry->set_state(cg::v1::ATTESTATION_STATE_SUPERSEDED);
  const cg::v1::Envelope rogue_list = crypto::SignStatusList(list, rogue->active_key());
  auto changes = hk->ApplyPeerStatusList(rogue_list, "sz-node-2");
  ASSERT_TRUE(changes.ok()) << changes.status().ToString();
  EXPECT_EQ(changes->superseded + changes->revoked, 0u);
  EXPECT_EQ(hk->ApplyPeerStatusList(rogue_list, "sz-node-1").status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(hk->GetAttestation(recognised->attestation_id())->state, AttestationState::kActive);

  // sz's own list, once it supersedes the attestation, ends the recognition, once.
  ASSERT_TRUE(sz.Supersede(attestation->attestation_id(), "re-evaluated").ok());
  auto own_list = sz.StatusList();
  ASSERT_TRUE(own_list.ok());
  changes = hk->ApplyPeerStatusList(*own_list, "sz-node-1");
  ASSERT_TRUE(changes.ok()) << changes.status().ToString();
  EXPECT_EQ(changes->superseded, 1u);
  EXPECT_EQ(hk->GetAttestation(recognised->attestation_id())->state, AttestationState::kSuperseded);
  changes = hk->ApplyPeerStatusList(*own_list, "sz-node-1");
  ASSERT_TRUE(changes.ok());
  EXPECT_EQ(changes->superseded, 0u);
  // Its own list is not a peer's.
  EXPECT_FALSE(hk->ApplyPeerStatusList(*own_list, "hk-node-1").ok());
}

class ConsentTest : public RecognitionTest {
 protected:
  cg::v1::ConsentRequest Consent(const std::string& subject, const std::string& purpose,
                                 const std::string& audience, std::chrono::hours for_how_long) {
    cg::v1::ConsentRequest request;
    request.set_subject_id(subject);
    request.set_purpose(purpose);
    request.set_audience(audience);
    *request.mutable_valid_until() = ToProtoTimestamp(clock_ + for_how_long);
    return request;
  }
  NodeServiceOptions WithClock() {
    NodeServiceOptions options;
    options.consent_required_purposes = {"loan-application"};
    options.now = [this] { return clock_; };
    return options;
  }
  Clock::time_point clock_ = std::chrono::floor<std::chrono::seconds>(Clock::now());
};

TEST_F(ConsentTest, AnIssuanceUnderConsentNeedsItInForceAndCovering) {
  NodeService& service = Service(WithClock());
  auto consent = service.RecordConsent(
      Consent(subject_, "loan-application", "Bank of Shenzhen", std::chrono::hours(48)),
      "firm cert");
  ASSERT_TRUE(consent.ok()) << consent.status().ToString();
  EXPECT_EQ(consent->recorded_by(), "firm cert");
  EXPECT_FALSE(consent->withdrawn());

  auto request = Request(subject_);  // purpose loan-application, audience Bank of Shenzhen
  EXPECT_EQ(ConsentRefusalCode(service.Issue(request).status()), "CONSENT_REQUIRED");
  request.set_consent_ref("consent-unknown");
  EXPECT_EQ(ConsentRefusalCode(service.Issue(request).status()), "CONSENT_NOT_FOUND");
  request.set_consent_ref(consent->consent_id());
  auto issued = service.Issue(request);
  ASSERT_TRUE(issued.ok()) << issued.status().ToString();
  EXPECT_EQ(crypto::PeekAttestation(issued->envelope())->consent_ref(), consent->consent_id());

  auto other = request;
  other.set_audience("Another Bank");
  EXPECT_EQ(ConsentRefusalCode(service.Issue(other).status()), "CONSENT_MISMATCH");
  other = request;
  other.set_subject_id(other_);
  EXPECT_EQ(ConsentRefusalCode(service.Issue(other).status()), "CONSENT_MISMATCH");
  other = request;
  other.set_purpose("account-opening");
  EXPECT_EQ(ConsentRefusalCode(service.Issue(other).status()), "CONSENT_MISMATCH");

  // Withdrawn: refused from now on, and what it allowed is revoked.
  auto withdrawn = service.WithdrawConsent(consent->consent_id());
  ASSERT_TRUE(withdrawn.ok());
  EXPECT_TRUE(withdrawn->withdrawn());
  EXPECT_EQ(service.WithdrawConsent(consent->consent_id()).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(ConsentRefusalCode(service.Issue(request).status()), "CONSENT_WITHDRAWN");
  EXPECT_EQ(service.GetAttestation(issued->attestation_id())->state, AttestationState::kRevoked);
  EXPECT_EQ(Verify(service, issued->envelope()).code(), "REVOKED");
}

TEST_F(ConsentTest, AConsentExpiresAndBadConsentsAreRefused) {
  NodeService& service = Service(WithClock());
  auto consent = service.RecordConsent(
      Consent(subject_, "loan-application", "", std::chrono::hours(1)), "operator");
  ASSERT_TRUE(consent.ok());
  auto request = Request(subject_);
  request.set_consent_ref(consent->consent_id());
  EXPECT_TRUE(service.Issue(request).ok());  // any audience: the consent names none
  clock_ += std::chrono::hours(2);
  EXPECT_EQ(ConsentRefusalCode(service.Issue(request).status()), "CONSENT_EXPIRED");

  EXPECT_EQ(
      service.RecordConsent(Consent(subject_, "", "", std::chrono::hours(1)), "x").status().code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(
      service.RecordConsent(Consent(subject_, "loan-application", "", std::chrono::hours(-1)), "x")
          .status()
          .code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(service
                .RecordConsent(Consent(subject_, "loan-application", "",
                                       kMaxConsentValidity + std::chrono::hours(1)),
                               "x")
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(
      service.RecordConsent(Consent("uscc:bad", "loan-application", "", std::chrono::hours(1)), "x")
          .status()
          .code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(service.GetConsent("consent-nope").status().code(), StatusCode::kNotFound);
}

TEST_F(ConsentTest, ARecognitionCarriesTheConsentTheHomeNodeChecked) {
  NodeService& sz = Service(WithClock());
  auto hk = HongKong(/*trust_sz=*/true, sz);
  // Without consent, the home node may still attest for another purpose; the
  // recognising node, whose policy needs consent for loans, refuses to recognise it
  // for one.
  auto plain_request = Request(subject_);
  plain_request.set_purpose("account-opening");
  auto plain = sz.Issue(plain_request);
  ASSERT_TRUE(plain.ok());
  hk.reset();
  {
    auto keys =
        crypto::KeySet::Create("hk-node-1", "hk", "", crypto::KdfStrength::kPlaintextForTests,
                               Clock::now() - std::chrono::hours(1));
    crypto::TrustList trust;
    ASSERT_TRUE(trust.Add(sz.PublicKeys()).ok());
    auto store = Store::Open("sqlite:" + dir_ + "/hk2.db");
    NodeServiceOptions options;
    options.scales = {mapping::HongKongBureauScale(), mapping::ShenzhenSixLevelScale()};
    options.consent_required_purposes = {"loan-application"};
    auto created = NodeService::Create(std::move(*keys), std::move(trust), std::move(*store),
                                       std::move(options));
    ASSERT_TRUE(created.ok());
    hk = std::move(*created);
  }
  auto recognise = Recognize(plain->envelope());
  recognise.set_purpose("loan-application");
  EXPECT_EQ(ConsentRefusalCode(hk->Recognize(recognise).status()), "CONSENT_REQUIRED");

  auto consent =
      sz.RecordConsent(Consent(subject_, "loan-application", "", std::chrono::hours(48)), "firm");
  ASSERT_TRUE(consent.ok());
  auto request = Request(subject_);
  request.set_consent_ref(consent->consent_id());
  auto attested = sz.Issue(request);
  ASSERT_TRUE(attested.ok());
  recognise = Recognize(attested->envelope());
  auto recognised = hk->Recognize(recognise);
  ASSERT_TRUE(recognised.ok()) << recognised.status().ToString();
  auto r = crypto::PeekAttestation(recognised->envelope());
  EXPECT_EQ(r->consent_ref(), consent->consent_id());
  EXPECT_EQ(r->purpose(), "loan-application");
  recognise.set_consent_ref("consent-other");
  EXPECT_EQ(ConsentRefusalCode(hk->Recognize(recognise).status()), "CONSENT_MISMATCH");
}

}  // namespace
}  // namespace cg::gateway
