#include "gateway/entity_statement.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "crypto/dsse.h"
#include "crypto/key_set.h"
#include "crypto/pseudonym.h"

namespace cg::gateway {
namespace {

using std::chrono::hours;

// A fixed clock: 2026-11-01T00:00:00Z plus the given hours.
Clock::time_point T(int64_t hours_since_base) {
  return Clock::time_point(std::chrono::seconds(1793491200)) + hours(hours_since_base);
}

crypto::KeySet NewKeys(const std::string& node, const std::string& side) {
  return *crypto::KeySet::Create(node, side, "", crypto::KdfStrength::kPlaintextForTests,
                                 T(-24 * 365));
}

std::string Pseudonym(std::string_view raw) {
  static const auto p = *crypto::Pseudonymizer::FromKey(std::string(32, 'p'));
  return *p.Pseudonymize(raw);
}

// What the Hong Kong node stores for an HK company owned 80% by one person.
cg::v1::Evaluation HongKongEvaluation() {
  cg::v1::Evaluation e;
  e.mutable_subject()->set_id("hkbrn:12345678");
  e.mutable_subject()->set_scheme(cg::v1::ID_SCHEME_HKBRN);
  e.mutable_subject()->set_name("Harbour Holdings Ltd");
  e.mutable_subject()->set_jurisdiction("HK");
  e.set_period("2026-10");
  e.set_model_version("gba-joint-1");
  e.mutable_native_grade()->set_scale("hk-bureau");
  e.mutable_native_grade()->set_grade("B");
  e.set_native_pd(0.03);
  e.set_joint_pd(0.035);
  e.mutable_joint_grade()->set_scale("hk-bureau");
  e.mutable_joint_grade()->set_grade("B");
  auto* owner = e.mutable_equity()->add_beneficial_owners();
  owner->set_holder_id(Pseudonym("A123456(7)"));
  owner->set_integrated_share(0.8);
  owner->set_controller(true);
  e.mutable_equity()->set_unknown_share(0.2);
  return e;
}

class EntityStatementTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(trust_.Add(sz_.PublicKeys()).ok());
    ASSERT_TRUE(trust_.Add(hk_.PublicKeys()).ok());
  }

  cg::v1::Issuer HkIssuer() const {
    cg::v1::Issuer issuer;
    issuer.set_node_id(hk_.node_id());
    issuer.set_side("hk");
    return issuer;
  }
  cg::v1::EntityStatement Statement() const {
    return MakeEntityStatement(HongKongEvaluation(), HkIssuer(), T(0), hours(24 * 30));
  }
  // Signs `s` as it is (no checks): what a careless or hostile peer could send.
  cg::v1::Envelope SignRaw(cg::v1::EntityStatement s) const {
    s.mutable_issuer()->set_key_id(hk_.active_key().key_id());
    return crypto::SignEnvelope(kEntityStatementPayloadType, s.SerializeAsString(),
                                hk_.active_key());
  }
  Status Refusal(const cg::v1::Envelope& envelope, Clock::time_point now = T(1)) const {
    auto verified = VerifyEntityStatement(envelope, trust_, now);
    EXPECT_FALSE(verified.ok());
    return verified.status();
  }

  crypto::KeySet sz_ = NewKeys("sz-node-1", "sz");
  crypto::KeySet hk_ = NewKeys("hk-node-1", "hk");
  crypto::TrustList trust_;
};

TEST_F(EntityStatementTest, MadeFromAnEvaluation) {
  const cg::v1::EntityStatement s = Statement();
  EXPECT_EQ(s.version(), 1u);
  EXPECT_EQ(s.issuer().node_id(), "hk-node-1");
  EXPECT_EQ(s.subject().id(), "hkbrn:12345678");
  EXPECT_EQ(s.period(), "2026-10");
  EXPECT_DOUBLE_EQ(s.native_pd(), 0.03);
  EXPECT_DOUBLE_EQ(s.joint_pd(), 0.035);
  EXPECT_EQ(s.native_grade().grade(), "B");
  ASSERT_EQ(s.owners_size(), 1);
  EXPECT_EQ(s.owners(0).holder_id(), Pseudonym("A123456(7)"));
  EXPECT_TRUE(s.owners(0).natural_person());
  EXPECT_EQ(s.owners(0).jurisdiction(), "person");
  EXPECT_DOUBLE_EQ(s.owners(0).integrated_share(), 0.8);
  EXPECT_DOUBLE_EQ(s.unknown_share(), 0.2);
  EXPECT_EQ(FromProtoTimestamp(s.issued_at()), T(0));
  EXPECT_EQ(FromProtoTimestamp(s.valid_until()), T(24 * 30));

  // An evaluation stored before native_pd existed states its joint PD.
  cg::v1::Evaluation old = HongKongEvaluation();
  old.clear_native_pd();
  EXPECT_DOUBLE_EQ(MakeEntityStatement(old, HkIssuer(), T(0), hours(1)).native_pd(), 0.035);
}

TEST_F(EntityStatementTest, SignAndVerifyRoundTrip) {
  auto envelope = SignEntityStatement(Statement(), hk_.active_key());
  ASSERT_TRUE(envelope.ok()) << envelope.status().ToString();
  EXPECT_EQ(envelope->payloadtype(), kEntityStatementPayloadType);
  auto verified = VerifyEntityStatement(*envelope, trust_, T(1));
  ASSERT_TRUE(verified.ok()) << verified.status().ToString();
  EXPECT_EQ(verified->issuer().key_id(), hk_.active_key().key_id());
  EXPECT_EQ(verified->subject().id(), "hkbrn:12345678");
  EXPECT_EQ(verified->owners(0).holder_id(), Pseudonym("A123456(7)"));

  // Through the wire encodings and back.
  for (auto encoding : {crypto::EnvelopeEncoding::kJson, crypto::EnvelopeEncoding::kBinary}) {
    auto decoded = crypto::DecodeEnvelope(crypto::EncodeEnvelope(*envelope, encoding));
    ASSERT_TRUE(decoded.ok());
    EXPECT_TRUE(VerifyEntityStatement(*decoded, trust_, T(1)).ok());
  }

  const StoredEntityStatement row = ToStoredEntityStatement(*verified, *envelope, T(2));
  EXPECT_EQ(row.entity_id, "hkbrn:12345678");
  EXPECT_EQ(row.issuer_node_id, "hk-node-1");
  EXPECT_EQ(row.period, "2026-10");
  EXPECT_DOUBLE_EQ(row.native_pd, 0.03);
  EXPECT_EQ(row.grade, "B");
  EXPECT_EQ(row.fetched_at, 1793491200 + 7200);
  EXPECT_EQ(row.valid_until, 1793491200 + 30 * 86400);
  EXPECT_TRUE(StatementAppliesTo(row, "2026-10"));
  EXPECT_TRUE(StatementAppliesTo(row, "2026-11"));
  EXPECT_FALSE(StatementAppliesTo(row, "2026-09"));  // states a later period
  EXPECT_FALSE(StatementAppliesTo(row, "2027-01"));  // expired before it began
}

TEST_F(EntityStatementTest, RefusesATamperedPayload) {
  auto envelope = SignEntityStatement(Statement(), hk_.active_key());
  ASSERT_TRUE(envelope.ok());
  cg::v1::EntityStatement s;
  ASSERT_TRUE(s.ParseFromString(envelope->payload()));
  s.set_native_pd(0.0001);  // a riskier parent made to look safe
  envelope->set_payload(s.SerializeAsString());
  const Status refused = Refusal(*envelope);
  EXPECT_EQ(refused.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(refused.message().find("does not verify"), std::string::npos) << refused.ToString();
}

TEST_F(EntityStatementTest, RefusesAnUnknownIssuer) {
  crypto::KeySet stranger = NewKeys("hk-node-9", "hk");
  cg::v1::EntityStatement s = Statement();
  s.mutable_issuer()->set_node_id("hk-node-9");
  auto envelope = SignEntityStatement(s, stranger.active_key());
  ASSERT_TRUE(envelope.ok());
  const Status refused = Refusal(*envelope);
  EXPECT_EQ(refused.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(refused.message().find("'hk-node-9' is not in the trust list"), std::string::npos)
      << refused.ToString();

  // A trusted node's key claiming to be another node.
  s = Statement();
  s.mutable_issuer()->set_node_id("sz-node-1");
  s.mutable_issuer()->set_side("sz");
  s.mutable_subject()->set_id("uscc:91440300MA5G2U7B88");
  s.mutable_subject()->set_scheme(cg::v1::ID_SCHEME_USCC);
  auto forged = SignEntityStatement(s, hk_.active_key());
  ASSERT_TRUE(forged.ok());
  const Status mismatch = Refusal(*forged);
  EXPECT_EQ(mismatch.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(mismatch.message().find("names issuer 'sz-node-1'"), std::string::npos)
      << mismatch.ToString();
}

TEST_F(EntityStatementTest, RefusesAnExpiredStatement) {
  auto envelope = SignEntityStatement(Statement(), hk_.active_key());
  ASSERT_TRUE(envelope.ok());
  const Status refused = Refusal(*envelope, T(24 * 30));
  EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.message().find("expired at 2026-12-01T00:00:00Z"), std::string::npos)
      << refused.ToString();
  const Status future = Refusal(*envelope, T(-1));
  EXPECT_EQ(future.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(future.message().find("in the future"), std::string::npos) << future.ToString();
}

TEST_F(EntityStatementTest, RefusesARawPersonIdToSignAndToAccept) {
  cg::v1::EntityStatement s = Statement();
  s.mutable_owners(0)->set_holder_id("person:A1234567");
  auto signed_ = SignEntityStatement(s, hk_.active_key());
  ASSERT_FALSE(signed_.ok());
  EXPECT_EQ(signed_.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(signed_.status().message().find("not a pseudonym"), std::string::npos);
  // The raw id is never repeated.
  EXPECT_EQ(signed_.status().message().find("A1234567"), std::string::npos);

  const Status refused = Refusal(SignRaw(s));
  EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.message().find("owner 1 is a natural person whose id is not a pseudonym"),
            std::string::npos)
      << refused.ToString();
  EXPECT_EQ(refused.message().find("A1234567"), std::string::npos);

  // A person without the prefix, marked natural_person.
  s.mutable_owners(0)->set_holder_id("Chan Tai Man");
  EXPECT_EQ(Refusal(SignRaw(s)).code(), StatusCode::kInvalidArgument);
}

TEST_F(EntityStatementTest, RefusesSharesOverOne) {
  cg::v1::EntityStatement s = Statement();
  auto* second = s.add_owners();
  second->set_holder_id("hkcrn:0012345");
  second->set_jurisdiction("HK");
  second->set_integrated_share(0.3);
  const Status refused = Refusal(SignRaw(s));
  EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.message().find("sum to 1.1"), std::string::npos) << refused.ToString();
  EXPECT_FALSE(SignEntityStatement(s, hk_.active_key()).ok());

  s = Statement();
  s.mutable_owners(0)->set_integrated_share(1.5);
  EXPECT_NE(Refusal(SignRaw(s)).message().find("owner 1 share 1.5"), std::string::npos);
  s.mutable_owners(0)->set_integrated_share(std::nan(""));
  EXPECT_EQ(Refusal(SignRaw(s)).code(), StatusCode::kInvalidArgument);
  s = Statement();
  s.set_native_pd(1);
  EXPECT_NE(Refusal(SignRaw(s)).message().find("native PD"), std::string::npos);
}

TEST_F(EntityStatementTest, RefusesMalformedContent) {
  struct Case {
    std::function<void(cg::v1::EntityStatement&)> change;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](auto& s) { s.set_version(2); }, "version 2 is not supported"},
      {[](auto& s) { s.mutable_subject()->set_id("hkbrn:1234"); }, "subject id is not well-formed"},
      {[](auto& s) { s.mutable_subject()->set_id("uscc:91440300MA5G2U7B88"); },
       "is not an entity of side 'hk'"},
      {[](auto& s) { s.mutable_subject()->set_scheme(cg::v1::ID_SCHEME_HKCRN); },
       "subject scheme disagrees"},
      {[](auto& s) { s.set_period("2026-13"); }, "period '2026-13' is not YYYY-MM"},
      {[](auto& s) { s.mutable_subject()->set_name(std::string(300, 'x')); },
       "subject name is longer than 256 bytes"},
      {[](auto& s) { s.mutable_owners(0)->set_natural_person(false); },
       "has a person pseudonym but natural_person false"},
      {[](auto& s) { *s.add_owners() = s.owners(0); }, "owner 2 is listed twice"},
      {[](auto& s) {
         auto* o = s.add_owners();
         o->set_holder_id("hkbrn:12345678");
       },
       "owner 2 is the subject itself"},
      {[](auto& s) {
         for (int i = 0; i < 1001; ++i) s.add_owners()->set_holder_id("hkbrn:1");
       },
       "more than the 1000 allowed"},
      {[](auto& s) { s.clear_valid_until(); }, "needs issued_at and valid_until"},
  };
  for (const auto& c : cases) {
    cg::v1::EntityStatement s = Statement();
    c.change(s);
    const Status refused = Refusal(SignRaw(s));
    EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument) << c.message;
    EXPECT_NE(refused.message().find(c.message), std::string::npos)
        << c.message << " / " << refused.ToString();
  }
}

TEST_F(EntityStatementTest, RefusesGarbage) {
  // Signed garbage: the signature is checked before the payload is parsed.
  cg::v1::Envelope envelope =
      crypto::SignEnvelope(kEntityStatementPayloadType, "\x0a\xff\xff garbage", hk_.active_key());
  const Status refused = Refusal(envelope);
  EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.message().find("not an entity statement message"), std::string::npos)
      << refused.ToString();

  cg::v1::Envelope wrong_type = SignRaw(Statement());
  wrong_type.set_payloadtype("application/vnd.gba-credit.attestation+protobuf;version=1");
  EXPECT_NE(Refusal(wrong_type).message().find("is not an entity statement"), std::string::npos);

  cg::v1::Envelope unsigned_envelope = SignRaw(Statement());
  unsigned_envelope.clear_signatures();
  EXPECT_EQ(Refusal(unsigned_envelope).code(), StatusCode::kPermissionDenied);

  cg::v1::Envelope huge = SignRaw(Statement());
  huge.set_payload(std::string(kMaxStatementPayloadBytes + 1, '\0'));
  EXPECT_NE(Refusal(huge).message().find("larger than"), std::string::npos);

  // Random bytes never crash the verifier.
  std::string bytes;
  for (int i = 0; i < 2000; ++i) {
    bytes.push_back(static_cast<char>((i * 131 + 7) & 0xff));
    cg::v1::Envelope e = crypto::SignEnvelope(kEntityStatementPayloadType, bytes, hk_.active_key());
    EXPECT_FALSE(VerifyEntityStatement(e, trust_, T(1)).ok());
  }
}

}  // namespace
}  // namespace cg::gateway
