// Fuzz targets for every parser of outside input. Each target is a function over a
// byte buffer that must never crash, hang or leak, whatever the bytes.
//
// Built with -DCG_FUZZ=ON (clang), each target file becomes a libFuzzer executable
// (CG_LIBFUZZER defines the entry point). In the ordinary build the same functions
// are linked into fuzz_corpus_test, which replays the saved corpus under
// tests/fuzz/corpus/<target>/ plus deterministic mutations of it.
#pragma once

#include <cstddef>
#include <cstdint>

#ifdef CG_LIBFUZZER
#define CG_FUZZ_TARGET(name) extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
#else
#define CG_FUZZ_TARGET(name) int name(const uint8_t* data, size_t size)
#endif

namespace cg::fuzz {
int FuzzEnvelope(const uint8_t* data, size_t size);
int FuzzNodeConfig(const uint8_t* data, size_t size);
int FuzzFeed(const uint8_t* data, size_t size);
int FuzzRolloverChain(const uint8_t* data, size_t size);
}  // namespace cg::fuzz
