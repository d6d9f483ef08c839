// The one place that initialises libsodium. Every crypto entry point calls it; it is
// cheap after the first call and thread-safe.
#pragma once

namespace cg::crypto {

// Aborts the process if libsodium cannot initialise (no entropy source): nothing
// in this module is safe without it.
void EnsureSodium();

}  // namespace cg::crypto
