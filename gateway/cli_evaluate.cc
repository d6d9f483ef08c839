// evaluate: the monthly batch over the store; explain: one entity's evaluation for a
// person to read.
#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>

#include "config/model_config.h"
#include "config/node_config.h"
#include "gateway/batch_evaluation.h"
#include "gateway/cli.h"
#include "gateway/ownership_chains.h"
#include "proto/attestation.pb.h"
#include "specs/file_io.h"
#include "specs/json.h"

namespace cg::gateway {
namespace {

struct EvaluateOptions {
  std::string period;
  std::string side;  // default: the configuration's, else sz
  std::string model_file;
  std::string store_url;
  std::string config_file;
  unsigned threads = 2;
};

// The store named by --store, else by the node configuration's [store]; and the
// configuration's side when there is one.
struct StoreChoice {
  std::string url;
  std::string side;
};
StatusOr<StoreChoice> ChooseStore(const std::string& store_url, const std::string& config_file) {
  StoreChoice choice{store_url, ""};
  if (!config_file.empty()) {
    CG_ASSIGN_OR_RETURN(config::NodeConfig config, config::LoadNodeConfig(config_file));
    if (choice.url.empty()) choice.url = config.store.url;
    choice.side = std::string(config::SideName(config.node.side));
  }
  if (choice.url.empty()) return InvalidArgumentError("give --store URL or --config FILE");
  return choice;
}

int Evaluate(EvaluateOptions o) {
  auto chosen = ChooseStore(o.store_url, o.config_file);
  if (!chosen.ok()) return ReportError(chosen.status());
  if (o.side.empty()) o.side = chosen->side.empty() ? "sz" : chosen->side;
  auto store = Store::Open(chosen->url);
  if (!store.ok()) return ReportError(store.status());
  BatchOptions options;
  options.period = o.period;
  options.threads = o.threads;
  config::ModelConfig model = config::DefaultModelConfig();
  if (!o.model_file.empty()) {
    auto loaded = config::LoadModelConfig(o.model_file);
    if (!loaded.ok()) return ReportError(loaded.status());
    model = std::move(loaded).value();
  }
  options.model = model.joint;
  options.penetration = model.penetration;
  options.scales = model.scales;
  if (o.side == "hk") {
    options.side = HomeSide::kHongKong;
    // The home scale comes first: the Hong Kong one for a Hong Kong node.
    std::stable_partition(options.scales.begin(), options.scales.end(),
                          [](const mapping::Scale& s) { return s.name() == "hk-bureau"; });
  }
  const bool tty = ::isatty(STDERR_FILENO) == 1;
  options.progress = [tty](std::string_view stage, uint64_t done, uint64_t total) {
    if (!tty) return;
    if (total > 0) {
      fmt::print(stderr, "\r{:<12} {:>10} / {} ({:.0f}%)   ", stage, done, total,
                 100.0 * done / total);
    } else {
      fmt::print(stderr, "\r{:<12} {:>10}              ", stage, done);
    }
  };
  auto summary = EvaluatePeriod(**store, options);
  if (tty) fmt::print(stderr, "\r{}\r", std::string(60, ' '));
  if (!summary.ok()) return ReportError(summary.status());
  const BatchSummary& s = *summary;
  fmt::print(
      "evaluated {} entities for {} in {:.1f} s (graph: {} nodes, {} holdings; {} "
      "performance records)\n",
      s.evaluated, o.period, s.wall_seconds, s.graph_nodes, s.graph_edges, s.performance_records);
  const bool parallel = s.stage_seconds.contains("performance wait");
  for (const char* stage : {"grades", "ownership", "graph", "performance", "performance wait",
                            "evaluate", "store", "commit"}) {
    auto it = s.stage_seconds.find(stage);
    if (it == s.stage_seconds.end()) continue;
    const bool alongside = parallel && std::string_view(stage) == "performance";
    fmt::print("  {:<16} {:6.1f} s{}\n", stage, it->second,
               alongside ? "  (alongside grades, ownership and graph)" : "");
  }
  fmt::print("grade distribution ({}):\n", options.scales.front().name());
  for (const auto& band : options.scales.front().bands()) {
    auto it = s.distribution.find(band.grade);
    const uint64_t n = it == s.distribution.end() ? 0 : it->second;
    fmt::print("  {:<3} {:>10}  {:5.1f}%\n", band.grade, n,
               s.evaluated ? 100.0 * n / s.evaluated : 0);
  }
  if (s.superseded_attestations > 0) {
    fmt::print("{} active attestations superseded: their subjects' grades changed\n",
               s.superseded_attestations);
  }
  for (const std::string& period : s.unfinished_periods) {
    fmt::print(
        "warning: the evaluation of {} was begun and not completed (or is running now); "
        "its evaluations are hidden until `evaluate --period {}` completes\n",
        period, period);
  }
  if (s.previous_period.empty()) {
    fmt::print("no earlier period evaluated: nothing to compare\n");
  } else {
    uint64_t up = 0, down = 0, same = 0, fresh = 0;
    const auto& bands = options.scales.front().bands();
    auto rank = [&](const std::string& g) {
      for (size_t i = 0; i < bands.size(); ++i) {
        if (bands[i].grade == g) return static_cast<int>(i);
      }
      return -1;
    };
    for (const auto& t : s.transitions) {
      if (t.from.empty()) {
        fresh += t.count;
      } else if (rank(t.to) < rank(t.from)) {
        up += t.count;
      } else if (rank(t.to) > rank(t.from)) {
        down += t.count;
      } else {
        same += t.count;
      }
    }
    fmt::print("since {}: {} upgraded, {} downgraded, {} unchanged, {} newly evaluated\n",
               s.previous_period, up, down, same, fresh);
  }
  return kExitOk;
}

struct ExplainOptions {
  std::string subject;
  std::string period;
  std::string store_url;
  std::string config_file;
  std::string evaluation_out;
};

int Explain(const ExplainOptions& o) {
  auto chosen = ChooseStore(o.store_url, o.config_file);
  if (!chosen.ok()) return ReportError(chosen.status());
  auto store = Store::Open(chosen->url);
  if (!store.ok()) return ReportError(store.status());
  auto stored = (*store)->GetEvaluation(o.subject, o.period);
  if (!stored.ok()) return ReportError(stored.status());
  cg::v1::Evaluation e;
  if (!e.ParseFromString(stored->evaluation)) {
    return ReportError(DataLossError("the stored evaluation of " + o.subject + " is corrupt"));
  }
  if (!o.evaluation_out.empty()) {
    // The evaluation as `attest --evaluation` takes it.
    if (Status written = WriteFileAtomically(o.evaluation_out, MessageToJson(e)); !written.ok()) {
      return ReportError(written);
    }
  }
  fmt::print("{}  {}\n", e.subject().id(), e.subject().name());
  fmt::print("period {}  model {}\n", e.period(), e.model_version());
  fmt::print("native grade   {} ({})\n", e.native_grade().grade(), e.native_grade().scale());
  fmt::print("joint          {} ({}), PD {:.3f}%, score {}\n", e.joint_grade().grade(),
             e.joint_grade().scale(), e.joint_pd() * 100, e.joint_score());
  for (const auto& g : e.other_grades()) {
    fmt::print("               {} ({})\n", g.grade(), g.scale());
  }
  fmt::print("reasons (log-odds of default; + is riskier):\n");
  for (const auto& r : e.reasons()) {
    fmt::print("  {:<24} {:+.3f}  {}\n", r.code(), r.contribution(), r.description());
  }
  const auto& eq = e.equity();
  fmt::print("ownership:\n");
  if (eq.beneficial_owners_size() == 0) fmt::print("  no identifiable beneficial owner\n");
  for (const auto& bo : eq.beneficial_owners()) {
    fmt::print("  beneficial owner {}  {:.1f}%{}\n", bo.holder_id(), bo.integrated_share() * 100,
               bo.controller() ? "  (ultimate controller)" : "");
  }
  if (!eq.ultimate_controller().empty()) {
    fmt::print("  ultimate controller {}\n", eq.ultimate_controller());
  }
  auto chains = ExplainOwnership(**store, e.subject().id(), e.subject().jurisdiction(), e.period(),
                                 mapping::PenetrationParams{});
  if (!chains.ok()) return ReportError(chains.status().WithContext("ownership chains"));
  if (!chains->empty()) fmt::print("  strongest chains (share held at each link):\n");
  for (const auto& chain : *chains) {
    std::string text;
    for (size_t i = 0; i < chain.links.size(); ++i) {
      const ChainLink& link = chain.links[i];
      if (i > 0) text += fmt::format(" <-{:.1f}%- ", link.share_of_next * 100);
      text += link.id + (link.jurisdiction.empty() ? "" : " [" + link.jurisdiction + "]");
      if (!link.via_statement.empty()) text += " (via statement of " + link.via_statement + ")";
    }
    fmt::print("    {:5.1f}%  {}{}\n", chain.product * 100, text,
               chain.crosses_border ? "  (crosses the border)" : "");
  }
  fmt::print(
      "  layers to beneficial owner {}{}{}{}\n", eq.layers_to_beneficial_owner(),
      eq.crosses_border() ? ", crosses the border" : "",
      eq.ring_detected() ? ", cross-holding ring" : "",
      eq.unknown_share() > 0 ? fmt::format(", {:.1f}% unknown", eq.unknown_share() * 100) : "");
  for (const auto& j : eq.secrecy_jurisdictions())
    fmt::print("  through secrecy jurisdiction {}\n", j);
  const auto& pf = e.performance();
  if (pf.sufficient_evidence()) {
    fmt::print(
        "cross-border performance ({} months): {} records, {:.1f}% on time by amount, "
        "days-beyond-terms score {:.0f}, {} defaults, {} disputes\n",
        pf.window_months(), pf.records(), pf.on_time_rate() * 100, pf.days_beyond_terms_score(),
        pf.defaults(), pf.disputes());
  } else {
    fmt::print("cross-border performance: too little evidence ({} records): neutral\n",
               pf.records());
  }
  return kExitOk;
}

}  // namespace

void AddEvaluateCommands(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<EvaluateOptions>();
  auto* evaluate = app.add_subcommand(
      "evaluate", "Recompute every entity for a period with the joint model and store the results");
  evaluate->add_option("--period", o->period, "YYYY-MM")->required();
  evaluate->add_option("--store", o->store_url, "Store URL, e.g. sqlite:node.db");
  evaluate->add_option("--config", o->config_file, "Node configuration: its store and side");
  evaluate
      ->add_option("--side", o->side,
                   "Whose entities: sz (sz-grades) or hk (hk-bureau files); default: the "
                   "configuration's, else sz")
      ->check(CLI::IsMember({"sz", "hk"}));
  evaluate->add_option("--model", o->model_file,
                       "Model parameters, scales and translation policy (TOML; default: the "
                       "documented defaults, as in config/examples/model.toml)");
  evaluate->add_option("--threads", o->threads, "Worker threads")->capture_default_str();
  evaluate->callback([o, &exit_code] { exit_code = Evaluate(*o); });

  auto x = std::make_shared<ExplainOptions>();
  auto* explain = app.add_subcommand(
      "explain", "Print an entity's evaluation, with its ownership and reason codes");
  explain->add_option("subject", x->subject, "Entity id, e.g. uscc:91440300MA5G2U7B88")->required();
  explain->add_option("--period", x->period, "YYYY-MM (default: the latest evaluated)");
  explain->add_option("--store", x->store_url, "Store URL");
  explain->add_option("--config", x->config_file, "Node configuration: its store");
  explain->add_option("--evaluation-out", x->evaluation_out,
                      "Also write the evaluation as JSON, ready for `attest --evaluation`");
  explain->callback([x, &exit_code] { exit_code = Explain(*x); });
}

}  // namespace cg::gateway
