#include "crypto/sodium.h"

#include <sodium.h>

#include <cstdio>
#include <cstdlib>

namespace cg::crypto {

void EnsureSodium() {
  static const bool initialised = [] {
    if (sodium_init() < 0) {
      std::fputs("fatal: libsodium failed to initialise\n", stderr);
      std::abort();
    }
    return true;
  }();
  (void)initialised;
}

}  // namespace cg::crypto
