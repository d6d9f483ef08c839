#include "crypto/dsse.h"

#include <gtest/gtest.h>

#include "crypto/ed25519.h"
#include "crypto/encoding.h"

namespace cg::crypto {
namespace {

// The example in the DSSE v1 protocol specification (protocol.md).
TEST(DsseTest, PreAuthEncodingMatchesSpecExample) {
  EXPECT_EQ(PreAuthEncoding("http://example.com/HelloWorld", "hello world"),
            "DSSEv1 29 http://example.com/HelloWorld 11 hello world");
  EXPECT_EQ(PreAuthEncoding("", ""), "DSSEv1 0  0 ");
  // Lengths are byte counts, so binary and multi-byte payloads are unambiguous.
  EXPECT_EQ(PreAuthEncoding("t", std::string("\0\xe4\xb8\xad", 4)),
            std::string("DSSEv1 1 t 4 \0\xe4\xb8\xad", 17));
}

class DsseSignedTest : public ::testing::Test {
 protected:
  SigningKey key_ = SigningKey::Generate();
  cg::v1::Envelope envelope_ = SignEnvelope("application/vnd.test+json", R"({"grade":"A+"})", key_);
};

TEST_F(DsseSignedTest, SignsPaeWithKeyId) {
  ASSERT_EQ(envelope_.signatures_size(), 1);
  EXPECT_EQ(envelope_.signatures(0).keyid(), key_.key_id());
  EXPECT_TRUE(VerifyEd25519(key_.public_key(),
                            PreAuthEncoding(envelope_.payloadtype(), envelope_.payload()),
                            envelope_.signatures(0).sig()));
  EXPECT_TRUE(VerifyEnvelopeSignature(envelope_, envelope_.signatures(0), key_.public_key()));
}

TEST_F(DsseSignedTest, EveryByteIsCovered) {
  const auto& sig = envelope_.signatures(0);
  for (size_t i = 0; i < envelope_.payloadtype().size(); ++i) {
    cg::v1::Envelope e = envelope_;
    (*e.mutable_payloadtype())[i] ^= 0x01;
    EXPECT_FALSE(VerifyEnvelopeSignature(e, sig, key_.public_key())) << "payloadType byte " << i;
  }
  for (size_t i = 0; i < envelope_.payload().size(); ++i) {
    cg::v1::Envelope e = envelope_;
    (*e.mutable_payload())[i] ^= 0x01;
    EXPECT_FALSE(VerifyEnvelopeSignature(e, sig, key_.public_key())) << "payload byte " << i;
  }
  for (size_t i = 0; i < sig.sig().size(); ++i) {
    cg::v1::Signature s = sig;
    (*s.mutable_sig())[i] ^= 0x01;
    EXPECT_FALSE(VerifyEnvelopeSignature(envelope_, s, key_.public_key())) << "sig byte " << i;
  }
  // Moving a byte between type and payload keeps the concatenation but not the PAE.
  cg::v1::Envelope shifted = envelope_;
  shifted.set_payloadtype(envelope_.payloadtype() + envelope_.payload().substr(0, 1));
  shifted.set_payload(envelope_.payload().substr(1));
  EXPECT_FALSE(VerifyEnvelopeSignature(shifted, sig, key_.public_key()));
}

TEST_F(DsseSignedTest, JsonIsDsseShaped) {
  const std::string json = EncodeEnvelope(envelope_, EnvelopeEncoding::kJson);
  EXPECT_NE(json.find("\"payloadType\": \"application/vnd.test+json\""), std::string::npos);
  EXPECT_NE(json.find("\"payload\": \"" + Base64Encode(envelope_.payload()) + "\""),
            std::string::npos);
  EXPECT_NE(json.find("\"keyid\": \"" + key_.key_id() + "\""), std::string::npos);
  EXPECT_NE(json.find("\"sig\": \"" + Base64Encode(envelope_.signatures(0).sig()) + "\""),
            std::string::npos);
}

TEST_F(DsseSignedTest, BothEncodingsRoundTrip) {
  for (auto encoding : {EnvelopeEncoding::kJson, EnvelopeEncoding::kBinary}) {
    auto decoded = DecodeEnvelope(EncodeEnvelope(envelope_, encoding));
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    EXPECT_EQ(decoded->SerializeAsString(), envelope_.SerializeAsString());
    EXPECT_TRUE(VerifyEnvelopeSignature(*decoded, decoded->signatures(0), key_.public_key()));
  }
}

TEST_F(DsseSignedTest, AcceptsUrlSafeBase64FromOtherImplementations) {
  std::string json = R"({"payloadType":"t","payload":")" + std::string("-_8") +
                     R"(","signatures":[{"keyid":"k","sig":"AAAA"}]})";
  auto decoded = DecodeEnvelope(json);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->payload(), "\xfb\xff");
}

TEST(DsseDecodeTest, RejectsMalformedInputWithReasons) {
  struct Case {
    std::string input;
    StatusCode code;
    std::string says;
  };
  const std::vector<Case> cases = {
      {"", StatusCode::kInvalidArgument, "empty"},
      {"{", StatusCode::kInvalidArgument, "not valid DSSE JSON"},
      {R"({"payloadType":"t","payload":"@@","signatures":[{"sig":"AAAA"}]})",
       StatusCode::kInvalidArgument, "not valid DSSE JSON"},
      {R"({"payloadType":"t","payload":"","signatures":[],"extra":1})",
       StatusCode::kInvalidArgument, "extra"},
      {R"({"payloadType":7,"payload":"","signatures":[]})", StatusCode::kInvalidArgument,
       "not valid DSSE JSON"},
      {R"({"payload":"AAAA","signatures":[{"sig":"AAAA"}]})", StatusCode::kInvalidArgument,
       "no payloadType"},
      {R"({"payloadType":"t","payload":"AAAA"})", StatusCode::kInvalidArgument, "no signatures"},
      {"\x0a\xff\xff\xff\x0f", StatusCode::kInvalidArgument, "neither"},
      {std::string(kMaxEnvelopeBytes + 1, 'x'), StatusCode::kResourceExhausted, "limit"},
  };
  for (const auto& c : cases) {
    auto decoded = DecodeEnvelope(c.input);
    ASSERT_FALSE(decoded.ok()) << c.input.substr(0, 60);
    EXPECT_EQ(decoded.status().code(), c.code) << c.input.substr(0, 60);
    EXPECT_NE(decoded.status().message().find(c.says), std::string::npos)
        << decoded.status().message();
  }
}

TEST(DsseDecodeTest, TruncatedBinaryNeverDecodesToTheOriginal) {
  SigningKey key = SigningKey::Generate();
  const std::string bytes =
      EncodeEnvelope(SignEnvelope("type", std::string(200, 'p'), key), EnvelopeEncoding::kBinary);
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto decoded = DecodeEnvelope(bytes.substr(0, n));
    if (!decoded.ok()) continue;  // most prefixes are not envelopes at all
    // A prefix that still parses lost signature bytes or payload: it must not verify.
    bool verifies = false;
    for (const auto& s : decoded->signatures()) {
      verifies |= VerifyEnvelopeSignature(*decoded, s, key.public_key());
    }
    EXPECT_FALSE(verifies) << "prefix of " << n << " bytes";
  }
}

}  // namespace
}  // namespace cg::crypto
