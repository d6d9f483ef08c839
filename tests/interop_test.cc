// Interoperability: our envelopes are plain DSSE v1 signed with Ed25519 (RFC 8032),
// so an independent implementation, the `openssl` command line (OPENSSL_BIN, OpenSSL
// 3), verifies what we sign, and we verify what it signs. The pre-authentication
// encoding is written out here from the DSSE specification, not taken from
// crypto::PreAuthEncoding, and keys travel as standard SubjectPublicKeyInfo/PKCS#8.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/attestation.h"
#include "crypto/dsse.h"
#include "crypto/ed25519.h"
#include "crypto/encoding.h"
#include "crypto/trust_list.h"
#include "crypto/verifier.h"
#include "proto/attestation.pb.h"
#include "proto/envelope.pb.h"
#include "proto/keys.pb.h"
#include "specs/json.h"
#include "specs/timestamps.h"
#include "tests/test_process.h"

namespace cg {
namespace {

using test::ProcessResult;
using test::ReadWholeFile;
using ::testing::HasSubstr;
using Args = std::vector<std::string>;
using namespace std::chrono_literals;

constexpr char kEvaluationFile[] = CG_SOURCE_DIR "/specs/examples/evaluation-sz.json";
constexpr char kVerified[] = "Signature Verified Successfully";
constexpr char kNotVerified[] = "Signature Verification Failure";

// DSSE v1 (github.com/secure-systems-lab/dsse, protocol.md), verbatim:
//   PAE(type, body) = "DSSEv1" + SP + LEN(type) + SP + type + SP + LEN(body) + SP + body
//   SP = ASCII space; LEN(s) = ASCII decimal byte length of s, without leading zeros.
std::string DssePae(std::string_view type, std::string_view body) {
  std::string pae = "DSSEv1";
  pae += ' ';
  pae += std::to_string(type.size());
  pae += ' ';
  pae += type;
  pae += ' ';
  pae += std::to_string(body.size());
  pae += ' ';
  pae += body;
  return pae;
}

// RFC 8410 DER prefixes: SubjectPublicKeyInfo and PKCS#8 PrivateKeyInfo for Ed25519,
// each followed by the 32 raw key bytes.
const std::string& SpkiPrefix() {
  static const std::string prefix("\x30\x2a\x30\x05\x06\x03\x2b\x65\x70\x03\x21\x00", 12);
  return prefix;
}
const std::string& Pkcs8Prefix() {
  static const std::string prefix(
      "\x30\x2e\x02\x01\x00\x30\x05\x06\x03\x2b\x65\x70\x04\x22\x04\x20", 16);
  return prefix;
}

std::string Pem(std::string_view label, std::string_view der) {
  const std::string base64 = crypto::Base64Encode(der);
  std::string pem = "-----BEGIN " + std::string(label) + "-----\n";
  for (size_t i = 0; i < base64.size(); i += 64) pem += base64.substr(i, 64) + "\n";
  return pem + "-----END " + std::string(label) + "-----\n";
}

ProcessResult OpenSsl(const Args& args) {
  Args argv = {OPENSSL_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  return test::RunProcess(argv);
}

ProcessResult Cli(const Args& args) {
  Args argv = {CG_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return test::RunProcess(argv);
}

class Interop : public ::testing::Test {
 protected:
  // `openssl pkeyutl -verify` of `signature` over `message` by the raw public key.
  ProcessResult OpenSslVerify(std::string_view public_key, std::string_view message,
                              std::string_view signature) {
    const std::string pub =
        dir_.WriteFile("pub.pem", Pem("PUBLIC KEY", SpkiPrefix() + std::string(public_key)));
    const std::string pae = dir_.WriteFile("pae.bin", std::string(message));
    const std::string sig = dir_.WriteFile("sig.bin", std::string(signature));
    return OpenSsl(
        {"pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin", "-in", pae, "-sigfile", sig});
  }

  // `openssl pkeyutl -sign` of `message` with the private key in PEM file `key_pem`.
  std::string OpenSslSign(const std::string& key_pem, std::string_view message) {
    const std::string in = dir_.WriteFile("to-sign.bin", std::string(message));
    const std::string out = dir_.File("signature.bin");
    const ProcessResult r =
        OpenSsl({"pkeyutl", "-sign", "-inkey", key_pem, "-rawin", "-in", in, "-out", out});
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    return ReadWholeFile(out);
  }

  // The first 16 bytes of SHA-256(bytes) in lower-case hex, computed by openssl.
  std::string OpenSslKeyId(std::string_view public_key) {
    const std::string in = dir_.WriteFile("key.raw", std::string(public_key));
    const ProcessResult r = OpenSsl({"dgst", "-sha256", "-binary", in});
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    EXPECT_EQ(r.stdout_text.size(), 32u);
    return crypto::HexEncode(r.stdout_text.substr(0, 16));
  }

  test::TempDir dir_;
};

TEST_F(Interop, PaeIsTheDsseSpecExample) {
  // The worked example of the DSSE protocol description.
  EXPECT_EQ(DssePae("http://example.com/HelloWorld", "hello world"),
            "DSSEv1 29 http://example.com/HelloWorld 11 hello world");
  EXPECT_EQ(DssePae("", ""), "DSSEv1 0  0 ");
  // The library agrees, including on bytes that are not text.
  const std::string body("\0 \xff\n", 4);
  EXPECT_EQ(crypto::PreAuthEncoding("a b", body), DssePae("a b", body));
  EXPECT_EQ(crypto::PreAuthEncoding("http://example.com/HelloWorld", "hello world"),
            DssePae("http://example.com/HelloWorld", "hello world"));
}

// An attestation made by the command line, in both encodings, checked by OpenSSL.
TEST_F(Interop, OpenSslVerifiesCliEnvelopes) {
  const std::string key_file = dir_.File("node.key");
  ASSERT_EQ(Cli({"keygen", "--out", key_file, "--node-id", "sz-node-1", "--side", "sz",
                 "--plaintext-for-tests"})
                .exit_code,
            0);
  const std::string trust_file = dir_.File("trust.json");
  ASSERT_EQ(Cli({"key", "export", "--key", key_file, "--out", trust_file}).exit_code, 0);
  cg::v1::TrustList trust;
  ASSERT_TRUE(JsonToMessage(ReadWholeFile(trust_file), &trust).ok());
  ASSERT_EQ(trust.issuers_size(), 1);
  ASSERT_EQ(trust.issuers(0).keys_size(), 1);
  const cg::v1::PublicKeyEntry& key = trust.issuers(0).keys(0);
  ASSERT_EQ(key.public_key().size(), 32u);
  // Key ids are computable by anyone: SHA-256 of the raw key, first 16 bytes, hex.
  EXPECT_EQ(key.key_id(), OpenSslKeyId(key.public_key()));

  for (const std::string format : {"json", "binary"}) {
    SCOPED_TRACE(format);
    const std::string file = dir_.File("att." + format);
    const ProcessResult attest =
        Cli({"attest", "--key", key_file, "--plaintext-for-tests", "--evaluation", kEvaluationFile,
             "--out", file, "--format", format});
    ASSERT_EQ(attest.exit_code, 0) << attest.Describe();
    const std::string bytes = ReadWholeFile(file);
    cg::v1::Envelope envelope;
    if (format == "json") {
      // DSSE's JSON envelope field names.
      for (const char* field :
           {"\"payload\"", "\"payloadType\"", "\"signatures\"", "\"sig\"", "\"keyid\""}) {
        EXPECT_THAT(bytes, HasSubstr(field));
      }
      ASSERT_TRUE(JsonToMessage(bytes, &envelope).ok());
    } else {
      ASSERT_TRUE(envelope.ParseFromString(bytes));
    }
    EXPECT_EQ(envelope.payloadtype(), crypto::kAttestationPayloadType);
    ASSERT_EQ(envelope.signatures_size(), 1);
    EXPECT_EQ(envelope.signatures(0).keyid(), key.key_id());
    const std::string& sig = envelope.signatures(0).sig();
    ASSERT_EQ(sig.size(), 64u);
    const std::string pae = DssePae(envelope.payloadtype(), envelope.payload());

    const ProcessResult good = OpenSslVerify(key.public_key(), pae, sig);
    EXPECT_EQ(good.exit_code, 0) << good.Describe();
    EXPECT_THAT(good.stdout_text, HasSubstr(kVerified));

    std::string altered = pae;
    altered[altered.size() / 2] ^= 0x01;
    const ProcessResult bad = OpenSslVerify(key.public_key(), altered, sig);
    EXPECT_EQ(bad.exit_code, 1) << bad.Describe();
    EXPECT_THAT(bad.stdout_text, HasSubstr(kNotVerified));

    // A signature over the bare payload is not a DSSE signature.
    EXPECT_EQ(OpenSslVerify(key.public_key(), envelope.payload(), sig).exit_code, 1);
  }
}

// Ed25519 is deterministic: OpenSSL signing the PAE with the same private key (as
// PKCS#8) produces the library's signature byte for byte, over a payload with every
// kind of byte and a four-digit length.
TEST_F(Interop, LibrarySignatureIsByteForByteOpenSsls) {
  std::string seed;
  for (int i = 0; i < 32; ++i) seed += static_cast<char>(0xa0 + i);
  auto key = crypto::SigningKey::FromSeed(seed);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  std::string payload;
  for (int i = 0; i < 1000; ++i) payload += static_cast<char>(i * 7);
  const std::string type = "application/x-interop; version=1";
  const cg::v1::Envelope envelope = crypto::SignEnvelope(type, payload, *key);
  const std::string pae = DssePae(type, payload);

  const ProcessResult verified =
      OpenSslVerify(key->public_key(), pae, envelope.signatures(0).sig());
  EXPECT_EQ(verified.exit_code, 0) << verified.Describe();
  EXPECT_THAT(verified.stdout_text, HasSubstr(kVerified));

  const std::string private_pem =
      dir_.WriteFile("private.pem", Pem("PRIVATE KEY", Pkcs8Prefix() + seed), 0600);
  EXPECT_EQ(OpenSslSign(private_pem, pae), envelope.signatures(0).sig());
  // OpenSSL derives the same public key from the seed.
  const std::string der = dir_.File("pub.der");
  ASSERT_EQ(
      OpenSsl({"pkey", "-in", private_pem, "-pubout", "-outform", "DER", "-out", der}).exit_code,
      0);
  EXPECT_EQ(ReadWholeFile(der), SpkiPrefix() + key->public_key());
}

// The reverse direction: an attestation signed by OpenSSL with its own key verifies
// with the library and with the command line.
TEST_F(Interop, OpenSslSignedEnvelopeVerifies) {
  const std::string private_pem = dir_.File("private.pem");
  ASSERT_EQ(OpenSsl({"genpkey", "-algorithm", "ed25519", "-out", private_pem}).exit_code, 0);
  const std::string der_file = dir_.File("pub.der");
  ASSERT_EQ(OpenSsl({"pkey", "-in", private_pem, "-pubout", "-outform", "DER", "-out", der_file})
                .exit_code,
            0);
  const std::string der = ReadWholeFile(der_file);
  ASSERT_EQ(der.size(), SpkiPrefix().size() + 32);
  ASSERT_EQ(der.substr(0, SpkiPrefix().size()), SpkiPrefix());
  const std::string public_key = der.substr(der.size() - 32);
  const std::string key_id = crypto::KeyIdOf(public_key);
  EXPECT_EQ(key_id, OpenSslKeyId(public_key));

  const Clock::time_point key_birth = std::chrono::sys_days{std::chrono::year{2020} / 1 / 1};
  cg::v1::Attestation attestation;
  attestation.set_version(1);
  attestation.set_kind(cg::v1::ATTESTATION_KIND_ATTESTATION);
  attestation.set_attestation_id("00112233445566778899aabbccddeeff");
  attestation.mutable_issuer()->set_node_id("hk-node-9");
  attestation.mutable_issuer()->set_side("hk");
  attestation.mutable_issuer()->set_key_id(key_id);
  *attestation.mutable_issued_at() = ToProtoTimestamp(key_birth + 1h);
  *attestation.mutable_valid_until() = ToProtoTimestamp(key_birth + 1h + std::chrono::days{30});
  ASSERT_TRUE(JsonToMessage(ReadWholeFile(kEvaluationFile), attestation.mutable_evaluation()).ok());
  const std::string payload = attestation.SerializeAsString();
  const std::string type(crypto::kAttestationPayloadType);
  const std::string pae = DssePae(type, payload);

  const std::string sig = OpenSslSign(private_pem, pae);
  ASSERT_EQ(sig.size(), 64u);
  EXPECT_TRUE(crypto::VerifyEd25519(public_key, pae, sig));
  std::string altered = pae;
  altered.back() ^= 0x01;
  EXPECT_FALSE(crypto::VerifyEd25519(public_key, altered, sig));

  cg::v1::Envelope envelope;
  envelope.set_payload(payload);
  envelope.set_payloadtype(type);
  cg::v1::Signature* signature = envelope.add_signatures();
  signature->set_sig(sig);
  signature->set_keyid(key_id);
  EXPECT_TRUE(crypto::VerifyEnvelopeSignature(envelope, *signature, public_key));

  cg::v1::TrustList trust_list;
  cg::v1::IssuerKeys* issuer = trust_list.add_issuers();
  issuer->set_node_id("hk-node-9");
  issuer->set_side("hk");
  cg::v1::PublicKeyEntry* entry = issuer->add_keys();
  entry->set_key_id(key_id);
  entry->set_public_key(public_key);
  *entry->mutable_not_before() = ToProtoTimestamp(key_birth);
  entry->set_state(cg::v1::KEY_STATE_ACTIVE);
  crypto::TrustList trust;
  ASSERT_TRUE(trust.Add(trust_list).ok());
  crypto::AttestationVerifier verifier(trust);
  crypto::VerifyOptions options;
  options.now = key_birth + 24h;
  const crypto::Verification v = verifier.Verify(envelope, options);
  EXPECT_TRUE(v.valid()) << crypto::VerifyFailureCode(v.failure) << ": " << v.reason;
  EXPECT_EQ(v.signer_key_id, key_id);

  // And through the command line, from files.
  const std::string envelope_file = dir_.WriteFile(
      "openssl.json", crypto::EncodeEnvelope(envelope, crypto::EnvelopeEncoding::kJson));
  const std::string trust_file = dir_.WriteFile("trust.json", MessageToJson(trust_list));
  const ProcessResult r =
      Cli({"verify", envelope_file, "--trust", trust_file, "--at", "2020-01-02T00:00:00Z"});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_THAT(r.stdout_text, HasSubstr("VALID: signed by trusted key " + key_id));
}

// OpenSSL's signature over the payload alone (not the PAE) is refused: what is
// signed is the DSSE encoding, which binds the payload type.
TEST_F(Interop, SignatureOverBarePayloadIsRefused) {
  const std::string private_pem = dir_.File("private.pem");
  ASSERT_EQ(OpenSsl({"genpkey", "-algorithm", "ed25519", "-out", private_pem}).exit_code, 0);
  const std::string der_file = dir_.File("pub.der");
  ASSERT_EQ(OpenSsl({"pkey", "-in", private_pem, "-pubout", "-outform", "DER", "-out", der_file})
                .exit_code,
            0);
  const std::string public_key = ReadWholeFile(der_file).substr(SpkiPrefix().size());
  ASSERT_EQ(public_key.size(), 32u);

  cg::v1::Envelope envelope;
  envelope.set_payload("a payload");
  envelope.set_payloadtype(std::string(crypto::kAttestationPayloadType));
  cg::v1::Signature* signature = envelope.add_signatures();
  signature->set_sig(OpenSslSign(private_pem, envelope.payload()));
  signature->set_keyid(crypto::KeyIdOf(public_key));
  EXPECT_FALSE(crypto::VerifyEnvelopeSignature(envelope, *signature, public_key));
  // The same signature over the right PAE but another payload type is refused too.
  signature->set_sig(OpenSslSign(private_pem, DssePae("text/plain", envelope.payload())));
  EXPECT_FALSE(crypto::VerifyEnvelopeSignature(envelope, *signature, public_key));
  signature->set_sig(OpenSslSign(private_pem, DssePae(envelope.payloadtype(), envelope.payload())));
  EXPECT_TRUE(crypto::VerifyEnvelopeSignature(envelope, *signature, public_key));
}

}  // namespace
}  // namespace cg
