#include "mapping/feed_file.h"

#include <fcntl.h>
#include <google/protobuf/struct.pb.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>

#include "specs/json.h"

namespace cg::mapping {

StatusOr<FeedFormat> FeedFormatForPath(std::string_view path) {
  if (path.ends_with(".csv")) return FeedFormat::kCsv;
  if (path.ends_with(".jsonl") || path.ends_with(".ndjson")) return FeedFormat::kJsonLines;
  return InvalidArgumentError("cannot tell the format of '" + std::string(path) +
                              "' from its name: use .csv, .jsonl or .ndjson, or --format");
}

StatusOr<std::unique_ptr<FeedFile>> FeedFile::Open(const std::string& path, FeedFormat format,
                                                   std::span<const FeedColumn> columns) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return NotFoundError("feed file " + path + " does not exist");
    return PermissionDeniedError("cannot stat feed file " + path + ": " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return InvalidArgumentError(path + " is not a regular file");
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return PermissionDeniedError("cannot open feed file " + path + ": " + std::strerror(errno));
  }
  std::unique_ptr<FeedFile> file(
      new FeedFile(fd, format, columns, static_cast<uint64_t>(st.st_size)));
  if (format == FeedFormat::kCsv) {
    Status header = file->ReadHeader();
    if (!header.ok()) return header.WithContext(path);
  }
  return file;
}

FeedFile::FeedFile(int fd, FeedFormat format, std::span<const FeedColumn> columns,
                   uint64_t size_bytes)
    : fd_(fd), format_(format), columns_(columns.begin(), columns.end()), size_bytes_(size_bytes) {}

FeedFile::~FeedFile() { ::close(fd_); }

// Rows are short and many: the file is read a block at a time and lines are found
// in the block with memchr, without stdio's locking and copying.
constexpr size_t kReadBytes = 1 << 20;

StatusOr<bool> FeedFile::Fill() {
  if (at_end_) return false;
  if (begin_ > 0) {
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (buffer_.size() - end_ < kReadBytes) buffer_.resize(end_ + kReadBytes);
  ssize_t n = 0;
  do {
    n = ::read(fd_, buffer_.data() + end_, buffer_.size() - end_);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return DataLossError(std::string("read error: ") + std::strerror(errno));
  if (n == 0) {
    at_end_ = true;
    return false;
  }
  end_ += static_cast<size_t>(n);
  return true;
}

StatusOr<bool> FeedFile::ReadLine() {
  // Takes [begin_, line_end) as the line and goes on at `next`.
  auto take = [this](size_t line_end, size_t next) {
    ++line_number_;
    bytes_read_ += next - begin_;
    size_t len = line_end - begin_;
    if (len > 0 && buffer_[begin_ + len - 1] == '\r') --len;
    line_ = std::string_view(buffer_.data() + begin_, len);
    begin_ = next;
    return true;
  };
  size_t searched = 0;  // bytes after begin_ known to hold no line end
  while (true) {
    const char* from = buffer_.data() + begin_ + searched;
    if (const void* nl = std::memchr(from, '\n', end_ - begin_ - searched)) {
      const auto at = static_cast<size_t>(static_cast<const char*>(nl) - buffer_.data());
      return take(at, at + 1);
    }
    searched = end_ - begin_;
    // + 1: a row of exactly the limit may still have its '\r' here, its '\n' unread.
    if (searched > kMaxFeedRowBytes + 1) break;
    CG_ASSIGN_OR_RETURN(bool more, Fill());
    if (!more) {
      if (begin_ == end_) return false;
      return take(end_, end_);  // the last line has no line end
    }
  }
  // A line too long to be a row: its start is kept, enough for the caller to see it
  // is too long, and the rest is read past.
  long_line_.assign(buffer_.data() + begin_, kMaxFeedRowBytes + 1);
  ++line_number_;
  while (true) {
    if (const void* nl = std::memchr(buffer_.data() + begin_, '\n', end_ - begin_)) {
      const auto next = static_cast<size_t>(static_cast<const char*>(nl) - buffer_.data()) + 1;
      bytes_read_ += next - begin_;
      begin_ = next;
      break;
    }
    bytes_read_ += end_ - begin_;
    begin_ = end_;
    CG_ASSIGN_OR_RETURN(bool more, Fill());
    if (!more) break;
  }
  line_ = long_line_;
  return true;
}

Status FeedFile::ReadHeader() {
  CG_ASSIGN_OR_RETURN(bool has_line, ReadLine());
  if (!has_line)
    return InvalidArgumentError("the file is empty: a CSV feed starts with a header row");
  std::string_view header = line_;
  if (header.starts_with("\xEF\xBB\xBF")) header.remove_prefix(3);  // UTF-8 byte order mark
  FeedRow row;
  record_.assign(header);
  SplitCsv(&row);
  if (!row.error.empty()) return InvalidArgumentError("header row: " + row.error);
  std::vector<bool> seen(columns_.size(), false);
  csv_to_column_.clear();
  for (const std::string& name : values_) {
    int index = -1;
    for (size_t c = 0; c < columns_.size(); ++c) {
      if (columns_[c].name == name) index = static_cast<int>(c);
    }
    if (index < 0) {
      std::string known;
      for (const auto& c : columns_) known += (known.empty() ? "" : ", ") + std::string(c.name);
      return InvalidArgumentError("header row: unknown column '" + name.substr(0, 64) +
                                  "' (the columns are: " + known + ")");
    }
    if (seen[static_cast<size_t>(index)]) {
      return InvalidArgumentError("header row: column '" + name + "' appears twice");
    }
    seen[static_cast<size_t>(index)] = true;
    csv_to_column_.push_back(index);
  }
  for (size_t c = 0; c < columns_.size(); ++c) {
    if (columns_[c].required && !seen[c]) {
      return InvalidArgumentError("header row: required column '" + std::string(columns_[c].name) +
                                  "' is missing");
    }
  }
  return OkStatus();
}

void FeedFile::SplitPlainCsv(FeedRow* row) {
  const size_t expected = csv_to_column_.size();
  size_t fields = 0;
  size_t i = 0;
  while (true) {
    const size_t comma = std::min(line_.find(',', i), line_.size());
    if (fields < expected) {
      const auto c = static_cast<size_t>(csv_to_column_[fields]);
      row->fields[c] = line_.substr(i, comma - i);
      row->present[c] = comma > i;
    }
    ++fields;
    if (comma == line_.size()) break;
    i = comma + 1;
  }
  if (fields != expected) {
    row->error =
        "has " + std::to_string(fields) + " fields; the header has " + std::to_string(expected);
  }
}

// Splits record_ into values_ (unquoted). Sets row->error on malformed quoting.
void FeedFile::SplitCsv(FeedRow* row) {
  size_t count = 0;
  auto next_value = [&]() -> std::string& {
    if (values_.size() <= count) values_.emplace_back();
    std::string& v = values_[count++];
    v.clear();
    return v;
  };
  const std::string_view r = record_;
  size_t i = 0;
  while (true) {
    std::string& value = next_value();
    if (i < r.size() && r[i] == '"') {
      ++i;
      while (true) {
        if (i >= r.size()) {
          row->error = "a quoted field is not closed";
          values_.resize(count);
          return;
        }
        if (r[i] == '"') {
          if (i + 1 < r.size() && r[i + 1] == '"') {
            value += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        value += r[i++];
      }
      if (i < r.size() && r[i] != ',') {
        row->error = "text after a closing quote (use \"\" for a quote inside quotes)";
        values_.resize(count);
        return;
      }
    } else {
      const size_t end = r.find(',', i);
      const std::string_view raw = r.substr(i, end == std::string_view::npos ? r.npos : end - i);
      if (raw.find('"') != std::string_view::npos) {
        row->error = "a quote inside an unquoted field";
        values_.resize(count);
        return;
      }
      value.assign(raw);
      i += raw.size();
    }
    if (i >= r.size()) break;
    ++i;  // the comma
  }
  values_.resize(count);
}

void FeedFile::ParseJson(FeedRow* row) {
  google::protobuf::Struct object;
  Status parsed = JsonToMessage(line_, &object);
  if (!parsed.ok()) {
    row->error = "not a JSON object: " + parsed.message().substr(0, 200);
    return;
  }
  values_.assign(columns_.size(), std::string());
  for (const auto& [key, value] : object.fields()) {
    int index = -1;
    for (size_t c = 0; c < columns_.size(); ++c) {
      if (columns_[c].name == key) index = static_cast<int>(c);
    }
    if (index < 0) {
      row->error = "unknown key";
      row->error_column = key.substr(0, 64);
      return;
    }
    std::string& text = values_[static_cast<size_t>(index)];
    switch (value.kind_case()) {
      case google::protobuf::Value::kStringValue:
        text = value.string_value();
        break;
      case google::protobuf::Value::kNumberValue: {
        char buf[32];
        auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value.number_value());
        text.assign(buf, ec == std::errc() ? end : buf);
        break;
      }
      case google::protobuf::Value::kBoolValue:
        text = value.bool_value() ? "true" : "false";
        break;
      case google::protobuf::Value::kNullValue:
        continue;  // as if absent
      default:
        row->error = "a nested value where text or a number belongs";
        row->error_column = key.substr(0, 64);
        return;
    }
    row->present[static_cast<size_t>(index)] = true;
    row->fields[static_cast<size_t>(index)] = text;
  }
}

StatusOr<bool> FeedFile::NextLine(std::string_view* line, uint64_t* line_number) {
  while (true) {
    CG_ASSIGN_OR_RETURN(bool has_line, ReadLine());
    if (!has_line) return false;
    if (!line_.empty()) break;
  }
  *line = line_;
  *line_number = line_number_;
  return true;
}

StatusOr<bool> FeedFile::Next(FeedRow* row) {
  row->fields.assign(columns_.size(), std::string_view());
  row->present.assign(columns_.size(), false);
  row->error.clear();
  row->error_column.clear();
  while (true) {
    CG_ASSIGN_OR_RETURN(bool has_line, ReadLine());
    if (!has_line) return false;
    if (!line_.empty()) break;  // blank lines are skipped
  }
  row->line = line_number_;
  if (line_.size() > kMaxFeedRowBytes) {
    row->error = "the row is longer than " + std::to_string(kMaxFeedRowBytes) + " bytes";
    return true;
  }
  if (format_ == FeedFormat::kJsonLines) {
    ParseJson(row);
    return true;
  }
  if (line_.find('"') == std::string_view::npos) {
    SplitPlainCsv(row);
    return true;
  }
  record_.assign(line_);
  // A quoted field may hold line breaks: an odd number of quotes means the record
  // goes on on the next line.
  while (std::count(record_.begin(), record_.end(), '"') % 2 == 1) {
    CG_ASSIGN_OR_RETURN(bool more, ReadLine());
    if (!more || record_.size() + line_.size() > kMaxFeedRowBytes) break;
    record_ += '\n';
    record_.append(line_);
  }
  SplitCsv(row);
  if (!row->error.empty()) return true;
  if (values_.size() != csv_to_column_.size()) {
    row->error = "has " + std::to_string(values_.size()) + " fields; the header has " +
                 std::to_string(csv_to_column_.size());
    return true;
  }
  for (size_t f = 0; f < values_.size(); ++f) {
    const size_t c = static_cast<size_t>(csv_to_column_[f]);
    row->fields[c] = values_[f];
    row->present[c] = !values_[f].empty();
  }
  return true;
}

}  // namespace cg::mapping
