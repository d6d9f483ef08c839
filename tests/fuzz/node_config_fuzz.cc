// A node configuration is operator input, but a broken one must still give an
// error, never a crash.
#include <string_view>

#include "config/node_config.h"
#include "tests/fuzz/fuzz_target.h"

namespace cg::fuzz {

CG_FUZZ_TARGET(FuzzNodeConfig) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)config::ParseNodeConfig(text, "fuzz.toml", "/nonexistent");
  return 0;
}

}  // namespace cg::fuzz
