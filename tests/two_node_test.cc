// The cross-border flows (DESIGN §2, issue 5) with two real nodes: a Shenzhen and
// a Hong Kong `credit-gateway serve` over mutual TLS on loopback, each with its own
// development PKI, SQLite store and synthetic feeds, made peers by `peer add`. The
// clients are curl (with each role's certificate) and the `verify` command a bank
// runs offline.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "proto/api.pb.h"
#include "proto/attestation.pb.h"
#include "proto/envelope.pb.h"
#include "specs/file_io.h"
#include "specs/json.h"
#include "specs/timestamps.h"
#include "tests/node_process.h"
#include "tests/test_process.h"

namespace cg {
namespace {

using test::NodeDirectory;
using test::NodeProcess;
using test::ProcessResult;
using test::RunProcess;
using ::testing::HasSubstr;
using namespace std::chrono_literals;
using Args = std::vector<std::string>;

constexpr char kPeriod[] = "2026-10";
constexpr char kBank[] = "bank:example-mainland-bank";

// A port nobody listens on now (the kernel's pick for an ephemeral bind).
uint16_t FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    close(fd);
    return 0;
  }
  close(fd);
  return ntohs(address.sin_port);
}

ProcessResult Cli(const Args& args) {
  Args argv = {CG_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  test::ProcessOptions options;
  options.timeout = 60s;
  return RunProcess(argv, options);
}

struct Answer {
  int status = 0;
  std::string body;
};

template <typename M>
M Parse(const std::string& json) {
  M m;
  const Status parsed = JsonToMessage(json, &m);
  EXPECT_TRUE(parsed.ok()) << parsed.ToString() << "\n" << json;
  return m;
}

std::string ErrorCode(const Answer& a) { return Parse<cg::v1::ErrorBody>(a.body).code(); }

class TwoNodeTest : public ::testing::Test {
 protected:
  struct Node {
    NodeDirectory dir;
    std::unique_ptr<NodeProcess> process;
    uint16_t port = 0;
  };

  // Each side's feeds: the synthetic month, with the ownership rows split by the
  // side of the owned entity, as each side's registry knows them. What a node
  // learns of the other side's owners comes through entity statements.
  void SplitFeeds() {
    ProcessResult r = Cli({"synth", "--entities", "2000", "--seed", "11", "--period", kPeriod,
                           "--out", tmp_.File("feeds")});
    ASSERT_EQ(r.exit_code, 0) << r.Describe();
    for (const std::string side : {"sz", "hk"}) {
      const std::string dir = tmp_.File("feeds-" + side);
      std::filesystem::create_directories(dir);
      for (const char* file : {"sz-grades.csv", "hk-bureau.jsonl", "performance.csv"}) {
        std::filesystem::copy_file(tmp_.File("feeds") + "/" + file, dir + "/" + file);
      }
      std::ifstream in(tmp_.File("feeds") + "/ownership.csv");
      std::ofstream out(dir + "/ownership.csv");
      std::string line;
      std::getline(in, line);
      const std::vector<std::string> header = SplitCsv(line);
      const auto owned = std::find(header.begin(), header.end(), "owned_id") - header.begin();
      ASSERT_LT(static_cast<size_t>(owned), header.size()) << line;
      out << line << '\n';
      while (std::getline(in, line)) {
        const std::vector<std::string> row = SplitCsv(line);
        const std::string& id = row.at(static_cast<size_t>(owned));
        const bool mainland = id.starts_with("uscc:");
        if (mainland == (side == "sz")) {
          out << line << '\n';
        } else if (side == "sz" && row[0].starts_with("hk")) {
          cross_border_holders_.push_back(row[0]);
        }
        if (mainland && row[0].starts_with("hk") && side == "sz") held_from_hk_.push_back(id);
        if (!mainland && row[0].starts_with("uscc:") && side == "sz") held_from_sz_.push_back(id);
      }
    }
  }

  static std::vector<std::string> SplitCsv(const std::string& line) {
    std::vector<std::string> out(1);
    bool quoted = false;
    for (const char c : line) {
      if (c == '"') {
        quoted = !quoted;
      } else if (c == ',' && !quoted) {
        out.emplace_back();
      } else {
        out.back() += c;
      }
    }
    return out;
  }

  void SetUp() override {
    SplitFeeds();
    test::NodeDirectoryOptions options;
    options.entities = 2000;
    options.seed = 11;
    options.period = kPeriod;
    options.side = "sz";
    options.feeds_dir = tmp_.File("feeds-sz");
    auto sz = test::PrepareNodeDirectory(tmp_.File("sz"), options);
    ASSERT_TRUE(sz.ok()) << sz.status().ToString();
    sz_.dir = *sz;
    options.side = "hk";
    options.feeds_dir = tmp_.File("feeds-hk");
    options.pseudonym_key = sz_.dir.File("keys/pseudonym.key");
    auto hk = test::PrepareNodeDirectory(tmp_.File("hk"), options);
    ASSERT_TRUE(hk.ok()) << hk.status().ToString();
    hk_.dir = *hk;
    for (Node* node : {&sz_, &hk_}) {
      node->port = FreePort();
      ASSERT_NE(node->port, 0);
      ASSERT_TRUE(test::SetTomlValue(node->dir.config_file, "api", "listen",
                                     "\"127.0.0.1:" + std::to_string(node->port) + "\"")
                      .ok());
      // Sync when the test says so, not on a timer.
      ASSERT_TRUE(
          test::SetTomlValue(node->dir.config_file, "peer", "sync_interval_seconds", "0").ok());
    }
    ProcessResult added =
        Cli({"peer", "add", "--config", sz_.dir.config_file, "--peer-config", hk_.dir.config_file});
    ASSERT_EQ(added.exit_code, 0) << added.Describe();
    added =
        Cli({"peer", "add", "--config", hk_.dir.config_file, "--peer-config", sz_.dir.config_file});
    ASSERT_EQ(added.exit_code, 0) << added.Describe();
    Start(sz_);
    Start(hk_);

    sz_subject_ = FirstId(sz_.dir.feeds_dir + "/sz-grades.csv", R"(^(uscc:[0-9A-Z]{18}),)");
    hk_subject_ = FirstId(sz_.dir.feeds_dir + "/hk-bureau.jsonl",
                          R"re("entity_id":"(hk(?:brn|crn):[0-9]+)")re");
    ASSERT_FALSE(sz_subject_.empty());
    ASSERT_FALSE(hk_subject_.empty());
  }

  void Start(Node& node) {
    NodeProcess::Options options;
    options.config_file = node.dir.config_file;
    auto process = NodeProcess::Start(options);
    ASSERT_TRUE(process.ok()) << process.status().ToString();
    node.process = std::move(*process);
    ASSERT_EQ(node.process->api_port(), node.port);
  }

  static std::string FirstId(const std::string& file, const std::string& pattern) {
    std::ifstream in(file);
    const std::regex re(pattern);
    for (std::string line; std::getline(in, line);) {
      std::smatch m;
      if (std::regex_search(line, m, re)) return m[1];
    }
    return {};
  }

  // curl as `role` of `node` (its own development CA) to `node`.
  Answer Call(const Node& node, const std::string& role, const std::string& method,
              const std::string& path, const std::string& body = "") {
    return CallAs(node, node, role, method, path, body);
  }

  // curl with `who`'s certificate for `role` to `to`'s API.
  Answer CallAs(const Node& who, const Node& to, const std::string& role, const std::string& method,
                const std::string& path, const std::string& body = "") {
    Args argv = {"/usr/bin/curl",
                 "-sS",
                 "--max-time",
                 "30",
                 "--cacert",
                 to.dir.File("tls/ca.pem"),
                 "--cert",
                 who.dir.File("tls/clients/" + role + ".pem"),
                 "--key",
                 who.dir.File("tls/clients/" + role + ".key"),
                 "-H",
                 "content-type: application/json",
                 "-X",
                 method,
                 "-w",
                 "\n%{http_code}"};
    if (!body.empty()) argv.insert(argv.end(), {"-d", body});
    argv.push_back("https://127.0.0.1:" + std::to_string(to.port) + path);
    test::ProcessOptions options;
    options.timeout = 40s;
    const ProcessResult r = RunProcess(argv, options);
    Answer a;
    const size_t last = r.stdout_text.rfind('\n');
    if (last == std::string::npos) return a;
    a.body = r.stdout_text.substr(0, last);
    a.status = std::atoi(r.stdout_text.c_str() + last + 1);
    return a;
  }

  Answer CrossBorder(const Node& node, const std::string& role, const std::string& subject,
                     const std::string& purpose, const std::string& consent = "",
                     const std::string& audience = "") {
    std::string body = R"({"subjectId":")" + subject + R"(","purpose":")" + purpose + '"';
    if (!consent.empty()) body += R"(,"consentRef":")" + consent + '"';
    if (!audience.empty()) body += R"(,"audience":")" + audience + '"';
    return Call(node, role, "POST", "/v1/cross-border/attestations", body + "}");
  }

  std::string RecordConsent(const std::string& subject, const std::string& purpose,
                            const std::string& audience) {
    const std::string until = FormatRfc3339(Clock::now() + std::chrono::hours(24 * 30));
    const Answer a =
        Call(hk_, "operator", "POST", "/v1/consents",
             R"({"subjectId":")" + subject + R"(","purpose":")" + purpose + R"(","audience":")" +
                 audience + R"(","validUntil":")" + until + R"("})");
    EXPECT_EQ(a.status, 201) << a.body;
    return Parse<cg::v1::Consent>(a.body).consent_id();
  }

  cg::v1::PeerSyncResult Sync(const Node& node) {
    const Answer a = Call(node, "operator", "POST", "/v1/peers/sync");
    EXPECT_EQ(a.status, 200) << a.body;
    const auto report = Parse<cg::v1::PeerSyncReport>(a.body);
    EXPECT_EQ(report.peers_size(), 1) << a.body;
    if (report.peers_size() != 1) return {};
    EXPECT_TRUE(report.peers(0).ok()) << a.body;
    return report.peers(0);
  }

  // Writes an envelope as the JSON `verify` reads, and returns its path.
  std::string Save(const std::string& name, const google::protobuf::Message& m) {
    const std::string path = tmp_.File(name);
    EXPECT_TRUE(WriteFileAtomically(path, MessageToJson(m), 0644).ok());
    return path;
  }

  // The bank's offline check: both nodes' published keys and status lists, saved.
  ProcessResult VerifyOffline(const cg::v1::CrossBorderResponse& pair,
                              const std::string& audience) {
    const std::string recognition = Save("recognition.json", pair.recognition());
    const std::string attestation = Save("attestation.json", pair.attestation());
    Args args = {"verify", recognition, attestation};
    int n = 0;
    for (const Node* node : {&sz_, &hk_}) {
      const std::string tag = std::to_string(n++);
      const Answer keys = Call(*node, "bank", "GET", "/v1/keys");
      const Answer status = Call(*node, "bank", "GET", "/v1/status-list");
      EXPECT_EQ(keys.status, 200);
      EXPECT_EQ(status.status, 200);
      const std::string keys_file = tmp_.File("keys" + tag + ".json");
      const std::string status_file = tmp_.File("status" + tag + ".json");
      EXPECT_TRUE(WriteFileAtomically(keys_file, keys.body, 0644).ok());
      EXPECT_TRUE(WriteFileAtomically(status_file, status.body, 0644).ok());
      args.insert(args.end(), {"--trust", keys_file, "--status", status_file});
    }
    if (!audience.empty()) args.insert(args.end(), {"--audience", audience});
    return Cli(args);
  }

  // Rewrites the Shenzhen grades for `period`, with `grade` for `subject`, and loads
  // and evaluates them on the Shenzhen node while it serves.
  void ShenzhenPeriod(const std::string& period, const std::string& subject,
                      const std::string& grade) {
    std::ifstream in(sz_.dir.feeds_dir + "/sz-grades.csv");
    std::ostringstream out;
    std::string line;
    std::getline(in, line);
    out << line << '\n';
    const std::string from = std::string(",") + kPeriod + ",";
    while (std::getline(in, line)) {
      const size_t at = line.find(from);
      ASSERT_NE(at, std::string::npos) << line;
      line.replace(at, from.size(), "," + period + ",");
      if (line.starts_with(subject + ",")) {
        const size_t grade_at = at + period.size() + 2;
        const size_t grade_end = line.find(',', grade_at);
        line.replace(grade_at, grade_end - grade_at, grade);
      }
      out << line << '\n';
    }
    const std::string file = tmp_.File("sz-grades-" + period + "-" + grade + ".csv");
    ASSERT_TRUE(WriteFileAtomically(file, out.str(), 0644).ok());
    ProcessResult r = Cli({"load", "sz-grades", file, "--config", sz_.dir.config_file});
    ASSERT_EQ(r.exit_code, 0) << r.Describe();
    r = Cli({"evaluate", "--period", period, "--config", sz_.dir.config_file});
    ASSERT_EQ(r.exit_code, 0) << r.Describe();
  }

  test::TempDir tmp_;
  Node sz_;
  Node hk_;
  std::string sz_subject_;
  std::string hk_subject_;
  std::vector<std::string> cross_border_holders_;
  std::vector<std::string> held_from_hk_;  // mainland entities with a Hong Kong holder
  std::vector<std::string> held_from_sz_;  // Hong Kong entities with a mainland holder
};

// Flow 1: a Hong Kong agency looks up a Shenzhen firm through the Hong Kong node.
TEST_F(TwoNodeTest, AgencyGetsShenzhenAttestationWithHongKongRecognition) {
  const Answer a = CrossBorder(hk_, "agency", sz_subject_, "credit-check");
  ASSERT_EQ(a.status, 201) << a.body;
  const auto pair = Parse<cg::v1::CrossBorderResponse>(a.body);
  EXPECT_EQ(pair.peer_node_id(), "sz-node-1");
  EXPECT_EQ(pair.original_grade().scale(), "sz-six-level");
  EXPECT_EQ(pair.recognized_grade().scale(), "hk-bureau");
  EXPECT_FALSE(pair.recognized_grade().grade().empty());

  // The Shenzhen node issued and stored it, for the Hong Kong node, bound to a nonce.
  const Answer stored = Call(sz_, "operator", "GET", "/v1/attestations/" + pair.attestation_id());
  ASSERT_EQ(stored.status, 200) << stored.body;
  const auto envelope = Parse<cg::v1::Envelope>(stored.body);
  cg::v1::Attestation attestation;
  ASSERT_TRUE(attestation.ParseFromString(envelope.payload()));
  EXPECT_EQ(attestation.audience(), "hk-node-1");
  EXPECT_EQ(attestation.nonce().size(), 32u);
  EXPECT_THAT(attestation.requesting_party(), HasSubstr("via hk-node-1"));
  EXPECT_EQ(attestation.evaluation().subject().id(), sz_subject_);

  // Both nodes' audit logs name the request by the same id.
  auto hk_audit = ReadFileLimited(hk_.dir.File("audit.log"), 1 << 20);
  auto sz_audit = ReadFileLimited(sz_.dir.File("audit.log"), 1 << 20);
  ASSERT_TRUE(hk_audit.ok() && sz_audit.ok());
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      *hk_audit, m, std::regex(R"re("request_id":"([^"]+)"[^\n]*"action":"cross-border")re")))
      << *hk_audit;
  EXPECT_THAT(*sz_audit, HasSubstr("\"request_id\":\"" + m[1].str() + "\""));

  // The Hong Kong node stored its recognition; both nodes verify the pair.
  const Answer listed = Call(hk_, "agency", "GET", "/v1/entities/" + sz_subject_ + "/attestations");
  EXPECT_THAT(listed.body, HasSubstr(pair.recognition_id()));
  cg::v1::VerifyRequest verify;
  *verify.mutable_envelope() = pair.recognition();
  *verify.mutable_attestation() = pair.attestation();
  for (const Node* node : {&sz_, &hk_}) {
    const Answer report = Call(*node, "bank", "POST", "/v1/verify", MessageToJson(verify));
    ASSERT_EQ(report.status, 200) << report.body;
    EXPECT_TRUE(Parse<cg::v1::VerificationReport>(report.body).valid()) << report.body;
  }
}

// Flow 2: a Hong Kong firm, with consent, recognised on the Shenzhen scale for a
// mainland bank, which checks the pair offline.
TEST_F(TwoNodeTest, ConsentedHongKongEvaluationRecognisedForMainlandBank) {
  // Without consent the Hong Kong node does not attest to the mainland.
  Answer refused = CrossBorder(sz_, "bank", hk_subject_, "loan-application", "", kBank);
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_EQ(ErrorCode(refused), "CONSENT_REQUIRED");

  const std::string consent = RecordConsent(hk_subject_, "loan-application", kBank);
  const Answer a = CrossBorder(sz_, "bank", hk_subject_, "loan-application", consent, kBank);
  ASSERT_EQ(a.status, 201) << a.body;
  const auto pair = Parse<cg::v1::CrossBorderResponse>(a.body);
  EXPECT_EQ(pair.peer_node_id(), "hk-node-1");
  EXPECT_EQ(pair.original_grade().scale(), "hk-bureau");
  EXPECT_EQ(pair.recognized_grade().scale(), "sz-six-level");
  EXPECT_THAT((std::vector<std::string>{"A+", "A", "B", "C", "D", "E"}),
              ::testing::Contains(pair.recognized_grade().grade()));
  cg::v1::Attestation recognition;
  ASSERT_TRUE(recognition.ParseFromString(pair.recognition().payload()));
  EXPECT_EQ(recognition.consent_ref(), consent);
  EXPECT_EQ(recognition.purpose(), "loan-application");
  EXPECT_EQ(recognition.audience(), kBank);
  EXPECT_EQ(recognition.recognizes().issuer().node_id(), "hk-node-1");
  EXPECT_FALSE(recognition.recognizes().scale_table_digest().empty());

  ProcessResult offline = VerifyOffline(pair, kBank);
  EXPECT_EQ(offline.exit_code, 0) << offline.Describe();
  EXPECT_THAT(offline.stdout_text, HasSubstr("VALID"));
  offline = VerifyOffline(pair, "bank:someone-else");
  EXPECT_EQ(offline.exit_code, 1) << offline.Describe();

  // A consent for another audience does not cover this bank.
  const std::string other = RecordConsent(hk_subject_, "loan-application", "bank:another");
  refused = CrossBorder(sz_, "bank", hk_subject_, "loan-application", other, kBank);
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_EQ(ErrorCode(refused), "CONSENT_MISMATCH");

  // Withdrawn: refused from now on, and what it allowed is revoked on both sides.
  const Answer withdrawn =
      Call(hk_, "operator", "POST", "/v1/consents/" + consent + "/withdraw", "{}");
  ASSERT_EQ(withdrawn.status, 200) << withdrawn.body;
  refused = CrossBorder(sz_, "bank", hk_subject_, "loan-application", consent, kBank);
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_EQ(ErrorCode(refused), "CONSENT_WITHDRAWN");
  EXPECT_EQ(Sync(sz_).recognitions_revoked(), 1u);
  offline = VerifyOffline(pair, kBank);
  EXPECT_EQ(offline.exit_code, 1) << offline.Describe();
  EXPECT_THAT(offline.stdout_text, HasSubstr("REVOKED"));
}

// Flow 4: a new period that changes the grade, then a credit repair, supersede the
// Shenzhen attestations and, through the status list, their Hong Kong recognitions.
TEST_F(TwoNodeTest, NewPeriodAndCreditRepairSupersedeAcrossTheBorder) {
  const Answer first = CrossBorder(hk_, "agency", sz_subject_, "credit-check");
  ASSERT_EQ(first.status, 201) << first.body;
  const auto before = Parse<cg::v1::CrossBorderResponse>(first.body);
  EXPECT_EQ(Sync(hk_).recognitions_superseded(), 0u);

  const std::string worse = before.original_grade().grade() == "E" ? "A" : "E";
  ShenzhenPeriod("2026-11", sz_subject_, worse);
  const cg::v1::PeerSyncResult synced = Sync(hk_);
  EXPECT_EQ(synced.recognitions_superseded(), 1u);
  ProcessResult offline = VerifyOffline(before, "");
  EXPECT_EQ(offline.exit_code, 1) << offline.Describe();
  EXPECT_THAT(offline.stdout_text, HasSubstr("SUPERSEDED"));
  const Answer record = Call(hk_, "agency", "GET", "/v1/entities/" + sz_subject_ + "/attestations");
  EXPECT_THAT(record.body, HasSubstr("ATTESTATION_STATE_SUPERSEDED"));

  // The new period's grade crosses the border; then a credit repair re-grades it.
  const Answer second = CrossBorder(hk_, "agency", sz_subject_, "credit-check");
  ASSERT_EQ(second.status, 201) << second.body;
  const auto after = Parse<cg::v1::CrossBorderResponse>(second.body);
  EXPECT_NE(after.original_grade().grade(), before.original_grade().grade());
  EXPECT_EQ(VerifyOffline(after, "").exit_code, 0);
  ShenzhenPeriod("2026-11", sz_subject_, "A+");
  EXPECT_EQ(Sync(hk_).recognitions_superseded(), 1u);
  offline = VerifyOffline(after, "");
  EXPECT_EQ(offline.exit_code, 1) << offline.Describe();
  EXPECT_THAT(offline.stdout_text, HasSubstr("SUPERSEDED"));
}

// Flow 3: a mainland firm held through a Hong Kong parent, and a Hong Kong firm held
// from the mainland, penetrated across the border through entity statements.
TEST_F(TwoNodeTest, EquityPenetratedAcrossTheBorderThroughStatements) {
  ASSERT_FALSE(held_from_hk_.empty());
  ASSERT_FALSE(held_from_sz_.empty());
  struct Direction {
    Node* asking;
    Node* home;
    const std::vector<std::string>* firms;
    std::string via;
  };
  for (const Direction& d : {Direction{&sz_, &hk_, &held_from_hk_, "hk-node-1"},
                             Direction{&hk_, &sz_, &held_from_sz_, "sz-node-1"}}) {
    SCOPED_TRACE("asking " + d.asking->dir.config_file);
    // Before the statements: no chain crosses through the other side's owners.
    const cg::v1::PeerSyncResult synced = Sync(*d.asking);
    EXPECT_GT(synced.statements_stored(), 0u);
    ProcessResult r = Cli({"evaluate", "--period", kPeriod, "--config", d.asking->dir.config_file});
    ASSERT_EQ(r.exit_code, 0) << r.Describe();

    std::string firm;
    for (const std::string& candidate : *d.firms) {
      r = Cli({"explain", candidate, "--config", d.asking->dir.config_file});
      if (r.exit_code == 0 &&
          r.stdout_text.find("via statement of " + d.via) != std::string::npos) {
        firm = candidate;
        break;
      }
    }
    ASSERT_FALSE(firm.empty()) << "no firm penetrated through a statement of " << d.via;
    EXPECT_THAT(r.stdout_text, HasSubstr("crosses the border"));
    // Natural persons only as pseudonyms, on either side.
    const std::regex raw_person("person:(?!ps1-)");
    EXPECT_FALSE(std::regex_search(r.stdout_text, raw_person)) << r.stdout_text;

    // The served evaluation shows it: beneficial owners and reason codes.
    const Answer evaluation =
        Call(*d.asking, "agency", "GET", "/v1/entities/" + firm + "/evaluation");
    ASSERT_EQ(evaluation.status, 200) << evaluation.body;
    const auto e = Parse<cg::v1::EvaluationResponse>(evaluation.body).evaluation();
    EXPECT_TRUE(e.equity().crosses_border());
    EXPECT_GT(e.equity().beneficial_owners_size() + e.reasons_size(), 0);
    for (const auto& reason : e.reasons()) EXPECT_NE(reason.code(), "NO_NATIVE_DATA");
  }
}

// Key rotation reaches the peer without downtime: the Hong Kong node rotates and
// reloads its key; the Shenzhen node follows the signed rollover when it meets the
// new key, keeps verifying what the old key signed, and keeps trusting the new key
// after a restart.
TEST_F(TwoNodeTest, KeyRotationReachesThePeer) {
  const std::string consent = RecordConsent(hk_subject_, "loan-application", kBank);
  const Answer before = CrossBorder(sz_, "bank", hk_subject_, "loan-application", consent, kBank);
  ASSERT_EQ(before.status, 201) << before.body;
  const auto old_pair = Parse<cg::v1::CrossBorderResponse>(before.body);

  ProcessResult r = Cli({"key", "rotate", "--key", hk_.dir.File("keys/signing.json"),
                         "--passphrase-file", hk_.dir.File("secrets/signing.passphrase")});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  ASSERT_TRUE(hk_.process->Hangup().ok());
  // The node publishes the rollover once it has reloaded.
  Answer chain;
  for (int i = 0; i < 50; ++i) {
    chain = Call(hk_, "bank", "GET", "/v1/keys/signed");
    if (chain.body.find("rollovers") != std::string::npos) break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_THAT(chain.body, HasSubstr("rollovers"));

  // Signed with the new key, recognised at once: the Shenzhen node took the rollover.
  const Answer after = CrossBorder(sz_, "bank", hk_subject_, "loan-application", consent, kBank);
  ASSERT_EQ(after.status, 201) << after.body;
  const auto new_pair = Parse<cg::v1::CrossBorderResponse>(after.body);
  cg::v1::Attestation old_attestation, new_attestation;
  ASSERT_TRUE(old_attestation.ParseFromString(old_pair.attestation().payload()));
  ASSERT_TRUE(new_attestation.ParseFromString(new_pair.attestation().payload()));
  EXPECT_NE(old_attestation.issuer().key_id(), new_attestation.issuer().key_id());

  // After a restart the Shenzhen node still trusts both keys (saved in its keys file).
  sz_.process->Terminate();
  Start(sz_);
  for (const auto* pair : {&old_pair, &new_pair}) {
    cg::v1::VerifyRequest verify;
    *verify.mutable_envelope() = pair->recognition();
    *verify.mutable_attestation() = pair->attestation();
    const Answer report = Call(sz_, "bank", "POST", "/v1/verify", MessageToJson(verify));
    ASSERT_EQ(report.status, 200) << report.body;
    EXPECT_TRUE(Parse<cg::v1::VerificationReport>(report.body).valid()) << report.body;
  }
  EXPECT_EQ(Sync(sz_).keys_added(), 0u);
}

// The home node's replay protection, seen from a peer's own certificate.
TEST_F(TwoNodeTest, ReplayedAndStalePeerRequestsAreRefused) {
  const std::string now = FormatRfc3339(Clock::now());
  const std::string body =
      R"({"subjectId":")" + sz_subject_ +
      R"(","audience":"hk-node-1","nonce":"0123456789abcdef","requestedAt":")" + now + R"("})";
  const Answer first = CallAs(hk_, sz_, "peer", "POST", "/v1/attestations", body);
  EXPECT_EQ(first.status, 201) << first.body;
  const Answer replayed = CallAs(hk_, sz_, "peer", "POST", "/v1/attestations", body);
  EXPECT_EQ(replayed.status, 409) << replayed.body;
  EXPECT_EQ(ErrorCode(replayed), "REPLAYED_REQUEST");

  const std::string stale = FormatRfc3339(Clock::now() - std::chrono::hours(1));
  const Answer old = CallAs(hk_, sz_, "peer", "POST", "/v1/attestations",
                            R"({"subjectId":")" + sz_subject_ +
                                R"(","nonce":"fresh-nonce-1","requestedAt":")" + stale + R"("})");
  EXPECT_EQ(old.status, 400) << old.body;
  EXPECT_EQ(ErrorCode(old), "REQUEST_OUTSIDE_WINDOW");
  const Answer bare = CallAs(hk_, sz_, "peer", "POST", "/v1/attestations",
                             R"({"subjectId":")" + sz_subject_ + R"("})");
  EXPECT_EQ(bare.status, 400) << bare.body;

  // A Hong Kong node shows the mainland its evaluations only as attestations under
  // consent; the Shenzhen node lets its peer look up.
  const Answer hk_lookup =
      CallAs(sz_, hk_, "peer", "GET", "/v1/entities/" + hk_subject_ + "/evaluation");
  EXPECT_EQ(hk_lookup.status, 403) << hk_lookup.body;
  EXPECT_EQ(ErrorCode(hk_lookup), "CONSENT_REQUIRED");
  const Answer sz_lookup =
      CallAs(hk_, sz_, "peer", "GET", "/v1/entities/" + sz_subject_ + "/evaluation");
  EXPECT_EQ(sz_lookup.status, 200) << sz_lookup.body;

  // A nonce longer than any the protocol allows is refused before it is remembered.
  const Answer long_nonce =
      CallAs(hk_, sz_, "peer", "POST", "/v1/attestations",
             R"({"subjectId":")" + sz_subject_ + R"(","nonce":")" + std::string(200, 'n') +
                 R"(","requestedAt":")" + now + R"("})");
  EXPECT_EQ(long_nonce.status, 400) << long_nonce.body;

  // The other side's CA makes peers only: its agency certificate is nobody here.
  const Answer agency =
      CallAs(hk_, sz_, "agency", "GET", "/v1/entities/" + sz_subject_ + "/evaluation");
  EXPECT_EQ(agency.status, 403) << agency.body;
  EXPECT_EQ(ErrorCode(agency), "NO_ROLE");
}

// A tampered attestation, an unknown issuer, and peers that are down or answer
// something else: each refused with its own error, nothing stored.
TEST_F(TwoNodeTest, TamperedUnknownAndUnreachablePeersAreRefused) {
  const Answer a = CrossBorder(hk_, "agency", sz_subject_, "credit-check");
  ASSERT_EQ(a.status, 201) << a.body;
  const auto pair = Parse<cg::v1::CrossBorderResponse>(a.body);

  // Tampered: one byte of the signed payload changed.
  cg::v1::RecognizeRequest recognize;
  *recognize.mutable_attestation() = pair.attestation();
  std::string payload = recognize.attestation().payload();
  payload[payload.size() / 2] ^= 0x01;
  recognize.mutable_attestation()->set_payload(payload);
  Answer refused = Call(hk_, "agency", "POST", "/v1/recognitions", MessageToJson(recognize));
  EXPECT_EQ(refused.status, 400) << refused.body;
  EXPECT_THAT(refused.body, HasSubstr("BAD_SIGNATURE"));

  // Unknown issuer: an attestation signed offline by a key no node trusts.
  ProcessResult r = Cli({"keygen", "--out", tmp_.File("rogue.json"), "--node-id", "rogue-node",
                         "--side", "sz", "--plaintext-for-tests"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  r = Cli({"explain", sz_subject_, "--config", sz_.dir.config_file, "--evaluation-out",
           tmp_.File("evaluation.json")});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  r = Cli({"attest", "--key", tmp_.File("rogue.json"), "--plaintext-for-tests", "--evaluation",
           tmp_.File("evaluation.json"), "--format", "json", "--out", tmp_.File("rogue-att.json")});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  auto rogue = ReadFileLimited(tmp_.File("rogue-att.json"), 1 << 20);
  ASSERT_TRUE(rogue.ok());
  *recognize.mutable_attestation() = Parse<cg::v1::Envelope>(*rogue);
  refused = Call(hk_, "agency", "POST", "/v1/recognitions", MessageToJson(recognize));
  EXPECT_EQ(refused.status, 400) << refused.body;
  EXPECT_THAT(refused.body, HasSubstr("UNKNOWN_ISSUER"));

  // A subject of the node's own side is not cross-border.
  refused = CrossBorder(hk_, "agency", hk_subject_, "credit-check");
  EXPECT_EQ(refused.status, 400) << refused.body;

  // The Shenzhen node down: 503 PEER_UNAVAILABLE, and no recognition stored.
  const Answer listed_before =
      Call(hk_, "agency", "GET", "/v1/entities/" + sz_subject_ + "/attestations");
  sz_.process->Terminate();
  refused = CrossBorder(hk_, "agency", sz_subject_, "credit-check");
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_EQ(ErrorCode(refused), "PEER_UNAVAILABLE");
  const Answer listed_after =
      Call(hk_, "agency", "GET", "/v1/entities/" + sz_subject_ + "/attestations");
  EXPECT_EQ(listed_after.body, listed_before.body);
  // Operations see it in the metrics.
  test::ProcessOptions options;
  options.timeout = 20s;
  const ProcessResult metrics =
      RunProcess({"/usr/bin/curl", "-sS",
                  "http://127.0.0.1:" + std::to_string(hk_.process->admin_port()) + "/metrics"},
                 options);
  EXPECT_THAT(metrics.stdout_text,
              HasSubstr("cg_cross_border_failures_total{code=\"PEER_UNAVAILABLE\"} 1"));
}

// A peer whose server certificate is not from the CA this node trusts for it: 502
// BAD_PEER, nothing stored.
TEST_F(TwoNodeTest, PeerWithAnotherCertificateIsBadPeer) {
  hk_.process->Terminate();
  // The Hong Kong node's trust entry for Shenzhen now points at itself: a server
  // whose certificate does not chain to the Shenzhen CA.
  auto text = ReadFileLimited(hk_.dir.config_file, 1 << 20);
  ASSERT_TRUE(text.ok());
  const std::string from = "https://127.0.0.1:" + std::to_string(sz_.port);
  const size_t at = text->find(from);
  ASSERT_NE(at, std::string::npos);
  text->replace(at, from.size(), "https://127.0.0.1:" + std::to_string(hk_.port));
  ASSERT_TRUE(WriteFileAtomically(hk_.dir.config_file, *text, 0600).ok());
  Start(hk_);
  const Answer refused = CrossBorder(hk_, "agency", sz_subject_, "credit-check");
  EXPECT_EQ(refused.status, 502) << refused.body;
  EXPECT_EQ(ErrorCode(refused), "BAD_PEER");
  const Answer listed = Call(hk_, "agency", "GET", "/v1/entities/" + sz_subject_ + "/attestations");
  EXPECT_THAT(listed.body, ::testing::Not(HasSubstr("attestation_id")));
}

}  // namespace
}  // namespace cg
