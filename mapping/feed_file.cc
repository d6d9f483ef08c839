#include "mapping/feed_file.h"

#include <google/protobuf/struct.pb.h>
#include <sys/stat.h>

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
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return PermissionDeniedError("cannot open feed file " + path + ": " + std::strerror(errno));
  }
  std::unique_ptr<FeedFile> file(
      new FeedFile(f, format, columns, static_cast<uint64_t>(st.st_size)));
  if (format == FeedFormat::kCsv) {
    Status header = file->ReadHeader();
    if (!header.ok()) return header.WithContext(path);
  }
  return file;
}

FeedFile::FeedFile(std::FILE* file, FeedFormat format, std::span<const FeedColumn> columns,
                   uint64_t size_bytes)
    : file_(file),
      format_(format),
      columns_(columns.begin(), columns.end()),
      size_bytes_(size_bytes) {
  // A large stdio buffer: rows are short and many.
  std::setvbuf(file_, nullptr, _IOFBF, 1 << 20);
}

FeedFile::~FeedFile() {
  std::fclose(file_);
  std::free(line_buffer_);
}

StatusOr<bool> FeedFile::ReadLine() {
  errno = 0;
  ssize_t n = ::getline(&line_buffer_, &line_capacity_, file_);
  if (n < 0) {
    if (std::ferror(file_))
      return DataLossError(std::string("read error: ") + std::strerror(errno));
    return false;
  }
  ++line_number_;
  bytes_read_ += static_cast<uint64_t>(n);
  size_t len = static_cast<size_t>(n);
  if (len > 0 && line_buffer_[len - 1] == '\n') --len;
  if (len > 0 && line_buffer_[len - 1] == '\r') --len;
  line_ = std::string_view(line_buffer_, len);
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
