#include "crypto/key_set.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>

#include "crypto/dsse.h"
#include "crypto/key_rollover.h"
#include "specs/file_io.h"
#include "specs/json.h"

namespace cg::crypto {
namespace {

namespace fs = std::filesystem;

class KeySetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/keyset-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/sz.json";
  }
  void TearDown() override { fs::remove_all(dir_); }

  KeySet MakeSaved(std::string_view passphrase = "correct horse") {
    auto set = KeySet::Create("sz-node-1", "sz", passphrase, KdfStrength::kInteractive, now_);
    EXPECT_TRUE(set.ok()) << set.status().ToString();
    EXPECT_TRUE(set->Save(path_).ok());
    return std::move(set).value();
  }

  std::string dir_;
  std::string path_;
  Clock::time_point now_ = std::chrono::floor<std::chrono::seconds>(Clock::now());
};

TEST_F(KeySetTest, SavesEncryptedWithOwnerOnlyModeAndLoadsBack) {
  KeySet created = MakeSaved();
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // The seed is nowhere in the file.
  const std::string text = *ReadFileLimited(path_, 1 << 20);
  EXPECT_EQ(text.find("plaintext_seed"), std::string::npos);
  EXPECT_NE(text.find("argon2id13"), std::string::npos);
  EXPECT_NE(text.find("xchacha20poly1305-ietf"), std::string::npos);

  auto loaded = KeySet::Load(path_, "correct horse");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->active_key().public_key(), created.active_key().public_key());
  EXPECT_EQ(loaded->active_key().Sign("m"), created.active_key().Sign("m"));
  EXPECT_EQ(loaded->node_id(), "sz-node-1");
  EXPECT_EQ(loaded->side(), "sz");
  EXPECT_TRUE(*KeySet::IsSealed(path_));
}

TEST_F(KeySetTest, WrongPassphraseIsUnauthenticated) {
  MakeSaved();
  auto loaded = KeySet::Load(path_, "wrong horse");
  EXPECT_EQ(loaded.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(loaded.status().message().find("wrong passphrase"), std::string::npos);
  EXPECT_NE(loaded.status().message().find(path_), std::string::npos);
  EXPECT_EQ(KeySet::Load(path_, "").status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(KeySetTest, CorruptedFilesAreDataLossOrUnauthenticated) {
  MakeSaved();
  cg::v1::KeySetFile file;
  ASSERT_TRUE(JsonToMessage(*ReadFileLimited(path_, 1 << 20), &file).ok());

  auto write = [&](const std::string& text) {
    ASSERT_TRUE(WriteFileAtomically(path_, text, 0600).ok());
  };
  {  // a flipped ciphertext bit
    cg::v1::KeySetFile bad = file;
    (*bad.mutable_keys(0)->mutable_secret()->mutable_ciphertext())[3] ^= 0x10;
    write(MessageToJson(bad));
    EXPECT_EQ(KeySet::Load(path_, "correct horse").status().code(), StatusCode::kUnauthenticated);
  }
  {  // a public key swapped for another: the key id no longer matches
    cg::v1::KeySetFile bad = file;
    bad.mutable_keys(0)->mutable_published()->set_public_key(SigningKey::Generate().public_key());
    write(MessageToJson(bad));
    EXPECT_EQ(KeySet::Load(path_, "correct horse").status().code(), StatusCode::kDataLoss);
  }
  {  // truncated
    const std::string text = MessageToJson(file);
    write(text.substr(0, text.size() / 2));
    auto loaded = KeySet::Load(path_, "correct horse");
    EXPECT_EQ(loaded.status().code(), StatusCode::kDataLoss);
    EXPECT_NE(loaded.status().message().find("is not a key set"), std::string::npos);
  }
  {  // garbage
    write("\x01\x02garbage");
    EXPECT_EQ(KeySet::Load(path_, "correct horse").status().code(), StatusCode::kDataLoss);
  }
  {  // absurd KDF limits must not make us allocate terabytes
    cg::v1::KeySetFile bad = file;
    bad.mutable_keys(0)->mutable_secret()->set_memlimit(1ULL << 50);
    write(MessageToJson(bad));
    EXPECT_EQ(KeySet::Load(path_, "correct horse").status().code(), StatusCode::kDataLoss);
  }
}

TEST_F(KeySetTest, RefusesFilesOthersCanRead) {
  MakeSaved();
  ASSERT_EQ(::chmod(path_.c_str(), 0644), 0);
  auto loaded = KeySet::Load(path_, "correct horse");
  EXPECT_EQ(loaded.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(loaded.status().message().find("chmod 600"), std::string::npos);
  ASSERT_EQ(::chmod(path_.c_str(), 0620), 0);  // group-writable
  EXPECT_EQ(KeySet::Load(path_, "correct horse").status().code(), StatusCode::kPermissionDenied);
  ASSERT_EQ(::chmod(path_.c_str(), 0640), 0);  // group-readable is allowed
  EXPECT_TRUE(KeySet::Load(path_, "correct horse").ok());
}

TEST_F(KeySetTest, MissingFileIsNotFound) {
  auto loaded = KeySet::Load(dir_ + "/none.json", "x");
  EXPECT_EQ(loaded.status().code(), StatusCode::kNotFound);
  EXPECT_NE(loaded.status().message().find("none.json"), std::string::npos);
}

TEST_F(KeySetTest, PlaintextKeysOnlyWithExplicitPermission) {
  auto set = KeySet::Create("hk-node-1", "hk", "", KdfStrength::kPlaintextForTests, now_);
  ASSERT_TRUE(set.ok());
  ASSERT_TRUE(set->Save(path_).ok());
  auto refused = KeySet::Load(path_, "");
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("tests only"), std::string::npos);
  KeySetLoadOptions options;
  options.allow_plaintext = true;
  auto loaded = KeySet::Load(path_, "", options);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->active_key().public_key(), set->active_key().public_key());
  EXPECT_FALSE(*KeySet::IsSealed(path_));
  // An encrypted key set needs a passphrase.
  EXPECT_EQ(KeySet::Create("n", "sz", "", KdfStrength::kInteractive, now_).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(KeySetTest, RotationRetiresOldKeyAndErasesItsSecret) {
  KeySet set = MakeSaved();
  const std::string old_id = set.active_key().key_id();
  const auto later = now_ + std::chrono::hours(24);
  ASSERT_TRUE(set.Rotate("correct horse", later).ok());
  ASSERT_TRUE(set.Save(path_).ok());
  EXPECT_NE(set.active_key().key_id(), old_id);

  auto loaded = KeySet::Load(path_, "correct horse");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->active_key().key_id(), set.active_key().key_id());
  const cg::v1::IssuerKeys keys = loaded->PublicKeys();
  ASSERT_EQ(keys.keys_size(), 2);
  EXPECT_EQ(keys.keys(0).key_id(), old_id);
  EXPECT_EQ(keys.keys(0).state(), cg::v1::KEY_STATE_RETIRED);
  // Retired kRotationOverlap after the rotation, so what a running node signs before
  // it reloads the key set stays valid.
  EXPECT_EQ(FromProtoTimestamp(keys.keys(0).not_after()), later + kRotationOverlap);
  EXPECT_EQ(keys.keys(1).state(), cg::v1::KEY_STATE_ACTIVE);
  EXPECT_EQ(FromProtoTimestamp(keys.keys(1).not_before()), later);
  EXPECT_FALSE(keys.keys(1).has_not_after());

  cg::v1::KeySetFile file;
  ASSERT_TRUE(JsonToMessage(*ReadFileLimited(path_, 1 << 20), &file).ok());
  EXPECT_FALSE(file.keys(0).has_secret()) << "a retired key's secret must be erased";
  EXPECT_TRUE(file.keys(1).has_secret());

  auto public_only = KeySet::LoadPublic(path_);
  ASSERT_TRUE(public_only.ok());
  for (const auto& entry : public_only->keys()) EXPECT_FALSE(entry.has_secret());
}

TEST_F(KeySetTest, RotationRecordsARolloverStatementSignedByBothKeys) {
  KeySet set = MakeSaved();
  EXPECT_EQ(set.RolloverChain().rollovers_size(), 0);
  const std::string old_key = set.active_key().public_key();
  const auto later = now_ + std::chrono::hours(24) + std::chrono::milliseconds(700);
  const auto second = std::chrono::floor<std::chrono::seconds>(later);
  ASSERT_TRUE(set.Rotate("correct horse", later).ok());
  ASSERT_TRUE(set.Save(path_).ok());

  const cg::v1::KeyRolloverChain chain = set.RolloverChain();
  ASSERT_EQ(chain.rollovers_size(), 1);
  const cg::v1::Envelope& statement = chain.rollovers(0);
  EXPECT_EQ(statement.payloadtype(), "application/vnd.gba-credit.keys+protobuf;version=1");
  auto rollover = PeekKeyRollover(statement);
  ASSERT_TRUE(rollover.ok()) << rollover.status().ToString();
  EXPECT_EQ(rollover->version(), 1u);
  EXPECT_EQ(rollover->node_id(), "sz-node-1");
  EXPECT_EQ(rollover->side(), "sz");
  // Signed in the rotation's (whole) second, while the old key is valid until the
  // end of it; the successor is valid from that second.
  EXPECT_EQ(FromProtoTimestamp(rollover->signed_at()), second);
  EXPECT_EQ(FromProtoTimestamp(rollover->retired().not_after()), second + kRotationOverlap);
  EXPECT_EQ(FromProtoTimestamp(rollover->successor().not_before()), second);
  const cg::v1::IssuerKeys keys = set.PublicKeys();
  EXPECT_EQ(rollover->retired().SerializeAsString(), keys.keys(0).SerializeAsString());
  EXPECT_EQ(rollover->successor().SerializeAsString(), keys.keys(1).SerializeAsString());
  // The outgoing key signs first, then the successor (proof of possession).
  ASSERT_EQ(statement.signatures_size(), 2);
  EXPECT_EQ(statement.signatures(0).keyid(), keys.keys(0).key_id());
  EXPECT_TRUE(VerifyEnvelopeSignature(statement, statement.signatures(0), old_key));
  EXPECT_EQ(statement.signatures(1).keyid(), set.active_key().key_id());
  EXPECT_TRUE(
      VerifyEnvelopeSignature(statement, statement.signatures(1), set.active_key().public_key()));

  // Kept in the file, in order, and readable without the passphrase.
  ASSERT_TRUE(set.Rotate("correct horse", later + std::chrono::hours(1)).ok());
  ASSERT_TRUE(set.Save(path_).ok());
  auto loaded = KeySet::Load(path_, "correct horse");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ASSERT_EQ(loaded->RolloverChain().rollovers_size(), 2);
  EXPECT_EQ(loaded->RolloverChain().rollovers(0).SerializeAsString(),
            statement.SerializeAsString());
  auto public_only = KeySet::LoadPublic(path_);
  ASSERT_TRUE(public_only.ok());
  EXPECT_EQ(RolloverChainOf(*public_only).SerializeAsString(),
            loaded->RolloverChain().SerializeAsString());
}

TEST_F(KeySetTest, KeySetFilesFromBeforeSignedRolloverLoadAndRotate) {
  // A key set rotated by an older version: two keys, no "rollovers" field.
  KeySet set = MakeSaved();
  ASSERT_TRUE(set.Rotate("correct horse", now_ + std::chrono::hours(1)).ok());
  ASSERT_TRUE(set.Save(path_).ok());
  cg::v1::KeySetFile file;
  ASSERT_TRUE(JsonToMessage(*ReadFileLimited(path_, 1 << 20), &file).ok());
  file.clear_rollovers();
  const std::string old_text = MessageToJson(file);
  ASSERT_EQ(old_text.find("rollovers"), std::string::npos);
  ASSERT_TRUE(WriteFileAtomically(path_, old_text, 0600).ok());

  auto loaded = KeySet::Load(path_, "correct horse");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->RolloverChain().rollovers_size(), 0);
  EXPECT_EQ(loaded->PublicKeys().keys_size(), 2);
  ASSERT_TRUE(loaded->Rotate("correct horse", now_ + std::chrono::hours(2)).ok());
  ASSERT_EQ(loaded->RolloverChain().rollovers_size(), 1);
  EXPECT_EQ(PeekKeyRollover(loaded->RolloverChain().rollovers(0))->retired().key_id(),
            loaded->PublicKeys().keys(1).key_id());
}

TEST_F(KeySetTest, RotationBeforeTheActiveKeyIsValidIsRefusedAndChangesNothing) {
  KeySet set = MakeSaved();
  const std::string active = set.active_key().key_id();
  Status rotated = set.Rotate("correct horse", now_ - std::chrono::hours(1));
  EXPECT_EQ(rotated.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(rotated.message().find("valid only from"), std::string::npos);
  EXPECT_EQ(set.active_key().key_id(), active);
  EXPECT_EQ(set.PublicKeys().keys_size(), 1);
  EXPECT_EQ(set.RolloverChain().rollovers_size(), 0);
}

TEST(PassphraseTest, FromEnvironmentOrFile) {
  ::setenv("CG_TEST_PASSPHRASE", "from env", 1);
  PassphraseSource env{.env_var = "CG_TEST_PASSPHRASE", .file = ""};
  EXPECT_EQ(*ReadPassphrase(env), "from env");
  ::unsetenv("CG_TEST_PASSPHRASE");
  auto unset = ReadPassphrase(env);
  EXPECT_EQ(unset.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(unset.status().message().find("CG_TEST_PASSPHRASE"), std::string::npos);

  const std::string path = ::testing::TempDir() + "/passphrase.txt";
  ASSERT_TRUE(WriteFileAtomically(path, "from file\nsecond line\n", 0600).ok());
  PassphraseSource file{.env_var = "", .file = path};
  EXPECT_EQ(*ReadPassphrase(file), "from file");
  ASSERT_TRUE(WriteFileAtomically(path, "\n", 0600).ok());
  EXPECT_EQ(ReadPassphrase(file).status().code(), StatusCode::kFailedPrecondition);
  std::remove(path.c_str());
  EXPECT_EQ(ReadPassphrase(file).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ReadPassphrase({}).status().code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace cg::crypto
