// The four feeds of specs/feeds.md: their records, and reading a feed file into
// validated records. Every row is checked; a bad row becomes a FeedReject (line,
// column, reason) and reading goes on. Natural-person ids are pseudonymised here,
// before a record exists: the raw id never leaves this module.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/pseudonym.h"
#include "mapping/feed_file.h"
#include "specs/status.h"

namespace cg::mapping {

enum class FeedKind { kSzGrades, kHkBureau, kOwnership, kPerformance };

// "sz-grades", "hk-bureau", "ownership", "performance".
std::string_view FeedKindName(FeedKind kind);
StatusOr<FeedKind> ParseFeedKind(std::string_view name);

struct SzGradeRecord {
  std::string entity_id;  // "uscc:..."
  std::string name;
  std::string period;  // YYYY-MM
  std::string grade;   // A+ A B C D E
  std::string industry;
  // business_changes, registration_licensing, penalties, complaints, commendations
  std::array<double, 5> dimensions{};
  bool serious_dishonesty = false;
  bool abnormal_operation = false;
  bool shell_risk = false;

  bool operator==(const SzGradeRecord&) const = default;
};

struct OwnershipRecord {
  std::string holder_id;  // entity id, or a pseudonym "person:ps1-..."
  bool holder_is_person = false;
  std::string holder_jurisdiction;
  std::string owned_id;
  double share = 0;   // fraction 0..1 (the feed gives percent)
  double voting = 0;  // fraction 0..1; equals share when the feed leaves it out
  std::string as_of;  // YYYY-MM-DD

  bool operator==(const OwnershipRecord&) const = default;
};

enum class PerformanceKind : uint8_t { kTradePayment, kLoanRepayment, kContractDelivery, kCustoms };
enum class PerformanceStatus : uint8_t { kOnTime, kLate, kDefaulted, kDisputed };

struct PerformanceRecord {
  std::string subject_id;
  std::string record_id;
  std::string counterparty_jurisdiction;
  PerformanceKind kind = PerformanceKind::kTradePayment;
  std::string due_date;      // YYYY-MM-DD
  std::string settled_date;  // empty while unsettled
  double amount = 0;
  std::string currency;
  PerformanceStatus status = PerformanceStatus::kOnTime;

  bool operator==(const PerformanceRecord&) const = default;
};

// A Hong Kong bureau file on one entity (hk-bureau feed). Amounts in HKD.
struct HkFacility {
  std::string lender;
  std::string type;  // overdraft, term_loan, trade_finance, revolving, leasing
  double limit = 0;
  double outstanding = 0;
  uint32_t worst_dpd_12m = 0;  // worst days past due in the last 12 months
  std::string status;          // current, closed, written_off
};
struct HkDatedAmount {
  std::string date;  // YYYY-MM-DD
  double amount = 0;
  bool satisfied = false;  // judgments only
};
struct HkTradePayment {
  uint32_t days_beyond_terms = 0;
  double amount = 0;
};
struct HkBureauRecord {
  std::string entity_id;  // hkbrn: or hkcrn:
  std::string name;
  std::string as_of;
  std::string incorporation_date;
  std::vector<HkFacility> facilities;
  std::vector<HkDatedAmount> defaults;
  std::vector<HkDatedAmount> judgments;
  std::vector<std::string> winding_up_petitions;  // dates
  std::vector<HkTradePayment> trade_payments;
};

struct FeedReject {
  uint64_t line = 0;
  std::string column;  // empty when the row as a whole is wrong
  std::string reason;
};

// Receives what a feed file holds, in file order. A Status other than OK from any
// callback stops the read and is returned.
class FeedSink {
 public:
  virtual ~FeedSink() = default;
  virtual Status OnSzGrade(const SzGradeRecord&) { return UnexpectedRecord("sz-grades"); }
  virtual Status OnOwnership(const OwnershipRecord&) { return UnexpectedRecord("ownership"); }
  virtual Status OnPerformance(const PerformanceRecord&) { return UnexpectedRecord("performance"); }
  virtual Status OnHkBureau(const HkBureauRecord&) { return UnexpectedRecord("hk-bureau"); }
  virtual Status OnReject(const FeedReject& reject) = 0;
  // Called now and then with the bytes read so far and the file's size.
  virtual void OnProgress(uint64_t /*bytes_read*/, uint64_t /*size_bytes*/) {}

 private:
  static Status UnexpectedRecord(std::string_view feed) {
    return InternalError("sink does not take " + std::string(feed) + " records");
  }
};

// The stored form of an hk-bureau record (binary cg.v1.HkBureauEntry), both ways.
std::string SerializeHkBureau(const HkBureauRecord& record);
// kDataLoss when `bytes` is not a stored record.
StatusOr<HkBureauRecord> ParseHkBureau(std::string_view bytes);

struct FeedReadSummary {
  uint64_t rows = 0;
  uint64_t accepted = 0;
  uint64_t rejected = 0;
};

// Reads a whole feed file into `sink`. Errors that make the file unusable (cannot
// open, bad header, I/O) are returned; bad rows are not errors but rejects.
// `pseudonymizer` is needed for feeds that name natural persons (ownership).
StatusOr<FeedReadSummary> ReadFeed(FeedKind kind, const std::string& path, FeedFormat format,
                                   const crypto::Pseudonymizer* pseudonymizer, FeedSink& sink);

}  // namespace cg::mapping
