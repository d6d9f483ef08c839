// Reading a feed file row by row: CSV (RFC 4180, with a header) or JSON Lines, as
// specs/feeds.md states. Streams: memory does not grow with the file. Knows the
// feed's columns but not what their values mean (mapping/feeds.h checks those).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "specs/status.h"

namespace cg::mapping {

enum class FeedFormat { kCsv, kJsonLines };

// ".csv" -> CSV; ".jsonl", ".ndjson" -> JSON Lines; kInvalidArgument otherwise.
StatusOr<FeedFormat> FeedFormatForPath(std::string_view path);

struct FeedColumn {
  std::string_view name;
  bool required;
};

// One row: fields[i] is column i's text (valid until the next Next()), present[i]
// whether the row has it. A row that cannot be read into columns at all (bad
// quoting, wrong number of fields, JSON syntax, an unknown key) has `error` set.
struct FeedRow {
  uint64_t line = 0;  // 1-based line where the row starts (CSV: the header is line 1)
  std::vector<std::string_view> fields;
  std::vector<bool> present;
  std::string error;
  std::string error_column;
};

// The longest row accepted; longer rows are rejected, and the file read on.
inline constexpr size_t kMaxFeedRowBytes = 1 << 20;

class FeedFile {
 public:
  // Opens `path` and, for CSV, reads the header: an unknown or repeated column, or a
  // required column missing, is kInvalidArgument naming it (the file cannot be
  // loaded). kNotFound / kPermissionDenied when it cannot be opened.
  static StatusOr<std::unique_ptr<FeedFile>> Open(const std::string& path, FeedFormat format,
                                                  std::span<const FeedColumn> columns);
  ~FeedFile();
  FeedFile(const FeedFile&) = delete;
  FeedFile& operator=(const FeedFile&) = delete;

  // The next row into `row`; false at the end of the file. An I/O error is a Status.
  StatusOr<bool> Next(FeedRow* row);

  // For feeds whose rows are nested JSON (hk-bureau): the next non-blank line as it
  // is, and its line number; false at the end of the file. The view lives until the
  // next call. A line over kMaxFeedRowBytes is returned too; the caller rejects it.
  StatusOr<bool> NextLine(std::string_view* line, uint64_t* line_number);

  uint64_t bytes_read() const { return bytes_read_; }
  uint64_t size_bytes() const { return size_bytes_; }

 private:
  FeedFile(int fd, FeedFormat format, std::span<const FeedColumn> columns, uint64_t size_bytes);
  Status ReadHeader();
  // Reads one physical line (without its line end) into line_; false at EOF. line_
  // views buffer_ (or, for a line over kMaxFeedRowBytes, its first kMaxFeedRowBytes + 1
  // bytes, which is all a caller needs to reject it) until the next call.
  StatusOr<bool> ReadLine();
  // Reads more of the file into buffer_ after what is unread, moving that to the
  // front first; false at the end of the file.
  StatusOr<bool> Fill();
  // A record without quotes: its fields are views of the line, copied nowhere.
  void SplitPlainCsv(FeedRow* row);
  void SplitCsv(FeedRow* row);
  void ParseJson(FeedRow* row);

  int fd_;
  FeedFormat format_;
  std::vector<FeedColumn> columns_;
  std::vector<int> csv_to_column_;  // CSV field position -> column index
  uint64_t size_bytes_;
  uint64_t bytes_read_ = 0;
  uint64_t line_number_ = 0;
  // The file is read in blocks of kReadBytes into buffer_: [begin_, end_) is read
  // and not yet returned as a line. Lines are views of it, not copies.
  std::string buffer_;
  size_t begin_ = 0;
  size_t end_ = 0;
  bool at_end_ = false;
  std::string long_line_;  // the start of a line over kMaxFeedRowBytes
  std::string_view line_;
  std::string record_;               // a CSV record spanning lines
  std::vector<std::string> values_;  // unquoted field texts, reused
};

}  // namespace cg::mapping
