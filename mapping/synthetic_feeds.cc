#include "mapping/synthetic_feeds.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "mapping/identifier.h"

namespace cg::mapping {
namespace {

// ---------------------------------------------------------------------------------------
// Randomness. splitmix64 streams, one per (purpose, entity), so that a decision in one
// feed never shifts another's, and integer samplers, so that the output is the same with
// every standard library and compiler.

constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ull;

constexpr uint64_t Mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

enum class Stream : uint64_t {
  kLayout = 1,
  kIdentity,
  kPermutation,
  kGrade,
  kName,
  kFunding,
  kOwnership,
  kPayer,
  kPerformance,
  kBureau,
};

// A probability as a threshold on 32 random bits; 2^32 is certainty.
struct Chance {
  uint64_t threshold = 0;
};

constexpr uint64_t kOne32 = uint64_t{1} << 32;

// p in [0, 1] (validated): the multiplication by a power of two is exact.
constexpr uint64_t Fraction32(double p) { return static_cast<uint64_t>(p * 4294967296.0); }
constexpr Chance Probability(double p) { return {Fraction32(p)}; }
constexpr Chance Scaled(uint64_t fraction32, uint64_t numerator, uint64_t denominator) {
  return {denominator == 0 ? 0 : std::min(kOne32, fraction32 * numerator / denominator)};
}

class Rng {
 public:
  Rng(uint64_t seed, Stream stream, uint64_t index)
      : state_(Mix64(seed ^ Mix64((static_cast<uint64_t>(stream) << 56) ^ index))) {}

  uint64_t Next64() {
    state_ += kGolden;
    return Mix64(state_);
  }
  uint32_t Next32() { return static_cast<uint32_t>(Next64() >> 32); }

  // Uniform in [0, n) for 1 <= n <= 2^32; 0 for n == 0.
  uint64_t Below(uint64_t n) { return (uint64_t{Next32()} * n) >> 32; }
  // Uniform in [lo, hi].
  uint64_t Between(uint64_t lo, uint64_t hi) { return lo + Below(hi - lo + 1); }
  bool Happens(Chance c) { return Next32() < c.threshold; }

  // floor(n u^2): rank r is drawn with probability ~ r^-1/2 / (2 sqrt(n)), so rank 0 gets
  // n^-1/2 of the draws: the heavy tail of group holdings.
  uint64_t SkewedBelow(uint64_t n) {
    const uint64_t u = Next32();
    return (((u * u) >> 32) * n) >> 32;
  }
  // floor(n u^1.25): a milder skew (rank 0 gets n^-4/5 of the draws).
  uint64_t MildlySkewedBelow(uint64_t n) {
    const double u = static_cast<double>(Next32()) * 0x1p-32;
    const auto r = static_cast<uint64_t>(u * std::sqrt(std::sqrt(u)) * static_cast<double>(n));
    return std::min(r, n == 0 ? 0 : n - 1);
  }
  // Pareto, alpha 2, minimum 1, in 1/65536 units: 65536 / sqrt(U), U in (0, 1]. Division
  // and square root are correctly rounded, so this is the same on every IEEE machine.
  uint64_t ParetoQ16() {
    const double u = static_cast<double>(uint64_t{Next32()} + 1) * 0x1p-32;
    return static_cast<uint64_t>(65536.0 / std::sqrt(u));
  }
  // Irwin-Hall sum of four 16-bit uniforms, centred: near-normal, sd ~37837, |z| <= 131070.
  int64_t NearNormal() {
    const uint64_t x = Next64();
    const int64_t sum = static_cast<int64_t>((x & 0xFFFF) + ((x >> 16) & 0xFFFF) +
                                             ((x >> 32) & 0xFFFF) + (x >> 48));
    return sum - 131070;
  }

 private:
  uint64_t state_;
};

constexpr int64_t kNearNormalSd = 37837;

// A categorical distribution over N outcomes with integer weights.
template <size_t N>
class Weights {
 public:
  constexpr explicit Weights(const std::array<uint32_t, N>& weights) {
    uint32_t total = 0;
    for (size_t i = 0; i < N; ++i) {
      total += weights[i];
      cumulative_[i] = total;
    }
  }
  size_t Pick(Rng& r) const {
    const uint64_t x = r.Below(cumulative_[N - 1]);
    size_t i = 0;
    while (x >= cumulative_[i]) ++i;
    return i;
  }

 private:
  std::array<uint32_t, N> cumulative_{};
};

// A keyed bijection on [0, m), m <= 2^62, that makes consecutive indexes look unrelated
// (so ids carry no visible sequence): a 4-round Feistel network on the smallest even
// number of bits covering m, applied again until the value falls inside [0, m) (cycle
// walking; under 4 rounds of it on average).
class Permutation {
 public:
  Permutation() = default;
  Permutation(uint64_t size, uint64_t key) : size_(size), key_(key) {
    while ((uint64_t{1} << (2 * half_bits_)) < size) ++half_bits_;
    mask_ = (uint64_t{1} << half_bits_) - 1;
  }
  // x < size().
  uint64_t operator()(uint64_t x) const {
    do {
      x = Feistel(x);
    } while (x >= size_);
    return x;
  }
  uint64_t size() const { return size_; }

 private:
  uint64_t Feistel(uint64_t x) const {
    uint64_t left = x >> half_bits_;
    uint64_t right = x & mask_;
    for (uint64_t round = 0; round < 4; ++round) {
      const uint64_t mixed = left ^ (Mix64(key_ ^ (round << 58) ^ right) & mask_);
      left = right;
      right = mixed;
    }
    return (left << half_bits_) | right;
  }

  uint64_t size_ = 1;
  uint64_t key_ = 0;
  uint64_t half_bits_ = 1;
  uint64_t mask_ = 1;
};

// floor(sqrt(x)) exactly, for x < 2^63.5 (the start is a double estimate, then corrected).
uint64_t IntegerSqrt(uint64_t x) {
  auto s = static_cast<uint64_t>(std::sqrt(static_cast<double>(x)));
  while (s > 0 && s * s > x) --s;
  while ((s + 1) * (s + 1) <= x) ++s;
  return s;
}

// 10^(i/256) in Q30 for i in [0, 256), built from repeated integer square roots of 10, so
// that lognormal amounts need no libm.
std::array<uint64_t, 256> MakeDecadeMantissas() {
  constexpr int kShift = 30;
  uint64_t root = uint64_t{10} << kShift;
  for (int i = 0; i < 8; ++i) root = IntegerSqrt(root << kShift);  // 10^(1/256)
  std::array<uint64_t, 256> table{};
  table[0] = uint64_t{1} << kShift;
  for (size_t i = 1; i < table.size(); ++i) table[i] = (table[i - 1] * root) >> kShift;
  return table;
}

const std::array<uint64_t, 256>& DecadeMantissas() {
  static const std::array<uint64_t, 256> table = MakeDecadeMantissas();
  return table;
}

constexpr std::array<uint64_t, 12> kPowersOf10 = {1,         10,         100,         1000,
                                                  10000,     100000,     1000000,     10000000,
                                                  100000000, 1000000000, 10000000000, 100000000000};

// A lognormal amount in cents: log10(amount) has median `median_log10_256` / 256 and sd
// `sd_log10_256` / 256 decades; 1.00 <= amount < 10^9.
uint64_t LognormalCents(Rng& r, int64_t median_log10_256, int64_t sd_log10_256) {
  int64_t level = median_log10_256 + r.NearNormal() * sd_log10_256 / kNearNormalSd;
  level = std::clamp<int64_t>(level, 0, 9 * 256 - 1);
  const uint64_t mantissa = DecadeMantissas()[static_cast<size_t>(level & 255)];
  const uint64_t decade = static_cast<uint64_t>(level >> 8);
  return ((mantissa >> 10) * kPowersOf10[decade + 2]) >> 20;
}

// ---------------------------------------------------------------------------------------
// Dates (days since 1970-01-01, proleptic Gregorian; H. Hinnant's algorithms).

constexpr int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

struct CivilDate {
  int64_t year;
  unsigned month;
  unsigned day;
};

constexpr CivilDate CivilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {y + (m <= 2 ? 1 : 0), m, d};
}

constexpr int64_t kTableFirstDay = DaysFromCivil(1950, 1, 1);
constexpr int64_t kHkNewCompanyNumbers = DaysFromCivil(2023, 12, 27);
constexpr int64_t kBirthFirstDay = DaysFromCivil(1955, 1, 1);
constexpr uint64_t kBirthDays = 18262;  // 1955-01-01 .. 2004-12-31

char* PutPadded(char* p, uint64_t v, int width) {
  for (int i = width - 1; i >= 0; --i) {
    p[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  return p + width;
}

// "YYYY-MM-DD" for every day from 1950 to the end of the period.
class DateTable {
 public:
  explicit DateTable(int64_t last_day)
      : text_(static_cast<size_t>(last_day - kTableFirstDay + 1) * 10) {
    for (int64_t day = kTableFirstDay; day <= last_day; ++day) {
      const CivilDate c = CivilFromDays(day);
      char* p = text_.data() + (day - kTableFirstDay) * 10;
      p = PutPadded(p, static_cast<uint64_t>(c.year), 4);
      *p++ = '-';
      p = PutPadded(p, c.month, 2);
      *p++ = '-';
      PutPadded(p, c.day, 2);
    }
  }
  std::string_view operator[](int64_t day) const {
    return {text_.data() + (day - kTableFirstDay) * 10, 10};
  }

 private:
  std::vector<char> text_;
};

struct Period {
  int64_t year = 0;
  unsigned month = 0;
  int64_t first_day = 0;
  int64_t last_day = 0;
};

StatusOr<Period> ParsePeriod(std::string_view text) {
  const auto bad = [&] {
    return InvalidArgumentError("period must be YYYY-MM with a year in 2000-2100, got \"" +
                                std::string(text.substr(0, 16)) + "\"");
  };
  if (text.size() != 7 || text[4] != '-') return bad();
  for (size_t i : {0, 1, 2, 3, 5, 6}) {
    if (text[i] < '0' || text[i] > '9') return bad();
  }
  Period p;
  p.year = (text[0] - '0') * 1000 + (text[1] - '0') * 100 + (text[2] - '0') * 10 + (text[3] - '0');
  p.month = static_cast<unsigned>((text[5] - '0') * 10 + (text[6] - '0'));
  if (p.year < 2000 || p.year > 2100 || p.month < 1 || p.month > 12) return bad();
  p.first_day = DaysFromCivil(p.year, p.month, 1);
  p.last_day =
      (p.month == 12 ? DaysFromCivil(p.year + 1, 1, 1) : DaysFromCivil(p.year, p.month + 1, 1)) - 1;
  return p;
}

// ---------------------------------------------------------------------------------------
// Text output.

char* Put(char* p, std::string_view s) {
  std::memcpy(p, s.data(), s.size());
  return p + s.size();
}
char* PutUint(char* p, uint64_t v) { return std::to_chars(p, p + 20, v).ptr; }

// v / 100 with up to two decimals, trailing zeros dropped: 6000 -> "60", 1250 -> "12.5".
char* PutHundredths(char* p, uint64_t v) {
  p = PutUint(p, v / 100);
  const uint64_t frac = v % 100;
  if (frac != 0) {
    *p++ = '.';
    *p++ = static_cast<char>('0' + frac / 10);
    if (frac % 10 != 0) *p++ = static_cast<char>('0' + frac % 10);
  }
  return p;
}

// v / 10 with one decimal unless whole: 875 -> "87.5", 900 -> "90".
char* PutTenths(char* p, uint64_t v) {
  p = PutUint(p, v / 10);
  if (v % 10 != 0) {
    *p++ = '.';
    *p++ = static_cast<char>('0' + v % 10);
  }
  return p;
}

// Status for a failed file operation.
Status FileError(int error, std::string_view what, const std::string& path) {
  std::string message = std::string(what) + " " + path + ": " + std::strerror(error);
  switch (error) {
    case EACCES:
    case EPERM:
    case EROFS:
      return PermissionDeniedError(std::move(message));
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
      return ResourceExhaustedError(std::move(message));
    case ENOENT:
      return NotFoundError(std::move(message));
    default:
      return InternalError(std::move(message));
  }
}

// One output file, written as "<path>.partial" through a 1 MiB buffer and renamed to
// <path> by Publish. The first error sticks and is returned by Close.
class FeedWriter {
 public:
  static constexpr size_t kBufferBytes = size_t{1} << 20;

  explicit FeedWriter(std::string path) : path_(std::move(path)), partial_(path_ + ".partial") {}
  ~FeedWriter() { Discard(); }
  FeedWriter(const FeedWriter&) = delete;
  FeedWriter& operator=(const FeedWriter&) = delete;

  Status Open() {
    file_ = std::fopen(partial_.c_str(), "wb");
    if (file_ == nullptr) return FileError(errno, "cannot create", partial_);
    buffer_.resize(kBufferBytes);
    return OkStatus();
  }

  // Room for n bytes (n much smaller than the buffer) at the returned cursor; Commit(end)
  // keeps them.
  char* Reserve(size_t n) {
    if (buffer_.size() - used_ < n) Flush();
    return buffer_.data() + used_;
  }
  void Commit(const char* end) { used_ = static_cast<size_t>(end - buffer_.data()); }
  void Append(std::string_view s) { Commit(Put(Reserve(s.size()), s)); }

  Status Close() {
    Flush();
    if (file_ != nullptr) {
      if (std::fclose(file_) != 0 && status_.ok())
        status_ = FileError(errno, "cannot write", partial_);
      file_ = nullptr;
    }
    return status_;
  }
  Status Publish() {
    std::error_code ec;
    std::filesystem::rename(partial_, path_, ec);
    if (ec) return FileError(ec.value(), "cannot rename to", path_);
    published_ = true;
    return OkStatus();
  }
  uint64_t bytes() const { return bytes_ + used_; }

 private:
  void Flush() {
    if (used_ == 0) return;
    if (status_.ok() && std::fwrite(buffer_.data(), 1, used_, file_) != used_)
      status_ = FileError(errno, "cannot write", partial_);
    bytes_ += used_;
    used_ = 0;
  }
  void Discard() {
    if (file_ != nullptr) std::fclose(file_);
    file_ = nullptr;
    if (!published_) std::remove(partial_.c_str());
  }

  std::string path_;
  std::string partial_;
  std::FILE* file_ = nullptr;
  std::vector<char> buffer_;
  size_t used_ = 0;
  uint64_t bytes_ = 0;
  bool published_ = false;
  Status status_;
};

// ---------------------------------------------------------------------------------------
// Reference data (synthetic names; real code lists).

struct Division {
  std::string_view code;
  std::string_view jurisdiction;
};

// Shenzhen divisions for USCC positions 3-8 (city-level registration dominates).
constexpr std::array<std::string_view, 10> kShenzhenDivisions = {
    "440300", "440303", "440304", "440305", "440306",
    "440307", "440308", "440309", "440310", "440311"};
constexpr Weights<10> kShenzhenDivisionWeights({400, 60, 100, 120, 120, 100, 10, 60, 15, 15});

// Birth-place divisions of mainland natural persons (GB/T 2260) with their jurisdiction.
constexpr std::array<Division, 24> kPersonDivisions = {{
    {"440303", "CN-SZ"}, {"440304", "CN-SZ"}, {"440305", "CN-SZ"}, {"440306", "CN-SZ"},
    {"440307", "CN-SZ"}, {"440309", "CN-SZ"}, {"440103", "CN-GD"}, {"440106", "CN-GD"},
    {"440604", "CN-GD"}, {"441302", "CN-GD"}, {"441900", "CN-GD"}, {"442000", "CN-GD"},
    {"445102", "CN-GD"}, {"445202", "CN-GD"}, {"440511", "CN-GD"}, {"440802", "CN-GD"},
    {"430102", "CN-HN"}, {"430521", "CN-HN"}, {"420102", "CN-HB"}, {"360102", "CN-JX"},
    {"350503", "CN-FJ"}, {"450103", "CN-GX"}, {"510104", "CN-SC"}, {"410105", "CN-HA"},
}};

constexpr std::array<std::string_view, 8> kOffshoreJurisdictions = {"VG", "KY", "BM", "SC",
                                                                    "MU", "WS", "BS", "JE"};
constexpr Weights<8> kOffshoreJurisdictionWeights({40, 28, 10, 8, 5, 4, 3, 2});

// LEI prefixes of some issuing organisations (positions 1-4), then "00".
constexpr std::array<std::string_view, 8> kLeiPrefixes = {"5493", "2138", "5299", "9845",
                                                          "2549", "8945", "6354", "3157"};

constexpr std::string_view kUsccAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY";
constexpr std::string_view kAlphanumeric = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

constexpr std::array<std::string_view, 40> kNameWords = {
    "Huaxin",    "Tengda",  "Jiahe",     "Ruifeng",  "Hongtai", "Anda",      "Boyuan",
    "Dingsheng", "Fuxing",  "Guanghui",  "Haichuan", "Jinlong", "Kaiyuan",   "Lianchuang",
    "Mingde",    "Nanfeng", "Pengcheng", "Qianhai",  "Ronghua", "Shengshi",  "Tianyu",
    "Wanbang",   "Xinghe",  "Yuanfang",  "Zhongrui", "Baiyun",  "Changxing", "Dahua",
    "Feiyang",   "Guoxin",  "Hengtong",  "Jiaxun",   "Kangtai", "Longteng",  "Meiya",
    "Oukai",     "Puhui",   "Qiming",    "Runda",    "Yitong"};
constexpr std::array<std::string_view, 16> kSectors = {
    "Technology",          "Trading",           "Electronics",
    "Logistics",           "Investment",        "Industrial",
    "Supply Chain",        "Biotech",           "Construction",
    "Precision Machinery", "Import and Export", "Information Technology",
    "New Energy",          "Medical Devices",   "Culture and Media",
    "Property Management"};
constexpr std::array<std::string_view, 16> kHkWords = {
    "Pacific", "Harbour",      "Victoria",  "Golden",    "Oriental", "Pearl",
    "Dragon",  "Lion Rock",    "Kowloon",   "Evergreen", "Jade",     "Summit",
    "Crown",   "Silverstrand", "Starlight", "Bauhinia"};
constexpr std::array<std::string_view, 5> kHkSuffixes = {
    " (Hong Kong) Limited", " Holdings Limited", " International Limited",
    " Trading Company Limited", " Limited"};

struct Industry {
  std::string_view division;
  uint32_t weight;
};
constexpr std::array<Industry, 30> kIndustries = {{
    {"C39", 8}, {"C38", 5}, {"C35", 3},  {"C34", 3},  {"C29", 3}, {"C18", 3},
    {"C26", 2}, {"C27", 1}, {"F51", 18}, {"F52", 10}, {"I64", 4}, {"I65", 8},
    {"M73", 2}, {"M75", 4}, {"L72", 6},  {"L71", 1},  {"G54", 3}, {"G58", 3},
    {"G59", 2}, {"E47", 3}, {"E48", 2},  {"K70", 3},  {"H62", 3}, {"H61", 1},
    {"R86", 1}, {"O80", 1}, {"P83", 1},  {"Q84", 1},  {"J66", 1}, {"N77", 1},
}};
constexpr Weights<30> kIndustryWeights = [] {
  std::array<uint32_t, 30> w{};
  for (size_t i = 0; i < w.size(); ++i) w[i] = kIndustries[i].weight;
  return Weights<30>(w);
}();

// Fictional lenders.
constexpr std::array<std::string_view, 10> kLenders = {
    "Harbour Commercial Bank", "Victoria Trust Bank", "Pearl River Bank (Hong Kong)",
    "Kowloon Savings Bank",    "Lion Rock Finance",   "Peak Capital Leasing",
    "Bauhinia Bank",           "Star Ferry Credit",   "Tsing Ma Banking Corporation",
    "Eastern Harbour Factors"};
constexpr std::array<std::string_view, 5> kFacilityTypes = {
    "overdraft", "term_loan", "trade_finance", "revolving", "leasing"};
constexpr Weights<5> kFacilityTypeWeights({25, 30, 25, 12, 8});

// Grades and the traits that hang on them (index 0 = A+ ... 5 = E).
constexpr std::array<std::string_view, 6> kGrades = {"A+", "A", "B", "C", "D", "E"};
constexpr std::array<int64_t, 6> kScoreCentre = {920, 820, 700, 580, 450, 300};  // tenths
constexpr std::array<Chance, 6> kSeriousDishonesty = {Probability(0),      Probability(0),
                                                      Probability(0.0005), Probability(0.005),
                                                      Probability(0.05),   Probability(0.30)};
constexpr std::array<Chance, 6> kAbnormalOperation = {Probability(0),    Probability(0.002),
                                                      Probability(0.01), Probability(0.04),
                                                      Probability(0.15), Probability(0.40)};
constexpr std::array<Chance, 6> kShellRisk = {Probability(0.001), Probability(0.002),
                                              Probability(0.005), Probability(0.02),
                                              Probability(0.05),  Probability(0.10)};
constexpr Chance kShellRiskRingOrOffshore = Probability(0.25);
// Payer traits per grade, per 10,000: late payers and defaulters.
constexpr std::array<uint32_t, 6> kLatePayers = {50, 150, 400, 1200, 2500, 3500};
constexpr std::array<uint32_t, 6> kDefaulters = {5, 20, 80, 400, 1200, 3000};

// Ownership shape constants (the knobs are in SynthOptions).
constexpr uint32_t kFullShare = 10000;  // 100.00% in hundredths of a percent
constexpr size_t kMaxHolders = 8;
constexpr Weights<6> kPersonCountWeights({46, 32, 14, 5, 2, 1});  // 1..6 persons
constexpr Weights<3> kGranularityWeights({25, 45, 30});           // 5%, 1%, 0.01% steps
constexpr std::array<uint32_t, 3> kGranularities = {500, 100, 1};
constexpr Chance kFreshPerson = Probability(0.62);
constexpr Chance kHkPersonInMainlandFirm = Probability(0.03);
constexpr Chance kMainlandPersonInHkFirm = Probability(0.20);
constexpr Chance kSoleCorporateHolder = Probability(0.45);
constexpr Chance kSecondOutsidePerson = Probability(0.25);
constexpr Chance kSoleNextLayer = Probability(0.80);
constexpr Chance kUnheldChainTop = Probability(0.15);
constexpr Chance kRingOutsideGroup = Probability(0.5);
constexpr double kGroupOwnedLeafShare = 0.20;
constexpr double kUnheldLeafShare = 0.005;
constexpr double kGroupOwnedHkShare = 0.10;
constexpr double kUnheldHkShare = 0.01;
constexpr uint64_t kHoldingUnheldPermille = 30;
constexpr uint64_t kHoldingOffshorePermille = 40;
constexpr uint64_t kHoldingGroupPermille = 300;
constexpr Chance kExplicitVoting = Probability(0.12);
// The voting knob is per row; dual-class companies have all their rows differ and about
// three quarters of rows belong to companies with two or more holders.
constexpr uint64_t kVotingCompanyPerRow100 = 135;
constexpr Weights<3> kRingSizeWeights({50, 30, 20});         // 2, 3, 4 companies
constexpr Weights<4> kChainLengthWeights({35, 35, 20, 10});  // 1..4 offshore layers

// Performance shape.
constexpr uint64_t kMaxRecordsPerSubject = 5000;
constexpr int kPerformanceMonths = 30;
enum PerformanceKindIndex { kTradePayment, kLoanRepayment, kContractDelivery, kCustoms };
constexpr std::array<std::string_view, 4> kKindNames = {"trade_payment", "loan_repayment",
                                                        "contract_delivery", "customs"};
constexpr std::array<std::string_view, 4> kRecordPrefixes = {"INV-", "LN-", "CTR-", "CUS-"};
constexpr Weights<4> kKindWeights({55, 10, 20, 15});
constexpr std::array<int64_t, 4> kMedianLog10x256 = {1326, 1556, 1434, 1147};
constexpr std::array<int64_t, 4> kSdLog10x256 = {141, 128, 154, 154};
constexpr std::array<std::string_view, 11> kShenzhenCounterparties = {
    "HK", "MO", "SG", "US", "TW", "JP", "KR", "DE", "VN", "GB", "VG"};
constexpr Weights<11> kShenzhenCounterpartyWeights({70, 3, 5, 5, 3, 3, 2, 2, 3, 2, 2});
constexpr std::array<std::string_view, 10> kHkCounterparties = {
    "CN-SZ", "CN-GD", "CN-SH", "CN-BJ", "CN-FJ", "MO", "SG", "US", "GB", "JP"};
constexpr Weights<10> kHkCounterpartyWeights({50, 25, 5, 3, 2, 3, 4, 4, 2, 2});
constexpr std::array<std::string_view, 3> kCurrencies = {"CNY", "HKD", "USD"};
constexpr Weights<3> kShenzhenCurrencyWeights({40, 25, 35});
constexpr Weights<3> kHkCurrencyWeights({25, 45, 30});
enum PayerTrait { kGoodPayer, kLatePayer, kDefaulter };
enum StatusIndex { kOnTime, kLate, kDefaulted, kDisputed };
constexpr std::array<std::string_view, 4> kStatusNames = {"on_time", "late", "defaulted",
                                                          "disputed"};
constexpr std::array<Weights<4>, 3> kStatusWeights = {Weights<4>({9500, 420, 20, 60}),
                                                      Weights<4>({6200, 3500, 100, 200}),
                                                      Weights<4>({4500, 3200, 1800, 500})};
constexpr int64_t kDefaultAfterDays = 90;

// ---------------------------------------------------------------------------------------
// The synthetic world: where each entity sits in the index space, its id and the fixed
// structures (rings, offshore chains). Entity indexes:
//   [0, sz_holding_end)              Shenzhen group companies
//   [sz_holding_end, ring_begin)     other Shenzhen entities
//   [ring_begin, hk_begin)           Shenzhen entities in cross-holding rings
//   [hk_begin, hk_holding_end)       Hong Kong holding companies
//   [hk_holding_end, offshore_begin) other Hong Kong companies
//   [offshore_begin, entities)       offshore chains, bottom layer first
// Holdings only go from a lower rank to a higher one in the order offshore (top to
// bottom), Shenzhen group companies (by index), Hong Kong companies (by index), other
// Shenzhen entities, so the graph is acyclic apart from the rings.

enum class Side { kShenzhen, kHongKong, kOffshore };
enum class HkIdKind { kCrn7, kCrn8, kBrn };

constexpr uint64_t kHkCrn7Space = 3'999'999;  // 0000001 .. 3999999
constexpr uint64_t kHk8Space = 70'000'000;    // 10000000 .. 79999999
constexpr uint64_t kUsccNumericSpace = 100'000'000;
constexpr uint64_t kUsccMaSpace = 887'503'681;       // 31^6
constexpr uint64_t kLeiUniqueSpace = 2'176'782'336;  // 36^6
constexpr uint64_t kHkidSingleLetterSpace = 26'000'000;
constexpr uint64_t kHkidSpace = kHkidSingleLetterSpace + 676'000'000;
constexpr uint64_t kMainlandPersonSpace = kPersonDivisions.size() * kBirthDays * 1000;

struct Knobs {
  Chance hk_funded_leaf, offshore_leaf, group_leaf, unheld_leaf;  // cumulative below
  Chance mainland_owned_hk, offshore_hk, group_hk, unheld_hk;     // cumulative below
  Chance partial;
  Chance voting_differs;
  Chance active_sz, active_hk;
  uint64_t extra_records_q16 = 0;  // mean records per active subject minus one, Q16
};

class World {
 public:
  World(const SynthOptions& options, const Period& period)
      : seed_(options.seed), period_(period), dates_(period.last_day) {
    const uint64_t n = options.entities;
    n_ = n;
    const auto round_share = [](uint64_t count, double share) {
      return (count * Fraction32(share) + (kOne32 >> 1)) >> 32;
    };
    n_hk_ = std::min(n, round_share(n, options.hk_share));
    n_off_ = std::min(n - n_hk_, round_share(n, options.offshore_share));
    n_sz_ = n - n_hk_ - n_off_;
    sz_holding_end_ = round_share(n_sz_, options.holding_company_share);
    hk_begin_ = n_sz_;
    hk_holding_end_ = hk_begin_ + (n_hk_ + 3) / 4;
    offshore_begin_ = n_sz_ + n_hk_;

    // Rings at the end of the Shenzhen block.
    Rng layout(seed_, Stream::kLayout, 0);
    const uint64_t ring_target =
        std::min(round_share(n, options.ring_share), n_sz_ - sz_holding_end_);
    uint64_t placed = 0;
    while (ring_target - placed >= 2) {
      uint64_t size = 2 + kRingSizeWeights.Pick(layout);
      size = std::min(size, ring_target - placed);
      if (ring_target - placed - size == 1) {  // never leave a lone company
        if (size < 4) {
          ++size;
        } else {
          --size;
        }
      }
      ring_sizes_.push_back(size);
      placed += size;
    }
    ring_begin_ = n_sz_ - placed;
    ring_starts_.push_back(ring_begin_);
    for (uint64_t size : ring_sizes_) ring_starts_.push_back(ring_starts_.back() + size);
    closed_rings_ = std::min<uint64_t>(options.closed_rings, ring_sizes_.size() / 2);

    // Offshore chains.
    for (uint64_t pos = 0; pos < n_off_;) {
      const uint64_t length =
          std::min<uint64_t>(1 + kChainLengthWeights.Pick(layout), n_off_ - pos);
      chain_starts_.push_back(offshore_begin_ + pos);
      pos += length;
    }
    chain_starts_.push_back(n);

    // Identifier permutations.
    uscc_numeric_ = Permutation(kUsccNumericSpace, Key(1));
    uscc_ma_ = Permutation(kUsccMaSpace, Key(2));
    hk_crn7_ = Permutation(kHkCrn7Space, Key(3));
    hk_8_ = Permutation(kHk8Space, Key(4));
    lei_ = Permutation(kLeiUniqueSpace, Key(5));
    hkid_ = Permutation(kHkidSingleLetterSpace, Key(6));
    mainland_person_ = Permutation(kMainlandPersonSpace, Key(7));

    // Knobs as integer thresholds.
    const uint64_t leaves = ring_begin_ - sz_holding_end_;
    uint64_t cumulative = 0;
    const auto next = [&cumulative](Chance c) {
      cumulative = std::min(kOne32, cumulative + c.threshold);
      return Chance{cumulative};
    };
    knobs_.hk_funded_leaf =
        next(n_hk_ == 0 ? Chance{}
                        : Scaled(Fraction32(options.hk_funded_mainland_share), n_sz_, leaves));
    knobs_.offshore_leaf = next(
        n_off_ == 0 ? Chance{} : Scaled(Fraction32(options.offshore_layer_share), n_sz_, leaves));
    knobs_.group_leaf = next(sz_holding_end_ == 0 ? Chance{} : Probability(kGroupOwnedLeafShare));
    knobs_.unheld_leaf = next(Probability(kUnheldLeafShare));
    cumulative = 0;
    knobs_.mainland_owned_hk =
        next(sz_holding_end_ == 0 ? Chance{} : Probability(options.mainland_owned_hk_share));
    knobs_.offshore_hk =
        next(n_off_ == 0 ? Chance{} : Probability(options.offshore_owned_hk_share));
    knobs_.group_hk = next(Probability(kGroupOwnedHkShare));
    knobs_.unheld_hk = next(Probability(kUnheldHkShare));
    knobs_.partial = Probability(options.partial_holders_share);
    knobs_.voting_differs =
        Scaled(Fraction32(options.voting_differs_share), kVotingCompanyPerRow100, 100);

    // Cross-border activity: Hong Kong companies 1.4 times as often as Shenzhen ones,
    // offshore companies never; the overall share as asked.
    const uint64_t eligible = n_sz_ + n_hk_;
    if (eligible > 0 && options.performance_per_entity > 0) {
      const uint64_t target = Fraction32(options.cross_border_share) * n;  // entities * 2^32
      const uint64_t base = std::min(kOne32, target / eligible);
      uint64_t t_hk = std::min(kOne32, base * 14 / 10);
      uint64_t t_sz = 0;
      if (n_hk_ > 0 && t_hk * n_hk_ > target) {
        t_hk = target / n_hk_;
      } else if (n_sz_ > 0) {
        t_sz = std::min(kOne32, (target - t_hk * n_hk_) / n_sz_);
      }
      knobs_.active_sz = {t_sz};
      knobs_.active_hk = {t_hk};
      const uint64_t active_q32 = t_sz * n_sz_ + t_hk * n_hk_;  // expected subjects * 2^32
      if (active_q32 > 0) {
        const double per_entity_q16 =
            static_cast<double>(Fraction32(options.performance_per_entity / 1024.0)) *
            0x1p-6;  // rows per entity * 2^16
        const double mean_q16 =
            per_entity_q16 * static_cast<double>(n) / (static_cast<double>(active_q32) * 0x1p-32);
        const auto mean = static_cast<uint64_t>(mean_q16);
        knobs_.extra_records_q16 = mean > 65536 ? mean - 65536 : 0;
      }
    }
  }

  uint64_t seed() const { return seed_; }
  const Period& period() const { return period_; }
  const DateTable& dates() const { return dates_; }
  const Knobs& knobs() const { return knobs_; }
  uint64_t entities() const { return n_; }
  uint64_t shenzhen() const { return n_sz_; }
  uint64_t hong_kong() const { return n_hk_; }
  uint64_t offshore() const { return n_off_; }
  uint64_t sz_holding_end() const { return sz_holding_end_; }
  uint64_t ring_begin() const { return ring_begin_; }
  uint64_t hk_begin() const { return hk_begin_; }
  uint64_t hk_holding_end() const { return hk_holding_end_; }
  uint64_t offshore_begin() const { return offshore_begin_; }
  uint64_t rings() const { return ring_sizes_.size(); }
  uint64_t closed_rings() const { return closed_rings_; }
  uint64_t chains() const { return chain_starts_.size() - 1; }

  Side side(uint64_t e) const {
    return e < hk_begin_         ? Side::kShenzhen
           : e < offshore_begin_ ? Side::kHongKong
                                 : Side::kOffshore;
  }

  // The ring holding e (e in [ring_begin, hk_begin)): its index, first member and size.
  struct Ring {
    uint64_t index, start, size;
  };
  Ring RingOf(uint64_t e) const {
    const auto it = std::upper_bound(ring_starts_.begin(), ring_starts_.end(), e) - 1;
    const auto index = static_cast<uint64_t>(it - ring_starts_.begin());
    return {index, *it, ring_sizes_[index]};
  }
  // The chain holding offshore entity e: [start, end), bottom first.
  std::pair<uint64_t, uint64_t> ChainOf(uint64_t e) const {
    const auto it = std::upper_bound(chain_starts_.begin(), chain_starts_.end(), e) - 1;
    return {*it, *(it + 1)};
  }
  // The bottom company of a chain, busy chains first (heavy tail).
  uint64_t PickChainBottom(Rng& r) const { return chain_starts_[r.SkewedBelow(chains())]; }

  HkIdKind hk_id_kind(uint64_t e) const {
    const uint64_t pos = (e - hk_begin_) % 20;
    return pos < 10 ? HkIdKind::kCrn7 : pos < 13 ? HkIdKind::kCrn8 : HkIdKind::kBrn;
  }

  std::string_view Jurisdiction(uint64_t e) const {
    switch (side(e)) {
      case Side::kShenzhen:
        return "CN-SZ";
      case Side::kHongKong:
        return "HK";
      case Side::kOffshore:
        break;
    }
    Rng r(seed_, Stream::kIdentity, e);
    r.Next64();  // the LEI prefix draw
    return kOffshoreJurisdictions[kOffshoreJurisdictionWeights.Pick(r)];
  }

  // Writes e's prefixed id at p (at most 26 bytes) and returns the end.
  char* PutEntityId(uint64_t e, char* p) const {
    switch (side(e)) {
      case Side::kShenzhen:
        return PutUscc(e, p);
      case Side::kHongKong:
        return PutHkId(e, p);
      case Side::kOffshore:
        return PutLei(e, p);
    }
    return p;
  }

  // Natural persons: pool 0 mainland, pool 1 Hong Kong; index < PersonSpace(pool).
  static constexpr uint64_t PersonSpace(int pool) {
    return pool == 0 ? kMainlandPersonSpace : kHkidSpace;
  }
  char* PutPersonId(int pool, uint64_t k, char* p) const {
    p = Put(p, "person:");
    return pool == 0 ? PutMainlandId(k, p) : PutHkid(k, p);
  }
  std::string_view PersonJurisdiction(int pool, uint64_t k) const {
    if (pool == 1) return "HK";
    const uint64_t u = mainland_person_(k);
    return kPersonDivisions[u / 1000 / kBirthDays].jurisdiction;
  }

 private:
  uint64_t Key(uint64_t n) const {
    return Mix64(seed_ ^ Mix64((static_cast<uint64_t>(Stream::kPermutation) << 56) | n));
  }

  char* PutUscc(uint64_t e, char* p) const {
    Rng r(seed_, Stream::kIdentity, e);
    char code[kUsccLength];
    const uint64_t category = r.Below(100);
    code[0] = '9';
    code[1] = category < 93 ? '1' : category < 99 ? '2' : '3';
    std::memcpy(code + 2, kShenzhenDivisions[kShenzhenDivisionWeights.Pick(r)].data(), 6);
    // Positions 9-16: an old all-digit organisation code for one in four, else "MA" and six
    // characters of the USCC set (disjoint spaces, so ids never collide).
    if (e % 4 == 0) {
      PutPadded(code + 8, uscc_numeric_(e / 4), 8);
    } else {
      uint64_t v = uscc_ma_(e - (e + 3) / 4);
      code[8] = 'M';
      code[9] = 'A';
      for (int i = 15; i >= 10; --i) {
        code[i] = kUsccAlphabet[v % 31];
        v /= 31;
      }
    }
    code[16] = OrganizationCodeCheckCharacter(std::string_view(code + 8, 8));
    code[17] = UsccCheckCharacter(std::string_view(code, 17));
    p = Put(p, "uscc:");
    return Put(p, std::string_view(code, kUsccLength));
  }

  char* PutHkId(uint64_t e, char* p) const {
    const uint64_t j = e - hk_begin_;
    const uint64_t pos = j % 20;
    const uint64_t block = j / 20;
    if (pos < 10) return PutPadded(Put(p, "hkcrn:"), hk_crn7_(block * 10 + pos) + 1, 7);
    const uint64_t number = 10'000'000 + hk_8_(block * 10 + pos - 10);
    return PutPadded(Put(p, pos < 13 ? "hkcrn:" : "hkbrn:"), number, 8);
  }

  char* PutLei(uint64_t e, char* p) const {
    Rng r(seed_, Stream::kIdentity, e);
    const uint64_t h = r.Next64();
    char code[kLeiLength];
    std::memcpy(code, kLeiPrefixes[h % kLeiPrefixes.size()].data(), 4);
    code[4] = '0';
    code[5] = '0';
    uint64_t noise = h >> 8;
    for (int i = 6; i < 12; ++i) {
      code[i] = kAlphanumeric[noise % 36];
      noise /= 36;
    }
    uint64_t v = lei_(e - offshore_begin_);
    for (int i = 17; i >= 12; --i) {
      code[i] = kAlphanumeric[v % 36];
      v /= 36;
    }
    const std::string check = LeiCheckDigits(std::string_view(code, 18));
    code[18] = check[0];
    code[19] = check[1];
    p = Put(p, "lei:");
    return Put(p, std::string_view(code, kLeiLength));
  }

  // HKID-like: a letter (two past 26 million), six digits and the check digit in brackets.
  char* PutHkid(uint64_t k, char* p) const {
    uint64_t letters[2];
    int count = 1;
    uint64_t digits;
    if (k < kHkidSingleLetterSpace) {
      const uint64_t u = hkid_(k);
      letters[0] = u / 1'000'000;
      digits = u % 1'000'000;
    } else {
      const uint64_t u = k - kHkidSingleLetterSpace;
      count = 2;
      letters[0] = u / 26'000'000;
      letters[1] = u / 1'000'000 % 26;
      digits = u % 1'000'000;
    }
    // Weights 9..2 over [space or letter, letter, d1..d6]; a space counts 36, A-Z 10-35.
    uint64_t sum =
        count == 1 ? 36 * 9 + (letters[0] + 10) * 8 : (letters[0] + 10) * 9 + (letters[1] + 10) * 8;
    for (int i = 0; i < count; ++i) *p++ = static_cast<char>('A' + letters[i]);
    char* d = p;
    p = PutPadded(p, digits, 6);
    for (int i = 0; i < 6; ++i)
      sum += static_cast<uint64_t>(d[i] - '0') * static_cast<uint64_t>(7 - i);
    const uint64_t check = (11 - sum % 11) % 11;
    *p++ = '(';
    *p++ = check == 10 ? 'A' : static_cast<char>('0' + check);
    *p++ = ')';
    return p;
  }

  // Mainland-ID-like: birth-place division, birth date, sequence, GB 11643 check character.
  char* PutMainlandId(uint64_t k, char* p) const {
    const uint64_t u = mainland_person_(k);
    const uint64_t sequence = u % 1000;
    const uint64_t birth = u / 1000 % kBirthDays;
    const uint64_t division = u / 1000 / kBirthDays;
    char* start = p;
    p = Put(p, kPersonDivisions[division].code);
    const CivilDate c = CivilFromDays(kBirthFirstDay + static_cast<int64_t>(birth));
    p = PutPadded(p, static_cast<uint64_t>(c.year), 4);
    p = PutPadded(p, c.month, 2);
    p = PutPadded(p, c.day, 2);
    p = PutPadded(p, sequence, 3);
    static constexpr std::array<uint64_t, 17> kWeights = {7, 9, 10, 5,  8, 4, 2, 1, 6,
                                                          3, 7, 9,  10, 5, 8, 4, 2};
    uint64_t sum = 0;
    for (size_t i = 0; i < kWeights.size(); ++i)
      sum += static_cast<uint64_t>(start[i] - '0') * kWeights[i];
    *p++ = "10X98765432"[sum % 11];
    return p;
  }

  uint64_t seed_;
  Period period_;
  DateTable dates_;
  Knobs knobs_;
  uint64_t n_ = 0, n_sz_ = 0, n_hk_ = 0, n_off_ = 0;
  uint64_t sz_holding_end_ = 0, ring_begin_ = 0, hk_begin_ = 0, hk_holding_end_ = 0;
  uint64_t offshore_begin_ = 0;
  std::vector<uint64_t> ring_sizes_;
  std::vector<uint64_t> ring_starts_;
  uint64_t closed_rings_ = 0;
  std::vector<uint64_t> chain_starts_;  // plus a sentinel
  Permutation uscc_numeric_, uscc_ma_, hk_crn7_, hk_8_, lei_, hkid_, mainland_person_;
};

// The grade of a Shenzhen entity (the latent risk of a Hong Kong one): the first draw of
// its kGrade stream, so every feed that needs it recomputes the same one.
class GradeDistribution {
 public:
  explicit GradeDistribution(const std::array<double, 6>& shares) {
    uint64_t total = 0;
    for (size_t i = 0; i < 6; ++i) {
      total += Fraction32(shares[i]) >> 12;  // 2^20 resolution
      cumulative_[i] = total;
    }
  }
  size_t Pick(Rng& r) const {
    const uint64_t x = r.Below(cumulative_[5]);
    size_t i = 0;
    while (i < 5 && x >= cumulative_[i]) ++i;
    return i;
  }

 private:
  std::array<uint64_t, 6> cumulative_{};
};

// How a Shenzhen entity outside groups and rings, or a Hong Kong company, is held.
enum class Funding { kPersons, kAcrossTheBorder, kOffshore, kGroup, kUnheld };

Funding FundingOf(const World& w, uint64_t e) {
  Rng r(w.seed(), Stream::kFunding, e);
  const Knobs& k = w.knobs();
  const uint64_t x = r.Next32();
  const bool hk = w.side(e) == Side::kHongKong;
  if (x < (hk ? k.mainland_owned_hk : k.hk_funded_leaf).threshold) return Funding::kAcrossTheBorder;
  if (x < (hk ? k.offshore_hk : k.offshore_leaf).threshold) return Funding::kOffshore;
  if (x < (hk ? k.group_hk : k.group_leaf).threshold) return Funding::kGroup;
  if (x < (hk ? k.unheld_hk : k.unheld_leaf).threshold) return Funding::kUnheld;
  return Funding::kPersons;
}

int PayerTraitOf(const World& w, uint64_t e, size_t grade) {
  Rng r(w.seed(), Stream::kPayer, e);
  const uint64_t x = r.Below(10000);
  if (x < kDefaulters[grade]) return kDefaulter;
  if (x < kDefaulters[grade] + kLatePayers[grade]) return kLatePayer;
  return kGoodPayer;
}

char* PutShenzhenName(const World& w, uint64_t e, char* p) {
  Rng r(w.seed(), Stream::kName, e);
  const uint64_t a = r.Below(kNameWords.size());
  const uint64_t b = (a + 1 + r.Below(kNameWords.size() - 1)) % kNameWords.size();
  p = Put(p, "Shenzhen ");
  p = Put(p, kNameWords[a]);
  *p++ = ' ';
  p = Put(p, kNameWords[b]);
  *p++ = ' ';
  p = Put(p, kSectors[r.Below(kSectors.size())]);
  return Put(p, " Co., Ltd.");
}

char* PutHkName(const World& w, uint64_t e, char* p) {
  Rng r(w.seed(), Stream::kName, e);
  p = Put(p, kHkWords[r.Below(kHkWords.size())]);
  *p++ = ' ';
  p = Put(p, kNameWords[r.Below(kNameWords.size())]);
  const uint64_t suffix = r.Below(kHkSuffixes.size());
  if (suffix == 0 || suffix == 4) {
    *p++ = ' ';
    p = Put(p, kSectors[r.Below(kSectors.size())]);
  }
  return Put(p, kHkSuffixes[suffix]);
}

// Calls progress every 2^16 entities and at the end.
class StageProgress {
 public:
  StageProgress(const SynthProgress& progress, std::string_view stage, uint64_t total)
      : progress_(progress), stage_(stage), total_(total) {
    if (progress_) progress_(stage_, 0, total_);
  }
  void Step(uint64_t done) {
    if (progress_ && (done & 0xFFFF) == 0 && done != 0) progress_(stage_, done, total_);
  }
  void Done() {
    if (progress_) progress_(stage_, total_, total_);
  }

 private:
  const SynthProgress& progress_;
  std::string_view stage_;
  uint64_t total_;
};

// ---------------------------------------------------------------------------------------
// sz-grades

void WriteSzGrades(const World& w, const GradeDistribution& grades, FeedWriter& out,
                   SynthSummary& summary, const SynthProgress& progress) {
  out.Append(
      "entity_id,name,period,grade,industry,business_changes,registration_licensing,"
      "penalties,complaints,commendations,serious_dishonesty,abnormal_operation,shell_risk\n");
  char period[8];
  PutPadded(period, static_cast<uint64_t>(w.period().year), 4);
  period[4] = '-';
  PutPadded(period + 5, w.period().month, 2);
  const std::string_view period_text(period, 7);
  StageProgress stage(progress, "sz-grades", w.shenzhen());
  for (uint64_t e = 0; e < w.shenzhen(); ++e) {
    stage.Step(e);
    Rng r(w.seed(), Stream::kGrade, e);
    const size_t grade = grades.Pick(r);
    char* p = out.Reserve(512);
    p = w.PutEntityId(e, p);
    p = Put(p, ",\"");
    p = PutShenzhenName(w, e, p);
    p = Put(p, "\",");
    p = Put(p, period_text);
    *p++ = ',';
    p = Put(p, kGrades[grade]);
    *p++ = ',';
    const Industry& industry = kIndustries[kIndustryWeights.Pick(r)];
    p = Put(p, industry.division);
    if (r.Below(10) < 4) {
      *p++ = static_cast<char>('1' + r.Below(9));
      if (r.Below(10) < 3) *p++ = static_cast<char>('1' + r.Below(9));
    }
    for (int dimension = 0; dimension < 5; ++dimension) {
      // Commendations are rarer than clean records: centred lower, spread wider.
      const bool commendations = dimension == 4;
      const int64_t centre = kScoreCentre[grade] - (commendations ? 150 : 0);
      const int64_t spread = commendations ? 120 : 70;  // sd in tenths
      const int64_t score =
          std::clamp<int64_t>(centre + r.NearNormal() * spread / kNearNormalSd, 0, 1000);
      *p++ = ',';
      p = PutTenths(p, static_cast<uint64_t>(score));
    }
    const bool in_ring = e >= w.ring_begin();
    const bool offshore_held =
        e >= w.sz_holding_end() && !in_ring && FundingOf(w, e) == Funding::kOffshore;
    const bool serious = r.Happens(kSeriousDishonesty[grade]);
    const bool abnormal = r.Happens(kAbnormalOperation[grade]);
    const bool shell =
        r.Happens((in_ring || offshore_held) ? kShellRiskRingOrOffshore : kShellRisk[grade]);
    p = Put(p, serious ? ",1" : ",0");
    p = Put(p, abnormal ? ",1" : ",0");
    p = Put(p, shell ? ",1\n" : ",0\n");
    out.Commit(p);
  }
  summary.sz_grade_rows = w.shenzhen();
  stage.Done();
}

// ---------------------------------------------------------------------------------------
// ownership

enum class HolderKind : uint8_t { kEntity, kMainlandPerson, kHongKongPerson };

struct Holder {
  HolderKind kind;
  uint64_t index;
  uint32_t share;  // hundredths of a percent
  int32_t voting;  // hundredths of a percent, -1 for blank
};

class HolderList {
 public:
  bool Contains(HolderKind kind, uint64_t index) const {
    for (size_t i = 0; i < size_; ++i) {
      if (items_[i].kind == kind && items_[i].index == index) return true;
    }
    return false;
  }
  bool full() const { return size_ == kMaxHolders; }
  void Add(HolderKind kind, uint64_t index, uint32_t share) {
    if (size_ < kMaxHolders) items_[size_++] = {kind, index, share, -1};
  }
  size_t size() const { return size_; }
  Holder& operator[](size_t i) { return items_[i]; }
  const Holder& operator[](size_t i) const { return items_[i]; }

 private:
  std::array<Holder, kMaxHolders> items_{};
  size_t size_ = 0;
};

class OwnershipGenerator {
 public:
  OwnershipGenerator(const World& w, FeedWriter& out, SynthSummary& summary)
      : w_(w), out_(out), summary_(summary), companies_held_(w.entities(), 0) {}

  void Run(const SynthProgress& progress) {
    out_.Append("holder_id,holder_kind,holder_jurisdiction,owned_id,share,voting,as_of\n");
    StageProgress stage(progress, "ownership", w_.entities());
    for (uint64_t e = 0; e < w_.entities(); ++e) {
      stage.Step(e);
      Company(e);
    }
    summary_.persons = persons_held_[0].size() + persons_held_[1].size();
    for (uint32_t held : companies_held_)
      summary_.max_companies_held_by_entity =
          std::max<uint64_t>(summary_.max_companies_held_by_entity, held);
    for (const auto& pool : persons_held_) {
      for (uint32_t held : pool)
        summary_.max_companies_held_by_person =
            std::max<uint64_t>(summary_.max_companies_held_by_person, held);
    }
    stage.Done();
  }

 private:
  // The holders of e, their shares summing to `total` (10000, or less for an unknown
  // remainder), written as rows.
  void Company(uint64_t e) {
    Rng r(w_.seed(), Stream::kOwnership, e);
    const uint32_t step = kGranularities[kGranularityWeights.Pick(r)];
    uint32_t total = kFullShare;
    if (r.Happens(w_.knobs().partial)) {
      total = kFullShare - step * static_cast<uint32_t>(1 + r.Below(7000 / step));
    }
    HolderList holders;
    const Side side = w_.side(e);
    int pool = side == Side::kHongKong ? 1 : 0;
    Chance other_pool = side == Side::kHongKong ? kMainlandPersonInHkFirm : kHkPersonInMainlandFirm;
    uint64_t lead = UINT64_MAX;  // an entity holding a stake, the rest held by persons

    if (side == Side::kShenzhen && e < w_.sz_holding_end()) {
      const uint64_t x = r.Below(1000);
      if (x < kHoldingUnheldPermille) return Unheld();
      if (x < kHoldingUnheldPermille + kHoldingOffshorePermille && w_.chains() > 0) {
        lead = w_.PickChainBottom(r);
      } else if (x < kHoldingUnheldPermille + kHoldingOffshorePermille + kHoldingGroupPermille &&
                 e > 0) {
        lead = r.SkewedBelow(e);
      }
    } else if (side == Side::kShenzhen && e >= w_.ring_begin()) {
      return RingMember(e, r, step);
    } else if (side != Side::kOffshore) {
      const bool hk = side == Side::kHongKong;
      switch (FundingOf(w_, e)) {
        case Funding::kAcrossTheBorder:
          lead = hk ? r.SkewedBelow(w_.sz_holding_end())
                    : w_.hk_begin() + r.SkewedBelow(w_.hk_holding_end() - w_.hk_begin());
          break;
        case Funding::kOffshore:
          lead = w_.PickChainBottom(r);
          break;
        case Funding::kGroup:
          if (!hk) {
            lead = r.SkewedBelow(w_.sz_holding_end());
          } else if (e > w_.hk_begin()) {
            const uint64_t below = std::min(e, w_.hk_holding_end()) - w_.hk_begin();
            lead = w_.hk_begin() + r.SkewedBelow(below);
          }
          break;
        case Funding::kUnheld:
          return Unheld();
        case Funding::kPersons:
          break;
      }
    } else {
      const uint64_t chain_end = w_.ChainOf(e).second;
      pool = static_cast<int>(r.Below(2));
      other_pool = Probability(0.5);
      if (e + 1 < chain_end) {
        lead = e + 1;
        if (r.Happens(kSoleNextLayer)) {
          holders.Add(HolderKind::kEntity, lead, total);
          return Emit(e, r, holders, total);
        }
      } else if (r.Happens(kUnheldChainTop)) {
        return Unheld();
      }
    }

    if (lead != UINT64_MAX) {
      const uint32_t slots = total / step;
      if (slots < 2 || r.Happens(kSoleCorporateHolder)) {
        holders.Add(HolderKind::kEntity, lead, total);
      } else {
        const auto lead_slots =
            static_cast<uint32_t>(r.Between(std::max<uint32_t>(1, slots / 5), slots - 1));
        holders.Add(HolderKind::kEntity, lead, lead_slots * step);
        const size_t persons = r.Happens(kSecondOutsidePerson) && slots - lead_slots >= 2 ? 2 : 1;
        AddPersons(r, holders, persons, total - lead_slots * step, step, pool, other_pool);
      }
    } else {
      const size_t persons = std::min<size_t>(1 + kPersonCountWeights.Pick(r), total / step);
      AddPersons(r, holders, persons, total, step, pool, other_pool);
    }
    Emit(e, r, holders, total);
  }

  void Unheld() { ++summary_.unheld; }

  void RingMember(uint64_t e, Rng& r, uint32_t step) {
    const World::Ring ring = w_.RingOf(e);
    const uint64_t pos = e - ring.start;
    const uint64_t previous = ring.start + (pos + ring.size - 1) % ring.size;
    HolderList holders;
    if (ring.index < w_.closed_rings()) {
      // No outside holder: the members hold all of each other.
      if (ring.size == 2) {
        holders.Add(HolderKind::kEntity, previous, kFullShare);
      } else {
        const auto share = static_cast<uint32_t>(100 * r.Between(10, 90));
        holders.Add(HolderKind::kEntity, previous, share);
        holders.Add(HolderKind::kEntity, ring.start + (pos + ring.size - 2) % ring.size,
                    kFullShare - share);
      }
    } else {
      const auto share = static_cast<uint32_t>(100 * r.Between(10, 49));
      holders.Add(HolderKind::kEntity, previous, share);
      if (w_.sz_holding_end() > 0 && r.Happens(kRingOutsideGroup)) {
        holders.Add(HolderKind::kEntity, r.SkewedBelow(w_.sz_holding_end()), kFullShare - share);
      } else {
        const size_t persons = r.Happens(kSecondOutsidePerson) ? 2 : 1;
        AddPersons(r, holders, persons, kFullShare - share, std::min<uint32_t>(step, 100), 0,
                   kHkPersonInMainlandFirm);
      }
    }
    Emit(e, r, holders, kFullShare);
  }

  // Adds `count` natural persons sharing `units` (a multiple of `step`, at least count
  // steps), largest first.
  void AddPersons(Rng& r, HolderList& holders, size_t count, uint32_t units, uint32_t step,
                  int pool, Chance other_pool) {
    count = std::min<size_t>({count, units / step, kMaxHolders - holders.size()});
    if (count == 0) return;
    std::array<uint32_t, kMaxHolders> parts{};
    uint32_t slots = units / step;
    for (size_t i = 0; i + 1 < count; ++i) {
      const uint32_t room = slots - static_cast<uint32_t>(count - 1 - i);  // max for this one
      // Mean of two uniforms: shares cluster around an even split.
      const auto part = static_cast<uint32_t>(1 + (r.Below(room) + r.Below(room)) / 2);
      parts[i] = part;
      slots -= part;
    }
    parts[count - 1] = slots;
    std::sort(parts.begin(), parts.begin() + static_cast<std::ptrdiff_t>(count), std::greater<>());
    for (size_t i = 0; i < count; ++i) {
      const int chosen = r.Happens(other_pool) ? 1 - pool : pool;
      const HolderKind kind =
          chosen == 0 ? HolderKind::kMainlandPerson : HolderKind::kHongKongPerson;
      holders.Add(kind, PickPerson(r, chosen, kind, holders), parts[i] * step);
    }
    // A rounding remainder (units not a multiple of step) goes to the largest person.
    const uint32_t remainder = units % step;
    if (remainder != 0) holders[holders.size() - count].share += remainder;
  }

  // A new person (62%) or one already holding shares, the early ones more often; never
  // one already among `holders`.
  uint64_t PickPerson(Rng& r, int pool, HolderKind kind, const HolderList& holders) {
    std::vector<uint32_t>& held = persons_held_[pool];
    const uint64_t known = held.size();
    const bool room = known < World::PersonSpace(pool);
    for (int attempt = 0; attempt < 4; ++attempt) {
      if (room && (known == 0 || r.Happens(kFreshPerson))) break;
      const uint64_t k = r.MildlySkewedBelow(known);
      if (!holders.Contains(kind, k)) return k;
    }
    if (room) {
      held.push_back(0);
      return known;
    }
    uint64_t k = r.Below(known);
    while (holders.Contains(kind, k)) k = (k + 1) % known;
    return k;
  }

  void Emit(uint64_t e, Rng& r, HolderList& holders, uint32_t total) {
    if (holders.size() == 0) return Unheld();
    if (total < kFullShare) ++summary_.partially_held;
    // Voting: blank for most, equal to the share for some, and for dual-class companies
    // votes moved from the others to the largest holder (the sum unchanged, so never
    // over 100%).
    if (holders.size() >= 2 && r.Happens(w_.knobs().voting_differs)) {
      uint32_t moved = 0;
      for (size_t i = 1; i < holders.size(); ++i) {
        const auto take = static_cast<uint32_t>(r.Between(1, holders[i].share));
        holders[i].voting = static_cast<int32_t>(holders[i].share - take);
        moved += take;
      }
      holders[0].voting = static_cast<int32_t>(holders[0].share + moved);
      summary_.voting_differs_rows += holders.size();
    } else if (r.Happens(kExplicitVoting)) {
      for (size_t i = 0; i < holders.size(); ++i)
        holders[i].voting = static_cast<int32_t>(holders[i].share);
    }

    const Period& period = w_.period();
    const int64_t as_of = period.first_day + static_cast<int64_t>(r.Below(static_cast<uint64_t>(
                                                 period.last_day - period.first_day + 1)));
    char owned[32];
    const auto owned_length = static_cast<size_t>(w_.PutEntityId(e, owned) - owned);
    const std::string_view owned_id(owned, owned_length);
    const Side side = w_.side(e);

    for (size_t i = 0; i < holders.size(); ++i) {
      const Holder& h = holders[i];
      char* p = out_.Reserve(256);
      if (h.kind == HolderKind::kEntity) {
        p = w_.PutEntityId(h.index, p);
        p = Put(p, ",entity,");
        p = Put(p, w_.Jurisdiction(h.index));
        ++summary_.entity_edges;
        ++companies_held_[h.index];
        const Side holder_side = w_.side(h.index);
        if (side == Side::kShenzhen && holder_side == Side::kHongKong)
          ++summary_.hk_funded_mainland;
        if (side == Side::kHongKong && holder_side == Side::kShenzhen) ++summary_.mainland_owned_hk;
        if (side != Side::kOffshore && holder_side == Side::kOffshore) ++summary_.offshore_held;
      } else {
        const int pool = h.kind == HolderKind::kMainlandPerson ? 0 : 1;
        p = w_.PutPersonId(pool, h.index, p);
        p = Put(p, ",person,");
        p = Put(p, w_.PersonJurisdiction(pool, h.index));
        ++summary_.person_edges;
        ++persons_held_[pool][h.index];
      }
      *p++ = ',';
      p = Put(p, owned_id);
      *p++ = ',';
      p = PutHundredths(p, h.share);
      *p++ = ',';
      if (h.voting >= 0) p = PutHundredths(p, static_cast<uint64_t>(h.voting));
      *p++ = ',';
      p = Put(p, w_.dates()[as_of]);
      *p++ = '\n';
      out_.Commit(p);
    }
    summary_.ownership_rows += holders.size();
  }

  const World& w_;
  FeedWriter& out_;
  SynthSummary& summary_;
  std::vector<uint32_t> companies_held_;               // per entity
  std::array<std::vector<uint32_t>, 2> persons_held_;  // per person, by pool
};

// ---------------------------------------------------------------------------------------
// performance

void WritePerformance(const World& w, const GradeDistribution& grades, FeedWriter& out,
                      SynthSummary& summary, const SynthProgress& progress) {
  out.Append(
      "subject_id,record_id,counterparty_jurisdiction,kind,due_date,settled_date,amount,"
      "currency,status\n");
  const Period& period = w.period();
  int64_t first_year = period.year;
  int64_t first_month = static_cast<int64_t>(period.month) - (kPerformanceMonths - 1);
  while (first_month < 1) {
    first_month += 12;
    --first_year;
  }
  const int64_t window_first = DaysFromCivil(first_year, static_cast<unsigned>(first_month), 1);
  const auto window_days = static_cast<uint64_t>(period.last_day - window_first + 1);
  const Knobs& knobs = w.knobs();
  std::vector<int64_t> due;
  const uint64_t subjects = w.offshore_begin();
  StageProgress stage(progress, "performance", subjects);
  for (uint64_t e = 0; e < subjects; ++e) {
    stage.Step(e);
    Rng r(w.seed(), Stream::kPerformance, e);
    const bool hk = w.side(e) == Side::kHongKong;
    if (!r.Happens(hk ? knobs.active_hk : knobs.active_sz)) continue;
    const uint64_t extra = (knobs.extra_records_q16 * (r.ParetoQ16() - 65536) + r.Next32()) >> 32;
    const uint64_t count = std::min(kMaxRecordsPerSubject, 1 + extra);
    Rng grade_rng(w.seed(), Stream::kGrade, e);
    const size_t grade = grades.Pick(grade_rng);
    const int trait = PayerTraitOf(w, e, grade);

    due.resize(count);
    for (auto& d : due) d = window_first + static_cast<int64_t>(r.Below(window_days));
    std::sort(due.begin(), due.end());

    char subject[32];
    const std::string_view subject_id(subject,
                                      static_cast<size_t>(w.PutEntityId(e, subject) - subject));
    for (uint64_t i = 0; i < count; ++i) {
      const int64_t due_day = due[i];
      const size_t kind = kKindWeights.Pick(r);
      size_t status = kStatusWeights[trait].Pick(r);
      if (status == kDefaulted && period.last_day - due_day < kDefaultAfterDays) status = kLate;
      int64_t settled = -1;
      if (status == kLate) {
        const uint64_t delay = 1 + (trait == kGoodPayer ? r.SkewedBelow(120) : r.Below(120));
        const int64_t room = period.last_day - due_day;
        if (room < 1) {
          status = kOnTime;
          settled = due_day;
        } else {
          const auto days = static_cast<int64_t>(delay) <= room
                                ? static_cast<int64_t>(delay)
                                : 1 + static_cast<int64_t>(r.Below(static_cast<uint64_t>(room)));
          settled = due_day + days;
        }
      } else if (status == kOnTime) {
        settled = due_day - static_cast<int64_t>(r.SkewedBelow(15));
      } else if (status == kDisputed && r.Below(10) < 3 && due_day < period.last_day) {
        settled = due_day + 1 +
                  static_cast<int64_t>(r.Below(static_cast<uint64_t>(period.last_day - due_day)));
      }
      const std::string_view counterparty =
          hk ? kHkCounterparties[kHkCounterpartyWeights.Pick(r)]
             : kShenzhenCounterparties[kShenzhenCounterpartyWeights.Pick(r)];
      const std::string_view currency =
          kind == kCustoms
              ? (hk ? "HKD" : "CNY")
              : kCurrencies[(hk ? kHkCurrencyWeights : kShenzhenCurrencyWeights).Pick(r)];
      const uint64_t cents = LognormalCents(r, kMedianLog10x256[kind], kSdLog10x256[kind]);

      const std::string_view due_text = w.dates()[due_day];
      char* p = out.Reserve(256);
      p = Put(p, subject_id);
      *p++ = ',';
      p = Put(p, kRecordPrefixes[kind]);
      p = Put(p, due_text.substr(0, 4));
      p = Put(p, due_text.substr(5, 2));
      *p++ = '-';
      p = PutPadded(p, i + 1, 5);
      *p++ = ',';
      p = Put(p, counterparty);
      *p++ = ',';
      p = Put(p, kKindNames[kind]);
      *p++ = ',';
      p = Put(p, due_text);
      *p++ = ',';
      if (settled >= 0) p = Put(p, w.dates()[settled]);
      *p++ = ',';
      p = PutHundredths(p, cents);
      *p++ = ',';
      p = Put(p, currency);
      *p++ = ',';
      p = Put(p, kStatusNames[status]);
      *p++ = '\n';
      out.Commit(p);
    }
    summary.performance_rows += count;
    ++summary.cross_border_entities;
  }
  stage.Done();
}

// ---------------------------------------------------------------------------------------
// hk-bureau

void WriteHkBureau(const World& w, const GradeDistribution& grades, FeedWriter& out,
                   SynthSummary& summary, const SynthProgress& progress) {
  const Period& period = w.period();
  const DateTable& dates = w.dates();
  const std::string_view as_of = dates[period.last_day];
  StageProgress stage(progress, "hk-bureau", w.hong_kong());
  const auto put_date = [&](char* p, int64_t day) {
    *p++ = '"';
    p = Put(p, dates[day]);
    *p++ = '"';
    return p;
  };
  const auto recent_day = [&](Rng& r, uint64_t within_days) {
    return period.last_day - static_cast<int64_t>(r.Below(within_days));
  };
  for (uint64_t e = w.hk_begin(); e < w.offshore_begin(); ++e) {
    stage.Step(e - w.hk_begin());
    Rng r(w.seed(), Stream::kBureau, e);
    Rng grade_rng(w.seed(), Stream::kGrade, e);
    const size_t grade = grades.Pick(grade_rng);  // the latent risk
    const bool bad = grade >= 4;
    int64_t incorporated = 0;
    switch (w.hk_id_kind(e)) {
      case HkIdKind::kCrn7:
        incorporated =
            DaysFromCivil(1965, 1, 1) + static_cast<int64_t>(r.Below(static_cast<uint64_t>(
                                            kHkNewCompanyNumbers - DaysFromCivil(1965, 1, 1))));
        break;
      case HkIdKind::kCrn8:
        incorporated = kHkNewCompanyNumbers + static_cast<int64_t>(r.Below(static_cast<uint64_t>(
                                                  period.last_day - kHkNewCompanyNumbers)));
        break;
      case HkIdKind::kBrn:
        incorporated = DaysFromCivil(1975, 1, 1) +
                       static_cast<int64_t>(r.Below(
                           static_cast<uint64_t>(period.last_day - DaysFromCivil(1975, 1, 1))));
        break;
    }
    incorporated = std::min(incorporated, period.last_day);

    char* p = out.Reserve(512);
    p = Put(p, "{\"entity_id\":\"");
    p = w.PutEntityId(e, p);
    p = Put(p, "\",\"name\":\"");
    p = PutHkName(w, e, p);
    p = Put(p, "\",\"as_of\":\"");
    p = Put(p, as_of);
    p = Put(p, "\",\"incorporation_date\":");
    p = put_date(p, incorporated);
    p = Put(p, ",\"facilities\":[");
    const uint64_t age_days = static_cast<uint64_t>(period.last_day - incorporated) + 1;
    const uint64_t facility_roll = r.Below(100);
    const uint64_t facilities = facility_roll < 25   ? 0
                                : facility_roll < 60 ? 1
                                : facility_roll < 85 ? 2
                                                     : 3 + r.Below(4);
    out.Commit(p);
    for (uint64_t i = 0; i < facilities; ++i) {
      p = out.Reserve(512);
      if (i > 0) *p++ = ',';
      const uint64_t limit = LognormalCents(r, 1626, 128);  // median ~2.2M HKD
      const uint64_t outstanding = std::max<uint64_t>(1, limit * r.Between(5, 100) / 100);
      uint64_t dpd = 0;
      const uint64_t dpd_roll = r.Below(100);
      if (grade <= 2) {
        dpd = dpd_roll < 95 ? 0 : 1 + r.Below(29);
      } else if (grade == 3) {
        dpd = dpd_roll < 80 ? 0 : 1 + r.Below(59);
      } else if (grade == 4) {
        dpd = dpd_roll < 50 ? r.Below(30) : 30 + r.Below(151);
      } else {
        dpd = dpd_roll < 30 ? r.Below(60) : 60 + r.Below(940);
      }
      const bool written_off =
          (grade == 5 && r.Below(100) < 30) || (grade == 4 && r.Below(100) < 5);
      p = Put(p, "{\"lender\":\"");
      p = Put(p, kLenders[r.Below(kLenders.size())]);
      p = Put(p, "\",\"type\":\"");
      p = Put(p, kFacilityTypes[kFacilityTypeWeights.Pick(r)]);
      p = Put(p, "\",\"limit\":");
      p = PutHundredths(p, limit);
      p = Put(p, ",\"outstanding\":");
      p = PutHundredths(p, outstanding);
      p = Put(p, ",\"worst_dpd_12m\":");
      p = PutUint(p, written_off ? std::max<uint64_t>(dpd, 180) : dpd);
      p = Put(p, written_off ? ",\"status\":\"written_off\"}" : ",\"status\":\"current\"}");
      out.Commit(p);
    }
    p = out.Reserve(64);
    out.Commit(Put(p, "],\"defaults\":["));
    const uint64_t default_roll = r.Below(10000);
    const uint64_t defaults = grade == 5   ? (default_roll < 6000 ? 1 + r.Below(3) : 0)
                              : grade == 4 ? (default_roll < 2500 ? 1 : 0)
                              : grade == 3 ? (default_roll < 300 ? 1 : 0)
                                           : (default_roll < 30 ? 1 : 0);
    for (uint64_t i = 0; i < defaults; ++i) {
      p = out.Reserve(256);
      if (i > 0) *p++ = ',';
      p = Put(p, "{\"date\":");
      p = put_date(p, recent_day(r, std::min<uint64_t>(age_days, 5 * 365)));
      p = Put(p, ",\"amount\":");
      p = PutHundredths(p, LognormalCents(r, 1459, 154));  // median ~500k HKD
      *p++ = '}';
      out.Commit(p);
    }
    out.Commit(Put(out.Reserve(64), "],\"judgments\":["));
    const uint64_t judgment_roll = r.Below(10000);
    const uint64_t judgments = grade == 5   ? (judgment_roll < 4000 ? 1 + r.Below(4) : 0)
                               : grade == 4 ? (judgment_roll < 1500 ? 1 : 0)
                               : grade == 3 ? (judgment_roll < 500 ? 1 : 0)
                                            : (judgment_roll < 100 ? 1 : 0);
    for (uint64_t i = 0; i < judgments; ++i) {
      p = out.Reserve(256);
      if (i > 0) *p++ = ',';
      p = Put(p, "{\"date\":");
      p = put_date(p, recent_day(r, std::min<uint64_t>(age_days, 6 * 365)));
      p = Put(p, ",\"amount\":");
      p = PutHundredths(p, LognormalCents(r, 1402, 154));  // median ~300k HKD
      p = Put(p, ",\"satisfied\":");
      p = Put(p, r.Below(100) < (bad ? 30u : 80u) ? "true" : "false");
      *p++ = '}';
      out.Commit(p);
    }
    p = Put(out.Reserve(256), "],\"winding_up_petitions\":[");
    const uint64_t petition_roll = r.Below(10000);
    const bool petition = grade == 5   ? petition_roll < 1000
                          : grade == 4 ? petition_roll < 200
                                       : petition_roll < 5;
    if (petition) {
      p = Put(p, "{\"date\":");
      p = put_date(p, recent_day(r, std::min<uint64_t>(age_days, 2 * 365)));
      *p++ = '}';
    }
    out.Commit(Put(p, "],\"trade_payments\":["));
    const uint64_t payments = r.Below(9);
    for (uint64_t i = 0; i < payments; ++i) {
      p = out.Reserve(256);
      if (i > 0) *p++ = ',';
      const uint64_t roll = r.Below(100);
      uint64_t days = 0;
      if (!bad) {
        days = roll < 70 ? 0 : roll < 95 ? 1 + r.Below(15) : 16 + r.Below(30);
      } else {
        days = roll < 30 ? 0 : roll < 60 ? 1 + r.Below(30) : 31 + r.Below(150);
      }
      p = Put(p, "{\"days_beyond_terms\":");
      p = PutUint(p, days);
      p = Put(p, ",\"amount\":");
      p = PutHundredths(p, LognormalCents(r, 1255, 141));  // median ~80k HKD
      *p++ = '}';
      out.Commit(p);
    }
    out.Commit(Put(out.Reserve(8), "]}\n"));
  }
  summary.hk_bureau_rows = w.hong_kong();
  stage.Done();
}

bool IsShare(double x) { return x >= 0 && x <= 1; }  // false for NaN

}  // namespace

Status ValidateSynthOptions(const SynthOptions& o) {
  if (o.entities == 0 || o.entities > kMaxSynthEntities) {
    return InvalidArgumentError("entities must be 1.." + std::to_string(kMaxSynthEntities) +
                                ", got " + std::to_string(o.entities));
  }
  CG_RETURN_IF_ERROR(ParsePeriod(o.period).status());
  const std::array<std::pair<std::string_view, double>, 12> shares = {{
      {"hk_share", o.hk_share},
      {"offshore_share", o.offshore_share},
      {"holding_company_share", o.holding_company_share},
      {"hk_funded_mainland_share", o.hk_funded_mainland_share},
      {"mainland_owned_hk_share", o.mainland_owned_hk_share},
      {"offshore_layer_share", o.offshore_layer_share},
      {"offshore_owned_hk_share", o.offshore_owned_hk_share},
      {"ring_share", o.ring_share},
      {"partial_holders_share", o.partial_holders_share},
      {"voting_differs_share", o.voting_differs_share},
      {"cross_border_share", o.cross_border_share},
      {"hk_share + offshore_share", o.hk_share + o.offshore_share},
  }};
  for (const auto& [name, value] : shares) {
    if (!IsShare(value))
      return InvalidArgumentError(std::string(name) + " must be in [0, 1], got " +
                                  std::to_string(value));
  }
  if (o.hk_share + o.offshore_share >= 1)
    return InvalidArgumentError("hk_share + offshore_share must be under 1 (no Shenzhen entities)");
  double grade_sum = 0;
  for (double share : o.grade_shares) {
    if (!IsShare(share))
      return InvalidArgumentError("grade_shares must each be in [0, 1], got " +
                                  std::to_string(share));
    grade_sum += share;
  }
  if (std::abs(grade_sum - 1) > 1e-6)
    return InvalidArgumentError("grade_shares must sum to 1, got " + std::to_string(grade_sum));
  if (!(o.performance_per_entity >= 0 && o.performance_per_entity <= 1000)) {
    return InvalidArgumentError("performance_per_entity must be in [0, 1000], got " +
                                std::to_string(o.performance_per_entity));
  }
  // Identifier spaces: Hong Kong numbers (half 7-digit CRNs, half 8-digit numbers).
  const uint64_t hk = (o.entities * Fraction32(o.hk_share) + (kOne32 >> 1)) >> 32;
  if (hk / 2 + 10 > kHkCrn7Space) {
    return InvalidArgumentError("hk_share too large: " + std::to_string(hk) +
                                " Hong Kong companies, at most " +
                                std::to_string(2 * (kHkCrn7Space - 10)) + " can have ids");
  }
  return OkStatus();
}

StatusOr<SynthSummary> WriteSyntheticFeeds(const SynthOptions& options, const std::string& out_dir,
                                           const SynthProgress& progress) {
  CG_RETURN_IF_ERROR(ValidateSynthOptions(options));
  CG_ASSIGN_OR_RETURN(const Period period, ParsePeriod(options.period));
  std::error_code ec;
  const std::filesystem::file_status status = std::filesystem::status(out_dir, ec);
  if (status.type() == std::filesystem::file_type::not_found)
    return NotFoundError("output directory " + out_dir + " does not exist");
  if (ec) return FileError(ec.value(), "cannot access output directory", out_dir);
  if (!std::filesystem::is_directory(status))
    return InvalidArgumentError("output path " + out_dir + " is not a directory");

  const std::filesystem::path dir(out_dir);
  FeedWriter sz_grades((dir / kSynthSzGradesFile).string());
  FeedWriter ownership((dir / kSynthOwnershipFile).string());
  FeedWriter performance((dir / kSynthPerformanceFile).string());
  FeedWriter hk_bureau((dir / kSynthHkBureauFile).string());
  const std::array<FeedWriter*, 4> writers = {&sz_grades, &ownership, &performance, &hk_bureau};
  for (FeedWriter* writer : writers) CG_RETURN_IF_ERROR(writer->Open());

  const World world(options, period);
  const GradeDistribution grades(options.grade_shares);
  SynthSummary summary;
  summary.entities = world.entities();
  summary.shenzhen_entities = world.shenzhen();
  summary.hong_kong_entities = world.hong_kong();
  summary.offshore_entities = world.offshore();
  summary.rings = world.rings();
  summary.closed_rings = world.closed_rings();
  summary.ring_entities = world.hk_begin() - world.ring_begin();
  summary.offshore_chains = world.chains();

  WriteSzGrades(world, grades, sz_grades, summary, progress);
  CG_RETURN_IF_ERROR(sz_grades.Close());
  {
    OwnershipGenerator generator(world, ownership, summary);
    generator.Run(progress);
  }
  CG_RETURN_IF_ERROR(ownership.Close());
  WritePerformance(world, grades, performance, summary, progress);
  CG_RETURN_IF_ERROR(performance.Close());
  WriteHkBureau(world, grades, hk_bureau, summary, progress);
  CG_RETURN_IF_ERROR(hk_bureau.Close());

  for (FeedWriter* writer : writers) {
    CG_RETURN_IF_ERROR(writer->Publish());
    summary.bytes_written += writer->bytes();
  }
  return summary;
}

}  // namespace cg::mapping
