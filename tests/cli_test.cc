// End-to-end tests of the `credit-gateway` command line. They run the built binary
// (CG_BINARY) on files in a temporary directory and check its exit status (0 valid,
// 1 invalid, 2 usage or input error) and what it prints. Files the command line
// cannot make (backdated keys, recognitions, status lists) are made here with the
// crypto library.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "crypto/attestation.h"
#include "crypto/digest.h"
#include "crypto/dsse.h"
#include "crypto/encoding.h"
#include "crypto/key_set.h"
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
using ::testing::AssertionFailure;
using ::testing::AssertionResult;
using ::testing::AssertionSuccess;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using Env = std::vector<std::pair<std::string, std::string>>;
using Args = std::vector<std::string>;
using namespace std::chrono_literals;

// The exit statuses the command line promises.
constexpr int kExitValid = 0;
constexpr int kExitInvalid = 1;
constexpr int kExitUsage = 2;

constexpr char kPassphrase[] = "correct horse battery staple";
constexpr char kEvaluationFile[] = CG_SOURCE_DIR "/specs/examples/evaluation-sz.json";
constexpr char kSzNode[] = "sz-node-1";
constexpr char kHkNode[] = "hk-node-1";

// Keys made with the library are "born" at KeyBirth(), so what they sign has fixed
// times and the tests do not depend on the clock: attestations are issued at
// kIssuedAt (valid for the default 30 days) and checked as of kCheckedAt.
Clock::time_point KeyBirth() { return std::chrono::sys_days{std::chrono::year{2020} / 1 / 1}; }
constexpr char kIssuedAt[] = "2020-01-01T01:00:00Z";
constexpr char kCheckedAt[] = "2020-01-02T00:00:00Z";
Clock::time_point IssuedAt() { return KeyBirth() + 1h; }

Env PassphraseEnv() { return {{"CG_KEY_PASSPHRASE", kPassphrase}}; }

// Runs credit-gateway with `args`; by default with the passphrase in the environment.
ProcessResult Cli(const Args& args, const Env& env = PassphraseEnv(),
                  std::chrono::seconds timeout = 60s) {
  Args argv = {CG_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  test::ProcessOptions options;
  options.env = env;
  options.timeout = timeout;
  return test::RunProcess(argv, options);
}

// `verify` with no secrets in its environment: verification needs none.
ProcessResult Verify(const Args& args, std::chrono::seconds timeout = 60s) {
  Args argv = {"verify"};
  argv.insert(argv.end(), args.begin(), args.end());
  return Cli(argv, {}, timeout);
}

AssertionResult Succeeded(const ProcessResult& r) {
  if (r.exited() && r.exit_code == kExitValid) return AssertionSuccess();
  return AssertionFailure() << "expected exit 0; " << r.Describe();
}

// Exit 0 and the VALID verdict first.
AssertionResult IsValid(const ProcessResult& r) {
  if (r.exited() && r.exit_code == kExitValid && r.stdout_text.starts_with("VALID: ")) {
    return AssertionSuccess();
  }
  return AssertionFailure() << "expected VALID; " << r.Describe();
}

// Exit 1, verdict INVALID with this failure code first, nothing on stderr.
AssertionResult IsInvalid(const ProcessResult& r, std::string_view code) {
  const std::string verdict = "INVALID (" + std::string(code) + "): ";
  if (r.exited() && r.exit_code == kExitInvalid && r.stdout_text.starts_with(verdict) &&
      r.stderr_text.empty()) {
    return AssertionSuccess();
  }
  return AssertionFailure() << "expected " << verdict << "with exit 1; " << r.Describe();
}

// Exit 2 with "error: " and `message` on stderr.
AssertionResult IsError(const ProcessResult& r, std::string_view message) {
  if (r.exited() && r.exit_code == kExitUsage && r.stderr_text.starts_with("error: ") &&
      r.stderr_text.find(message) != std::string::npos) {
    return AssertionSuccess();
  }
  return AssertionFailure() << "expected exit 2 and 'error: ...' mentioning '" << message << "'; "
                            << r.Describe();
}

// Exit 2 from the argument parser, naming `message` on stderr.
AssertionResult IsUsageError(const ProcessResult& r, std::string_view message) {
  if (r.exited() && r.exit_code == kExitUsage && r.stderr_text.find(message) != std::string::npos) {
    return AssertionSuccess();
  }
  return AssertionFailure() << "expected exit 2 mentioning '" << message << "'; " << r.Describe();
}

// Refused without a crash: exit 1 with a verdict, or exit 2 with an error.
AssertionResult IsRefused(const ProcessResult& r) {
  if (r.exited() && r.exit_code == kExitInvalid && r.stdout_text.starts_with("INVALID (")) {
    return AssertionSuccess();
  }
  if (r.exited() && r.exit_code == kExitUsage && r.stderr_text.starts_with("error: ")) {
    return AssertionSuccess();
  }
  return AssertionFailure() << "expected exit 1 (INVALID) or 2 (error); " << r.Describe();
}

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

// The value printed after `label` on its own line ("key id      <value>").
std::string FieldAfter(const std::string& text, std::string_view label) {
  const size_t at = text.find(label);
  if (at == std::string::npos) return {};
  const size_t start = text.find_first_not_of(' ', at + label.size());
  return text.substr(start, text.find('\n', start) - start);
}

cg::v1::Evaluation ExampleEvaluation() {
  cg::v1::Evaluation evaluation;
  EXPECT_TRUE(JsonToMessage(ReadWholeFile(kEvaluationFile), &evaluation).ok());
  return evaluation;
}

class CliTest : public ::testing::Test {
 protected:
  // A key set made by `keygen`, valid from now, sealed with kPassphrase.
  std::string Keygen(const std::string& name, const std::string& node_id = kSzNode,
                     const std::string& side = "sz") {
    const std::string path = dir_.File(name);
    const ProcessResult r = Cli(
        {"keygen", "--out", path, "--node-id", node_id, "--side", side, "--kdf", "interactive"});
    EXPECT_TRUE(Succeeded(r));
    return path;
  }

  // The Shenzhen node's key set, made with the library as of KeyBirth() and sealed
  // with kPassphrase (Argon2id "interactive"), as `keygen` would have made it then.
  const std::string& SzKeyFile() {
    if (!sz_keys_) {
      auto keys = crypto::KeySet::Create(kSzNode, "sz", kPassphrase,
                                         crypto::KdfStrength::kInteractive, KeyBirth());
      if (!keys.ok()) {
        ADD_FAILURE() << keys.status().ToString();
        return sz_key_file_;
      }
      sz_key_file_ = dir_.File("sz.key");
      EXPECT_TRUE(keys->Save(sz_key_file_).ok());
      sz_keys_.emplace(std::move(keys).value());
    }
    return sz_key_file_;
  }
  const crypto::KeySet& SzKeys() {
    SzKeyFile();
    EXPECT_TRUE(sz_keys_.has_value());
    return sz_keys_.value();
  }

  // The Hong Kong node's key set (library, unencrypted, born at KeyBirth()); it
  // signs recognitions.
  const crypto::KeySet& HkKeys() {
    if (!hk_keys_) {
      auto keys = crypto::KeySet::Create(kHkNode, "hk", "", crypto::KdfStrength::kPlaintextForTests,
                                         KeyBirth());
      EXPECT_TRUE(keys.ok()) << keys.status().ToString();
      if (keys.ok()) hk_keys_.emplace(std::move(keys).value());
    }
    return hk_keys_.value();
  }
  std::string HkTrustFile() {
    cg::v1::TrustList list;
    *list.add_issuers() = HkKeys().PublicKeys();
    return dir_.WriteFile("hk-trust.json", MessageToJson(list));
  }

  // `key export` of a key set file into a trust file.
  std::string Export(const std::string& key_file, const std::string& name) {
    const std::string path = dir_.File(name);
    EXPECT_TRUE(Succeeded(Cli({"key", "export", "--key", key_file, "--out", path}, {})));
    return path;
  }
  std::string SzTrustFile() { return Export(SzKeyFile(), "sz-trust.json"); }

  // `attest` of the example evaluation; `extra` adds options.
  std::string Attest(const std::string& key_file, const std::string& name, const Args& extra = {}) {
    const std::string path = dir_.File(name);
    Args args = {"attest", "--key", key_file, "--evaluation", kEvaluationFile, "--out", path};
    args.insert(args.end(), extra.begin(), extra.end());
    EXPECT_TRUE(Succeeded(Cli(args)));
    return path;
  }
  // An attestation by the Shenzhen key set, issued at kIssuedAt.
  std::string AttestAtIssueTime(const std::string& name, const Args& extra = {}) {
    Args args = {"--at", kIssuedAt};
    args.insert(args.end(), extra.begin(), extra.end());
    return Attest(SzKeyFile(), name, args);
  }

  cg::v1::Envelope ReadEnvelope(const std::string& path) {
    auto envelope = crypto::DecodeEnvelope(ReadWholeFile(path));
    EXPECT_TRUE(envelope.ok()) << path << ": " << envelope.status().ToString();
    return envelope.ok() ? *envelope : cg::v1::Envelope();
  }
  cg::v1::Attestation ReadAttestation(const std::string& path) {
    auto attestation = crypto::PeekAttestation(ReadEnvelope(path));
    EXPECT_TRUE(attestation.ok()) << path << ": " << attestation.status().ToString();
    return attestation.ok() ? *attestation : cg::v1::Attestation();
  }

  // A recognition by the Hong Kong node of the attestation in `attestation_file`,
  // valid until `valid_until` (by default when the attestation expires).
  std::string Recognize(const std::string& attestation_file, const std::string& name,
                        std::optional<Clock::time_point> valid_until = std::nullopt) {
    const cg::v1::Envelope recognised = ReadEnvelope(attestation_file);
    const cg::v1::Attestation a = ReadAttestation(attestation_file);
    cg::v1::Attestation r;
    r.set_kind(cg::v1::ATTESTATION_KIND_RECOGNITION);
    r.set_attestation_id(crypto::NewAttestationId());
    r.mutable_issuer()->set_node_id(kHkNode);
    r.mutable_issuer()->set_side("hk");
    *r.mutable_issued_at() = ToProtoTimestamp(FromProtoTimestamp(a.issued_at()) + 1h);
    *r.mutable_valid_until() = valid_until ? ToProtoTimestamp(*valid_until) : a.valid_until();
    *r.mutable_evaluation() = a.evaluation();
    cg::v1::RecognizedAttestation* what = r.mutable_recognizes();
    what->set_payload_digest(crypto::Sha256(recognised.payload()));
    what->set_attestation_id(a.attestation_id());
    *what->mutable_issuer() = a.issuer();
    *what->mutable_original_grade() = a.evaluation().joint_grade();
    what->mutable_translated_grade()->set_scale("hk-bureau");
    what->mutable_translated_grade()->set_grade("BBB");
    *what->mutable_valid_until() = a.valid_until();
    auto envelope = crypto::SignAttestation(std::move(r), HkKeys().active_key());
    EXPECT_TRUE(envelope.ok()) << envelope.status().ToString();
    return dir_.WriteFile(name, crypto::EncodeEnvelope(*envelope, crypto::EnvelopeEncoding::kJson));
  }

  // The Shenzhen node's signed status list with one entry, for `index`.
  std::string SignedStatusList(const std::string& name, uint64_t index,
                               const std::string& attestation_id, cg::v1::AttestationState state) {
    cg::v1::StatusList list;
    list.mutable_issuer()->set_node_id(kSzNode);
    list.mutable_issuer()->set_side("sz");
    *list.mutable_issued_at() = ToProtoTimestamp(IssuedAt() + 2h);
    list.set_next_index(index + 10);
    cg::v1::StatusEntry* entry = list.add_entries();
    entry->set_index(index);
    entry->set_attestation_id(attestation_id);
    entry->set_state(state);
    entry->set_reason("evaluation withdrawn by the issuer");
    *entry->mutable_changed_at() = ToProtoTimestamp(IssuedAt() + 2h);
    if (state == cg::v1::ATTESTATION_STATE_SUPERSEDED) entry->set_superseded_by("0123abcd");
    const cg::v1::Envelope envelope = crypto::SignStatusList(list, SzKeys().active_key());
    return dir_.WriteFile(name,
                          crypto::EncodeEnvelope(envelope, crypto::EnvelopeEncoding::kBinary));
  }

  test::TempDir dir_;

 private:
  std::string sz_key_file_;
  std::optional<crypto::KeySet> sz_keys_;
  std::optional<crypto::KeySet> hk_keys_;
};

// The suites share the fixture; each name says what it covers.
using CliRoundTrip = CliTest;
using CliTamper = CliTest;
using CliVerify = CliTest;
using CliKeyRotation = CliTest;
using CliKeyFile = CliTest;
using CliUsage = CliTest;
using CliRecognition = CliTest;
using CliStatusList = CliTest;

// ---------------------------------------------------------------------------
// Round trip: keygen -> key export -> attest -> verify.

TEST_F(CliRoundTrip, KeygenExportAttestVerifyInBothFormats) {
  const std::string key_file = dir_.File("node.key");
  const ProcessResult keygen = Cli(
      {"keygen", "--out", key_file, "--node-id", kSzNode, "--side", "sz", "--kdf", "interactive"});
  ASSERT_TRUE(Succeeded(keygen));
  EXPECT_THAT(keygen.stdout_text, HasSubstr("wrote key set " + key_file + " for node sz-node-1"));
  EXPECT_THAT(keygen.stdout_text, HasSubstr("encrypted"));
  const std::string key_id = FieldAfter(keygen.stdout_text, "key id");
  ASSERT_EQ(key_id.size(), 32u) << keygen.stdout_text;
  EXPECT_EQ(ModeOf(key_file), 0600u);
  EXPECT_THAT(ReadWholeFile(key_file), Not(HasSubstr("plaintext_seed")));

  const std::string trust = Export(key_file, "trust.json");
  const std::string trust_json = ReadWholeFile(trust);
  EXPECT_THAT(trust_json, HasSubstr(key_id));
  EXPECT_THAT(trust_json, HasSubstr("KEY_STATE_ACTIVE"));
  EXPECT_THAT(trust_json, Not(HasSubstr("secret")));

  const std::string json_envelope = Attest(key_file, "att.json");
  const std::string binary_envelope = Attest(key_file, "att.bin", {"--format", "binary"});
  EXPECT_THAT(ReadWholeFile(json_envelope), StartsWith("{"));
  EXPECT_THAT(ReadWholeFile(json_envelope), HasSubstr("\"payloadType\""));
  EXPECT_THAT(ReadWholeFile(binary_envelope), Not(StartsWith("{")));

  for (const std::string& envelope : {json_envelope, binary_envelope}) {
    SCOPED_TRACE(envelope);
    const ProcessResult r = Verify({envelope, "--trust", trust});
    EXPECT_TRUE(IsValid(r));
    EXPECT_THAT(r.stdout_text, HasSubstr("VALID: signed by trusted key " + key_id));
    EXPECT_THAT(r.stdout_text, HasSubstr("subject     " + ExampleEvaluation().subject().id()));
    EXPECT_THAT(r.stdout_text, HasSubstr("status unknown"));
  }
}

TEST_F(CliRoundTrip, VerifyJsonReportParses) {
  const std::string key_file = Keygen("node.key");
  const std::string trust = Export(key_file, "trust.json");
  const std::string envelope = Attest(key_file, "att.bin", {"--format", "binary"});

  const ProcessResult r = Verify({envelope, "--trust", trust, "--json"});
  ASSERT_TRUE(Succeeded(r));
  EXPECT_THAT(r.stdout_text, HasSubstr("\"valid\": true"));
  cg::v1::VerificationReport report;
  ASSERT_TRUE(JsonToMessage(r.stdout_text, &report).ok()) << r.stdout_text;
  EXPECT_TRUE(report.valid());
  EXPECT_EQ(report.code(), "VALID");
  EXPECT_EQ(report.attestation().evaluation().subject().id(), ExampleEvaluation().subject().id());
  EXPECT_EQ(report.payload_digest(),
            crypto::HexEncode(crypto::Sha256(ReadEnvelope(envelope).payload())));
}

TEST_F(CliRoundTrip, PassphraseFromFileIsItsFirstLine) {
  const std::string passphrase_file =
      dir_.WriteFile("passphrase", "from a file\r\nignored\n", 0600);
  const std::string key_file = dir_.File("node.key");
  ASSERT_TRUE(Succeeded(Cli({"keygen", "--out", key_file, "--node-id", kSzNode, "--side", "sz",
                             "--kdf", "interactive", "--passphrase-file", passphrase_file},
                            {})));
  const std::string trust = Export(key_file, "trust.json");

  const std::string by_file = dir_.File("by-file.json");
  EXPECT_TRUE(Succeeded(Cli({"attest", "--key", key_file, "--evaluation", kEvaluationFile, "--out",
                             by_file, "--passphrase-file", passphrase_file},
                            {})));
  EXPECT_TRUE(IsValid(Verify({by_file, "--trust", trust})));

  // The same passphrase through a named variable.
  const std::string by_env = dir_.File("by-env.json");
  EXPECT_TRUE(Succeeded(Cli({"attest", "--key", key_file, "--evaluation", kEvaluationFile, "--out",
                             by_env, "--passphrase-env", "CG_OTHER_VARIABLE"},
                            {{"CG_OTHER_VARIABLE", "from a file"}})));
  EXPECT_TRUE(IsValid(Verify({by_env, "--trust", trust})));
}

// ---------------------------------------------------------------------------
// Tampering.

TEST_F(CliTamper, FlippedPayloadByteInBinaryEnvelopeIsBadSignature) {
  const std::string trust = SzTrustFile();
  const std::string original = ReadWholeFile(AttestAtIssueTime("att.bin", {"--format", "binary"}));
  const cg::v1::Envelope envelope = ReadEnvelope(dir_.File("att.bin"));
  const size_t payload_at = original.find(envelope.payload());
  ASSERT_NE(payload_at, std::string::npos);

  for (const size_t offset :
       {size_t{0}, envelope.payload().size() / 2, envelope.payload().size() - 1}) {
    std::string tampered = original;
    tampered[payload_at + offset] ^= 0x01;
    const std::string file = dir_.WriteFile("tampered.bin", tampered);
    const ProcessResult r = Verify({file, "--trust", trust, "--at", kCheckedAt});
    EXPECT_TRUE(IsInvalid(r, "BAD_SIGNATURE")) << "payload byte " << offset;
  }
}

TEST_F(CliTamper, FlippedSignatureByteInBinaryEnvelopeIsBadSignature) {
  const std::string trust = SzTrustFile();
  const std::string original = ReadWholeFile(AttestAtIssueTime("att.bin", {"--format", "binary"}));
  const std::string sig = ReadEnvelope(dir_.File("att.bin")).signatures(0).sig();
  ASSERT_EQ(sig.size(), 64u);
  const size_t sig_at = original.find(sig);
  ASSERT_NE(sig_at, std::string::npos);

  for (const size_t offset : {size_t{0}, size_t{31}, size_t{63}}) {
    std::string tampered = original;
    tampered[sig_at + offset] ^= 0x80;
    const std::string file = dir_.WriteFile("tampered.bin", tampered);
    const ProcessResult r = Verify({file, "--trust", trust, "--at", kCheckedAt});
    EXPECT_TRUE(IsInvalid(r, "BAD_SIGNATURE")) << "signature byte " << offset;
  }
}

// Every byte outside the payload and signature contents (protobuf tags, lengths,
// payloadType, keyid) flipped in turn: the envelope is refused (exit 1 or 2), never
// accepted and never a crash.
TEST_F(CliTamper, EveryFramingByteFlippedIsRefusedWithoutCrash) {
  const std::string trust = SzTrustFile();
  const std::string original = ReadWholeFile(AttestAtIssueTime("att.bin", {"--format", "binary"}));
  const cg::v1::Envelope envelope = ReadEnvelope(dir_.File("att.bin"));
  const size_t payload_at = original.find(envelope.payload());
  const size_t sig_at = original.find(envelope.signatures(0).sig());
  ASSERT_NE(payload_at, std::string::npos);
  ASSERT_NE(sig_at, std::string::npos);
  auto inside = [](size_t i, size_t start, size_t size) { return i >= start && i < start + size; };

  int flipped = 0;
  for (size_t i = 0; i < original.size(); ++i) {
    if (inside(i, payload_at, envelope.payload().size()) ||
        inside(i, sig_at, envelope.signatures(0).sig().size())) {
      continue;
    }
    std::string tampered = original;
    tampered[i] ^= 0x01;
    const std::string file = dir_.WriteFile("tampered.bin", tampered);
    EXPECT_TRUE(IsRefused(Verify({file, "--trust", trust, "--at", kCheckedAt})))
        << "byte " << i << " of " << original.size();
    ++flipped;
  }
  EXPECT_EQ(flipped, static_cast<int>(original.size() - envelope.payload().size() -
                                      envelope.signatures(0).sig().size()));
}

TEST_F(CliTamper, ChangedBase64CharacterOfJsonPayloadIsBadSignature) {
  const std::string trust = SzTrustFile();
  const std::string original = ReadWholeFile(AttestAtIssueTime("att.json"));
  const std::string field = "\"payload\": \"";
  const size_t payload_at = original.find(field);
  ASSERT_NE(payload_at, std::string::npos) << original;
  // A character well inside the text carries six payload bits (the last may not).
  const size_t at = payload_at + field.size() + 100;

  std::string tampered = original;
  tampered[at] = tampered[at] == 'A' ? 'B' : 'A';
  const std::string file = dir_.WriteFile("tampered.json", tampered);
  EXPECT_TRUE(IsInvalid(Verify({file, "--trust", trust, "--at", kCheckedAt}), "BAD_SIGNATURE"));
  EXPECT_TRUE(IsValid(Verify({dir_.File("att.json"), "--trust", trust, "--at", kCheckedAt})));
}

TEST_F(CliTamper, ChangedPayloadTypeIsUnsupported) {
  const std::string trust = SzTrustFile();
  std::string text = ReadWholeFile(AttestAtIssueTime("att.json"));
  const size_t at = text.find("vnd.gba-credit.attestation");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 26, "vnd.gba-credit.evaluations");
  const std::string file = dir_.WriteFile("retyped.json", text);
  EXPECT_TRUE(
      IsInvalid(Verify({file, "--trust", trust, "--at", kCheckedAt}), "UNSUPPORTED_PAYLOAD_TYPE"));
}

// ---------------------------------------------------------------------------
// Each reason an envelope is not valid, through the command line.

TEST_F(CliVerify, TrustFileOfAnotherNodeIsUnknownIssuer) {
  const std::string envelope = AttestAtIssueTime("att.json");
  const std::string other_trust = Export(Keygen("other.key", "hk-node-7", "hk"), "other.json");
  const ProcessResult r = Verify({envelope, "--trust", other_trust, "--at", kCheckedAt});
  EXPECT_TRUE(IsInvalid(r, "UNKNOWN_ISSUER"));
  EXPECT_THAT(r.stdout_text, HasSubstr("'sz-node-1' is not in the trust list"));
}

TEST_F(CliVerify, TrustFileWithAnotherKeyOfTheSameNodeIsUnknownKey) {
  const std::string envelope = AttestAtIssueTime("att.json");
  const std::string other_trust = Export(Keygen("other.key", kSzNode, "sz"), "other.json");
  const ProcessResult r = Verify({envelope, "--trust", other_trust, "--at", kCheckedAt});
  EXPECT_TRUE(IsInvalid(r, "UNKNOWN_KEY"));
  EXPECT_THAT(r.stdout_text, HasSubstr(SzKeys().active_key().key_id()));
}

TEST_F(CliVerify, ExpiredNotYetValidAndValidInBetween) {
  const std::string trust = SzTrustFile();
  const std::string envelope = AttestAtIssueTime("att.json", {"--valid-for", "1d"});

  EXPECT_TRUE(IsValid(Verify({envelope, "--trust", trust, "--at", kCheckedAt})));
  // Checked now, years later.
  const ProcessResult now = Verify({envelope, "--trust", trust});
  EXPECT_TRUE(IsInvalid(now, "EXPIRED"));
  EXPECT_THAT(now.stdout_text, HasSubstr("expired at 2020-01-02T01:00:00Z"));
  // Exactly at valid_until it is no longer valid.
  EXPECT_TRUE(
      IsInvalid(Verify({envelope, "--trust", trust, "--at", "2020-01-02T01:00:00Z"}), "EXPIRED"));
  // An hour before it was issued (beyond the tolerated clock skew).
  EXPECT_TRUE(IsInvalid(Verify({envelope, "--trust", trust, "--at", "2020-01-01T00:00:00Z"}),
                        "NOT_YET_VALID"));
}

TEST_F(CliVerify, ExpiredReportInJson) {
  const std::string trust = SzTrustFile();
  const std::string envelope = AttestAtIssueTime("att.json", {"--valid-for", "1d"});
  const ProcessResult r = Verify({envelope, "--trust", trust, "--json"});
  EXPECT_EQ(r.exit_code, kExitInvalid) << r.Describe();
  cg::v1::VerificationReport report;
  ASSERT_TRUE(JsonToMessage(r.stdout_text, &report).ok()) << r.stdout_text;
  EXPECT_FALSE(report.valid());
  EXPECT_EQ(report.code(), "EXPIRED");
}

TEST_F(CliVerify, SignedBeforeTheKeyExistedIsKeyNotValidAtIssue) {
  // keygen makes a key valid from now; an issue time years earlier is outside it.
  const std::string key_file = Keygen("node.key");
  const std::string trust = Export(key_file, "trust.json");
  const std::string envelope = Attest(key_file, "att.json", {"--at", kIssuedAt});
  EXPECT_TRUE(IsInvalid(Verify({envelope, "--trust", trust, "--at", kCheckedAt}),
                        "KEY_NOT_VALID_AT_ISSUE"));
}

TEST_F(CliVerify, AudienceMismatch) {
  const std::string trust = SzTrustFile();
  const std::string envelope = AttestAtIssueTime("att.json", {"--audience", "bank-a"});
  const Args base = {envelope, "--trust", trust, "--at", kCheckedAt};

  Args other = base;
  other.insert(other.end(), {"--audience", "other"});
  const ProcessResult r = Verify(other);
  EXPECT_TRUE(IsInvalid(r, "AUDIENCE_MISMATCH"));
  EXPECT_THAT(r.stdout_text, HasSubstr("'bank-a'"));

  Args same = base;
  same.insert(same.end(), {"--audience", "bank-a"});
  EXPECT_TRUE(IsValid(Verify(same)));
}

TEST_F(CliVerify, NonceMismatch) {
  const std::string trust = SzTrustFile();
  const std::string envelope = AttestAtIssueTime("att.json", {"--nonce", "n-8f2c"});
  const Args base = {envelope, "--trust", trust, "--at", kCheckedAt};

  Args other = base;
  other.insert(other.end(), {"--nonce", "other"});
  EXPECT_TRUE(IsInvalid(Verify(other), "NONCE_MISMATCH"));

  Args same = base;
  same.insert(same.end(), {"--nonce", "n-8f2c"});
  EXPECT_TRUE(IsValid(Verify(same)));
}

// ---------------------------------------------------------------------------
// Key rotation: retired keys verify what they signed in their period, and only that.

TEST_F(CliKeyRotation, RetiredKeyVerifiesOnlyWithinItsPeriod) {
  const std::string key_file = SzKeyFile();
  const std::string old_key_id = SzKeys().active_key().key_id();
  const std::string trust_a = Export(key_file, "trust-a.json");
  const std::string before = AttestAtIssueTime("before.json");

  // Keep the pre-rotation key set: its active secret is the old key's.
  const std::string saved_key = dir_.File("saved.key");
  std::filesystem::copy_file(key_file, saved_key);

  const ProcessResult rotate = Cli({"key", "rotate", "--key", key_file});
  ASSERT_TRUE(Succeeded(rotate));
  EXPECT_THAT(rotate.stdout_text, HasSubstr("retired key " + old_key_id));
  EXPECT_EQ(ModeOf(key_file), 0600u);
  const std::string trust_b = Export(key_file, "trust-b.json");
  EXPECT_THAT(ReadWholeFile(trust_b), HasSubstr("KEY_STATE_RETIRED"));
  EXPECT_THAT(ReadWholeFile(trust_b), HasSubstr("not_after"));

  // Signed before the rotation: valid with either trust file.
  EXPECT_TRUE(IsValid(Verify({before, "--trust", trust_b, "--at", kCheckedAt})));
  EXPECT_TRUE(IsValid(Verify({before, "--trust", trust_a, "--at", kCheckedAt})));

  // Signed by the new key: only the new trust file knows it.
  const std::string after = Attest(key_file, "after.json");
  EXPECT_TRUE(IsValid(Verify({after, "--trust", trust_b})));
  EXPECT_TRUE(IsInvalid(Verify({after, "--trust", trust_a}), "UNKNOWN_KEY"));

  // Signed by the retired key (from the saved copy) after its period: the old key is
  // valid kRotationOverlap beyond the rotation, so sign a little after that.
  const std::string later = FormatRfc3339(std::chrono::floor<std::chrono::seconds>(Clock::now()) +
                                          crypto::kRotationOverlap + std::chrono::seconds(5));
  const std::string late = Attest(saved_key, "late.json", {"--at", later});
  const ProcessResult r = Verify({late, "--trust", trust_b});
  EXPECT_TRUE(IsInvalid(r, "KEY_NOT_VALID_AT_ISSUE"));
  EXPECT_THAT(r.stdout_text, HasSubstr(old_key_id));
}

TEST_F(CliKeyRotation, RotateNeedsTheRightPassphrase) {
  const std::string key_file = SzKeyFile();
  const std::string before = ReadWholeFile(key_file);
  EXPECT_TRUE(IsError(Cli({"key", "rotate", "--key", key_file}, {{"CG_KEY_PASSPHRASE", "nope"}}),
                      "wrong passphrase"));
  EXPECT_EQ(ReadWholeFile(key_file), before);
}

// An attestation signed moments before a rotation, in the same second, was signed
// while its key was active and must stay valid. The command line floors both the
// issue time and the rotation time to whole seconds, so this is the case where the
// two are equal. (When the steps straddle a second boundary the test passes
// trivially; it never fails on a correct implementation.)
TEST_F(CliKeyRotation, AttestationSignedInTheSecondOfRotationStaysValid) {
  const std::string key_file = Keygen("node.key");
  // Start just after a second boundary so attest and rotate share that second.
  const auto now = Clock::now();
  std::this_thread::sleep_until(std::chrono::ceil<std::chrono::seconds>(now) + 20ms);
  const std::string envelope = Attest(key_file, "att.json");
  ASSERT_TRUE(Succeeded(Cli({"key", "rotate", "--key", key_file})));
  const std::string trust = Export(key_file, "trust.json");
  EXPECT_TRUE(IsValid(Verify({envelope, "--trust", trust})));
}

// Signed rollover, offline: `key rollover` writes the chain, `trust accept` checks it
// against a trust file that knows only the first key and adds the successors.
TEST_F(CliKeyRotation, TrustFileKnowingOnlyTheFirstKeyCatchesUpFromTheChain) {
  const std::string key_file = SzKeyFile();
  const std::string key1 = SzKeys().active_key().key_id();
  const std::string trust = Export(key_file, "trust.json");
  const std::string by_key1 = AttestAtIssueTime("by-key1.json");

  const ProcessResult rotate = Cli({"key", "rotate", "--key", key_file});
  ASSERT_TRUE(Succeeded(rotate));
  EXPECT_THAT(rotate.stdout_text, HasSubstr("recorded a rollover statement signed by " + key1));
  const std::string key2 = FieldAfter(rotate.stdout_text, "key id");
  const std::string by_key2 = Attest(key_file, "by-key2.json");
  const ProcessResult rotate2 = Cli({"key", "rotate", "--key", key_file});
  ASSERT_TRUE(Succeeded(rotate2));
  const std::string key3 = FieldAfter(rotate2.stdout_text, "key id");
  const std::string by_key3 = Attest(key_file, "by-key3.json");
  EXPECT_TRUE(IsInvalid(Verify({by_key3, "--trust", trust}), "UNKNOWN_KEY"));

  const std::string chain = dir_.File("chain.json");
  const ProcessResult rollover = Cli({"key", "rollover", "--key", key_file, "--out", chain}, {});
  ASSERT_TRUE(Succeeded(rollover));
  EXPECT_THAT(rollover.stderr_text, HasSubstr("wrote 2 rollover statement(s) of sz-node-1"));
  EXPECT_THAT(ReadWholeFile(chain), HasSubstr("application/vnd.gba-credit.keys+protobuf"));
  // Standard output by default.
  EXPECT_EQ(Cli({"key", "rollover", "--key", key_file}, {}).stdout_text, ReadWholeFile(chain));

  const ProcessResult accept = Cli({"trust", "accept", "--trust", trust, "--rollover", chain}, {});
  ASSERT_TRUE(Succeeded(accept));
  EXPECT_THAT(accept.stdout_text, HasSubstr("added key " + key2 + " of sz-node-1 (sz)"));
  EXPECT_THAT(accept.stdout_text, HasSubstr("added key " + key3 + " of sz-node-1 (sz)"));
  EXPECT_THAT(accept.stdout_text, HasSubstr("retired key " + key1 + " of sz-node-1"));
  EXPECT_THAT(accept.stdout_text, HasSubstr("(2 key(s) added)"));

  EXPECT_TRUE(IsValid(Verify({by_key1, "--trust", trust, "--at", kCheckedAt})));
  EXPECT_TRUE(IsValid(Verify({by_key2, "--trust", trust})));
  EXPECT_TRUE(IsValid(Verify({by_key3, "--trust", trust})));
  // Key 1 now ends where its rotation did.
  EXPECT_THAT(ReadWholeFile(trust), HasSubstr("KEY_STATE_RETIRED"));

  // Accepting again changes nothing, and says so.
  const std::string text = ReadWholeFile(trust);
  const ProcessResult again = Cli({"trust", "accept", "--trust", trust, "--rollover", chain}, {});
  ASSERT_TRUE(Succeeded(again));
  EXPECT_THAT(again.stdout_text, HasSubstr("left unchanged"));
  EXPECT_EQ(ReadWholeFile(trust), text);
}

TEST_F(CliKeyRotation, TrustAcceptRefusesChainsItCannotVerify) {
  const std::string sz_trust = SzTrustFile();
  const std::string before = ReadWholeFile(sz_trust);
  // Another node's chain: its keys are not trusted here.
  const std::string hk_key = Keygen("hk.key", kHkNode, "hk");
  ASSERT_TRUE(Succeeded(Cli({"key", "rotate", "--key", hk_key})));
  const std::string hk_chain = dir_.File("hk-chain.json");
  ASSERT_TRUE(Succeeded(Cli({"key", "rollover", "--key", hk_key, "--out", hk_chain}, {})));
  EXPECT_TRUE(IsError(Cli({"trust", "accept", "--trust", sz_trust, "--rollover", hk_chain}, {}),
                      "rollover statement 1 of 1: unknown issuer 'hk-node-1'"));
  // Garbage, and a missing file.
  const std::string garbage = dir_.WriteFile("garbage.json", "\x01\x02 not json");
  EXPECT_TRUE(IsError(Cli({"trust", "accept", "--trust", sz_trust, "--rollover", garbage}, {}),
                      "not a rollover chain"));
  EXPECT_TRUE(IsError(
      Cli({"trust", "accept", "--trust", sz_trust, "--rollover", dir_.File("none.json")}, {}),
      "none.json"));
  EXPECT_EQ(ReadWholeFile(sz_trust), before);
  EXPECT_TRUE(IsUsageError(Cli({"trust", "accept", "--trust", sz_trust}, {}), "--rollover"));
}

// ---------------------------------------------------------------------------
// Key set files.

TEST_F(CliKeyFile, WrongPassphrase) {
  const std::string key_file = SzKeyFile();
  const std::string out = dir_.File("att.json");
  const ProcessResult r =
      Cli({"attest", "--key", key_file, "--evaluation", kEvaluationFile, "--out", out},
          {{"CG_KEY_PASSPHRASE", "not the passphrase"}});
  EXPECT_TRUE(IsError(r, "wrong passphrase"));
  EXPECT_THAT(r.stderr_text, HasSubstr(key_file));
  EXPECT_FALSE(std::filesystem::exists(out));
}

TEST_F(CliKeyFile, MissingPassphrase) {
  const std::string key_file = SzKeyFile();
  EXPECT_TRUE(IsError(Cli({"attest", "--key", key_file, "--evaluation", kEvaluationFile, "--out",
                           dir_.File("att.json")},
                          {}),
                      "CG_KEY_PASSPHRASE"));
  EXPECT_TRUE(IsError(Cli({"keygen", "--out", dir_.File("new.key"), "--node-id", kSzNode, "--side",
                           "sz", "--kdf", "interactive"},
                          {}),
                      "CG_KEY_PASSPHRASE"));
  EXPECT_FALSE(std::filesystem::exists(dir_.File("new.key")));
}

TEST_F(CliKeyFile, MissingKeyFile) {
  EXPECT_TRUE(IsError(Cli({"attest", "--key", dir_.File("none.key"), "--evaluation",
                           kEvaluationFile, "--out", dir_.File("att.json")}),
                      "does not exist"));
}

TEST_F(CliKeyFile, AlteredCiphertextIsRefused) {
  const std::string key_file = SzKeyFile();
  cg::v1::KeySetFile file;
  ASSERT_TRUE(JsonToMessage(ReadWholeFile(key_file), &file).ok());
  ASSERT_EQ(file.keys_size(), 1);
  std::string* ciphertext = file.mutable_keys(0)->mutable_secret()->mutable_ciphertext();
  ASSERT_EQ(ciphertext->size(), 48u);
  (*ciphertext)[5] ^= 0x01;
  const std::string altered = dir_.WriteFile("altered.key", MessageToJson(file), 0600);
  const ProcessResult r = Cli({"attest", "--key", altered, "--evaluation", kEvaluationFile, "--out",
                               dir_.File("att.json")});
  EXPECT_TRUE(IsError(r, "the key file was altered"));
}

TEST_F(CliKeyFile, ShortCiphertextIsRefused) {
  const std::string key_file = SzKeyFile();
  cg::v1::KeySetFile file;
  ASSERT_TRUE(JsonToMessage(ReadWholeFile(key_file), &file).ok());
  file.mutable_keys(0)->mutable_secret()->mutable_ciphertext()->resize(20);
  const std::string altered = dir_.WriteFile("short.key", MessageToJson(file), 0600);
  EXPECT_TRUE(IsError(Cli({"attest", "--key", altered, "--evaluation", kEvaluationFile, "--out",
                           dir_.File("att.json")}),
                      "ciphertext of the wrong size"));
}

TEST_F(CliKeyFile, TruncatedKeyFileIsRefused) {
  const std::string text = ReadWholeFile(SzKeyFile());
  const std::string truncated =
      dir_.WriteFile("truncated.key", text.substr(0, text.size() / 2), 0600);
  const ProcessResult r = Cli({"attest", "--key", truncated, "--evaluation", kEvaluationFile,
                               "--out", dir_.File("att.json")});
  EXPECT_TRUE(IsError(r, "is not a key set"));
  EXPECT_TRUE(IsError(Cli({"key", "export", "--key", truncated}, {}), "is not a key set"));
  const std::string empty = dir_.WriteFile("empty.key", "", 0600);
  EXPECT_TRUE(IsError(Cli({"key", "rotate", "--key", empty}), "is not a key set"));
}

TEST_F(CliKeyFile, KeyFileReadableByOthersIsRefused) {
  const std::string key_file = SzKeyFile();
  for (const unsigned mode : {0644u, 0604u, 0620u}) {
    ASSERT_EQ(::chmod(key_file.c_str(), mode), 0);
    const ProcessResult r = Cli({"attest", "--key", key_file, "--evaluation", kEvaluationFile,
                                 "--out", dir_.File("att.json")});
    EXPECT_TRUE(IsError(r, "chmod 600")) << std::oct << mode;
  }
  ASSERT_EQ(::chmod(key_file.c_str(), 0600), 0);
  Attest(key_file, "att.json");
}

TEST_F(CliKeyFile, PlaintextKeyOnlyWithTheTestsFlag) {
  const std::string key_file = dir_.File("plain.key");
  const ProcessResult keygen = Cli(
      {"keygen", "--out", key_file, "--node-id", kSzNode, "--side", "sz", "--plaintext-for-tests"},
      {});
  ASSERT_TRUE(Succeeded(keygen));
  EXPECT_THAT(keygen.stdout_text, HasSubstr("UNENCRYPTED (tests only)"));
  EXPECT_THAT(ReadWholeFile(key_file), HasSubstr("plaintext_seed"));
  EXPECT_EQ(ModeOf(key_file), 0600u);

  const Args attest = {
      "attest", "--key", key_file, "--evaluation", kEvaluationFile, "--out", dir_.File("att.json")};
  EXPECT_TRUE(IsError(Cli(attest), "tests only"));
  // Regression: without any passphrase set the error said the variable was missing,
  // not that the key is a plaintext test key.
  EXPECT_TRUE(IsError(Cli(attest, {}), "tests only"));

  Args allowed = attest;
  allowed.push_back("--plaintext-for-tests");
  EXPECT_TRUE(Succeeded(Cli(allowed, {})));
  EXPECT_TRUE(IsValid(Verify({dir_.File("att.json"), "--trust", Export(key_file, "trust.json")})));
}

TEST_F(CliKeyFile, KeygenDoesNotOverwriteWithoutForce) {
  const std::string key_file = Keygen("node.key");
  const std::string first = ReadWholeFile(key_file);
  const Args keygen = {"keygen", "--out", key_file, "--node-id",  kSzNode,
                       "--side", "sz",    "--kdf",  "interactive"};

  EXPECT_TRUE(IsError(Cli(keygen), "exists; use --force"));
  EXPECT_EQ(ReadWholeFile(key_file), first);

  Args forced = keygen;
  forced.push_back("--force");
  EXPECT_TRUE(Succeeded(Cli(forced)));
  EXPECT_NE(ReadWholeFile(key_file), first);
  EXPECT_EQ(ModeOf(key_file), 0600u);
}

// ---------------------------------------------------------------------------
// Envelope files that are not envelopes: exit 2 with a clear error, never a crash.

class CliBadEnvelopeInput : public CliTest {
 protected:
  void SetUp() override {
    trust_ = SzTrustFile();
    binary_ = ReadWholeFile(AttestAtIssueTime("att.bin", {"--format", "binary"}));
    json_ = ReadWholeFile(AttestAtIssueTime("att.json"));
  }
  ProcessResult VerifyFile(const std::string& path) {
    return Verify({path, "--trust", trust_, "--at", kCheckedAt}, 10s);
  }
  std::string trust_;
  std::string binary_;
  std::string json_;
};

TEST_F(CliBadEnvelopeInput, EmptyFile) {
  EXPECT_TRUE(IsError(VerifyFile(dir_.WriteFile("empty", "")), "envelope is empty"));
}

TEST_F(CliBadEnvelopeInput, RandomBytes) {
  std::mt19937 random(20261126);
  std::string bytes(4096, '\0');
  for (char& c : bytes) c = static_cast<char>(random() & 0xff);
  bytes[0] = '\x07';  // not '{', so it is read as protobuf
  EXPECT_TRUE(
      IsError(VerifyFile(dir_.WriteFile("random", bytes)), "nor a binary protobuf envelope"));
}

TEST_F(CliBadEnvelopeInput, TruncatedBinaryEnvelope) {
  for (const size_t size : {size_t{1}, size_t{2}, binary_.size() / 2, binary_.size() - 1}) {
    const std::string file = dir_.WriteFile("truncated.bin", binary_.substr(0, size));
    EXPECT_TRUE(IsError(VerifyFile(file), "nor a binary protobuf envelope")) << size << " bytes";
  }
}

TEST_F(CliBadEnvelopeInput, TruncatedJsonEnvelope) {
  for (const size_t size : {size_t{1}, json_.size() / 2, json_.size() - 3}) {
    const std::string file = dir_.WriteFile("truncated.json", json_.substr(0, size));
    EXPECT_TRUE(IsError(VerifyFile(file), "not valid DSSE JSON")) << size << " bytes";
  }
}

TEST_F(CliBadEnvelopeInput, JsonWithUnknownField) {
  std::string text = json_;
  text.insert(text.find('{') + 1, "\"comment\": \"hello\",");
  EXPECT_TRUE(IsError(VerifyFile(dir_.WriteFile("unknown.json", text)), "not valid DSSE JSON"));
}

TEST_F(CliBadEnvelopeInput, JsonWithoutSignatures) {
  EXPECT_TRUE(IsError(VerifyFile(dir_.WriteFile("unsigned.json",
                                                "{\"payload\": \"aGk=\", \"payloadType\": \"x\"}")),
                      "no signatures"));
}

TEST_F(CliBadEnvelopeInput, OversizedFile) {
  std::string big = binary_;
  big.resize(2 << 20, '\0');
  const ProcessResult r = VerifyFile(dir_.WriteFile("big.bin", big));
  EXPECT_TRUE(IsError(r, "the limit is 1048576"));
}

TEST_F(CliBadEnvelopeInput, Directory) {
  const std::string subdir = dir_.File("subdir");
  ASSERT_TRUE(std::filesystem::create_directory(subdir));
  EXPECT_TRUE(IsError(VerifyFile(subdir), "is not a regular file"));
}

TEST_F(CliBadEnvelopeInput, MissingFile) {
  EXPECT_TRUE(IsError(VerifyFile(dir_.File("missing.json")), "No such file"));
}

// A FIFO is not a regular file either; reading must not wait for a writer.
TEST_F(CliBadEnvelopeInput, Fifo) {
  const std::string fifo = dir_.File("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_TRUE(IsError(VerifyFile(fifo), "is not a regular file"));
}

TEST_F(CliBadEnvelopeInput, BadTrustAndStatusFiles) {
  const std::string envelope = dir_.File("att.json");
  EXPECT_TRUE(IsError(Verify({envelope, "--trust", dir_.File("none.json")}), "No such file"));
  EXPECT_TRUE(IsError(Verify({envelope, "--trust", dir_.WriteFile("bad.json", "{\"x\": 1}")}),
                      "is not a trust list"));
  // An attestation is not a status list.
  EXPECT_TRUE(
      IsError(Verify({envelope, "--trust", trust_, "--status", envelope}), "not a status list"));
}

TEST_F(CliBadEnvelopeInput, BadVerifyTime) {
  EXPECT_TRUE(
      IsError(Verify({dir_.File("att.json"), "--trust", trust_, "--at", "yesterday"}), "--at"));
}

// A verification time beyond 2262 overflows a nanosecond time_point. Years later
// the attestation is expired; refusing the time as out of range is fine too, but it
// must not be reported as issued "in the future".
TEST_F(CliBadEnvelopeInput, VerifyTimeFarInTheFuture) {
  for (const char* at : {"2300-01-01T00:00:00Z", "9999-12-31T00:00:00Z"}) {
    const ProcessResult r = Verify({dir_.File("att.json"), "--trust", trust_, "--at", at});
    EXPECT_TRUE(IsInvalid(r, "EXPIRED") || IsError(r, "--at")) << at << "\n" << r.Describe();
  }
}

// ---------------------------------------------------------------------------
// attest with bad input.

class CliBadEvaluation : public CliTest {
 protected:
  // attest of an evaluation file with these contents, with a good key.
  ProcessResult AttestText(const std::string& text, const Args& extra = {}) {
    Args args = {"attest",
                 "--key",
                 SzKeyFile(),
                 "--evaluation",
                 dir_.WriteFile("evaluation.json", text),
                 "--out",
                 dir_.File("att.json")};
    args.insert(args.end(), extra.begin(), extra.end());
    return Cli(args, PassphraseEnv(), 10s);
  }
  ProcessResult AttestEvaluation(const cg::v1::Evaluation& evaluation) {
    return AttestText(MessageToJson(evaluation));
  }
};

TEST_F(CliBadEvaluation, Garbage) {
  EXPECT_TRUE(IsError(AttestText("this is not JSON {"), "is not an evaluation"));
  EXPECT_TRUE(IsError(AttestText(""), "is not an evaluation"));
  EXPECT_TRUE(IsError(AttestText("{\"subject\": {\"id\": \"lei:X\"}, \"colour\": 1}"),
                      "is not an evaluation"));
  EXPECT_FALSE(std::filesystem::exists(dir_.File("att.json")));
}

TEST_F(CliBadEvaluation, BadPeriod) {
  cg::v1::Evaluation evaluation = ExampleEvaluation();
  evaluation.set_period("2026-13");
  EXPECT_TRUE(IsError(AttestEvaluation(evaluation), "period must be YYYY-MM, got '2026-13'"));
}

TEST_F(CliBadEvaluation, BadSubjectId) {
  cg::v1::Evaluation evaluation = ExampleEvaluation();
  evaluation.mutable_subject()->set_id("foo:1");
  evaluation.mutable_subject()->clear_scheme();
  const ProcessResult r = AttestEvaluation(evaluation);
  EXPECT_TRUE(IsError(r, "subject.id"));
  EXPECT_THAT(r.stderr_text, HasSubstr("'foo:"));
}

TEST_F(CliBadEvaluation, SchemeDisagreesWithSubjectId) {
  cg::v1::Evaluation evaluation = ExampleEvaluation();
  evaluation.mutable_subject()->set_scheme(cg::v1::ID_SCHEME_LEI);
  EXPECT_TRUE(IsError(AttestEvaluation(evaluation), "subject.scheme disagrees"));
}

TEST_F(CliBadEvaluation, JointPdOutOfRange) {
  cg::v1::Evaluation evaluation = ExampleEvaluation();
  evaluation.set_joint_pd(2.0);
  EXPECT_TRUE(IsError(AttestEvaluation(evaluation), "joint_pd must be between 0 and 1"));
}

TEST_F(CliBadEvaluation, MissingEvaluationFile) {
  const ProcessResult r = Cli({"attest", "--key", SzKeyFile(), "--evaluation",
                               dir_.File("none.json"), "--out", dir_.File("att.json")});
  EXPECT_TRUE(IsUsageError(r, "File does not exist: " + dir_.File("none.json")));
}

TEST_F(CliBadEvaluation, FifoAsEvaluationFile) {
  const std::string fifo = dir_.File("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const ProcessResult r =
      Cli({"attest", "--key", SzKeyFile(), "--evaluation", fifo, "--out", dir_.File("att.json")},
          PassphraseEnv(), 10s);
  EXPECT_TRUE(IsError(r, "is not a regular file"));
}

TEST_F(CliBadEvaluation, BadValidityAndTime) {
  const std::string good = ReadWholeFile(kEvaluationFile);
  EXPECT_TRUE(IsError(AttestText(good, {"--valid-for", "0d"}), "--valid-for must be more than 0"));
  EXPECT_TRUE(IsError(AttestText(good, {"--valid-for", "soon"}), "--valid-for"));
  EXPECT_TRUE(IsError(AttestText(good, {"--at", "2026-02-30T00:00:00"}), "--at"));
}

// A validity that runs past what a time_point can hold (year 2262) must be refused
// as such, not wrap around.
TEST_F(CliBadEvaluation, ValidityBeyondRepresentableTimes) {
  const ProcessResult r =
      AttestText(ReadWholeFile(kEvaluationFile), {"--at", kIssuedAt, "--valid-for", "15700w"});
  EXPECT_TRUE(IsError(r, "--valid-for"));
  EXPECT_FALSE(std::filesystem::exists(dir_.File("att.json")));
}

// An issue time after 2262 must be refused, not signed as a wrapped-around time.
TEST_F(CliBadEvaluation, IssueTimeBeyondRepresentableTimes) {
  const ProcessResult r =
      AttestText(ReadWholeFile(kEvaluationFile), {"--at", "9999-12-31T00:00:00Z"});
  EXPECT_TRUE(IsError(r, "--at"));
  EXPECT_FALSE(std::filesystem::exists(dir_.File("att.json")));
}

// ---------------------------------------------------------------------------
// Usage.

TEST_F(CliUsage, NoArguments) {
  EXPECT_TRUE(IsUsageError(Cli({}, {}), "A subcommand is required"));
  EXPECT_TRUE(IsUsageError(Cli({"key"}, {}), "A subcommand is required"));
}

TEST_F(CliUsage, HelpForEveryCommand) {
  const std::vector<Args> commands = {{},         {"verify"},        {"keygen"},
                                      {"attest"}, {"key", "rotate"}, {"key", "export"}};
  for (const Args& command : commands) {
    std::string usage = "Usage: credit-gateway";
    for (const std::string& word : command) usage += " " + word;
    Args args = command;
    args.push_back("--help");
    const ProcessResult r = Cli(args, {});
    EXPECT_TRUE(Succeeded(r)) << usage;
    EXPECT_THAT(r.stdout_text, HasSubstr(usage));
  }
}

TEST_F(CliUsage, Version) {
  const ProcessResult r = Cli({"--version"}, {});
  EXPECT_TRUE(Succeeded(r));
  EXPECT_THAT(r.stdout_text, HasSubstr("credit-gateway 0.1.0"));
}

TEST_F(CliUsage, UnknownOptionOrCommand) {
  EXPECT_TRUE(
      IsUsageError(Cli({"verify", "--bogus", "x.json", "--trust", "t.json"}, {}), "--bogus"));
  EXPECT_TRUE(IsUsageError(Cli({"frobnicate"}, {}), "A subcommand is required"));
  EXPECT_TRUE(
      IsUsageError(Cli({"keygen", "--out", dir_.File("k"), "--node-id", "SZ_1", "--side", "sz"}),
                   "node id must be 1-64 characters of a-z, 0-9 and"));
  EXPECT_TRUE(IsUsageError(
      Cli({"keygen", "--out", dir_.File("k"), "--node-id", "sz-1", "--side", "mo"}), "--side"));
  EXPECT_FALSE(std::filesystem::exists(dir_.File("k")));
}

TEST_F(CliUsage, MissingRequiredOptions) {
  // verify needs to know whom to trust.
  EXPECT_TRUE(IsUsageError(Cli({"verify", dir_.File("x.json")}, {}), "--trust"));
  EXPECT_TRUE(IsUsageError(Cli({"attest", "--key", "k"}, {}), "--evaluation is required"));
  EXPECT_TRUE(IsUsageError(Cli({"verify", "a", "b", "c", "--trust", "t"}, {}),
                           "At Most 2 required but received 3"));
}

// ---------------------------------------------------------------------------
// A Hong Kong recognition of a Shenzhen attestation, verified as a pair.

TEST_F(CliRecognition, PairVerifiesInEitherOrder) {
  const std::string attestation = AttestAtIssueTime("att.json");
  const std::string recognition = Recognize(attestation, "rec.json");
  const std::string sz_trust = SzTrustFile();
  const std::string hk_trust = HkTrustFile();

  for (const Args& order : {Args{recognition, attestation}, Args{attestation, recognition}}) {
    Args args = order;
    args.insert(args.end(), {"--trust", sz_trust, "--trust", hk_trust, "--at", kCheckedAt});
    const ProcessResult r = Verify(args);
    EXPECT_TRUE(IsValid(r)) << order[0];
    EXPECT_THAT(r.stdout_text, HasSubstr("the recognition and the attestation it recognises"));
    EXPECT_THAT(r.stdout_text,
                HasSubstr("recognises  " + ReadAttestation(attestation).attestation_id()));
  }

  // The recognition alone verifies, with a note that its attestation was not checked.
  const ProcessResult alone = Verify({recognition, "--trust", hk_trust, "--at", kCheckedAt});
  EXPECT_TRUE(IsValid(alone));
  EXPECT_THAT(alone.stdout_text, HasSubstr("note: only the recognition was checked"));

  // Without the Shenzhen trust file, the pair fails with the attestation's reason.
  EXPECT_TRUE(IsInvalid(Verify({recognition, attestation, "--trust", hk_trust, "--at", kCheckedAt}),
                        "UNKNOWN_ISSUER"));
}

TEST_F(CliRecognition, PairReportInJson) {
  const std::string attestation = AttestAtIssueTime("att.json");
  const std::string recognition = Recognize(attestation, "rec.json");
  const ProcessResult r = Verify({recognition, attestation, "--trust", SzTrustFile(), "--trust",
                                  HkTrustFile(), "--at", kCheckedAt, "--json"});
  ASSERT_TRUE(Succeeded(r));
  cg::v1::VerificationReport report;
  ASSERT_TRUE(JsonToMessage(r.stdout_text, &report).ok()) << r.stdout_text;
  EXPECT_TRUE(report.valid());
  EXPECT_EQ(report.attestation().kind(), cg::v1::ATTESTATION_KIND_RECOGNITION);
  EXPECT_TRUE(report.recognised().valid());
  EXPECT_EQ(report.recognised().attestation().issuer().node_id(), kSzNode);
}

TEST_F(CliRecognition, RecognitionOfAnotherAttestationIsMismatch) {
  const std::string attestation = AttestAtIssueTime("att.json");
  const std::string other = AttestAtIssueTime("other.json");
  const std::string recognition = Recognize(attestation, "rec.json");
  const ProcessResult r = Verify(
      {recognition, other, "--trust", SzTrustFile(), "--trust", HkTrustFile(), "--at", kCheckedAt});
  EXPECT_TRUE(IsInvalid(r, "RECOGNITION_MISMATCH"));
}

TEST_F(CliRecognition, RecognitionOutlivingItsAttestation) {
  const std::string attestation = AttestAtIssueTime("att.json", {"--valid-for", "7d"});
  const std::string recognition =
      Recognize(attestation, "rec.json", IssuedAt() + std::chrono::days{8});
  const ProcessResult r = Verify({attestation, recognition, "--trust", SzTrustFile(), "--trust",
                                  HkTrustFile(), "--at", kCheckedAt});
  EXPECT_TRUE(IsInvalid(r, "RECOGNITION_OUTLIVES_ATTESTATION"));
}

TEST_F(CliRecognition, TwoAttestationsAreNotAPair) {
  const std::string attestation = AttestAtIssueTime("att.json");
  const std::string other = AttestAtIssueTime("other.json");
  EXPECT_TRUE(IsInvalid(Verify({attestation, other, "--trust", SzTrustFile(), "--at", kCheckedAt}),
                        "MALFORMED"));
}

// ---------------------------------------------------------------------------
// Saved status lists.

TEST_F(CliStatusList, Revoked) {
  const std::string envelope = AttestAtIssueTime("att.json", {"--status-index", "7"});
  const std::string id = ReadAttestation(envelope).attestation_id();
  const std::string status =
      SignedStatusList("status.bin", 7, id, cg::v1::ATTESTATION_STATE_REVOKED);
  const ProcessResult r =
      Verify({envelope, "--trust", SzTrustFile(), "--status", status, "--at", kCheckedAt});
  EXPECT_TRUE(IsInvalid(r, "REVOKED"));
  EXPECT_THAT(r.stdout_text, HasSubstr("evaluation withdrawn by the issuer"));
}

TEST_F(CliStatusList, Superseded) {
  const std::string envelope = AttestAtIssueTime("att.json", {"--status-index", "7"});
  const std::string id = ReadAttestation(envelope).attestation_id();
  const std::string status =
      SignedStatusList("status.bin", 7, id, cg::v1::ATTESTATION_STATE_SUPERSEDED);
  const ProcessResult r =
      Verify({envelope, "--trust", SzTrustFile(), "--status", status, "--at", kCheckedAt});
  EXPECT_TRUE(IsInvalid(r, "SUPERSEDED"));
  EXPECT_THAT(r.stdout_text, HasSubstr("by 0123abcd"));
}

TEST_F(CliStatusList, WithoutStatusListStateIsUnknown) {
  const std::string envelope = AttestAtIssueTime("att.json", {"--status-index", "7"});
  const ProcessResult r = Verify({envelope, "--trust", SzTrustFile(), "--at", kCheckedAt});
  EXPECT_TRUE(IsValid(r));
  EXPECT_THAT(r.stdout_text, HasSubstr("status unknown"));
}

TEST_F(CliStatusList, OtherIndexRevokedStateIsActive) {
  const std::string envelope = AttestAtIssueTime("att.json", {"--status-index", "7"});
  const std::string status =
      SignedStatusList("status.bin", 3, "some-other-id", cg::v1::ATTESTATION_STATE_REVOKED);
  const ProcessResult r =
      Verify({envelope, "--trust", SzTrustFile(), "--status", status, "--at", kCheckedAt});
  EXPECT_TRUE(IsValid(r));
  EXPECT_THAT(r.stdout_text, HasSubstr("status active"));
}

TEST_F(CliStatusList, StatusListFromAnUntrustedKeyIsRefused) {
  const std::string envelope = AttestAtIssueTime("att.json", {"--status-index", "7"});
  const std::string id = ReadAttestation(envelope).attestation_id();
  const std::string status =
      SignedStatusList("status.bin", 7, id, cg::v1::ATTESTATION_STATE_REVOKED);
  const std::string other_trust = Export(Keygen("other.key"), "other.json");
  EXPECT_TRUE(IsError(Verify({envelope, "--trust", other_trust, "--status", status}),
                      "not signed by a trusted key"));
}

// ---------------------------------------------------------------------------
// The process runner the tests above rely on.

TEST(CliTestProcess, StdinStdoutAndExitCode) {
  test::ProcessOptions options;
  options.stdin_text = "hello\n";
  const ProcessResult cat = test::RunProcess({"/bin/cat"}, options);
  EXPECT_TRUE(cat.exited());
  EXPECT_EQ(cat.exit_code, 0);
  EXPECT_EQ(cat.stdout_text, "hello\n");

  const ProcessResult sh = test::RunProcess({"/bin/sh", "-c", "echo out; echo oops >&2; exit 3"});
  EXPECT_EQ(sh.exit_code, 3);
  EXPECT_EQ(sh.stdout_text, "out\n");
  EXPECT_EQ(sh.stderr_text, "oops\n");
}

TEST(CliTestProcess, LargeOutputOnBothStreams) {
  const ProcessResult r =
      test::RunProcess({"/bin/sh", "-c", "head -c 300000 /dev/zero; head -c 200000 /dev/zero >&2"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.stdout_text.size(), 300000u);
  EXPECT_EQ(r.stderr_text.size(), 200000u);
}

TEST(CliTestProcess, SignalTimeoutAndMissingProgram) {
  const ProcessResult killed = test::RunProcess({"/bin/sh", "-c", "kill -TERM $$"});
  EXPECT_FALSE(killed.exited());
  EXPECT_EQ(killed.term_signal, SIGTERM);
  EXPECT_EQ(killed.exit_code, -1);

  test::ProcessOptions options;
  options.timeout = 1s;
  const auto start = std::chrono::steady_clock::now();
  const ProcessResult slow = test::RunProcess({"/bin/sleep", "30"}, options);
  EXPECT_TRUE(slow.timed_out);
  EXPECT_EQ(slow.term_signal, SIGKILL);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);

  const ProcessResult missing = test::RunProcess({"/nonexistent/program"});
  EXPECT_EQ(missing.exit_code, 127);
}

TEST(CliTestProcess, EnvironmentHasOnlyTheNamedCgVariables) {
  ASSERT_EQ(::setenv("CG_LEAKED_SECRET", "x", 1), 0);
  test::ProcessOptions options;
  options.env = {{"CG_GIVEN", "1"}, {"HOME", "/nowhere"}};
  const ProcessResult r = test::RunProcess({"/usr/bin/env"}, options);
  ::unsetenv("CG_LEAKED_SECRET");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.stdout_text, HasSubstr("CG_GIVEN=1\n"));
  EXPECT_THAT(r.stdout_text, HasSubstr("HOME=/nowhere\n"));
  EXPECT_THAT(r.stdout_text, Not(HasSubstr("CG_LEAKED_SECRET")));
}

TEST(CliTestProcess, TempDirIsRemovedWithItsContents) {
  std::string path;
  {
    test::TempDir dir;
    path = dir.path();
    ASSERT_TRUE(std::filesystem::is_directory(path));
    ASSERT_TRUE(std::filesystem::create_directory(dir.File("sub")));
    dir.WriteFile("sub/file", "contents", 0400);
    EXPECT_EQ(ReadWholeFile(dir.File("sub/file")), "contents");
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

}  // namespace
}  // namespace cg
