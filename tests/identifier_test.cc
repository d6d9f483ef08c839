#include "mapping/identifier.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>

namespace cg::mapping {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::string_view kUsccAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY";
constexpr std::string_view kAlphanumeric = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

// The identifier is rejected with kInvalidArgument and a message containing `reason`.
void ExpectRejected(std::string_view text, std::string_view reason) {
  SCOPED_TRACE(std::string(text));
  const StatusOr<EntityId> id = ParseEntityId(text);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(id.status().message(), HasSubstr(std::string(reason)));
}

void ExpectAccepted(std::string_view text, IdScheme scheme) {
  SCOPED_TRACE(std::string(text));
  const StatusOr<EntityId> id = ParseEntityId(text);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(id->scheme, scheme);
  EXPECT_EQ(id->ToString(), text);
}

// ---------------------------------------------------------------------------------------
// USCC

TEST(IdentifierUsccTest, AcceptsPublishedCodes) {
  // Codes quoted in public sources (python-stdnum's documentation, an EV certificate's
  // subject serial number, bug reports); each satisfies both check characters.
  for (std::string_view code : {"91110000600037341L", "91420000737944946L", "91440300MA5H8REU3K",
                                "91440300MA5DLQQW0F", "91310000MA1FW1BXX2", "12440600MB2C07549J"}) {
    ExpectAccepted("uscc:" + std::string(code), IdScheme::kUscc);
    EXPECT_TRUE(ValidateUscc(code).ok()) << code;
  }
}

TEST(IdentifierUsccTest, GoldenCheckCharacters) {
  // Computed independently (a short Python script written from GB 32100 and GB 11714).
  EXPECT_EQ(UsccCheckCharacter("91440300MA5H8REU3"), 'K');
  EXPECT_EQ(UsccCheckCharacter("91440300MA5G2U7B8"), '8');
  EXPECT_EQ(UsccCheckCharacter("91440300000871092"), '0');  // 31 is written '0'
  EXPECT_EQ(OrganizationCodeCheckCharacter("MA5H8REU"), '3');
  EXPECT_EQ(OrganizationCodeCheckCharacter("MA5G2U7B"), '8');
  EXPECT_EQ(OrganizationCodeCheckCharacter("MA1FW1BX"), 'X');  // 10 is written 'X'
  EXPECT_EQ(OrganizationCodeCheckCharacter("MA5DLQQW"), '0');  // 11 is written '0'
  EXPECT_EQ(OrganizationCodeCheckCharacter("00000006"), 'X');
  ExpectAccepted("uscc:91440300MA5G2U7B88", IdScheme::kUscc);
  ExpectRejected("uscc:91440300MA5G2U7B8X", "check character is 'X', expected '8'");
  ExpectAccepted("uscc:914403000008710920", IdScheme::kUscc);
  ExpectAccepted("uscc:91440300000000000E", IdScheme::kUscc);
  ExpectAccepted("uscc:93440300123456788F", IdScheme::kUscc);
}

TEST(IdentifierUsccTest, CheckFunctionsRefuseMalformedInput) {
  EXPECT_EQ(UsccCheckCharacter("91440300MA5H8REU"), '\0');   // 16 characters
  EXPECT_EQ(UsccCheckCharacter("91440300MA5H8REUI"), '\0');  // I is not in the set
  EXPECT_EQ(UsccCheckCharacter("91440300ma5h8reu3"), '\0');  // lower case
  EXPECT_EQ(OrganizationCodeCheckCharacter("MA5H8RE"), '\0');
  EXPECT_EQ(OrganizationCodeCheckCharacter("MA5H8RE-"), '\0');
}

TEST(IdentifierUsccTest, RejectsWrongFinalCheckCharacter) {
  const StatusOr<EntityId> id = ParseEntityId("uscc:91440300MA5H8REU3X");
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(id.status().message(), "uscc:91440300MA5H8REU3X: check character is 'X', expected 'K'");
  EXPECT_EQ(ValidateUscc("91440300MA5H8REU3X").message(), "check character is 'X', expected 'K'");
}

TEST(IdentifierUsccTest, RejectsWrongOrganizationCodeCheckCharacter) {
  // Passes the final check but not GB 11714: position 17 should be '8'.
  EXPECT_EQ(UsccCheckCharacter("91440300MA5G2U7B3"), 'Q');
  ExpectRejected("uscc:91440300MA5G2U7B3Q",
                 "organisation code check character (position 17) is '3', expected '8'");
}

TEST(IdentifierUsccTest, RejectsLegacyCodeThatBreaksTheFinalCheck) {
  // Reported as in use (Xiamen, registered before 2016; hutool issue #4119) although its
  // final character breaks GB 32100. Rejected on purpose: DESIGN.md §4, never a silent fix.
  ExpectRejected("uscc:91350203M0001QKT19", "check character is '9', expected 'F'");
}

TEST(IdentifierUsccTest, RejectsEveryKindOfMalformation) {
  ExpectRejected("uscc:91440300ma5h8reu3k",
                 "lowercase letters are not allowed ('m' at position 9)");
  ExpectRejected("uscc: 91440300MA5H8REU3K", "spaces are not allowed (position 1)");
  ExpectRejected("uscc:91440300MA5H8REU3K ", "spaces are not allowed (position 19)");
  ExpectRejected("uscc:914403 00MA5H8REU3K", "spaces are not allowed (position 7)");
  ExpectRejected("uscc:91440300MA5H8REU3", "18 characters expected, got 17");
  ExpectRejected("uscc:91440300MA5H8REU3KK", "18 characters expected, got 19");
  ExpectRejected("uscc:", "18 characters expected, got 0");
  ExpectRejected("uscc:91440300IA5H8REU3K",
                 "character 'I' at position 9 is not in the USCC character set");
  for (char excluded : {'I', 'O', 'S', 'V', 'Z'}) {
    std::string code = "91440300MA5H8REU3K";
    code[10] = excluded;
    ExpectRejected("uscc:" + code, "character '" + std::string(1, excluded) +
                                       "' at position 11 is not in the USCC character set");
  }
  ExpectRejected("uscc:91440A00MA5H8REU3K",
                 "character 'A' at position 6 is not a digit (positions 3-8 are the "
                 "administrative division code)");
  ExpectRejected("uscc:91440300MA5H-REU3K", "character '-' at position 13");
  ExpectRejected("uscc:9144030\xc3\xa9MA5H8REU3", "character '\\xc3' at position 8");
}

// ---------------------------------------------------------------------------------------
// LEI

TEST(IdentifierLeiTest, AcceptsPublishedLeis) {
  for (std::string_view lei :
       {"5493001KJTIIGC8Y1R12", "7H6GLXDRUGQFU57RNE97", "HWUPKR0MPOU8FGXBT394",
        "529900T8BM49AURSDO55", "969500KSV493XWY0PS33"}) {
    ExpectAccepted("lei:" + std::string(lei), IdScheme::kLei);
    EXPECT_TRUE(ValidateLei(lei).ok()) << lei;
  }
}

TEST(IdentifierLeiTest, GoldenCheckDigits) {
  EXPECT_EQ(LeiCheckDigits("5493001KJTIIGC8Y1R"), "12");
  EXPECT_EQ(LeiCheckDigits("969500KSV493XWY0PS"), "33");
  EXPECT_EQ(LeiCheckDigits("000000000000000097"), "98");  // base = 0 mod 97
  EXPECT_EQ(LeiCheckDigits("5493001KJTIIGC8Y1"), "");     // 17 characters
  EXPECT_EQ(LeiCheckDigits("5493001KJTIIGC8Y1r"), "");    // lower case
  EXPECT_EQ(LeiCheckDigits("5493001KJTIIGC8Y1-"), "");
}

TEST(IdentifierLeiTest, RejectsEveryKindOfMalformation) {
  const StatusOr<EntityId> id = ParseEntityId("lei:5493001KJTIIGC8Y1R13");
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(id.status().message(),
            "lei:5493001KJTIIGC8Y1R13: check digits are '13', expected '12'");
  ExpectRejected("lei:5493001kjtiigc8y1r12",
                 "lowercase letters are not allowed ('k' at position 8)");
  ExpectRejected("lei:5493001KJTIIGC8Y1R12 ", "spaces are not allowed (position 21)");
  ExpectRejected("lei:5493001KJTIIGC8Y1R1", "20 characters expected, got 19");
  ExpectRejected("lei:5493-01KJTIIGC8Y1R12",
                 "character '-' at position 5 is not a digit or an upper-case letter");
  ExpectRejected("lei:5493001KJTIIGC8Y1RA2",
                 "character 'A' at position 19 is not a digit (positions 19-20 are the check "
                 "digits)");
  // "01" satisfies the MOD 97 equation for this base but is never issued: ISO 7064 gives
  // "98".
  ExpectRejected("lei:00000000000000009701", "check digits are '01', expected '98'");
  ExpectAccepted("lei:00000000000000009798", IdScheme::kLei);
}

// ---------------------------------------------------------------------------------------
// Hong Kong BRN and CRN

TEST(IdentifierHongKongTest, AcceptsWellFormedNumbers) {
  ExpectAccepted("hkbrn:12345678", IdScheme::kHkBrn);
  ExpectAccepted("hkbrn:00000001", IdScheme::kHkBrn);
  ExpectAccepted("hkcrn:0012345", IdScheme::kHkCrn);  // pre-2024 number, zero-padded
  ExpectAccepted("hkcrn:1234567", IdScheme::kHkCrn);
  ExpectAccepted("hkcrn:76543210", IdScheme::kHkCrn);  // company number since 27 Dec 2023
  EXPECT_TRUE(ValidateHkBrn("12345678").ok());
  EXPECT_TRUE(ValidateHkCrn("0012345").ok());
}

TEST(IdentifierHongKongTest, RejectsEveryKindOfMalformation) {
  ExpectRejected("hkbrn:1234567", "8 characters expected, got 7");
  ExpectRejected("hkbrn:123456789", "8 characters expected, got 9");
  ExpectRejected("hkbrn:12345678-000-01-24-A",
                 "the BR number is the 8 digits before the certificate number's suffix");
  ExpectRejected("hkbrn:C0012345", "character 'C' at position 1 is not a digit");
  ExpectRejected("hkbrn:1234 678", "spaces are not allowed (position 5)");
  ExpectRejected("hkbrn:1234567x", "lowercase letters are not allowed ('x' at position 8)");
  ExpectRejected("hkcrn:12345",
                 "7 or 8 characters expected, got 5 (older company numbers are written with "
                 "leading zeros");
  ExpectRejected("hkcrn:123456789", "7 or 8 characters expected, got 9");
  ExpectRejected("hkcrn:F0012345", "character 'F' at position 1 is not a digit");
  ExpectRejected("hkcrn: 0012345", "spaces are not allowed (position 1)");
}

// ---------------------------------------------------------------------------------------
// Natural persons

TEST(IdentifierPersonTest, AcceptsRawIdsAndPseudonyms) {
  ExpectAccepted("person:ps1-9bb9c0cebd5bb8b4adc87f5d88142e28", IdScheme::kPerson);
  ExpectAccepted("person:A123456(7)", IdScheme::kPerson);
  ExpectAccepted("person:chan-tai-man 1", IdScheme::kPerson);  // lower case, inner space
  ExpectAccepted("person:" + std::string(kMaxPersonIdLength, 'P'), IdScheme::kPerson);
  ExpectAccepted("person:a:b", IdScheme::kPerson);  // only the first colon separates
  const StatusOr<EntityId> id = ParseEntityId("person:A123456(7)");
  ASSERT_TRUE(id.ok());
  EXPECT_TRUE(id->is_person());
  EXPECT_EQ(id->value, "A123456(7)");
}

TEST(IdentifierPersonTest, RejectsWithoutRepeatingTheId) {
  ExpectRejected("person:", "person id is empty");
  ExpectRejected("person:" + std::string(kMaxPersonIdLength + 1, 'P'),
                 "at most 64 characters allowed, got 65");
  ExpectRejected("person:A123\t456", "byte outside printable ASCII ('\\x09' at position 5)");
  ExpectRejected("person:A123456\xc3\xa9", "byte outside printable ASCII ('\\xc3' at position 8)");
  ExpectRejected("person: A123456", "leading or trailing space");
  ExpectRejected("person:A123456 ", "leading or trailing space");
  ExpectRejected("person:ps1-XYZ", "malformed pseudonym");
  ExpectRejected("person:ps1-9BB9C0CEBD5BB8B4ADC87F5D88142E28", "malformed pseudonym");
  ExpectRejected("person:ps1-9bb9c0cebd5bb8b4adc87f5d88142e2", "malformed pseudonym");
  for (std::string_view text : {"person:A123\t456", "person: A123456", "person:A123456 "}) {
    EXPECT_THAT(ParseEntityId(text).status().message(), Not(HasSubstr("123456"))) << text;
  }
}

// ---------------------------------------------------------------------------------------
// Prefixes, messages, round trips

TEST(IdentifierParseTest, RejectsMissingOrUnknownPrefix) {
  ExpectRejected("", "empty identifier");
  ExpectRejected("91440300MA5H8REU3K", "missing scheme prefix (expected one of uscc:, hkbrn:");
  EXPECT_THAT(ParseEntityId("91440300MA5H8REU3K").status().message(), Not(HasSubstr("91440300")));
  ExpectRejected("duns:123456789", "unknown scheme prefix 'duns:'");
  ExpectRejected(":91440300MA5H8REU3K", "unknown scheme prefix ':'");
  ExpectRejected("USCC:91440300MA5H8REU3K",
                 "scheme prefix must be lower case: got 'USCC:', expected 'uscc:'");
  ExpectRejected("Person:A123456", "expected 'person:'");
  ExpectRejected(" uscc:91440300MA5H8REU3K", "spaces are not allowed in the scheme prefix");
  ExpectRejected("uscc :91440300MA5H8REU3K", "spaces are not allowed in the scheme prefix");
}

TEST(IdentifierParseTest, EchoedInputIsEscapedAndBounded) {
  const std::string long_text = "uscc:" + std::string(10000, 'A');
  const Status status = ParseEntityId(long_text).status();
  EXPECT_THAT(status.message(), HasSubstr("18 characters expected, got 10000"));
  EXPECT_LT(status.message().size(), 200u);
  EXPECT_THAT(status.message(), HasSubstr("..."));

  const Status control = ParseEntityId("uscc:\n1440300MA5H8REU3K").status();
  EXPECT_EQ(control.message(),
            "uscc:\\x0a1440300MA5H8REU3K: character '\\x0a' at position 1 is not in the USCC "
            "character set (0-9 and A-Z without I, O, S, V, Z)");
}

TEST(IdentifierParseTest, PrefixesAndRoundTrip) {
  EXPECT_EQ(SchemePrefix(IdScheme::kUscc), "uscc:");
  EXPECT_EQ(SchemePrefix(IdScheme::kHkBrn), "hkbrn:");
  EXPECT_EQ(SchemePrefix(IdScheme::kHkCrn), "hkcrn:");
  EXPECT_EQ(SchemePrefix(IdScheme::kLei), "lei:");
  EXPECT_EQ(SchemePrefix(IdScheme::kPerson), "person:");
  for (std::string_view text :
       {"uscc:91440300MA5H8REU3K", "lei:5493001KJTIIGC8Y1R12", "hkbrn:12345678", "hkcrn:0012345",
        "person:ps1-9bb9c0cebd5bb8b4adc87f5d88142e28"}) {
    const StatusOr<EntityId> id = ParseEntityId(text);
    ASSERT_TRUE(id.ok()) << text << ": " << id.status().ToString();
    EXPECT_EQ(id->ToString(), text);
    EXPECT_EQ(id->value, text.substr(SchemePrefix(id->scheme).size()));
    const StatusOr<EntityId> again = ParseEntityId(id->ToString());
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, *id);
    EXPECT_EQ(id->is_person(), id->scheme == IdScheme::kPerson);
  }
  const EntityId a{IdScheme::kHkBrn, "12345678"};
  const EntityId b{IdScheme::kHkCrn, "12345678"};
  EXPECT_NE(a, b);  // same digits, different registers
  EXPECT_TRUE(a < b || b < a);
}

// ---------------------------------------------------------------------------------------
// Properties over random identifiers (fixed seed: deterministic)

char Pick(std::mt19937& rng, std::string_view alphabet) {
  return alphabet[std::uniform_int_distribution<size_t>(0, alphabet.size() - 1)(rng)];
}

// 17 characters whose organisation code (positions 9-17) is already valid.
std::string RandomUsccBody(std::mt19937& rng) {
  std::string body;
  body += Pick(rng, kUsccAlphabet);
  body += Pick(rng, kUsccAlphabet);
  for (int i = 0; i < 6; ++i) body += Pick(rng, "0123456789");
  for (int i = 0; i < 8; ++i) body += Pick(rng, kUsccAlphabet);
  body += OrganizationCodeCheckCharacter(std::string_view(body).substr(8, 8));
  return body;
}

TEST(IdentifierPropertyTest, UsccCheckCharacterIsTheOnlyOneThatValidates) {
  std::mt19937 rng(20240517);
  for (int n = 0; n < 2000; ++n) {
    const std::string body = RandomUsccBody(rng);
    const char check = UsccCheckCharacter(body);
    ASSERT_NE(kUsccAlphabet.find(check), std::string_view::npos) << body;
    for (char candidate : kUsccAlphabet) {
      const Status status = ValidateUscc(body + candidate);
      if (candidate == check) {
        ASSERT_TRUE(status.ok()) << body << candidate << ": " << status.ToString();
      } else {
        ASSERT_EQ(status.code(), StatusCode::kInvalidArgument) << body << candidate;
        ASSERT_THAT(status.message(), HasSubstr("check character is")) << body << candidate;
      }
    }
  }
}

TEST(IdentifierPropertyTest, UsccRejectsEverySingleCharacterSubstitution) {
  std::mt19937 rng(7);
  for (int n = 0; n < 200; ++n) {
    std::string code = RandomUsccBody(rng);
    code += UsccCheckCharacter(code);
    ASSERT_TRUE(ValidateUscc(code).ok()) << code;
    for (size_t i = 0; i < code.size(); ++i) {
      const std::string_view alphabet = (i >= 2 && i < 8) ? "0123456789" : kUsccAlphabet;
      for (char c : alphabet) {
        if (c == code[i]) continue;
        std::string typo = code;
        typo[i] = c;
        ASSERT_EQ(ValidateUscc(typo).code(), StatusCode::kInvalidArgument)
            << code << " -> " << typo;
      }
    }
  }
}

TEST(IdentifierPropertyTest, LeiCheckDigitsAreTheOnlyOnesThatValidate) {
  std::mt19937 rng(17442);
  for (int n = 0; n < 1000; ++n) {
    std::string base;
    for (int i = 0; i < 18; ++i) base += Pick(rng, kAlphanumeric);
    const std::string check = LeiCheckDigits(base);
    ASSERT_EQ(check.size(), 2u) << base;
    ASSERT_GE(check, "02");
    ASSERT_LE(check, "98");
    for (int d = 0; d < 100; ++d) {
      const std::string candidate = {static_cast<char>('0' + d / 10),
                                     static_cast<char>('0' + d % 10)};
      const Status status = ValidateLei(base + candidate);
      if (candidate == check) {
        ASSERT_TRUE(status.ok()) << base << candidate << ": " << status.ToString();
      } else {
        ASSERT_EQ(status.code(), StatusCode::kInvalidArgument) << base << candidate;
        ASSERT_THAT(status.message(), HasSubstr("check digits are")) << base << candidate;
      }
    }
  }
}

TEST(IdentifierPropertyTest, RandomValidIdsRoundTrip) {
  std::mt19937 rng(99);
  for (int n = 0; n < 500; ++n) {
    std::string uscc = RandomUsccBody(rng);
    uscc += UsccCheckCharacter(uscc);
    std::string lei;
    for (int i = 0; i < 18; ++i) lei += Pick(rng, kAlphanumeric);
    lei += LeiCheckDigits(lei);
    std::string brn;
    for (int i = 0; i < 8; ++i) brn += Pick(rng, "0123456789");
    for (const EntityId& id :
         {EntityId{IdScheme::kUscc, uscc}, EntityId{IdScheme::kLei, lei},
          EntityId{IdScheme::kHkBrn, brn}, EntityId{IdScheme::kHkCrn, brn.substr(1)}}) {
      const StatusOr<EntityId> parsed = ParseEntityId(id.ToString());
      ASSERT_TRUE(parsed.ok()) << id.ToString() << ": " << parsed.status().ToString();
      ASSERT_EQ(*parsed, id);
    }
  }
}

}  // namespace
}  // namespace cg::mapping
