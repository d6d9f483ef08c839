#include "crypto/verifier.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "crypto/attestation.h"
#include "crypto/digest.h"
#include "crypto/dsse.h"
#include "crypto/key_set.h"

namespace cg::crypto {
namespace {

using std::chrono::hours;

Clock::time_point T(int64_t hours_since_base) {
  // A fixed clock: 2026-11-01T00:00:00Z plus the given hours.
  return Clock::time_point(std::chrono::seconds(1793491200)) + hours(hours_since_base);
}

KeySet NewKeys(const std::string& node, const std::string& side) {
  return *KeySet::Create(node, side, "", KdfStrength::kPlaintextForTests, T(0));
}

cg::v1::Attestation SampleAttestation(const KeySet& keys, Clock::time_point issued,
                                      Clock::time_point until) {
  cg::v1::Attestation a;
  a.set_kind(cg::v1::ATTESTATION_KIND_ATTESTATION);
  a.set_attestation_id(NewAttestationId());
  a.mutable_issuer()->set_node_id(keys.node_id());
  a.mutable_issuer()->set_side(keys.side());
  *a.mutable_issued_at() = ToProtoTimestamp(issued);
  *a.mutable_valid_until() = ToProtoTimestamp(until);
  auto* e = a.mutable_evaluation();
  e->mutable_subject()->set_id("uscc:91440300MA5G2U7B88");
  e->set_period("2026-10");
  e->mutable_joint_grade()->set_scale("sz-six-level");
  e->mutable_joint_grade()->set_grade("A");
  e->set_joint_pd(0.006);
  a.set_audience("bank:example");
  a.set_nonce("n-1");
  a.set_status_index(7);
  return a;
}

class VerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(trust_.Add(sz_.PublicKeys()).ok());
    ASSERT_TRUE(trust_.Add(hk_.PublicKeys()).ok());
  }

  cg::v1::Envelope Sign(const cg::v1::Attestation& a, const KeySet& keys) {
    auto envelope = SignAttestation(a, keys.active_key());
    EXPECT_TRUE(envelope.ok()) << envelope.status().ToString();
    return *envelope;
  }

  VerifyOptions At(Clock::time_point now) {
    VerifyOptions o;
    o.now = now;
    return o;
  }

  KeySet sz_ = NewKeys("sz-node-1", "sz");
  KeySet hk_ = NewKeys("hk-node-1", "hk");
  TrustList trust_;
};

TEST(AttestationIdTest, IdsAreHexOfTheTimeThenRandomBits) {
  const auto ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  const int64_t before = ms();
  const std::string first = NewAttestationId();
  const std::string second = NewAttestationId();
  const int64_t after = ms();
  for (const std::string& id : {first, second}) {
    ASSERT_EQ(id.size(), 32u);
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
    // The first 48 bits are the issuance time in milliseconds.
    const int64_t at = std::stoll(id.substr(0, 12), nullptr, 16);
    EXPECT_GE(at, before);
    EXPECT_LE(at, after);
  }
  EXPECT_NE(first, second);  // same millisecond or not, the random bits differ
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  EXPECT_LT(second, NewAttestationId());  // a later id sorts after
}

TEST(AttestationIdTest, RandomIdsAreHexAndDistinct) {
  const std::string a = NewRandomId(), b = NewRandomId();
  EXPECT_EQ(a.size(), 32u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos) << a;
  EXPECT_NE(a, b);
  EXPECT_NE(a.substr(0, 12), b.substr(0, 12));  // no shared time prefix
}

TEST_F(VerifierTest, ValidAttestation) {
  AttestationVerifier verifier(trust_);
  auto envelope = Sign(SampleAttestation(sz_, T(1), T(24 * 30)), sz_);
  Verification v = verifier.Verify(envelope, At(T(2)));
  EXPECT_TRUE(v.valid()) << v.reason;
  EXPECT_EQ(v.signer_key_id, sz_.active_key().key_id());
  EXPECT_EQ(v.attestation.evaluation().subject().id(), "uscc:91440300MA5G2U7B88");
  EXPECT_EQ(v.payload_digest, Sha256(envelope.payload()));
  EXPECT_FALSE(v.state.has_value());
  // Both encodings verify the same.
  auto binary = DecodeEnvelope(EncodeEnvelope(envelope, EnvelopeEncoding::kBinary));
  EXPECT_TRUE(verifier.Verify(*binary, At(T(2))).valid());
}

TEST_F(VerifierTest, TamperedPayloadTypePayloadOrSignatureFails) {
  AttestationVerifier verifier(trust_);
  const auto envelope = Sign(SampleAttestation(sz_, T(1), T(100)), sz_);
  for (size_t i = 0; i < envelope.payload().size(); ++i) {
    auto e = envelope;
    (*e.mutable_payload())[i] ^= 0x01;
    EXPECT_EQ(verifier.Verify(e, At(T(2))).failure, VerifyFailure::kBadSignature) << i;
  }
  for (size_t i = 0; i < envelope.signatures(0).sig().size(); ++i) {
    auto e = envelope;
    (*e.mutable_signatures(0)->mutable_sig())[i] ^= 0x80;
    EXPECT_EQ(verifier.Verify(e, At(T(2))).failure, VerifyFailure::kBadSignature) << i;
  }
  for (size_t i = 0; i < envelope.payloadtype().size(); ++i) {
    auto e = envelope;
    (*e.mutable_payloadtype())[i] ^= 0x01;
    EXPECT_EQ(verifier.Verify(e, At(T(2))).failure, VerifyFailure::kUnsupportedPayloadType) << i;
  }
  // Relabelled as a recognition: the type is known but the signature covers the old one.
  auto relabelled = envelope;
  relabelled.set_payloadtype(std::string(kRecognitionPayloadType));
  EXPECT_EQ(verifier.Verify(relabelled, At(T(2))).failure, VerifyFailure::kBadSignature);
}

TEST_F(VerifierTest, UnknownIssuerAndUnknownKeyAreDistinct) {
  TrustList only_hk;
  ASSERT_TRUE(only_hk.Add(hk_.PublicKeys()).ok());
  AttestationVerifier verifier(only_hk);
  auto v = verifier.Verify(Sign(SampleAttestation(sz_, T(1), T(100)), sz_), At(T(2)));
  EXPECT_EQ(v.failure, VerifyFailure::kUnknownIssuer);
  EXPECT_NE(v.reason.find("sz-node-1"), std::string::npos);

  // An attacker's key claiming to be hk-node-1.
  KeySet impostor = NewKeys("hk-node-1", "hk");
  v = verifier.Verify(Sign(SampleAttestation(impostor, T(1), T(100)), impostor), At(T(2)));
  EXPECT_EQ(v.failure, VerifyFailure::kUnknownKey);
  EXPECT_NE(v.reason.find(impostor.active_key().key_id()), std::string::npos);
}

TEST_F(VerifierTest, KeyOfOneIssuerCannotSpeakForAnother) {
  AttestationVerifier verifier(trust_);
  auto a = SampleAttestation(sz_, T(1), T(100));
  a.mutable_issuer()->set_node_id("hk-node-1");  // signed by sz's key
  auto v = verifier.Verify(Sign(a, sz_), At(T(2)));
  EXPECT_EQ(v.failure, VerifyFailure::kIssuerMismatch);
}

TEST_F(VerifierTest, RetiredKeyValidForWhatItSignedInItsPeriodOnly) {
  KeySet keys = NewKeys("sz-node-2", "sz");
  // Keep a copy of the pre-rotation signer, as a thief of the old key would.
  auto old_key = SigningKey::FromSeed(keys.active_key().seed());
  ASSERT_TRUE(old_key.ok());
  auto before = SampleAttestation(keys, T(1), T(24 * 30));
  auto signed_before = SignAttestation(before, *old_key);
  ASSERT_TRUE(keys.Rotate("", T(10)).ok());

  TrustList trust;
  ASSERT_TRUE(trust.Add(keys.PublicKeys()).ok());
  AttestationVerifier verifier(trust);
  EXPECT_TRUE(verifier.Verify(*signed_before, At(T(20))).valid())
      << "an attestation signed before rotation still verifies with the retired key";

  auto after = SampleAttestation(keys, T(11), T(24 * 30));
  auto v = verifier.Verify(*SignAttestation(after, *old_key), At(T(12)));
  EXPECT_EQ(v.failure, VerifyFailure::kKeyNotValidAtIssue);
  EXPECT_NE(v.reason.find("until"), std::string::npos);
  EXPECT_TRUE(verifier.Verify(*SignAttestation(after, keys.active_key()), At(T(12))).valid());

  auto before_key_existed = SampleAttestation(keys, T(-5), T(24 * 30));
  EXPECT_EQ(verifier.Verify(*SignAttestation(before_key_existed, *old_key), At(T(12))).failure,
            VerifyFailure::kKeyNotValidAtIssue);
}

TEST_F(VerifierTest, ValidityWindow) {
  AttestationVerifier verifier(trust_);
  auto envelope = Sign(SampleAttestation(sz_, T(10), T(20)), sz_);
  EXPECT_TRUE(verifier.Verify(envelope, At(T(19))).valid());
  auto expired = verifier.Verify(envelope, At(T(20)));
  EXPECT_EQ(expired.failure, VerifyFailure::kExpired);
  EXPECT_NE(expired.reason.find("expired at"), std::string::npos);
  EXPECT_EQ(verifier.Verify(envelope, At(T(9))).failure, VerifyFailure::kNotYetValid);
  // Within the clock skew is fine.
  EXPECT_TRUE(verifier.Verify(envelope, At(T(10) - std::chrono::seconds(60))).valid());
}

TEST_F(VerifierTest, AudienceAndNonce) {
  AttestationVerifier verifier(trust_);
  auto envelope = Sign(SampleAttestation(sz_, T(1), T(100)), sz_);
  VerifyOptions o = At(T(2));
  o.expected_audience = "bank:example";
  o.expected_nonce = "n-1";
  EXPECT_TRUE(verifier.Verify(envelope, o).valid());
  o.expected_audience = "bank:other";
  EXPECT_EQ(verifier.Verify(envelope, o).failure, VerifyFailure::kAudienceMismatch);
  o.expected_audience = "bank:example";
  o.expected_nonce = "n-2";
  EXPECT_EQ(verifier.Verify(envelope, o).failure, VerifyFailure::kNonceMismatch);
}

TEST_F(VerifierTest, StatusListRevokesAndSupersedes) {
  AttestationVerifier verifier(trust_);
  auto a = SampleAttestation(sz_, T(1), T(100));
  auto envelope = Sign(a, sz_);

  cg::v1::StatusList list;
  list.mutable_issuer()->set_node_id("sz-node-1");
  *list.mutable_issued_at() = ToProtoTimestamp(T(3));
  list.set_next_index(8);
  ASSERT_TRUE(verifier.AddStatusList(SignStatusList(list, sz_.active_key())).ok());
  auto v = verifier.Verify(envelope, At(T(4)));
  ASSERT_TRUE(v.valid());
  EXPECT_EQ(v.state, cg::v1::ATTESTATION_STATE_ACTIVE);

  auto* entry = list.add_entries();
  entry->set_index(7);
  entry->set_attestation_id(a.attestation_id());
  entry->set_state(cg::v1::ATTESTATION_STATE_REVOKED);
  entry->set_reason("operator: data error");
  *list.mutable_issued_at() = ToProtoTimestamp(T(5));
  ASSERT_TRUE(verifier.AddStatusList(SignStatusList(list, sz_.active_key())).ok());
  v = verifier.Verify(envelope, At(T(6)));
  EXPECT_EQ(v.failure, VerifyFailure::kRevoked);
  EXPECT_NE(v.reason.find("data error"), std::string::npos);

  entry->set_state(cg::v1::ATTESTATION_STATE_SUPERSEDED);
  entry->set_superseded_by("abc");
  *list.mutable_issued_at() = ToProtoTimestamp(T(6));
  ASSERT_TRUE(verifier.AddStatusList(SignStatusList(list, sz_.active_key())).ok());
  EXPECT_EQ(verifier.Verify(envelope, At(T(7))).failure, VerifyFailure::kSuperseded);

  // An older list does not replace a newer one.
  cg::v1::StatusList old = list;
  old.clear_entries();
  *old.mutable_issued_at() = ToProtoTimestamp(T(2));
  ASSERT_TRUE(verifier.AddStatusList(SignStatusList(old, sz_.active_key())).ok());
  EXPECT_EQ(verifier.Verify(envelope, At(T(7))).failure, VerifyFailure::kSuperseded);
}

TEST_F(VerifierTest, StatusListMustBeSignedByItsIssuer) {
  AttestationVerifier verifier(trust_);
  cg::v1::StatusList list;
  list.mutable_issuer()->set_node_id("sz-node-1");
  list.set_next_index(10);
  // Signed by hk's key but claiming to be sz's list.
  EXPECT_EQ(verifier.AddStatusList(SignStatusList(list, hk_.active_key())).code(),
            StatusCode::kUnauthenticated);
  KeySet stranger = NewKeys("x", "sz");
  EXPECT_EQ(verifier.AddStatusList(SignStatusList(list, stranger.active_key())).code(),
            StatusCode::kUnauthenticated);
  auto envelope = SignStatusList(list, sz_.active_key());
  (*envelope.mutable_payload())[0] ^= 1;
  EXPECT_EQ(verifier.AddStatusList(envelope).code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(verifier.StatusListFor("sz-node-1"), nullptr);
}

class RecognitionTest : public VerifierTest {
 protected:
  void SetUp() override {
    VerifierTest::SetUp();
    attestation_ = SampleAttestation(sz_, T(1), T(24 * 30));
    attestation_envelope_ = Sign(attestation_, sz_);
  }

  cg::v1::Attestation Recognition(Clock::time_point until) {
    cg::v1::Attestation r = SampleAttestation(hk_, T(2), until);
    r.set_kind(cg::v1::ATTESTATION_KIND_RECOGNITION);
    auto* what = r.mutable_recognizes();
    what->set_payload_digest(Sha256(attestation_envelope_.payload()));
    what->set_attestation_id(attestation_.attestation_id());
    what->mutable_issuer()->set_node_id("sz-node-1");
    what->mutable_translated_grade()->set_scale("hk-bureau");
    what->mutable_translated_grade()->set_grade("BBB");
    return r;
  }

  cg::v1::Attestation attestation_;
  cg::v1::Envelope attestation_envelope_;
};

TEST_F(RecognitionTest, ValidPair) {
  AttestationVerifier verifier(trust_);
  auto recognition = Sign(Recognition(T(24 * 30)), hk_);
  VerifyOptions o = At(T(3));
  o.expected_audience = "bank:example";
  auto p = verifier.VerifyRecognition(recognition, attestation_envelope_, o);
  EXPECT_TRUE(p.valid()) << p.reason;
  EXPECT_TRUE(p.recognition.valid());
  EXPECT_TRUE(p.attestation.valid());
  auto report = ToReport(p);
  EXPECT_TRUE(report.valid());
  EXPECT_EQ(report.recognised().attestation().attestation_id(), attestation_.attestation_id());
}

TEST_F(RecognitionTest, MismatchedOrOutlivingOrInvalidPartsFail) {
  AttestationVerifier verifier(trust_);
  auto other = Sign(SampleAttestation(sz_, T(1), T(24 * 30)), sz_);
  auto recognition = Sign(Recognition(T(24 * 30)), hk_);
  EXPECT_EQ(verifier.VerifyRecognition(recognition, other, At(T(3))).failure,
            VerifyFailure::kRecognitionMismatch);

  auto outliving = Sign(Recognition(T(24 * 31)), hk_);
  EXPECT_EQ(verifier.VerifyRecognition(outliving, attestation_envelope_, At(T(3))).failure,
            VerifyFailure::kRecognitionOutlives);

  auto tampered = attestation_envelope_;
  (*tampered.mutable_payload())[5] ^= 1;
  auto p = verifier.VerifyRecognition(recognition, tampered, At(T(3)));
  EXPECT_EQ(p.failure, VerifyFailure::kBadSignature);
  EXPECT_NE(p.reason.find("recognised attestation"), std::string::npos);

  // Swapped arguments: an attestation is not a recognition.
  EXPECT_EQ(verifier.VerifyRecognition(attestation_envelope_, recognition, At(T(3))).failure,
            VerifyFailure::kMalformed);
}

TEST_F(RecognitionTest, SupersededAttestationSupersedesThePair) {
  AttestationVerifier verifier(trust_);
  cg::v1::StatusList list;
  list.mutable_issuer()->set_node_id("sz-node-1");
  *list.mutable_issued_at() = ToProtoTimestamp(T(4));
  list.set_next_index(100);
  auto* entry = list.add_entries();
  entry->set_index(attestation_.status_index());
  entry->set_attestation_id(attestation_.attestation_id());
  entry->set_state(cg::v1::ATTESTATION_STATE_SUPERSEDED);
  ASSERT_TRUE(verifier.AddStatusList(SignStatusList(list, sz_.active_key())).ok());
  auto recognition = Sign(Recognition(T(24 * 30)), hk_);
  EXPECT_EQ(verifier.VerifyRecognition(recognition, attestation_envelope_, At(T(5))).failure,
            VerifyFailure::kSuperseded);
}

TEST(AttestationTest, SigningChecksItsInputs) {
  KeySet keys = NewKeys("sz-node-1", "sz");
  cg::v1::Attestation a = SampleAttestation(keys, T(1), T(2));
  a.set_kind(cg::v1::ATTESTATION_KIND_UNSPECIFIED);
  EXPECT_EQ(SignAttestation(a, keys.active_key()).status().code(), StatusCode::kInvalidArgument);
  a = SampleAttestation(keys, T(2), T(1));
  EXPECT_EQ(SignAttestation(a, keys.active_key()).status().code(), StatusCode::kInvalidArgument);
  a = SampleAttestation(keys, T(1), T(2));
  a.set_kind(cg::v1::ATTESTATION_KIND_RECOGNITION);
  EXPECT_EQ(SignAttestation(a, keys.active_key()).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cg::crypto
