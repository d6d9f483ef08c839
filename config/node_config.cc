#include "config/node_config.h"

#include <arpa/inet.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <set>
#include <span>
#include <unordered_map>
#include <utility>

#include "config/internal/toml_support.h"
#include "specs/file_io.h"

namespace cg::config {
namespace {

using internal::HeaderName;
using internal::kMaxEchoedValueBytes;
using internal::Position;
using internal::Quote;
using internal::TypeName;

static_assert(kMinValidityDays <= kDefaultValidityDays && kDefaultValidityDays <= kMaxValidityDays);

enum class Presence { kOptional, kRequired };

template <typename E>
struct Choice {
  std::string_view name;
  E value;
};

constexpr Choice<Side> kSideChoices[] = {{"sz", Side::kShenzhen}, {"hk", Side::kHongKong}};
constexpr Choice<LogLevel> kLogLevelChoices[] = {{"trace", LogLevel::kTrace},
                                                 {"debug", LogLevel::kDebug},
                                                 {"info", LogLevel::kInfo},
                                                 {"warn", LogLevel::kWarn},
                                                 {"error", LogLevel::kError}};
constexpr Choice<LogFormat> kLogFormatChoices[] = {{"text", LogFormat::kText},
                                                   {"json", LogFormat::kJson}};
constexpr Choice<Role> kRoleChoices[] = {{"agency", Role::kAgency},
                                         {"firm", Role::kFirm},
                                         {"bank", Role::kBank},
                                         {"peer", Role::kPeer},
                                         {"operator", Role::kOperator}};
static_assert(std::size(kRoleChoices) == std::size(kAllRoles));

// "must be one of "a", "b"; got "c"".
template <typename E>
std::string ChoiceError(std::span<const Choice<E>> choices, std::string_view written) {
  std::string message = "must be one of ";
  for (size_t i = 0; i < choices.size(); ++i) {
    if (i > 0) message += ", ";
    message += Quote(choices[i].name);
  }
  return message + "; got " + Quote(written);
}

template <typename E>
std::string_view NameOf(std::span<const Choice<E>> choices, E value) {
  for (const auto& choice : choices) {
    if (choice.value == value) return choice.name;
  }
  return "unknown";
}

// The keys each table may hold; anything else in the file is an error. Every key the
// parsers below read must be listed here (TableReader asserts it).
using KeyList = std::span<const std::string_view>;
constexpr std::string_view kRootKeys[] = {"node",   "signing", "pseudonym", "trust",
                                          "log",    "store",   "api",       "admin",
                                          "limits", "audit",   "policy",    "peer"};
constexpr std::string_view kNodeKeys[] = {"side", "node_id"};
constexpr std::string_view kSigningKeys[] = {"key_file", "passphrase_env", "passphrase_file",
                                             "validity_days"};
constexpr std::string_view kPseudonymKeys[] = {"key_file"};
constexpr std::string_view kTrustKeys[] = {"node_id", "side",      "base_url",
                                           "ca_file", "keys_file", "key"};
constexpr std::string_view kTrustKeyKeys[] = {"key_id", "public_key", "not_before", "not_after"};
constexpr std::string_view kLogKeys[] = {"level", "format"};
constexpr std::string_view kStoreKeys[] = {"url"};
constexpr std::string_view kApiKeys[] = {
    "listen", "cert_file", "key_file", "client_ca_files", "threads", "handler_threads", "roles"};
constexpr std::string_view kAdminKeys[] = {"listen"};
constexpr std::string_view kLimitsKeys[] = {
    "max_header_bytes",     "max_body_bytes",   "header_read_timeout_ms",
    "body_read_timeout_ms", "idle_timeout_ms",  "handshake_timeout_ms",
    "max_connections",      "max_pipelined",    "client_rate_per_second",
    "client_burst",         "shutdown_grace_ms"};
constexpr std::string_view kAuditKeys[] = {"file"};
constexpr std::string_view kPeerKeys[] = {"cert_file",
                                          "key_file",
                                          "connect_timeout_ms",
                                          "request_timeout_ms",
                                          "attempts",
                                          "timestamp_window_seconds",
                                          "sync_interval_seconds"};
constexpr std::string_view kPolicyKeys[] = {
    "consent_required_purposes", "default_audience_required", "consent_required_for_peers"};

bool IsEnvVarName(std::string_view text) {
  if (text.empty() || (text[0] >= '0' && text[0] <= '9')) return false;
  for (char c : text) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) {
      return false;
    }
  }
  return true;
}

bool IsLowerHex(std::string_view text, size_t length) {
  if (text.size() != length) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Standard or URL-safe alphabet, optionally padded: what crypto::Base64Decode takes.
bool IsBase64(std::string_view text) {
  const size_t body = text.find_last_not_of('=') + 1;  // npos + 1 == 0 for all '='
  if (body == 0 || text.size() - body > 2) return false;
  for (char c : text.substr(0, body)) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
          c == '/' || c == '-' || c == '_')) {
      return false;
    }
  }
  return true;
}

bool IsHttpsUrl(std::string_view text) {
  constexpr std::string_view kScheme = "https://";
  if (!text.starts_with(kScheme) || text.size() == kScheme.size()) return false;
  if (text[kScheme.size()] == '/') return false;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return false;
  }
  return true;
}

// RFC 1123 host name: dot-separated labels of 1-63 letters, digits and '-', not
// starting or ending with '-'; at most 253 characters. A trailing dot is not taken.
bool IsHostName(std::string_view text) {
  if (text.empty() || text.size() > 253) return false;
  size_t label_start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == '.') {
      const std::string_view label = text.substr(label_start, i - label_start);
      if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
        return false;
      }
      label_start = i + 1;
      continue;
    }
    const char c = text[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-')) {
      return false;
    }
  }
  return true;
}

bool IsIpLiteral(int family, const std::string& text) {
  unsigned char buffer[sizeof(struct in6_addr)];
  return ::inet_pton(family, text.c_str(), buffer) == 1;
}

// "host:port" as the listeners take it; an empty string when `text` is well formed,
// else what is wrong with it.
std::string ParseListenAddress(std::string_view text, ListenAddress* out) {
  if (text.find("://") != std::string_view::npos) return "not a URL";
  std::string_view host;
  std::string_view port;
  bool bracketed = false;
  if (text.starts_with('[')) {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return "an IPv6 address is written [address]:port";
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    bracketed = true;
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return "the port is missing";
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return "an IPv6 address must be in brackets, as in [::1]:8443";
    }
  }
  if (host.empty()) return "the host is missing";
  const std::string host_text(host);
  if (bracketed) {
    if (!IsIpLiteral(AF_INET6, host_text)) return "not an IPv6 address in brackets";
  } else if (host.find_first_not_of("0123456789.") == std::string_view::npos) {
    if (!IsIpLiteral(AF_INET, host_text)) return "not an IPv4 address";
  } else if (!IsHostName(host)) {
    return "the host is neither an IP address nor a host name";
  }
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string_view::npos) {
    return "the port must be a number from 0 to 65535";
  }
  const int number = std::stoi(std::string(port));
  if (number > 65535) return "the port must be a number from 0 to 65535";
  out->host = host_text;
  out->port = static_cast<uint16_t>(number);
  return "";
}

// An organizational unit as [api.roles] names it: printable, no control characters.
bool IsOrganizationalUnit(std::string_view text) {
  if (text.empty() || text.size() > kMaxOrganizationalUnitLength) return false;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return false;
  }
  return true;
}

// A TOML offset date-time as a time point; nullopt outside what Clock can hold.
std::optional<Clock::time_point> ToTimePoint(const toml::date_time& value) {
  namespace chrono = std::chrono;
  assert(value.offset.has_value());
  const chrono::sys_days date = chrono::year{static_cast<int>(value.date.year)} /
                                chrono::month{value.date.month} / chrono::day{value.date.day};
  const chrono::seconds since_epoch = date.time_since_epoch() + chrono::hours{value.time.hour} +
                                      chrono::minutes{value.time.minute} +
                                      chrono::seconds{value.time.second} -
                                      chrono::minutes{value.offset->minutes};
  constexpr chrono::seconds kLimit =
      chrono::duration_cast<chrono::seconds>(Clock::duration::max()) - chrono::seconds{1};
  if (since_epoch > kLimit || since_epoch < -kLimit) return std::nullopt;
  return Clock::time_point(
      chrono::duration_cast<Clock::duration>(since_epoch) +
      chrono::duration_cast<Clock::duration>(chrono::nanoseconds{value.time.nanosecond}));
}

struct Source {
  std::string_view name;           // for messages: "node.toml"
  std::filesystem::path base_dir;  // relative paths are joined to it; empty: kept

  std::string Resolve(const std::filesystem::path& written) const {
    std::filesystem::path resolved = written;
    if (resolved.is_relative() && !base_dir.empty()) resolved = base_dir / resolved;
    return resolved.lexically_normal().string();
  }
};

// One string of an array, or one entry of a table of free-form names, with where it
// was written.
struct StringEntry {
  std::string name;  // the entry's key (tables only)
  std::string value;
  std::string path;            // "api.client_ca_files[1]", "api.roles.agency"
  toml::source_region region;  // of the value
};

Status ErrorAt(const Source& source, const toml::source_region& region, std::string_view path,
               std::string_view message) {
  std::string text = Position(source.name, region);
  if (!path.empty()) {
    text += ": ";
    text += path;
  }
  text += ": ";
  text += message;
  return InvalidArgumentError(std::move(text));
}

// One TOML table of a known shape, named by its dotted path ("signing",
// "trust[1].key[0]"; empty for the root). The Read* functions leave *out unchanged
// when an optional key is absent, so the caller's default stands; every error names
// the key's dotted path and position.
class TableReader {
 public:
  // Fails on the first key (in file order) that is not in `known`.
  static StatusOr<TableReader> Open(const Source* source, const toml::table* table,
                                    std::string path, KeyList known) {
    TableReader reader(source, table, std::move(path), known);
    CG_RETURN_IF_ERROR(reader.CheckKnownKeys());
    return reader;
  }

  const std::string& path() const { return path_; }

  // "node.toml:9:1: trust[0]": where this table is, for errors found after loading.
  std::string Origin() const { return Position(source_->name, table_->source()) + ": " + path_; }

  bool Has(std::string_view key) const { return Find(key) != nullptr; }

  // `written` resolved against the base directory, as ReadPath resolves paths.
  std::string Resolve(std::string_view written) const {
    return source_->Resolve(std::filesystem::path(written));
  }

  Status KeyError(std::string_view key, std::string_view message) const {
    const toml::key* written = FindKey(key);
    return ErrorAt(*source_, written != nullptr ? written->source() : table_->source(), PathOf(key),
                   message);
  }

  Status TableError(std::string_view message) const {
    return ErrorAt(*source_, table_->source(), path_, message);
  }

  Status ReadString(std::string_view key, Presence presence, std::string* out) const {
    const toml::node* node = Find(key);
    if (node == nullptr) return presence == Presence::kRequired ? Missing(key) : OkStatus();
    const auto* value = node->as_string();
    if (value == nullptr) return WrongType(key, *node, "a string");
    *out = value->get();
    return OkStatus();
  }

  // A non-empty path, resolved against the base directory.
  Status ReadPath(std::string_view key, Presence presence, std::string* out) const {
    std::string written;
    CG_RETURN_IF_ERROR(ReadString(key, presence, &written));
    if (!Has(key)) return OkStatus();
    if (written.empty()) return KeyError(key, "must be a path, got an empty string");
    if (written.find('\0') != std::string::npos) {
      return KeyError(key, "must be a path, got a string containing NUL");
    }
    *out = source_->Resolve(written);
    return OkStatus();
  }

  // An optional integer in [min, max].
  template <typename T>
  Status ReadInt(std::string_view key, int64_t min, int64_t max, T* out) const {
    const toml::node* node = Find(key);
    if (node == nullptr) return OkStatus();
    const auto* value = node->as_integer();
    if (value == nullptr) return WrongType(key, *node, "an integer");
    const int64_t number = value->get();
    if (number < min || number > max) {
      return KeyError(key, "must be between " + std::to_string(min) + " and " +
                               std::to_string(max) + ", got " + std::to_string(number));
    }
    *out = static_cast<T>(number);
    return OkStatus();
  }
  template <typename T>
  Status ReadInt(std::string_view key, const IntRange& range, T* out) const {
    return ReadInt(key, range.min, range.max, out);
  }

  Status ReadBool(std::string_view key, bool* out) const {
    const toml::node* node = Find(key);
    if (node == nullptr) return OkStatus();
    const auto* value = node->as_boolean();
    if (value == nullptr) return WrongType(key, *node, "a boolean (true or false)");
    *out = value->get();
    return OkStatus();
  }

  // An optional "host:port".
  Status ReadListenAddress(std::string_view key, ListenAddress* out) const {
    std::string written;
    CG_RETURN_IF_ERROR(ReadString(key, Presence::kOptional, &written));
    if (!Has(key)) return OkStatus();
    const std::string problem = ParseListenAddress(written, out);
    if (!problem.empty()) {
      return KeyError(key, "must be host:port, such as 127.0.0.1:8443 or [::1]:8443 (" + problem +
                               "), got " + Quote(written));
    }
    return OkStatus();
  }

  // The strings of an array, in order; none when absent.
  StatusOr<std::vector<StringEntry>> ReadStringArray(std::string_view key,
                                                     Presence presence) const {
    std::vector<StringEntry> entries;
    const toml::node* node = Find(key);
    if (node == nullptr) {
      if (presence == Presence::kRequired) return Missing(key);
      return entries;
    }
    const toml::array* array = node->as_array();
    if (array == nullptr) return WrongType(key, *node, "an array of strings");
    for (size_t i = 0; i < array->size(); ++i) {
      const toml::node& element = *array->get(i);
      StringEntry& entry = entries.emplace_back();
      entry.path = PathOf(key) + "[" + std::to_string(i) + "]";
      entry.region = element.source();
      const auto* value = element.as_string();
      if (value == nullptr) {
        return EntryError(entry, "must be a string, got " + std::string(TypeName(element.type())));
      }
      entry.value = value->get();
    }
    return entries;
  }

  // A sub-table whose keys are free-form names, each holding a string, in key order;
  // nullopt when absent.
  StatusOr<std::optional<std::vector<StringEntry>>> ReadStringTable(std::string_view key) const {
    const toml::node* node = Find(key);
    if (node == nullptr) return std::optional<std::vector<StringEntry>>();
    const toml::table* table = node->as_table();
    if (table == nullptr) {
      return WrongType(key, *node, "a table ([" + HeaderName(PathOf(key)) + "])");
    }
    std::vector<StringEntry> entries;
    for (const auto& [name, value] : *table) {
      StringEntry& entry = entries.emplace_back();
      entry.name = name.str();
      entry.path = PathOf(key) + "." + (IsBareKey(entry.name) ? entry.name : Quote(entry.name));
      entry.region = value.source();
      const auto* text = value.as_string();
      if (text == nullptr) {
        return EntryError(entry, "must be a string, got " + std::string(TypeName(value.type())));
      }
      entry.value = text->get();
    }
    return std::optional<std::vector<StringEntry>>(std::move(entries));
  }

  Status EntryError(const StringEntry& entry, std::string_view message) const {
    return ErrorAt(*source_, entry.region, entry.path, message);
  }

  template <typename E>
  Status ReadChoice(std::string_view key, Presence presence, std::span<const Choice<E>> choices,
                    E* out) const {
    std::string written;
    CG_RETURN_IF_ERROR(ReadString(key, presence, &written));
    if (!Has(key)) return OkStatus();
    for (const auto& choice : choices) {
      if (choice.name == written) {
        *out = choice.value;
        return OkStatus();
      }
    }
    return KeyError(key, ChoiceError(choices, written));
  }

  // An optional TOML date-time with a UTC offset.
  Status ReadDateTime(std::string_view key, std::optional<Clock::time_point>* out) const {
    const toml::node* node = Find(key);
    if (node == nullptr) return OkStatus();
    constexpr std::string_view kExpected =
        "a date-time with a UTC offset, such as 2026-01-01T00:00:00Z";
    const auto* value = node->as_date_time();
    if (value == nullptr) return WrongType(key, *node, kExpected);
    if (!value->get().offset.has_value()) {
      return KeyError(
          key, "must be " + std::string(kExpected) + ", got a local date-time without an offset");
    }
    *out = ToTimePoint(value->get());
    if (!out->has_value()) return KeyError(key, "is outside the years 1678 to 2261");
    return OkStatus();
  }

  // The sub-table at `key`: required, or an empty table when absent.
  StatusOr<TableReader> ReadTable(std::string_view key, Presence presence, KeyList known) const {
    static const toml::table kEmptyTable;
    const toml::node* node = Find(key);
    if (node == nullptr) {
      if (presence == Presence::kRequired) {
        return ErrorAt(*source_, {}, PathOf(key),
                       "required table [" + HeaderName(PathOf(key)) + "] is missing");
      }
      return Open(source_, &kEmptyTable, PathOf(key), known);
    }
    const toml::table* table = node->as_table();
    if (table == nullptr) {
      return WrongType(key, *node, "a table ([" + HeaderName(PathOf(key)) + "])");
    }
    return Open(source_, table, PathOf(key), known);
  }

  // The tables of an array of tables, in file order; none when absent. Each is
  // checked for unknown keys before any is returned.
  StatusOr<std::vector<TableReader>> ReadArrayOfTables(std::string_view key, KeyList known) const {
    std::vector<TableReader> readers;
    const toml::node* node = Find(key);
    if (node == nullptr) return readers;
    const toml::array* array = node->as_array();
    if (array == nullptr) {
      return WrongType(key, *node, "an array of tables ([[" + HeaderName(PathOf(key)) + "]])");
    }
    for (size_t i = 0; i < array->size(); ++i) {
      const toml::node& element = *array->get(i);
      const std::string element_path = PathOf(key) + "[" + std::to_string(i) + "]";
      const toml::table* table = element.as_table();
      if (table == nullptr) {
        return ErrorAt(*source_, element.source(), element_path,
                       "must be a table, got " + std::string(TypeName(element.type())));
      }
      CG_ASSIGN_OR_RETURN(TableReader reader, Open(source_, table, element_path, known));
      readers.push_back(std::move(reader));
    }
    return readers;
  }

 private:
  TableReader(const Source* source, const toml::table* table, std::string path, KeyList known)
      : source_(source), table_(table), path_(std::move(path)), known_(known) {}

  Status CheckKnownKeys() const {
    const toml::key* first_unknown = nullptr;
    auto order = [](const toml::key& key) {
      const auto& begin = key.source().begin;
      // Keys without a position (none are expected) sort last.
      return begin.line == 0 ? std::pair(UINT32_MAX, UINT32_MAX)
                             : std::pair(begin.line, begin.column);
    };
    for (const auto& [key, value] : *table_) {
      if (IsKnown(key.str())) continue;
      if (first_unknown == nullptr || order(key) < order(*first_unknown)) first_unknown = &key;
    }
    if (first_unknown == nullptr) return OkStatus();
    std::string message = "unknown key (allowed here: ";
    for (size_t i = 0; i < known_.size(); ++i) {
      if (i > 0) message += ", ";
      message += known_[i];
    }
    message += ")";
    return ErrorAt(*source_, first_unknown->source(), PathOf(first_unknown->str()), message);
  }

  bool IsKnown(std::string_view key) const {
    for (std::string_view known : known_) {
      if (known == key) return true;
    }
    return false;
  }

  static bool IsBareKey(std::string_view key) {
    if (key.empty()) return false;
    for (char c : key) {
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_')) {
        return false;
      }
    }
    return true;
  }

  std::string PathOf(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }

  const toml::key* FindKey(std::string_view key) const {
    assert(IsKnown(key) && "read a key missing from its table's known keys");
    auto it = table_->find(key);
    return it == table_->end() ? nullptr : &it->first;
  }

  const toml::node* Find(std::string_view key) const {
    assert(IsKnown(key) && "read a key missing from its table's known keys");
    auto it = table_->find(key);
    return it == table_->end() ? nullptr : &it->second;
  }

  Status Missing(std::string_view key) const {
    return ErrorAt(*source_, table_->source(), PathOf(key), "required key is missing");
  }

  Status WrongType(std::string_view key, const toml::node& node, std::string_view expected) const {
    return KeyError(
        key, "must be " + std::string(expected) + ", got " + std::string(TypeName(node.type())));
  }

  const Source* source_;
  const toml::table* table_;
  std::string path_;
  KeyList known_;
};

Status ReadNodeId(const TableReader& table, std::string_view key, std::string* out) {
  CG_RETURN_IF_ERROR(table.ReadString(key, Presence::kRequired, out));
  if (!IsNodeId(*out)) {
    return table.KeyError(key, "must be 1 to " + std::to_string(kMaxNodeIdLength) +
                                   " characters of a-z, 0-9 and '-', got " + Quote(*out));
  }
  return OkStatus();
}

Status ParseNodeIdentity(const TableReader& table, NodeIdentityConfig* out) {
  CG_RETURN_IF_ERROR(table.ReadChoice<Side>("side", Presence::kRequired, kSideChoices, &out->side));
  return ReadNodeId(table, "node_id", &out->node_id);
}

Status ParseSigning(const TableReader& table, SigningConfig* out) {
  CG_RETURN_IF_ERROR(table.ReadPath("key_file", Presence::kRequired, &out->key_file));
  if (table.Has("passphrase_env") && table.Has("passphrase_file")) {
    return table.KeyError(
        "passphrase_file",
        "conflicts with " + table.path() + ".passphrase_env; give exactly one passphrase source");
  }
  if (table.Has("passphrase_env")) {
    CG_RETURN_IF_ERROR(
        table.ReadString("passphrase_env", Presence::kOptional, &out->passphrase_env));
    if (!IsEnvVarName(out->passphrase_env)) {
      return table.KeyError("passphrase_env",
                            "must be an environment variable name ([A-Za-z_][A-Za-z0-9_]*), got " +
                                Quote(out->passphrase_env));
    }
  }
  if (table.Has("passphrase_file")) {
    CG_RETURN_IF_ERROR(
        table.ReadPath("passphrase_file", Presence::kOptional, &out->passphrase_file));
    out->passphrase_env.clear();
  }
  return table.ReadInt("validity_days", kMinValidityDays, kMaxValidityDays, &out->validity_days);
}

Status ParsePseudonym(const TableReader& table, PseudonymConfig* out) {
  return table.ReadPath("key_file", Presence::kRequired, &out->key_file);
}

Status ParseTrustedKey(const TableReader& table, TrustedKeyConfig* out) {
  CG_RETURN_IF_ERROR(table.ReadString("key_id", Presence::kOptional, &out->key_id));
  if (table.Has("key_id") && !IsLowerHex(out->key_id, kKeyIdHexLength)) {
    return table.KeyError("key_id", "must be " + std::to_string(kKeyIdHexLength) +
                                        " lower-case hex characters, got " + Quote(out->key_id));
  }
  CG_RETURN_IF_ERROR(table.ReadString("public_key", Presence::kRequired, &out->public_key_base64));
  if (!IsBase64(out->public_key_base64)) {
    return table.KeyError("public_key", "must be base64 (of the 32-byte Ed25519 public key), got " +
                                            Quote(out->public_key_base64));
  }
  CG_RETURN_IF_ERROR(table.ReadDateTime("not_before", &out->not_before));
  CG_RETURN_IF_ERROR(table.ReadDateTime("not_after", &out->not_after));
  if (out->not_before && out->not_after && *out->not_after <= *out->not_before) {
    return table.KeyError("not_after", "must be later than not_before");
  }
  out->origin = table.Origin();
  return OkStatus();
}

Status ParseTrustedNode(const TableReader& table, TrustedNodeConfig* out) {
  CG_RETURN_IF_ERROR(ReadNodeId(table, "node_id", &out->node_id));
  CG_RETURN_IF_ERROR(table.ReadChoice<Side>("side", Presence::kRequired, kSideChoices, &out->side));
  CG_RETURN_IF_ERROR(table.ReadString("base_url", Presence::kOptional, &out->base_url));
  if (table.Has("base_url") && !IsHttpsUrl(out->base_url)) {
    return table.KeyError("base_url", "must be an https:// URL, got " + Quote(out->base_url));
  }
  CG_RETURN_IF_ERROR(table.ReadPath("ca_file", Presence::kOptional, &out->ca_file));
  CG_RETURN_IF_ERROR(table.ReadPath("keys_file", Presence::kOptional, &out->keys_file));
  CG_ASSIGN_OR_RETURN(const std::vector<TableReader> keys,
                      table.ReadArrayOfTables("key", kTrustKeyKeys));
  for (const TableReader& key : keys) {
    CG_RETURN_IF_ERROR(ParseTrustedKey(key, &out->keys.emplace_back()));
  }
  if (out->keys_file.empty() && out->keys.empty()) {
    return table.TableError("needs keys_file or at least one [[" + HeaderName(table.path()) +
                            ".key]]");
  }
  out->origin = table.Origin();
  return OkStatus();
}

Status ParseTrust(const TableReader& root, std::vector<TrustedNodeConfig>* out) {
  CG_ASSIGN_OR_RETURN(const std::vector<TableReader> entries,
                      root.ReadArrayOfTables("trust", kTrustKeys));
  std::unordered_map<std::string, std::string> seen;  // node_id -> path of its entry
  for (const TableReader& entry : entries) {
    TrustedNodeConfig& node = out->emplace_back();
    CG_RETURN_IF_ERROR(ParseTrustedNode(entry, &node));
    auto [it, inserted] = seen.emplace(node.node_id, entry.path());
    if (!inserted) {
      return entry.KeyError("node_id", Quote(node.node_id) + " is already trusted by " +
                                           it->second + "; give each node one [[trust]]");
    }
  }
  return OkStatus();
}

Status ParseLog(const TableReader& table, LogConfig* out) {
  CG_RETURN_IF_ERROR(
      table.ReadChoice<LogLevel>("level", Presence::kOptional, kLogLevelChoices, &out->level));
  return table.ReadChoice<LogFormat>("format", Presence::kOptional, kLogFormatChoices,
                                     &out->format);
}

Status ParseStore(const TableReader& table, StoreConfig* out) {
  out->url = "sqlite:" + table.Resolve(kDefaultStoreFile);
  std::string written;
  CG_RETURN_IF_ERROR(table.ReadString("url", Presence::kOptional, &written));
  if (!table.Has("url")) return OkStatus();
  constexpr std::string_view kSqlite = "sqlite:";
  constexpr std::string_view kMemory = "sqlite::memory:";
  if (written == kMemory) {
    out->url = written;
    return OkStatus();
  }
  if (written.starts_with("postgresql://") || written.starts_with("postgres://")) {
    return table.KeyError("url", "PostgreSQL stores are not supported yet; use sqlite:PATH");
  }
  const std::string_view path =
      std::string_view(written).substr(written.starts_with(kSqlite) ? kSqlite.size() : 0);
  if (!written.starts_with(kSqlite) || path.empty() || path.starts_with("//") ||
      path.find('\0') != std::string_view::npos) {
    return table.KeyError("url", "must be sqlite:PATH (such as sqlite:node.db) or " +
                                     std::string(kMemory) + ", got " + Quote(written));
  }
  out->url = std::string(kSqlite) + table.Resolve(path);
  return OkStatus();
}

Status ParseRoles(const TableReader& table, std::map<std::string, Role, std::less<>>* out) {
  CG_ASSIGN_OR_RETURN(const std::optional<std::vector<StringEntry>> entries,
                      table.ReadStringTable("roles"));
  if (!entries.has_value()) {
    for (Role role : kAllRoles) out->emplace(RoleName(role), role);
    return OkStatus();
  }
  if (entries->empty()) {
    return table.KeyError("roles", "must map at least one organizational unit to a role");
  }
  for (const StringEntry& entry : *entries) {
    if (!IsOrganizationalUnit(entry.name)) {
      return entry.name.empty()
                 ? table.EntryError(entry, "an organizational unit must not be empty")
                 : table.EntryError(entry, "an organizational unit is 1 to " +
                                               std::to_string(kMaxOrganizationalUnitLength) +
                                               " characters without control characters");
    }
    const auto* choice = std::find_if(std::begin(kRoleChoices), std::end(kRoleChoices),
                                      [&](const auto& c) { return c.name == entry.value; });
    if (choice == std::end(kRoleChoices)) {
      return table.EntryError(entry, ChoiceError<Role>(kRoleChoices, entry.value));
    }
    out->emplace(entry.name, choice->value);
  }
  return OkStatus();
}

Status ParseApi(const TableReader& table, ApiConfig* out) {
  CG_RETURN_IF_ERROR(table.ReadListenAddress("listen", &out->listen));
  CG_RETURN_IF_ERROR(table.ReadPath("cert_file", Presence::kRequired, &out->cert_file));
  CG_RETURN_IF_ERROR(table.ReadPath("key_file", Presence::kRequired, &out->key_file));
  CG_ASSIGN_OR_RETURN(const std::vector<StringEntry> ca_files,
                      table.ReadStringArray("client_ca_files", Presence::kRequired));
  if (ca_files.empty()) {
    return table.KeyError("client_ca_files", "must name at least one CA file");
  }
  for (const StringEntry& entry : ca_files) {
    if (entry.value.empty()) return table.EntryError(entry, "must be a path, got an empty string");
    if (entry.value.find('\0') != std::string::npos) {
      return table.EntryError(entry, "must be a path, got a string containing NUL");
    }
    out->client_ca_files.push_back(table.Resolve(entry.value));
  }
  CG_RETURN_IF_ERROR(table.ReadInt("threads", kApiThreadsRange, &out->threads));
  CG_RETURN_IF_ERROR(
      table.ReadInt("handler_threads", kApiHandlerThreadsRange, &out->handler_threads));
  CG_RETURN_IF_ERROR(ParseRoles(table, &out->roles));
  return OkStatus();
}

Status ParseLimits(const TableReader& table, LimitsConfig* out) {
  CG_RETURN_IF_ERROR(
      table.ReadInt("max_header_bytes", kMaxHeaderBytesRange, &out->max_header_bytes));
  CG_RETURN_IF_ERROR(table.ReadInt("max_body_bytes", kMaxBodyBytesRange, &out->max_body_bytes));
  CG_RETURN_IF_ERROR(table.ReadInt("header_read_timeout_ms", kHeaderReadTimeoutMsRange,
                                   &out->header_read_timeout_ms));
  CG_RETURN_IF_ERROR(
      table.ReadInt("body_read_timeout_ms", kBodyReadTimeoutMsRange, &out->body_read_timeout_ms));
  CG_RETURN_IF_ERROR(table.ReadInt("idle_timeout_ms", kIdleTimeoutMsRange, &out->idle_timeout_ms));
  CG_RETURN_IF_ERROR(
      table.ReadInt("handshake_timeout_ms", kHandshakeTimeoutMsRange, &out->handshake_timeout_ms));
  CG_RETURN_IF_ERROR(table.ReadInt("max_connections", kMaxConnectionsRange, &out->max_connections));
  CG_RETURN_IF_ERROR(table.ReadInt("max_pipelined", kMaxPipelinedRange, &out->max_pipelined));
  CG_RETURN_IF_ERROR(table.ReadInt("client_rate_per_second", kClientRatePerSecondRange,
                                   &out->client_rate_per_second));
  CG_RETURN_IF_ERROR(table.ReadInt("client_burst", kClientBurstRange, &out->client_burst));
  return table.ReadInt("shutdown_grace_ms", kShutdownGraceMsRange, &out->shutdown_grace_ms);
}

Status ParseAudit(const TableReader& table, AuditConfig* out) {
  out->file = table.Resolve(kDefaultAuditFile);
  return table.ReadPath("file", Presence::kOptional, &out->file);
}

Status ParsePolicy(const TableReader& table, PolicyConfig* out) {
  CG_ASSIGN_OR_RETURN(const std::vector<StringEntry> purposes,
                      table.ReadStringArray("consent_required_purposes", Presence::kOptional));
  std::set<std::string, std::less<>> seen;
  for (const StringEntry& entry : purposes) {
    if (!IsPurpose(entry.value)) {
      return table.EntryError(entry, "must be 1 to " + std::to_string(kMaxPurposeLength) +
                                         " characters of a-z, 0-9 and '-', got " +
                                         Quote(entry.value));
    }
    if (!seen.insert(entry.value).second) {
      return table.EntryError(entry, Quote(entry.value) + " is listed twice");
    }
    out->consent_required_purposes.push_back(entry.value);
  }
  CG_RETURN_IF_ERROR(table.ReadBool("default_audience_required", &out->default_audience_required));
  return table.ReadBool("consent_required_for_peers", &out->consent_required_for_peers);
}

Status ParsePeer(const TableReader& table, PeerConfig* out) {
  CG_RETURN_IF_ERROR(table.ReadPath("cert_file", Presence::kOptional, &out->cert_file));
  CG_RETURN_IF_ERROR(table.ReadPath("key_file", Presence::kOptional, &out->key_file));
  if (out->cert_file.empty() != out->key_file.empty()) {
    return table.KeyError(out->cert_file.empty() ? "cert_file" : "key_file",
                          "cert_file and key_file go together: give both or neither");
  }
  CG_RETURN_IF_ERROR(
      table.ReadInt("connect_timeout_ms", kPeerConnectTimeoutMsRange, &out->connect_timeout_ms));
  CG_RETURN_IF_ERROR(
      table.ReadInt("request_timeout_ms", kPeerRequestTimeoutMsRange, &out->request_timeout_ms));
  CG_RETURN_IF_ERROR(table.ReadInt("attempts", kPeerAttemptsRange, &out->attempts));
  CG_RETURN_IF_ERROR(table.ReadInt("timestamp_window_seconds", kPeerTimestampWindowSecondsRange,
                                   &out->timestamp_window_seconds));
  return table.ReadInt("sync_interval_seconds", kPeerSyncIntervalSecondsRange,
                       &out->sync_interval_seconds);
}

StatusOr<NodeConfig> ParseDocument(const Source& source, const toml::table& document) {
  CG_ASSIGN_OR_RETURN(const TableReader root, TableReader::Open(&source, &document, "", kRootKeys));
  NodeConfig config;
  CG_ASSIGN_OR_RETURN(const TableReader node,
                      root.ReadTable("node", Presence::kRequired, kNodeKeys));
  CG_RETURN_IF_ERROR(ParseNodeIdentity(node, &config.node));
  CG_ASSIGN_OR_RETURN(const TableReader signing,
                      root.ReadTable("signing", Presence::kRequired, kSigningKeys));
  CG_RETURN_IF_ERROR(ParseSigning(signing, &config.signing));
  CG_ASSIGN_OR_RETURN(const TableReader pseudonym,
                      root.ReadTable("pseudonym", Presence::kRequired, kPseudonymKeys));
  CG_RETURN_IF_ERROR(ParsePseudonym(pseudonym, &config.pseudonym));
  CG_RETURN_IF_ERROR(ParseTrust(root, &config.trust));
  CG_ASSIGN_OR_RETURN(const TableReader log, root.ReadTable("log", Presence::kOptional, kLogKeys));
  CG_RETURN_IF_ERROR(ParseLog(log, &config.log));
  CG_ASSIGN_OR_RETURN(const TableReader store,
                      root.ReadTable("store", Presence::kOptional, kStoreKeys));
  CG_RETURN_IF_ERROR(ParseStore(store, &config.store));
  if (root.Has("api")) {
    CG_ASSIGN_OR_RETURN(const TableReader api,
                        root.ReadTable("api", Presence::kOptional, kApiKeys));
    CG_RETURN_IF_ERROR(ParseApi(api, &config.api.emplace()));
  }
  CG_ASSIGN_OR_RETURN(const TableReader admin,
                      root.ReadTable("admin", Presence::kOptional, kAdminKeys));
  CG_RETURN_IF_ERROR(admin.ReadListenAddress("listen", &config.admin.listen));
  if (config.api.has_value() && config.admin.listen.port != 0 &&
      config.admin.listen.port == config.api->listen.port &&
      config.admin.listen.host == config.api->listen.host) {
    return admin.Has("listen")
               ? admin.KeyError("listen", "must differ from api.listen")
               : admin.TableError("the default admin.listen " +
                                  FormatListenAddress(config.admin.listen) +
                                  " is api.listen too; set a different admin.listen");
  }
  CG_ASSIGN_OR_RETURN(const TableReader limits,
                      root.ReadTable("limits", Presence::kOptional, kLimitsKeys));
  CG_RETURN_IF_ERROR(ParseLimits(limits, &config.limits));
  CG_ASSIGN_OR_RETURN(const TableReader audit,
                      root.ReadTable("audit", Presence::kOptional, kAuditKeys));
  CG_RETURN_IF_ERROR(ParseAudit(audit, &config.audit));
  CG_ASSIGN_OR_RETURN(const TableReader policy,
                      root.ReadTable("policy", Presence::kOptional, kPolicyKeys));
  CG_RETURN_IF_ERROR(ParsePolicy(policy, &config.policy));
  CG_ASSIGN_OR_RETURN(const TableReader peer,
                      root.ReadTable("peer", Presence::kOptional, kPeerKeys));
  CG_RETURN_IF_ERROR(ParsePeer(peer, &config.peer));
  return config;
}

}  // namespace

std::string_view SideName(Side side) { return NameOf<Side>(kSideChoices, side); }
std::string_view LogLevelName(LogLevel level) { return NameOf<LogLevel>(kLogLevelChoices, level); }
std::string_view LogFormatName(LogFormat format) {
  return NameOf<LogFormat>(kLogFormatChoices, format);
}
std::string_view RoleName(Role role) { return NameOf<Role>(kRoleChoices, role); }

std::string FormatListenAddress(const ListenAddress& address) {
  const bool ipv6 = address.host.find(':') != std::string::npos;
  return (ipv6 ? "[" + address.host + "]" : address.host) + ":" + std::to_string(address.port);
}

StatusOr<NodeConfig> LoadNodeConfig(const std::string& path) {
  auto text = ReadFileLimited(path, kMaxConfigFileBytes);
  if (!text.ok()) return text.status().WithContext("node configuration");
  std::error_code error;
  const std::filesystem::path absolute = std::filesystem::absolute(path, error);
  const std::filesystem::path dir = (error ? std::filesystem::path(path) : absolute).parent_path();
  return ParseNodeConfig(*text, path, dir.string());
}

StatusOr<NodeConfig> ParseNodeConfig(std::string_view toml_text, std::string_view source_name,
                                     std::string_view base_dir) {
  toml::table document;
  try {
    document = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& error) {
    return InvalidArgumentError(Position(source_name, error.source()) +
                                ": not valid TOML: " + std::string(error.description()));
  }
  const Source source{source_name, std::filesystem::path(base_dir)};
  return ParseDocument(source, document);
}

bool IsPurpose(std::string_view text) {
  if (text.empty() || text.size() > kMaxPurposeLength) return false;
  for (char c : text) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

bool IsNodeId(std::string_view text) {
  if (text.empty() || text.size() > kMaxNodeIdLength) return false;
  for (char c : text) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

}  // namespace cg::config
