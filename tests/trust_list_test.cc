#include "crypto/trust_list.h"

#include <gtest/gtest.h>

#include <optional>

#include "crypto/attestation.h"
#include "crypto/dsse.h"
#include "crypto/ed25519.h"
#include "crypto/key_rollover.h"
#include "crypto/key_set.h"
#include "crypto/verifier.h"
#include "specs/file_io.h"
#include "specs/json.h"

namespace cg::crypto {
namespace {

cg::v1::IssuerKeys Issuer(const std::string& node, const SigningKey& key) {
  cg::v1::IssuerKeys issuer;
  issuer.set_node_id(node);
  issuer.set_side("sz");
  auto* entry = issuer.add_keys();
  entry->set_public_key(key.public_key());
  entry->set_key_id(key.key_id());
  return issuer;
}

TEST(TrustListTest, FindsKeysByIdWithTheirIssuer) {
  SigningKey a = SigningKey::Generate();
  TrustList trust;
  ASSERT_TRUE(trust.Add(Issuer("sz-node-1", a)).ok());
  ASSERT_TRUE(trust.Add(Issuer("sz-node-1", a)).ok()) << "re-adding the same key is fine";
  const TrustedKey* found = trust.FindKey(a.key_id());
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->node_id, "sz-node-1");
  EXPECT_EQ(found->entry.public_key(), a.public_key());
  EXPECT_EQ(trust.FindKey("0000"), nullptr);
  EXPECT_TRUE(trust.HasIssuer("sz-node-1"));
  EXPECT_FALSE(trust.HasIssuer("hk-node-1"));
  EXPECT_EQ(trust.key_count(), 1u);
}

TEST(TrustListTest, RejectsInconsistentKeys) {
  SigningKey a = SigningKey::Generate();
  TrustList trust;
  ASSERT_TRUE(trust.Add(Issuer("sz-node-1", a)).ok());
  Status dup = trust.Add(Issuer("hk-node-1", a));
  EXPECT_EQ(dup.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(dup.message().find("claimed by both"), std::string::npos);

  auto wrong_id = Issuer("x", SigningKey::Generate());
  wrong_id.mutable_keys(0)->set_key_id(a.key_id());
  EXPECT_EQ(TrustList().Add(wrong_id).code(), StatusCode::kInvalidArgument);

  auto short_key = Issuer("x", a);
  short_key.mutable_keys(0)->set_public_key("short");
  short_key.mutable_keys(0)->clear_key_id();
  EXPECT_EQ(TrustList().Add(short_key).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(TrustList().Add(Issuer("", a)).code(), StatusCode::kInvalidArgument);
}

TEST(TrustListTest, LoadsAndMergesFiles) {
  SigningKey a = SigningKey::Generate();
  SigningKey b = SigningKey::Generate();
  const std::string dir = ::testing::TempDir();
  cg::v1::TrustList one, two;
  *one.add_issuers() = Issuer("sz-node-1", a);
  *two.add_issuers() = Issuer("hk-node-1", b);
  ASSERT_TRUE(WriteFileAtomically(dir + "/one.json", MessageToJson(one)).ok());
  ASSERT_TRUE(WriteFileAtomically(dir + "/two.json", MessageToJson(two)).ok());
  auto trust = TrustList::LoadFiles({dir + "/one.json", dir + "/two.json"});
  ASSERT_TRUE(trust.ok()) << trust.status().ToString();
  EXPECT_EQ(trust->key_count(), 2u);
  EXPECT_EQ(trust->FindKey(b.key_id())->node_id, "hk-node-1");

  ASSERT_TRUE(WriteFileAtomically(dir + "/bad.json", "{\"issuers\": 3}").ok());
  auto bad = TrustList::LoadFiles({dir + "/bad.json"});
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("bad.json"), std::string::npos);
  EXPECT_EQ(TrustList::LoadFiles({dir + "/missing.json"}).status().code(), StatusCode::kNotFound);
  for (const char* f : {"/one.json", "/two.json", "/bad.json"}) std::remove((dir + f).c_str());
}

// ---------------------------------------------------------------------------
// Signed key rollover: a trust list that knows a node's first key learns its
// successors from the statements KeySet::Rotate makes. Fixed times throughout.

using std::chrono::hours;
using std::chrono::seconds;

// 2030-01-01T00:00:00Z plus the given hours.
Clock::time_point At(int64_t hours_since_base) {
  return Clock::time_point(seconds(1893456000)) + hours(hours_since_base);
}
constexpr int64_t kRotation1 = 240;  // day 10
constexpr int64_t kRotation2 = 480;  // day 20
constexpr int64_t kCheck = 600;      // day 25, when attestations are verified

cg::v1::Envelope SignAt(const KeySet& keys, Clock::time_point issued) {
  cg::v1::Attestation a;
  a.set_kind(cg::v1::ATTESTATION_KIND_ATTESTATION);
  a.set_attestation_id(NewAttestationId());
  a.mutable_issuer()->set_node_id(keys.node_id());
  a.mutable_issuer()->set_side(keys.side());
  *a.mutable_issued_at() = ToProtoTimestamp(issued);
  *a.mutable_valid_until() = ToProtoTimestamp(issued + hours(24 * 60));
  a.mutable_evaluation()->set_period("2029-12");
  auto envelope = SignAttestation(a, keys.active_key());
  EXPECT_TRUE(envelope.ok()) << envelope.status().ToString();
  return *envelope;
}

// A statement made by hand (for what KeySet::Rotate would never make).
cg::v1::Envelope Statement(const SigningKey& retired, const SigningKey& successor,
                           Clock::time_point signed_at, const std::string& node = "sz-node-1",
                           const std::string& side = "sz") {
  cg::v1::KeyRollover r;
  r.set_node_id(node);
  r.set_side(side);
  r.mutable_retired()->set_key_id(retired.key_id());
  r.mutable_retired()->set_public_key(retired.public_key());
  *r.mutable_retired()->mutable_not_after() = ToProtoTimestamp(signed_at + seconds(1));
  r.mutable_retired()->set_state(cg::v1::KEY_STATE_RETIRED);
  r.mutable_successor()->set_key_id(successor.key_id());
  r.mutable_successor()->set_public_key(successor.public_key());
  *r.mutable_successor()->mutable_not_before() = ToProtoTimestamp(signed_at);
  r.mutable_successor()->set_state(cg::v1::KEY_STATE_ACTIVE);
  *r.mutable_signed_at() = ToProtoTimestamp(signed_at);
  auto envelope = SignKeyRollover(r, retired, successor);
  EXPECT_TRUE(envelope.ok()) << envelope.status().ToString();
  return envelope.ok() ? *envelope : cg::v1::Envelope();
}

class RolloverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    keys_.emplace(*KeySet::Create("sz-node-1", "sz", "", KdfStrength::kPlaintextForTests, At(0)));
    // What the peer was configured with: key 1 only, open-ended.
    ASSERT_TRUE(peer_.Add(keys_->PublicKeys()).ok());
    key1_ = keys_->active_key().key_id();
    by_key1_ = SignAt(*keys_, At(1));
    // Dated after key 1's retirement; only a leaked key 1 could make this.
    by_key1_late_ = SignAt(*keys_, At(kRotation1 + 1));
    ASSERT_TRUE(keys_->Rotate("", At(kRotation1)).ok());
    key2_ = keys_->active_key().key_id();
    by_key2_ = SignAt(*keys_, At(kRotation1 + 1));
    ASSERT_TRUE(keys_->Rotate("", At(kRotation2)).ok());
    key3_ = keys_->active_key().key_id();
    by_key3_ = SignAt(*keys_, At(kRotation2 + 1));
    chain_ = keys_->RolloverChain();
    ASSERT_EQ(chain_.rollovers_size(), 2);
  }

  Verification Check(const TrustList& trust, const cg::v1::Envelope& envelope) {
    VerifyOptions options;
    options.now = At(kCheck);
    return AttestationVerifier(trust).Verify(envelope, options);
  }

  // `statement` is refused with `code` and a message containing `what`, and the
  // peer's trust list is unchanged.
  void ExpectRefused(const cg::v1::Envelope& statement, StatusCode code, const std::string& what) {
    const cg::v1::TrustList before = peer_.ToProto();
    auto accepted = peer_.AcceptRollover(statement, At(kCheck));
    ASSERT_FALSE(accepted.ok()) << what;
    EXPECT_EQ(accepted.status().code(), code) << accepted.status().ToString();
    EXPECT_NE(accepted.status().message().find(what), std::string::npos)
        << accepted.status().ToString();
    EXPECT_EQ(peer_.ToProto().SerializeAsString(), before.SerializeAsString());
  }

  std::optional<KeySet> keys_;
  TrustList peer_;
  std::string key1_, key2_, key3_;
  cg::v1::Envelope by_key1_, by_key1_late_, by_key2_, by_key3_;
  cg::v1::KeyRolloverChain chain_;
};

TEST_F(RolloverTest, PeerKnowingOnlyTheFirstKeyCatchesUpOverTwoRotations) {
  EXPECT_EQ(Check(peer_, by_key2_).failure, VerifyFailure::kUnknownKey);
  auto added = peer_.AcceptRolloverChain(chain_, At(kCheck));
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  EXPECT_EQ(*added, 2u);
  EXPECT_EQ(peer_.key_count(), 3u);

  EXPECT_TRUE(Check(peer_, by_key1_).valid()) << Check(peer_, by_key1_).reason;
  EXPECT_TRUE(Check(peer_, by_key2_).valid()) << Check(peer_, by_key2_).reason;
  EXPECT_TRUE(Check(peer_, by_key3_).valid()) << Check(peer_, by_key3_).reason;
  EXPECT_EQ(Check(peer_, by_key1_late_).failure, VerifyFailure::kKeyNotValidAtIssue);

  // Key 1 is closed kRotationOverlap after its rotation, key 2 likewise; key 3 is open.
  const TrustedKey* key1 = peer_.FindKey(key1_);
  ASSERT_NE(key1, nullptr);
  EXPECT_EQ(FromProtoTimestamp(key1->entry.not_after()), At(kRotation1) + kRotationOverlap);
  EXPECT_EQ(key1->entry.state(), cg::v1::KEY_STATE_RETIRED);
  EXPECT_EQ(FromProtoTimestamp(peer_.FindKey(key2_)->entry.not_after()),
            At(kRotation2) + kRotationOverlap);
  EXPECT_FALSE(peer_.FindKey(key3_)->entry.has_not_after());
  EXPECT_EQ(peer_.FindKey(key3_)->side, "sz");

  // The peer now holds what the node publishes.
  EXPECT_EQ(peer_.IssuerKeysOf("sz-node-1").SerializeAsString(),
            keys_->PublicKeys().SerializeAsString());

  // Applying the chain again changes nothing.
  auto again = peer_.AcceptRolloverChain(chain_, At(kCheck));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, 0u);
  EXPECT_EQ(peer_.key_count(), 3u);
}

TEST_F(RolloverTest, OneStatementAtATimeSaysWhetherAKeyWasAdded) {
  auto first = peer_.AcceptRollover(chain_.rollovers(0), At(kCheck));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(*first);
  auto repeated = peer_.AcceptRollover(chain_.rollovers(0), At(kCheck));
  ASSERT_TRUE(repeated.ok()) << repeated.status().ToString();
  EXPECT_FALSE(*repeated);
  EXPECT_TRUE(*peer_.AcceptRollover(chain_.rollovers(1), At(kCheck)));
  EXPECT_TRUE(Check(peer_, by_key3_).valid());
}

TEST_F(RolloverTest, UpdatedTrustSurvivesItsFile) {
  ASSERT_TRUE(peer_.AcceptRolloverChain(chain_, At(kCheck)).ok());
  const std::string path = ::testing::TempDir() + "/rolled-trust.json";
  ASSERT_TRUE(WriteFileAtomically(path, MessageToJson(peer_.ToProto())).ok());
  auto reloaded = TrustList::LoadFiles({path});
  ASSERT_TRUE(reloaded.ok()) << reloaded.status().ToString();
  EXPECT_EQ(reloaded->ToProto().SerializeAsString(), peer_.ToProto().SerializeAsString());
  EXPECT_TRUE(Check(*reloaded, by_key3_).valid());
  EXPECT_EQ(Check(*reloaded, by_key1_late_).failure, VerifyFailure::kKeyNotValidAtIssue);
  std::remove(path.c_str());
}

TEST_F(RolloverTest, ChainSkippingALinkIsRefusedWhole) {
  cg::v1::KeyRolloverChain skipping;
  *skipping.add_rollovers() = chain_.rollovers(1);
  auto accepted = peer_.AcceptRolloverChain(skipping, At(kCheck));
  EXPECT_EQ(accepted.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(accepted.status().message().find("rollover statement 1 of 1: untrusted outgoing key " +
                                             key2_),
            std::string::npos)
      << accepted.status().ToString();
  EXPECT_EQ(peer_.key_count(), 1u);

  // A good first statement followed by a bad one: nothing is applied.
  cg::v1::KeyRolloverChain half_bad = chain_;
  half_bad.mutable_rollovers(1)->mutable_signatures(0)->mutable_sig()->at(5) ^= 1;
  auto refused = peer_.AcceptRolloverChain(half_bad, At(kCheck));
  EXPECT_EQ(refused.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(refused.status().message().find("rollover statement 2 of 2: bad signature"),
            std::string::npos)
      << refused.status().ToString();
  EXPECT_EQ(peer_.key_count(), 1u);
}

TEST_F(RolloverTest, StatementSignedByAnUnknownKeyIsRefused) {
  // The payload names key 1 as retired, but key 1 did not sign it.
  cg::v1::Envelope forged = chain_.rollovers(0);
  SigningKey stranger = SigningKey::Generate();
  cg::v1::Signature* sig = forged.mutable_signatures(0);
  sig->set_sig(stranger.Sign(PreAuthEncoding(forged.payloadtype(), forged.payload())));
  sig->set_keyid(key1_);
  ExpectRefused(forged, StatusCode::kPermissionDenied,
                "bad signature by the outgoing key " + key1_);

  // A stranger retiring itself in favour of another stranger.
  SigningKey other = SigningKey::Generate();
  ExpectRefused(Statement(stranger, other, At(kRotation1)), StatusCode::kPermissionDenied,
                "untrusted outgoing key " + stranger.key_id());
}

TEST_F(RolloverTest, TamperedPayloadIsRefused) {
  cg::v1::Envelope tampered = chain_.rollovers(0);
  cg::v1::KeyRollover r;
  ASSERT_TRUE(r.ParseFromString(tampered.payload()));
  SigningKey attacker = SigningKey::Generate();
  r.mutable_successor()->set_public_key(attacker.public_key());
  r.mutable_successor()->set_key_id(attacker.key_id());
  tampered.set_payload(r.SerializeAsString());
  ExpectRefused(tampered, StatusCode::kPermissionDenied, "bad signature by the outgoing key");

  cg::v1::Envelope retyped = chain_.rollovers(0);
  retyped.set_payloadtype(std::string(kAttestationPayloadType));
  ExpectRefused(retyped, StatusCode::kInvalidArgument, "wrong payload type");
}

TEST_F(RolloverTest, StatementForAnotherNodeIsRefused) {
  // Key 1 of sz-node-1 speaking for a node the peer does not know...
  SigningKey k1 = SigningKey::Generate();
  SigningKey k2 = SigningKey::Generate();
  ExpectRefused(Statement(k1, k2, At(kRotation1), "hk-node-1", "hk"), StatusCode::kPermissionDenied,
                "unknown issuer 'hk-node-1'");
  // ...and for one it knows, whose keys are others.
  cg::v1::IssuerKeys hk;
  hk.set_node_id("hk-node-1");
  hk.set_side("hk");
  hk.add_keys()->set_public_key(k1.public_key());
  ASSERT_TRUE(peer_.Add(hk).ok());
  cg::v1::KeyRollover r;
  ASSERT_TRUE(r.ParseFromString(chain_.rollovers(0).payload()));
  EXPECT_EQ(r.retired().key_id(), key1_);
  // Genuine key-1 statement with the node renamed: the signatures break, but the
  // first refusal is that key 1 is not hk-node-1's.
  r.set_node_id("hk-node-1");
  r.set_side("hk");
  cg::v1::Envelope renamed = chain_.rollovers(0);
  renamed.set_payload(r.SerializeAsString());
  ExpectRefused(renamed, StatusCode::kPermissionDenied, "untrusted outgoing key " + key1_);
  // The right node on the wrong side.
  r.set_node_id("sz-node-1");
  renamed.set_payload(r.SerializeAsString());
  ExpectRefused(renamed, StatusCode::kPermissionDenied, "side mismatch");
}

TEST_F(RolloverTest, GarbageIsRefusedWithoutCrash) {
  cg::v1::Envelope garbage;
  garbage.set_payloadtype(std::string(kKeyRolloverPayloadType));
  garbage.set_payload("\xff\xfe garbage \x01");
  garbage.add_signatures()->set_sig("x");
  ExpectRefused(garbage, StatusCode::kInvalidArgument, "malformed rollover payload");
  garbage.set_payload("");
  ExpectRefused(garbage, StatusCode::kInvalidArgument, "malformed rollover payload");

  for (int i = 0; i < 8; ++i) *garbage.add_signatures() = chain_.rollovers(0).signatures(0);
  garbage.set_payload(chain_.rollovers(0).payload());
  ExpectRefused(garbage, StatusCode::kInvalidArgument, "signatures");

  // Every single byte of a statement's payload flipped: refused, never a crash.
  const cg::v1::Envelope good = chain_.rollovers(0);
  for (size_t i = 0; i < good.payload().size(); ++i) {
    cg::v1::Envelope flipped = good;
    flipped.mutable_payload()->at(i) ^= 0x41;
    EXPECT_FALSE(TrustList(peer_).AcceptRollover(flipped, At(kCheck)).ok()) << "byte " << i;
  }

  EXPECT_EQ(ParseRolloverChain("\x01\x02\x03 not a chain").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseRolloverChain("{\"rollovers\": 7}").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseRolloverChain("").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseRolloverChain(std::string(kMaxRolloverChainBytes + 1, '{')).status().code(),
            StatusCode::kResourceExhausted);
  auto parsed = ParseRolloverChain(MessageToJson(chain_));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->SerializeAsString(), chain_.SerializeAsString());
  auto binary = ParseRolloverChain(chain_.SerializeAsString());
  ASSERT_TRUE(binary.ok()) << binary.status().ToString();
  EXPECT_EQ(binary->rollovers_size(), 2);
}

TEST_F(RolloverTest, ChainLongerThanTheLimitIsRefused) {
  cg::v1::KeyRolloverChain long_chain;
  for (size_t i = 0; i <= kMaxRolloverChainLength; ++i) {
    *long_chain.add_rollovers() = chain_.rollovers(0);
  }
  EXPECT_EQ(peer_.AcceptRolloverChain(long_chain, At(kCheck)).status().code(),
            StatusCode::kResourceExhausted);
  EXPECT_EQ(ParseRolloverChain(long_chain.SerializeAsString()).status().code(),
            StatusCode::kResourceExhausted);
  EXPECT_EQ(peer_.key_count(), 1u);
}

TEST_F(RolloverTest, MissingSuccessorSignatureIsRefused) {
  cg::v1::Envelope one_signature = chain_.rollovers(0);
  one_signature.mutable_signatures()->RemoveLast();
  ExpectRefused(one_signature, StatusCode::kPermissionDenied,
                "successor signature missing or bad: key " + key2_);
  // The successor's signature replaced by a second copy of the retired key's.
  cg::v1::Envelope doubled = chain_.rollovers(0);
  *doubled.mutable_signatures(1) = doubled.signatures(0);
  ExpectRefused(doubled, StatusCode::kPermissionDenied, "successor signature missing or bad");
}

TEST_F(RolloverTest, SignedOutsideTheOutgoingKeysValidityIsRefused) {
  // A peer that was told key 1 ends on day 5 refuses a statement it signed on day 10.
  TrustList closed;
  cg::v1::IssuerKeys keys = keys_->PublicKeys();
  keys.mutable_keys()->DeleteSubrange(1, 2);
  *keys.mutable_keys(0)->mutable_not_after() = ToProtoTimestamp(At(120));
  keys.mutable_keys(0)->set_state(cg::v1::KEY_STATE_ACTIVE);
  ASSERT_TRUE(closed.Add(keys).ok());
  auto accepted = closed.AcceptRollover(chain_.rollovers(0), At(kCheck));
  EXPECT_EQ(accepted.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(accepted.status().message().find("signed outside the outgoing key's validity"),
            std::string::npos)
      << accepted.status().ToString();

  // And one dated (far) after the verifier's now.
  auto early = peer_.AcceptRollover(chain_.rollovers(0), At(kRotation1 - 1));
  EXPECT_EQ(early.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(early.status().message().find("signed in the future"), std::string::npos)
      << early.status().ToString();
}

TEST_F(RolloverTest, RetiredKeyCannotForkTheChainAfterItsRetirement) {
  SigningKey k1 = SigningKey::Generate();
  SigningKey k2 = SigningKey::Generate();
  SigningKey leaked_successor = SigningKey::Generate();
  TrustList trust;
  cg::v1::IssuerKeys issuer;
  issuer.set_node_id("sz-node-1");
  issuer.set_side("sz");
  auto* entry = issuer.add_keys();
  entry->set_public_key(k1.public_key());
  *entry->mutable_not_before() = ToProtoTimestamp(At(0));
  ASSERT_TRUE(trust.Add(issuer).ok());
  ASSERT_TRUE(*trust.AcceptRollover(Statement(k1, k2, At(kRotation1)), At(kCheck)));
  // Someone holding key 1's old secret signs a statement back-dated into its period.
  auto fork = trust.AcceptRollover(Statement(k1, leaked_successor, At(kRotation1 - 5)), At(kCheck));
  EXPECT_EQ(fork.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(fork.status().message().find("already retired"), std::string::npos)
      << fork.status().ToString();
  EXPECT_EQ(trust.FindKey(leaked_successor.key_id()), nullptr);
}

TEST_F(RolloverTest, MalformedStatementsAreNotSigned) {
  SigningKey k1 = SigningKey::Generate();
  SigningKey k2 = SigningKey::Generate();
  cg::v1::KeyRollover r;
  ASSERT_TRUE(r.ParseFromString(chain_.rollovers(0).payload()));
  // Signing keys that are not the ones named.
  EXPECT_EQ(SignKeyRollover(r, k1, k2).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cg::crypto
