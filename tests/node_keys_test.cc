#include "gateway/node_keys.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "crypto/encoding.h"
#include "specs/file_io.h"
#include "specs/json.h"

namespace cg::gateway {
namespace {

namespace fs = std::filesystem;

class NodeKeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/nodekeys-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto own = crypto::KeySet::Create("sz-node-1", "sz", "pw", crypto::KdfStrength::kInteractive,
                                      Clock::now());
    ASSERT_TRUE(own.ok());
    ASSERT_TRUE(own->Save(dir_ + "/sz.json").ok());
    own_key_id_ = own->active_key().key_id();
    auto peer = crypto::KeySet::Create("hk-node-1", "hk", "",
                                       crypto::KdfStrength::kPlaintextForTests, Clock::now());
    ASSERT_TRUE(peer.ok());
    peer_public_ = peer->active_key().public_key();
    cg::v1::TrustList list;
    *list.add_issuers() = peer->PublicKeys();
    ASSERT_TRUE(WriteFileAtomically(dir_ + "/hk-trust.json", MessageToJson(list)).ok());
    ASSERT_TRUE(WriteFileAtomically(dir_ + "/pseudonym.key",
                                    crypto::Pseudonymizer::NewKeyFileContents(), 0600)
                    .ok());
    ::setenv("CG_NODE_KEYS_TEST_PW", "pw", 1);
  }
  void TearDown() override { fs::remove_all(dir_); }

  StatusOr<config::NodeConfig> Config(const std::string& extra) {
    const std::string text = R"([node]
side = "sz"
node_id = "sz-node-1"
[signing]
key_file = "sz.json"
passphrase_env = "CG_NODE_KEYS_TEST_PW"
[pseudonym]
key_file = "pseudonym.key"
)" + extra;
    return config::ParseNodeConfig(text, "node.toml", dir_);
  }

  std::string dir_;
  std::string own_key_id_;
  std::string peer_public_;
};

TEST_F(NodeKeysTest, TrustFromKeysFileInlineKeysAndOwnKeys) {
  auto config = Config(R"([[trust]]
node_id = "hk-node-1"
side = "hk"
keys_file = "hk-trust.json"
)");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  auto trust = LoadTrustList(*config, /*include_own=*/true);
  ASSERT_TRUE(trust.ok()) << trust.status().ToString();
  EXPECT_EQ(trust->key_count(), 2u);
  EXPECT_EQ(trust->FindKey(own_key_id_)->node_id, "sz-node-1");
  EXPECT_EQ(trust->FindKey(crypto::KeyIdOf(peer_public_))->node_id, "hk-node-1");

  auto inline_config = Config(R"([[trust]]
node_id = "hk-node-1"
side = "hk"
[[trust.key]]
public_key = ")" + crypto::Base64Encode(peer_public_) +
                              R"("
not_before = 2026-01-01T00:00:00Z
)");
  ASSERT_TRUE(inline_config.ok()) << inline_config.status().ToString();
  auto inline_trust = LoadTrustList(*inline_config, /*include_own=*/false);
  ASSERT_TRUE(inline_trust.ok()) << inline_trust.status().ToString();
  const auto* key = inline_trust->FindKey(crypto::KeyIdOf(peer_public_));
  ASSERT_NE(key, nullptr);
  EXPECT_TRUE(key->entry.has_not_before());
}

TEST_F(NodeKeysTest, TrustErrorsPointAtTheConfig) {
  // A keys_file holding another node's keys.
  auto config = Config(R"([[trust]]
node_id = "hk-node-2"
side = "hk"
keys_file = "hk-trust.json"
)");
  ASSERT_TRUE(config.ok());
  auto trust = LoadTrustList(*config, false);
  EXPECT_EQ(trust.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(trust.status().message().find("node.toml:9:1: trust[0]"), std::string::npos)
      << trust.status().message();
  EXPECT_NE(trust.status().message().find("not of 'hk-node-2'"), std::string::npos);

  auto short_key = Config(R"([[trust]]
node_id = "hk-node-1"
side = "hk"
[[trust.key]]
public_key = "AAAA"
)");
  ASSERT_TRUE(short_key.ok());
  auto bad = LoadTrustList(*short_key, false);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("trust[0].key[0]"), std::string::npos);
}

TEST_F(NodeKeysTest, SigningKeysMustBelongToThisNode) {
  auto config = Config("");
  ASSERT_TRUE(config.ok());
  auto keys = LoadSigningKeys(*config);
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  EXPECT_EQ(keys->active_key().key_id(), own_key_id_);

  config->node.node_id = "sz-node-9";
  auto wrong = LoadSigningKeys(*config);
  EXPECT_EQ(wrong.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(wrong.status().message().find("made for node 'sz-node-1'"), std::string::npos);

  ::unsetenv("CG_NODE_KEYS_TEST_PW");
  config->node.node_id = "sz-node-1";
  EXPECT_EQ(LoadSigningKeys(*config).status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(NodeKeysTest, Pseudonymizer) {
  auto config = Config("");
  ASSERT_TRUE(config.ok());
  EXPECT_TRUE(LoadPseudonymizer(*config).ok());
  config->pseudonym.key_file = dir_ + "/missing.key";
  EXPECT_EQ(LoadPseudonymizer(*config).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace cg::gateway
