#include "mapping/evaluation.h"

#include "mapping/identifier.h"

namespace cg::mapping {
namespace {

cg::v1::IdScheme ProtoScheme(IdScheme scheme) {
  switch (scheme) {
    case IdScheme::kUscc:
      return cg::v1::ID_SCHEME_USCC;
    case IdScheme::kHkBrn:
      return cg::v1::ID_SCHEME_HKBRN;
    case IdScheme::kHkCrn:
      return cg::v1::ID_SCHEME_HKCRN;
    case IdScheme::kLei:
      return cg::v1::ID_SCHEME_LEI;
    case IdScheme::kPerson:
      break;
  }
  return cg::v1::ID_SCHEME_UNSPECIFIED;
}

constexpr size_t kDigestBytes = 32;

}  // namespace

bool IsPeriod(std::string_view p) {
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  return p.size() == 7 && p[4] == '-' && digit(p[0]) && digit(p[1]) && digit(p[2]) && digit(p[3]) &&
         digit(p[5]) && digit(p[6]) && p.substr(5) >= "01" && p.substr(5) <= "12";
}

Status ValidateEvaluation(const cg::v1::Evaluation& e) {
  auto id = ParseEntityId(e.subject().id());
  if (!id.ok()) return id.status().WithContext("subject.id");
  if (id->is_person()) {
    return InvalidArgumentError("subject.id: a natural person cannot be the subject");
  }
  if (e.subject().scheme() != cg::v1::ID_SCHEME_UNSPECIFIED &&
      e.subject().scheme() != ProtoScheme(id->scheme)) {
    return InvalidArgumentError("subject.scheme disagrees with the prefix of subject.id");
  }
  if (!IsPeriod(e.period())) {
    return InvalidArgumentError("period must be YYYY-MM, got '" + e.period().substr(0, 16) + "'");
  }
  if (e.joint_grade().grade().empty() || e.joint_grade().scale().empty()) {
    return InvalidArgumentError("joint_grade needs a scale and a grade");
  }
  if (!(e.joint_pd() >= 0.0 && e.joint_pd() <= 1.0)) {
    return InvalidArgumentError("joint_pd must be between 0 and 1");
  }
  if (e.joint_score() > 1000) return InvalidArgumentError("joint_score must be at most 1000");
  for (const std::string* digest : {&e.parameter_digest(), &e.evidence_digest()}) {
    if (!digest->empty() && digest->size() != kDigestBytes) {
      return InvalidArgumentError("parameter_digest and evidence_digest are SHA-256 (32 bytes)");
    }
  }
  return OkStatus();
}

}  // namespace cg::mapping
