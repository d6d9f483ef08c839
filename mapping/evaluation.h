// Checks on an evaluation (cg.v1.Evaluation) before it is signed into an
// attestation, wherever it came from: the joint model, or a file given to
// `credit-gateway attest`.
#pragma once

#include "proto/attestation.pb.h"
#include "specs/status.h"

namespace cg::mapping {

// The evaluation is complete and in range: subject.id a valid scheme-prefixed entity
// id (mapping/identifier.h: check characters included) and subject.scheme, when
// set, agreeing with it; period "YYYY-MM"; a joint grade with its scale; joint_pd
// in [0, 1]; joint_score <= 1000; digests empty or 32 bytes (SHA-256).
// kInvalidArgument naming the field and what is wrong.
Status ValidateEvaluation(const cg::v1::Evaluation& evaluation);

// "YYYY-MM" with a month 01..12.
bool IsPeriod(std::string_view text);

}  // namespace cg::mapping
