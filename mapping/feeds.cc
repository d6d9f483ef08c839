#include "mapping/feeds.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>

#include "mapping/evaluation.h"
#include "mapping/identifier.h"
#include "proto/feeds.pb.h"
#include "specs/json.h"

namespace cg::mapping {
namespace {

// A check that failed on one column.
struct FieldError {
  std::string column;
  std::string reason;
};

// Reads the bound columns of one row, collecting the first error.
class RowChecker {
 public:
  RowChecker(const FeedRow& row, std::span<const FeedColumn> columns)
      : row_(row), columns_(columns) {}

  bool failed() const { return error_.has_value(); }
  const FieldError& error() const { return *error_; }

  // The text of column `c`; "" when absent (a required column absent is an error).
  std::string_view Text(size_t c) {
    if (failed()) return {};
    if (!row_.present[c]) {
      if (columns_[c].required) Fail(c, "is missing");
      return {};
    }
    return row_.fields[c];
  }
  bool Has(size_t c) const { return row_.present[c]; }

  std::string Id(size_t c, bool allow_person) {
    std::string_view text = Text(c);
    if (failed() || text.empty()) return {};
    auto id = ParseEntityId(text);
    if (!id.ok()) {
      Fail(c, id.status().message());
      return {};
    }
    if (id->is_person() && !allow_person) {
      Fail(c, "must be an entity, not a natural person");
      return {};
    }
    return std::string(text);
  }

  double Number(size_t c, double low, double high, bool low_inclusive) {
    std::string_view text = Text(c);
    if (failed() || text.empty()) return 0;
    double value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
      Fail(c, "'" + Shown(text) + "' is not a number");
      return 0;
    }
    if (value > high || value < low || (!low_inclusive && value == low)) {
      Fail(c, "must be " + std::string(low_inclusive ? "from " : "above ") + Format(low) +
                  (low_inclusive ? " to " : " and at most ") + Format(high) + ", got " +
                  Shown(text));
      return 0;
    }
    return value;
  }

  bool Flag(size_t c) {
    std::string_view text = Text(c);
    if (failed() || text.empty()) return false;
    if (text == "1" || text == "true") return true;
    if (text == "0" || text == "false") return false;
    Fail(c, "must be 0, 1, true or false, got '" + Shown(text) + "'");
    return false;
  }

  std::string Date(size_t c) {
    std::string_view t = Text(c);
    if (failed() || t.empty()) return {};
    if (!IsDate(t)) {
      Fail(c, "must be a date YYYY-MM-DD, got '" + Shown(t) + "'");
      return {};
    }
    return std::string(t);
  }

  std::string Period(size_t c) {
    std::string_view t = Text(c);
    if (failed() || t.empty()) return {};
    if (!IsPeriod(t)) {
      Fail(c, "must be a period YYYY-MM, got '" + Shown(t) + "'");
      return {};
    }
    return std::string(t);
  }

  std::string Jurisdiction(size_t c) {
    std::string_view t = Text(c);
    if (failed() || t.empty()) return {};
    auto upper2 = [](std::string_view s) {
      return s.size() == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z';
    };
    if (!(upper2(t) || (t.starts_with("CN-") && upper2(t.substr(3))))) {
      Fail(c, "must be an ISO 3166 code such as HK, VG or CN-SZ, got '" + Shown(t) + "'");
      return {};
    }
    return std::string(t);
  }

  // Printable text of 1..max_bytes bytes: valid UTF-8 without control characters.
  std::string Text(size_t c, size_t max_bytes) {
    std::string_view t = Text(c);
    if (failed() || t.empty()) return {};
    if (t.size() > max_bytes) {
      Fail(c, "is longer than " + std::to_string(max_bytes) + " bytes");
      return {};
    }
    if (!IsPrintableUtf8(t)) {
      Fail(c, "is not printable UTF-8 text");
      return {};
    }
    return std::string(t);
  }

  // One of `choices`; returns its index.
  size_t Choice(size_t c, std::span<const std::string_view> choices) {
    std::string_view t = Text(c);
    if (failed() || t.empty()) return 0;
    for (size_t i = 0; i < choices.size(); ++i) {
      if (choices[i] == t) return i;
    }
    std::string list;
    for (auto choice : choices) list += (list.empty() ? "" : ", ") + std::string(choice);
    Fail(c, "must be one of " + list + ", got '" + Shown(t) + "'");
    return 0;
  }

  void Fail(size_t c, std::string reason) {
    if (!error_) error_ = FieldError{std::string(columns_[c].name), std::move(reason)};
  }

  static bool IsDate(std::string_view t) {
    auto digit = [](char ch) { return ch >= '0' && ch <= '9'; };
    if (t.size() != 10 || t[4] != '-' || t[7] != '-') return false;
    for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
      if (!digit(t[i])) return false;
    }
    const int year = (t[0] - '0') * 1000 + (t[1] - '0') * 100 + (t[2] - '0') * 10 + (t[3] - '0');
    const int month = (t[5] - '0') * 10 + (t[6] - '0');
    const int day = (t[8] - '0') * 10 + (t[9] - '0');
    if (month < 1 || month > 12 || day < 1) return false;
    static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return day <= kDays[month - 1] + (month == 2 && leap ? 1 : 0);
  }

 private:
  static std::string Shown(std::string_view t) {
    std::string out;
    for (char ch : t.substr(0, 40)) out += (static_cast<unsigned char>(ch) < 0x20) ? '?' : ch;
    if (t.size() > 40) out += "...";
    return out;
  }
  static std::string Format(double x) {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x);
    return std::string(buf, ec == std::errc() ? end : buf);
  }
  static bool IsPrintableUtf8(std::string_view t) {
    size_t i = 0;
    while (i < t.size()) {
      const auto b = static_cast<unsigned char>(t[i]);
      size_t len = b < 0x80           ? 1
                   : (b >> 5) == 0x6  ? 2
                   : (b >> 4) == 0xE  ? 3
                   : (b >> 3) == 0x1E ? 4
                                      : 0;
      if (len == 0 || i + len > t.size()) return false;
      if (len == 1 && (b < 0x20 || b == 0x7f)) return false;
      for (size_t k = 1; k < len; ++k) {
        if ((static_cast<unsigned char>(t[i + k]) & 0xC0) != 0x80) return false;
      }
      i += len;
    }
    return true;
  }

  const FeedRow& row_;
  std::span<const FeedColumn> columns_;
  std::optional<FieldError> error_;
};

// --- sz-grades ---
constexpr FeedColumn kSzGradeColumns[] = {{"entity_id", true},
                                          {"name", true},
                                          {"period", true},
                                          {"grade", true},
                                          {"industry", true},
                                          {"business_changes", true},
                                          {"registration_licensing", true},
                                          {"penalties", true},
                                          {"complaints", true},
                                          {"commendations", true},
                                          {"serious_dishonesty", false},
                                          {"abnormal_operation", false},
                                          {"shell_risk", false}};
constexpr std::string_view kSzGrades[] = {"A+", "A", "B", "C", "D", "E"};

void CheckSzGrade(RowChecker& r, SzGradeRecord& out) {
  out.entity_id = r.Id(0, false);
  if (!r.failed() && !out.entity_id.starts_with("uscc:")) r.Fail(0, "must be a uscc: id");
  out.name = r.Text(1, 200);
  out.period = r.Period(2);
  out.grade = std::string(kSzGrades[r.Choice(3, kSzGrades)]);
  const std::string_view industry = r.Text(4);
  if (!r.failed()) {
    bool ok =
        industry.size() >= 1 && industry.size() <= 5 && industry[0] >= 'A' && industry[0] <= 'T';
    for (size_t i = 1; ok && i < industry.size(); ++i)
      ok = industry[i] >= '0' && industry[i] <= '9';
    if (!ok) r.Fail(4, "must be a GB/T 4754 code: a letter A-T and up to 4 digits");
    out.industry = std::string(industry);
  }
  for (size_t d = 0; d < 5; ++d) out.dimensions[d] = r.Number(5 + d, 0, 100, true);
  out.serious_dishonesty = r.Flag(10);
  out.abnormal_operation = r.Flag(11);
  out.shell_risk = r.Flag(12);
}

// --- ownership ---
constexpr FeedColumn kOwnershipColumns[] = {
    {"holder_id", true}, {"holder_kind", true}, {"holder_jurisdiction", true},
    {"owned_id", true},  {"share", true},       {"voting", false},
    {"as_of", true}};
constexpr std::string_view kHolderKinds[] = {"entity", "person"};

void CheckOwnership(RowChecker& r, const crypto::Pseudonymizer* pseudonymizer,
                    OwnershipRecord& out) {
  std::string holder = r.Id(0, true);
  const bool person = r.Choice(1, kHolderKinds) == 1;
  if (!r.failed() && person != holder.starts_with("person:")) {
    r.Fail(1, person ? "is person, but holder_id is not a person: id"
                     : "is entity, but holder_id is a person: id");
  }
  out.holder_is_person = person;
  out.holder_jurisdiction = r.Jurisdiction(2);
  out.owned_id = r.Id(3, false);
  out.share = r.Number(4, 0, 100, false) / 100;
  out.voting = r.Has(5) ? r.Number(5, 0, 100, true) / 100 : out.share;
  out.as_of = r.Date(6);
  if (r.failed()) return;
  if (person) {
    if (pseudonymizer == nullptr) {
      r.Fail(0, "natural persons need the pseudonymisation key");
      return;
    }
    auto pseudonym = crypto::Pseudonymizer::IsPseudonym(holder)
                         ? StatusOr<std::string>(holder)
                         : pseudonymizer->Pseudonymize(holder);
    if (!pseudonym.ok()) {
      r.Fail(0, pseudonym.status().message());
      return;
    }
    holder = std::move(pseudonym).value();
  }
  if (holder == out.owned_id) r.Fail(3, "an entity cannot hold itself");
  out.holder_id = std::move(holder);
}

// --- performance ---
constexpr FeedColumn kPerformanceColumns[] = {
    {"subject_id", true}, {"record_id", true}, {"counterparty_jurisdiction", true},
    {"kind", true},       {"due_date", true},  {"settled_date", false},
    {"amount", true},     {"currency", true},  {"status", true}};
constexpr std::string_view kPerformanceKinds[] = {"trade_payment", "loan_repayment",
                                                  "contract_delivery", "customs"};
constexpr std::string_view kPerformanceStatuses[] = {"on_time", "late", "defaulted", "disputed"};

void CheckPerformance(RowChecker& r, PerformanceRecord& out) {
  out.subject_id = r.Id(0, false);
  out.record_id = r.Text(1, 64);
  out.counterparty_jurisdiction = r.Jurisdiction(2);
  out.kind = static_cast<PerformanceKind>(r.Choice(3, kPerformanceKinds));
  out.due_date = r.Date(4);
  out.settled_date = r.Has(5) ? r.Date(5) : std::string();
  out.amount = r.Number(6, 0, 1e15, false);
  const std::string_view currency = r.Text(7);
  if (!r.failed()) {
    bool ok = currency.size() == 3;
    for (char ch : currency) ok = ok && ch >= 'A' && ch <= 'Z';
    if (!ok) r.Fail(7, "must be an ISO 4217 code such as CNY, HKD or USD");
    out.currency = std::string(currency);
  }
  out.status = static_cast<PerformanceStatus>(r.Choice(8, kPerformanceStatuses));
  if (r.failed()) return;
  // Dates in the same form compare as text.
  if (out.status == PerformanceStatus::kLate &&
      (out.settled_date.empty() || out.settled_date <= out.due_date)) {
    r.Fail(8, "late needs a settled_date after due_date");
  } else if (out.status == PerformanceStatus::kOnTime &&
             (out.settled_date.empty() || out.settled_date > out.due_date)) {
    r.Fail(8, "on_time needs a settled_date on or before due_date");
  }
}

// --- hk-bureau (nested JSON Lines) ---
constexpr std::string_view kFacilityTypes[] = {"overdraft", "term_loan", "trade_finance",
                                               "revolving", "leasing"};
constexpr std::string_view kFacilityStatuses[] = {"current", "closed", "written_off"};

bool OneOf(std::string_view value, std::span<const std::string_view> choices) {
  return std::find(choices.begin(), choices.end(), value) != choices.end();
}

// Checks one hk-bureau entry and converts it; the first problem is returned as
// (field, reason).
std::optional<FieldError> CheckHkBureau(const cg::v1::HkBureauEntry& e, HkBureauRecord& out) {
  auto fail = [](std::string field, std::string reason) {
    return std::optional<FieldError>(FieldError{std::move(field), std::move(reason)});
  };
  auto id = ParseEntityId(e.entity_id());
  if (!id.ok()) return fail("entity_id", id.status().message());
  if (id->scheme != IdScheme::kHkBrn && id->scheme != IdScheme::kHkCrn) {
    return fail("entity_id", "must be an hkbrn: or hkcrn: id");
  }
  if (e.name().empty() || e.name().size() > 200) return fail("name", "must be 1 to 200 bytes");
  auto date_ok = [](const std::string& d) { return RowChecker::IsDate(d); };
  if (!date_ok(e.as_of())) return fail("as_of", "must be a date YYYY-MM-DD");
  if (!e.incorporation_date().empty() &&
      (!date_ok(e.incorporation_date()) || e.incorporation_date() > e.as_of())) {
    return fail("incorporation_date", "must be a date YYYY-MM-DD not after as_of");
  }
  auto amount_ok = [](double x) { return std::isfinite(x) && x >= 0 && x <= 1e15; };
  out = HkBureauRecord{};
  out.entity_id = e.entity_id();
  out.name = e.name();
  out.as_of = e.as_of();
  out.incorporation_date = e.incorporation_date();
  for (int i = 0; i < e.facilities_size(); ++i) {
    const auto& f = e.facilities(i);
    const std::string at = "facilities[" + std::to_string(i) + "]";
    if (!OneOf(f.type(), kFacilityTypes)) return fail(at + ".type", "unknown facility type");
    if (!OneOf(f.status(), kFacilityStatuses)) {
      return fail(at + ".status", "must be current, closed or written_off");
    }
    if (!amount_ok(f.limit()) || !amount_ok(f.outstanding())) {
      return fail(at, "limit and outstanding must be amounts of 0 or more");
    }
    if (f.worst_dpd_12m() > 999) return fail(at + ".worst_dpd_12m", "must be 0 to 999");
    out.facilities.push_back(
        {f.lender(), f.type(), f.limit(), f.outstanding(), f.worst_dpd_12m(), f.status()});
  }
  for (int i = 0; i < e.defaults_size(); ++i) {
    const auto& d = e.defaults(i);
    if (!date_ok(d.date()) || !amount_ok(d.amount())) {
      return fail("defaults[" + std::to_string(i) + "]", "needs a date and an amount");
    }
    out.defaults.push_back({d.date(), d.amount(), false});
  }
  for (int i = 0; i < e.judgments_size(); ++i) {
    const auto& j = e.judgments(i);
    if (!date_ok(j.date()) || !amount_ok(j.amount())) {
      return fail("judgments[" + std::to_string(i) + "]", "needs a date and an amount");
    }
    out.judgments.push_back({j.date(), j.amount(), j.satisfied()});
  }
  for (int i = 0; i < e.winding_up_petitions_size(); ++i) {
    if (!date_ok(e.winding_up_petitions(i).date())) {
      return fail("winding_up_petitions[" + std::to_string(i) + "].date", "must be a date");
    }
    out.winding_up_petitions.push_back(e.winding_up_petitions(i).date());
  }
  for (int i = 0; i < e.trade_payments_size(); ++i) {
    const auto& t = e.trade_payments(i);
    if (t.days_beyond_terms() > 999 || !amount_ok(t.amount())) {
      return fail("trade_payments[" + std::to_string(i) + "]",
                  "days_beyond_terms must be 0 to 999 and amount 0 or more");
    }
    out.trade_payments.push_back({t.days_beyond_terms(), t.amount()});
  }
  return std::nullopt;
}

StatusOr<FeedReadSummary> ReadHkBureau(const std::string& path, FeedFormat format, FeedSink& sink) {
  if (format != FeedFormat::kJsonLines) {
    return InvalidArgumentError("the hk-bureau feed is nested: it is JSON Lines only");
  }
  CG_ASSIGN_OR_RETURN(auto file, FeedFile::Open(path, format, {}));
  FeedReadSummary summary;
  cg::v1::HkBureauEntry entry;
  HkBureauRecord record;
  std::string_view line;
  uint64_t line_number = 0;
  while (true) {
    CG_ASSIGN_OR_RETURN(bool has_line, file->NextLine(&line, &line_number));
    if (!has_line) break;
    ++summary.rows;
    if ((summary.rows & 0x3FFF) == 0) sink.OnProgress(file->bytes_read(), file->size_bytes());
    std::optional<FieldError> error;
    if (line.size() > kMaxFeedRowBytes) {
      error =
          FieldError{"", "the row is longer than " + std::to_string(kMaxFeedRowBytes) + " bytes"};
    } else if (Status parsed = JsonToMessage(line, &entry); !parsed.ok()) {
      error = FieldError{"", "not an hk-bureau entry: " + parsed.message().substr(0, 200)};
    } else {
      error = CheckHkBureau(entry, record);
    }
    if (error) {
      ++summary.rejected;
      CG_RETURN_IF_ERROR(sink.OnReject({line_number, error->column, error->reason}));
      continue;
    }
    CG_RETURN_IF_ERROR(sink.OnHkBureau(record));
    ++summary.accepted;
  }
  sink.OnProgress(file->bytes_read(), file->size_bytes());
  return summary;
}

std::span<const FeedColumn> ColumnsOf(FeedKind kind) {
  switch (kind) {
    case FeedKind::kSzGrades:
      return kSzGradeColumns;
    case FeedKind::kOwnership:
      return kOwnershipColumns;
    case FeedKind::kPerformance:
      return kPerformanceColumns;
    case FeedKind::kHkBureau:
      break;
  }
  return {};
}

}  // namespace

std::string SerializeHkBureau(const HkBureauRecord& r) {
  cg::v1::HkBureauEntry e;
  e.set_entity_id(r.entity_id);
  e.set_name(r.name);
  e.set_as_of(r.as_of);
  e.set_incorporation_date(r.incorporation_date);
  for (const auto& f : r.facilities) {
    auto* out = e.add_facilities();
    out->set_lender(f.lender);
    out->set_type(f.type);
    out->set_limit(f.limit);
    out->set_outstanding(f.outstanding);
    out->set_worst_dpd_12m(f.worst_dpd_12m);
    out->set_status(f.status);
  }
  for (const auto& d : r.defaults) {
    auto* out = e.add_defaults();
    out->set_date(d.date);
    out->set_amount(d.amount);
  }
  for (const auto& j : r.judgments) {
    auto* out = e.add_judgments();
    out->set_date(j.date);
    out->set_amount(j.amount);
    out->set_satisfied(j.satisfied);
  }
  for (const auto& p : r.winding_up_petitions) e.add_winding_up_petitions()->set_date(p);
  for (const auto& t : r.trade_payments) {
    auto* out = e.add_trade_payments();
    out->set_days_beyond_terms(t.days_beyond_terms);
    out->set_amount(t.amount);
  }
  return e.SerializeAsString();
}

StatusOr<HkBureauRecord> ParseHkBureau(std::string_view bytes) {
  cg::v1::HkBureauEntry e;
  if (!e.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return DataLossError("a stored hk-bureau record cannot be parsed");
  }
  HkBureauRecord r;
  if (auto error = CheckHkBureau(e, r)) {
    return DataLossError("a stored hk-bureau record is invalid: " + error->column + " " +
                         error->reason);
  }
  return r;
}

std::string_view FeedKindName(FeedKind kind) {
  switch (kind) {
    case FeedKind::kSzGrades:
      return "sz-grades";
    case FeedKind::kHkBureau:
      return "hk-bureau";
    case FeedKind::kOwnership:
      return "ownership";
    case FeedKind::kPerformance:
      return "performance";
  }
  return "unknown";
}

StatusOr<FeedKind> ParseFeedKind(std::string_view name) {
  for (FeedKind kind :
       {FeedKind::kSzGrades, FeedKind::kHkBureau, FeedKind::kOwnership, FeedKind::kPerformance}) {
    if (FeedKindName(kind) == name) return kind;
  }
  return InvalidArgumentError("unknown feed '" + std::string(name.substr(0, 32)) +
                              "': the feeds are sz-grades, hk-bureau, ownership, performance");
}

StatusOr<FeedReadSummary> ReadFeed(FeedKind kind, const std::string& path, FeedFormat format,
                                   const crypto::Pseudonymizer* pseudonymizer, FeedSink& sink) {
  if (kind == FeedKind::kHkBureau) return ReadHkBureau(path, format, sink);
  const auto columns = ColumnsOf(kind);
  CG_ASSIGN_OR_RETURN(auto file, FeedFile::Open(path, format, columns));
  FeedReadSummary summary;
  FeedRow row;
  SzGradeRecord grade;
  OwnershipRecord holding;
  PerformanceRecord performance;
  while (true) {
    CG_ASSIGN_OR_RETURN(bool has_row, file->Next(&row));
    if (!has_row) break;
    ++summary.rows;
    if ((summary.rows & 0xFFFF) == 0) sink.OnProgress(file->bytes_read(), file->size_bytes());
    if (!row.error.empty()) {
      ++summary.rejected;
      CG_RETURN_IF_ERROR(sink.OnReject({row.line, row.error_column, row.error}));
      continue;
    }
    RowChecker checker(row, columns);
    Status delivered;
    switch (kind) {
      case FeedKind::kSzGrades:
        CheckSzGrade(checker, grade);
        if (!checker.failed()) delivered = sink.OnSzGrade(grade);
        break;
      case FeedKind::kOwnership:
        CheckOwnership(checker, pseudonymizer, holding);
        if (!checker.failed()) delivered = sink.OnOwnership(holding);
        break;
      case FeedKind::kPerformance:
        CheckPerformance(checker, performance);
        if (!checker.failed()) delivered = sink.OnPerformance(performance);
        break;
      case FeedKind::kHkBureau:
        break;
    }
    if (checker.failed()) {
      ++summary.rejected;
      CG_RETURN_IF_ERROR(sink.OnReject({row.line, checker.error().column, checker.error().reason}));
      continue;
    }
    CG_RETURN_IF_ERROR(delivered);
    ++summary.accepted;
  }
  sink.OnProgress(file->bytes_read(), file->size_bytes());
  return summary;
}

}  // namespace cg::mapping
