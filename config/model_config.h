// The model's configuration: every parameter of the joint model
// (mapping::JointModelParams), of equity penetration (mapping::PenetrationParams), the
// rating scales and the translation policy, read from one TOML file.
// config/examples/model.toml shows and explains every key at its default, and
// specs/joint-model.md states what each does. The defaults are ILLUSTRATIVE until an
// operator calibrates them.
//
// Every table and key is optional: a key left out keeps its default. Tables that are
// lists replace the default list as a whole when given ([shenzhen.grade_pd],
// [performance.cny_per_unit], [[penetration.beneficial_owner_rule]], [[scale]]); they
// are never merged with it.
//
// Loading stops at the first problem. A problem in the text is kInvalidArgument with a
// one-line message naming the file, the position where toml++ knows it, and the
// dotted key:
//   model.toml:31:1: performance.window_months: must be between 1 and 120, got 0
// Unknown keys are errors everywhere, so a misspelt key never silently becomes a
// default.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "mapping/equity_graph.h"
#include "mapping/joint_model.h"
#include "mapping/scale.h"
#include "specs/status.h"

namespace cg::config {

// The most [[scale]] tables a file may give.
inline constexpr size_t kMaxScales = 16;

struct ModelConfig {
  mapping::JointModelParams joint;
  mapping::PenetrationParams penetration;
  // In file order, names distinct. By convention the first is the Shenzhen node's home
  // scale (the loader does not enforce it).
  std::vector<mapping::Scale> scales;
  mapping::TranslationPolicy translation = mapping::TranslationPolicy::kConservative;
};

// The defaults: default-constructed JointModelParams and PenetrationParams, the shipped
// scales (ShenzhenSixLevelScale, then HongKongBureauScale) and the conservative policy.
// What an empty file gives.
ModelConfig DefaultModelConfig();

// Reads and validates the model configuration file at `path` (at most
// kMaxConfigFileBytes, config/node_config.h). Errors: kNotFound (no such file),
// kPermissionDenied (unreadable), kResourceExhausted (too large), kInvalidArgument (not
// a regular file, or anything ParseModelConfig rejects), kInternal (other I/O
// failures); messages name `path` as given.
StatusOr<ModelConfig> LoadModelConfig(const std::string& path);

// Validates model configuration text. `source_name` names it in error messages
// (usually the file's path). Errors: kInvalidArgument, for the first problem found: a
// TOML syntax error, an unknown key, a value of the wrong type, a missing required key
// (the name and bands of a [[scale]], the jurisdiction of a beneficial-owner rule), a
// value out of its range or form, a scale mapping::Scale::Create rejects, or
// parameters mapping::ValidateParams rejects.
StatusOr<ModelConfig> ParseModelConfig(std::string_view toml_text, std::string_view source_name);

}  // namespace cg::config
