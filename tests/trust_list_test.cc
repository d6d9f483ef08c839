#include "crypto/trust_list.h"

#include <gtest/gtest.h>

#include "crypto/ed25519.h"
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

}  // namespace
}  // namespace cg::crypto
