#include "crypto/ed25519.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "crypto/digest.h"
#include "crypto/encoding.h"

namespace cg::crypto {
namespace {

struct Vector {
  std::string name, seed, public_key, message, signature;
};

std::string Unhex(const std::string& hex) {
  if (hex == "-") return "";
  auto bytes = HexDecode(hex);
  EXPECT_TRUE(bytes.ok()) << hex;
  return bytes.ok() ? *bytes : "";
}

std::vector<Vector> LoadVectors() {
  std::ifstream in(CG_SOURCE_DIR "/tests/data/ed25519_rfc8032.txt");
  EXPECT_TRUE(in.good());
  std::vector<Vector> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    Vector v;
    std::string seed, pk, msg, sig;
    fields >> v.name >> seed >> pk >> msg >> sig;
    v.seed = Unhex(seed);
    v.public_key = Unhex(pk);
    v.message = Unhex(msg);
    v.signature = Unhex(sig);
    out.push_back(v);
  }
  return out;
}

TEST(Ed25519Test, Rfc8032Vectors) {
  const auto vectors = LoadVectors();
  ASSERT_EQ(vectors.size(), 4u);
  for (const auto& v : vectors) {
    auto key = SigningKey::FromSeed(v.seed);
    ASSERT_TRUE(key.ok()) << v.name;
    EXPECT_EQ(key->public_key(), v.public_key) << v.name;
    EXPECT_EQ(key->Sign(v.message), v.signature) << v.name;
    EXPECT_TRUE(VerifyEd25519(v.public_key, v.message, v.signature)) << v.name;
    std::string altered = v.message + "x";
    EXPECT_FALSE(VerifyEd25519(v.public_key, altered, v.signature)) << v.name;
  }
}

TEST(Ed25519Test, KeyIdIsTruncatedSha256OfPublicKey) {
  const std::string pk = Unhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  EXPECT_EQ(KeyIdOf(pk), HexEncode(Sha256(pk)).substr(0, 32));
  EXPECT_EQ(KeyIdOf(pk).size(), 32u);
  auto key = SigningKey::FromSeed(
      Unhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->key_id(), KeyIdOf(pk));
}

TEST(Ed25519Test, GeneratedKeysDifferAndVerify) {
  SigningKey a = SigningKey::Generate();
  SigningKey b = SigningKey::Generate();
  EXPECT_NE(a.public_key(), b.public_key());
  const std::string sig = a.Sign("message");
  EXPECT_TRUE(VerifyEd25519(a.public_key(), "message", sig));
  EXPECT_FALSE(VerifyEd25519(b.public_key(), "message", sig));
  auto again = SigningKey::FromSeed(a.seed());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->public_key(), a.public_key());
}

TEST(Ed25519Test, WrongSizesAreInvalidNotCrashes) {
  SigningKey key = SigningKey::Generate();
  const std::string sig = key.Sign("m");
  EXPECT_FALSE(VerifyEd25519(key.public_key().substr(1), "m", sig));
  EXPECT_FALSE(VerifyEd25519(key.public_key(), "m", sig.substr(1)));
  EXPECT_FALSE(VerifyEd25519("", "m", ""));
  EXPECT_EQ(SigningKey::FromSeed("short").status().code(), StatusCode::kInvalidArgument);
}

TEST(EncodingTest, HexAndBase64) {
  EXPECT_EQ(HexEncode("\x01\xab"), "01ab");
  EXPECT_EQ(*HexDecode("01AB"), "\x01\xab");
  EXPECT_EQ(HexDecode("abc").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(HexDecode("zz").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Base64Encode("hello world"), "aGVsbG8gd29ybGQ=");
  EXPECT_EQ(*Base64Decode("aGVsbG8gd29ybGQ="), "hello world");
  EXPECT_EQ(*Base64Decode("aGVsbG8gd29ybGQ"), "hello world");
  EXPECT_EQ(*Base64Decode("-_8"), "\xfb\xff");  // URL-safe
  EXPECT_EQ(Base64Decode("a$b=").status().code(), StatusCode::kInvalidArgument);
}

TEST(DigestTest, Sha256KnownAnswer) {
  EXPECT_EQ(HexEncode(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256Hasher h;
  h.Update("a");
  h.Update("bc");
  EXPECT_EQ(h.Finish(), Sha256("abc"));
}

}  // namespace
}  // namespace cg::crypto
