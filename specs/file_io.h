// File access shared by every module (with Status, the base everyone may use):
// bounded reads, so no input file can exhaust memory, and atomic writes, so a
// crash never leaves a half-written key, config or envelope.
#pragma once

#include <cstddef>
#include <string>

#include "specs/status.h"

namespace cg {

// Reads the whole file. Errors: kNotFound (no such file), kPermissionDenied (not
// readable), kInvalidArgument (a directory or other non-regular file),
// kResourceExhausted (larger than max_bytes).
StatusOr<std::string> ReadFileLimited(const std::string& path, size_t max_bytes);

// Writes `contents` to `path` through a temporary file in the same directory that
// is fsynced and renamed over `path`; the directory is fsynced too. The file gets
// `mode` (e.g. 0600 for secrets) before any byte is written.
Status WriteFileAtomically(const std::string& path, std::string_view contents,
                           unsigned mode = 0644);

}  // namespace cg
