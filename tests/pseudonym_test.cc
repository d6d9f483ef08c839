#include "crypto/pseudonym.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "crypto/encoding.h"
#include "specs/file_io.h"

namespace cg::crypto {
namespace {

Pseudonymizer Make(char fill) { return *Pseudonymizer::FromKey(std::string(32, fill)); }

TEST(PseudonymTest, GoldenValue) {
  // Golden, computed independently with Python's hashlib.blake2b(
  //   b"cg-person-pseudonym-v1\x00A1234567", key=b"\x01" * 32, digest_size=16).
  // Both nodes must produce exactly this (specs/attestation.md, "Pseudonyms").
  auto p = Make('\x01').Pseudonymize("person:A123456(7)");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, "person:ps1-9bb9c0cebd5bb8b4adc87f5d88142e28");
}

TEST(PseudonymTest, SamePersonSamePseudonymAcrossFormatting) {
  Pseudonymizer p = Make('k');
  const std::string a = *p.Pseudonymize("person:A123456(7)");
  EXPECT_EQ(*p.Pseudonymize("a123456(7)"), a);
  EXPECT_EQ(*p.Pseudonymize("  A 123456 (7) "), a);
  EXPECT_NE(*p.Pseudonymize("A1234568"), a);
  EXPECT_TRUE(Pseudonymizer::IsPseudonym(a));
  EXPECT_EQ(a.find("123456"), std::string::npos) << "raw id leaked into the pseudonym";
}

TEST(PseudonymTest, DifferentKeysUnlinkable) {
  EXPECT_NE(*Make('a').Pseudonymize("A1234567"), *Make('b').Pseudonymize("A1234567"));
}

TEST(PseudonymTest, RejectsBadInput) {
  EXPECT_EQ(Make('k').Pseudonymize("person:").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Make('k').Pseudonymize(" - ").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Pseudonymizer::FromKey("short").status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(Pseudonymizer::IsPseudonym("person:A1234567"));
  EXPECT_FALSE(Pseudonymizer::IsPseudonym("person:ps1-XYZ"));
}

TEST(PseudonymTest, KeyFile) {
  const std::string path = ::testing::TempDir() + "/pseudonym.key";
  ASSERT_TRUE(WriteFileAtomically(path, Pseudonymizer::NewKeyFileContents(), 0600).ok());
  auto p = Pseudonymizer::FromKeyFile(path);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_TRUE(Pseudonymizer::IsPseudonym(*p->Pseudonymize("X")));
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  EXPECT_EQ(Pseudonymizer::FromKeyFile(path).status().code(), StatusCode::kPermissionDenied);
  ASSERT_TRUE(WriteFileAtomically(path, "not hex\n", 0600).ok());
  EXPECT_EQ(Pseudonymizer::FromKeyFile(path).status().code(), StatusCode::kInvalidArgument);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace cg::crypto
