// Synthetic feeds at Shenzhen's scale (DESIGN.md §9): the four files of specs/feeds.md,
// with the shapes the evaluation has to cope with, for benchmarks, demos and tests.
// `credit-gateway synth --entities N --seed S --out DIR` calls WriteSyntheticFeeds.
//
// Files written to the output directory (CSV with the exact columns of specs/feeds.md,
// every column present, LF line ends):
//   sz-grades.csv     one row per Shenzhen entity for the period
//   ownership.csv     one row per shareholding, grouped by owned company
//   performance.csv   cross-border obligations, grouped by subject
//   hk-bureau.jsonl   one bureau file per Hong Kong company
// Each is written as "<name>.partial" and renamed into place once all four are complete,
// so a failed run never leaves a half-written feed under a real name; it removes its
// partial files. (Only a failure among the four final renames, after everything was
// written, can leave some feeds new and some from an earlier run.)
//
// The shapes (defaults in SynthOptions; illustrative, not calibrated against real data):
// - Entities: `entities` in all; `hk_share` Hong Kong companies (hkcrn: 7 digits for
//   companies incorporated before 27 December 2023, hkcrn: 8 digits after, hkbrn: 8
//   digits), `offshore_share` holding companies in secrecy jurisdictions (VG, KY, BM, SC,
//   MU, WS, BS, JE) with lei: ids, the rest Shenzhen entities with uscc: ids (division
//   4403xx, both check characters right). Every id passes ParseEntityId; ids are unique.
// - sz-grades: grades drawn from `grade_shares` (A+ 5%, A 30%, B 45%, C 12%, D 6%, E 2%);
//   the five dimension scores centre on the grade (A+ about 92, E about 30; one decimal);
//   flags rare and concentrated on D and E (and shell risk on ring members and firms held
//   offshore); GB/T 4754 industry codes; names "Shenzhen <word> <word> <sector> Co., Ltd.".
// - ownership (about 1.8 rows per entity with the defaults):
//   * natural persons "person:A123456(3)" (HKID-like, with the HKID check digit) or an
//     18-digit mainland-ID-like number (GB 11643 check character), raw as a registry
//     gives them (the loader pseudonymises them); about 0.6 new person per person row,
//     the others reused with a heavy tail (at 1M entities the busiest holds ~50 firms);
//   * `holding_company_share` of the Shenzhen entities are group companies that may hold
//     others; holders are drawn from them (and from Hong Kong holding companies, a quarter
//     of the Hong Kong ones) with a heavy tail: P(rank r) ~ r^-1/2, so at 4.4M entities
//     the largest groups hold a few thousand companies and most hold one or two;
//   * small firms: 1-3 natural persons (up to 7), occasionally a Hong Kong person;
//   * `hk_funded_mainland_share` of Shenzhen entities have a Hong Kong company among their
//     holders; `mainland_owned_hk_share` of Hong Kong companies have a Shenzhen holder;
//   * offshore chains: the offshore companies form chains of 1-4 layers (each layer held
//     by the next, the top by natural persons or, for 15%, by no recorded holder); the
//     bottom of a chain holds `offshore_layer_share` of the Shenzhen entities and
//     `offshore_owned_hk_share` of the Hong Kong ones, so chains from a Shenzhen firm to
//     its owners run 2-6 layers (directly or through a Hong Kong company);
//   * `ring_share` of the entities are in cross-holding rings of 2-4 companies (each
//     member holds 10-49% of the next and has outside holders for the rest), of which
//     `closed_rings` rings (at most half) have no outside holder at all;
//   * apart from rings, the graph is acyclic; no company holds itself, no pair appears
//     twice; the holders of a company sum to exactly 100% (shares in 0.01% steps, often
//     round), except `partial_holders_share` of them whose holders sum under 100% (an
//     unknown remainder) and a few with no recorded holder; never over 100%, for share
//     and for voting alike;
//   * the voting column is blank for most companies, equal to the share for some, and
//     differs from it for about `voting_differs_share` of the rows (dual-class: votes
//     moved to the largest holder, the sum unchanged); `as_of` is one day of the period
//     per company.
// - performance (about `performance_per_entity` rows per entity): only for entities with
//   cross-border activity (`cross_border_share` of all; Hong Kong companies more often,
//   offshore companies never), heavy-tailed counts per subject (Pareto, alpha 2, up to
//   5,000); kinds trade_payment 55%, contract_delivery 20%, customs 15%, loan_repayment
//   10%; counterparties mostly across the border (HK for Shenzhen firms, CN-SZ / CN-GD for
//   Hong Kong firms), some elsewhere; due dates over the 30 months up to the period's end;
//   lognormal amounts in CNY, HKD or USD; mostly on_time, late (settled 1-120 days after
//   due), a few defaulted (no settled date) or disputed. Late payers and defaulters are
//   entity traits that cluster on bad grades. record_id "INV-202506-00012" is unique per
//   subject (sequence in due-date order).
// - hk-bureau: incorporation date (consistent with the id's kind), 0-6 facilities, trade
//   payment experiences; defaults, judgments, winding-up petitions and written-off or
//   past-due facilities concentrated on the worst minority. Amounts are in HKD and always
//   positive (so no closed facility with nothing outstanding is generated); `satisfied`
//   is written as the number 0 or 1.
//
// Deterministic: the same options give byte-identical files on any machine and standard
// library. Randomness comes from a local splitmix64, one independent stream per entity
// and purpose; samplers use integer arithmetic and only the correctly rounded IEEE
// operations (multiplication by powers of two, division, square root), never libm
// transcendentals or std:: distributions, and no floating-point expression that a
// compiler could contract into a fused multiply-add.
//
// Memory: O(entities), about 10 bytes per entity and 4 per natural person (for the
// summary's degree statistics), plus a 1 MiB buffer per file; rows are streamed.
// Speed: several million rows per second on one core (bench/synth_bench.cc).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "specs/status.h"

namespace cg::mapping {

inline constexpr uint64_t kMaxSynthEntities = 100'000'000;

inline constexpr std::string_view kSynthSzGradesFile = "sz-grades.csv";
inline constexpr std::string_view kSynthOwnershipFile = "ownership.csv";
inline constexpr std::string_view kSynthPerformanceFile = "performance.csv";
inline constexpr std::string_view kSynthHkBureauFile = "hk-bureau.jsonl";

// What to generate. Shares are fractions in [0, 1].
struct SynthOptions {
  uint64_t entities = 0;  // 1 .. kMaxSynthEntities
  uint64_t seed = 1;
  std::string period = "2026-10";  // YYYY-MM, year 2000-2100

  // The entity mix; the rest are Shenzhen entities.
  double hk_share = 0.07;
  double offshore_share = 0.01;
  // A+, A, B, C, D, E of the Shenzhen entities (also the latent risk of Hong Kong ones);
  // must sum to 1.
  std::array<double, 6> grade_shares = {0.05, 0.30, 0.45, 0.12, 0.06, 0.02};

  // Ownership.
  double holding_company_share = 0.06;     // Shenzhen entities that are group companies
  double hk_funded_mainland_share = 0.08;  // Shenzhen entities with a Hong Kong holder
  double mainland_owned_hk_share = 0.15;   // Hong Kong companies with a Shenzhen holder
  double offshore_layer_share = 0.01;      // Shenzhen entities held by an offshore chain
  double offshore_owned_hk_share = 0.10;   // Hong Kong companies held by an offshore chain
  double ring_share = 0.005;               // entities in cross-holding rings
  uint64_t closed_rings = 5;               // rings with no outside holder (at most half)
  double partial_holders_share = 0.05;     // companies whose holders sum under 100%
  double voting_differs_share = 0.03;      // ownership rows whose voting differs from share

  // Cross-border performance.
  double cross_border_share = 0.60;     // entities with performance records
  double performance_per_entity = 4.5;  // mean rows per entity (over all entities), 0..1000
};

// What was written. Counts are exact.
struct SynthSummary {
  uint64_t entities = 0;
  uint64_t shenzhen_entities = 0;
  uint64_t hong_kong_entities = 0;
  uint64_t offshore_entities = 0;

  uint64_t sz_grade_rows = 0;
  uint64_t ownership_rows = 0;
  uint64_t performance_rows = 0;
  uint64_t hk_bureau_rows = 0;
  uint64_t bytes_written = 0;  // all four files

  uint64_t persons = 0;       // distinct natural persons in ownership.csv
  uint64_t person_edges = 0;  // ownership rows held by a natural person
  uint64_t entity_edges = 0;  // ownership rows held by an entity
  uint64_t max_companies_held_by_entity = 0;
  uint64_t max_companies_held_by_person = 0;
  uint64_t hk_funded_mainland = 0;  // Shenzhen entities with a Hong Kong company holder
  uint64_t mainland_owned_hk = 0;   // Hong Kong companies with a Shenzhen holder
  uint64_t offshore_held = 0;       // Shenzhen and Hong Kong entities held by an offshore one
  uint64_t offshore_chains = 0;
  uint64_t rings = 0;
  uint64_t ring_entities = 0;
  uint64_t closed_rings = 0;
  uint64_t partially_held = 0;  // companies whose holders sum under 100%
  uint64_t unheld = 0;          // entities with no recorded holder
  uint64_t voting_differs_rows = 0;
  uint64_t cross_border_entities = 0;  // subjects in performance.csv
};

// Called now and then with a stage ("sz-grades", "ownership", "performance",
// "hk-bureau"), the entities done in it and its total; once with done == total at the end
// of each stage. Runs on the caller's thread.
using SynthProgress = std::function<void(std::string_view stage, uint64_t done, uint64_t total)>;

// kInvalidArgument (naming the option) unless: 1 <= entities <= kMaxSynthEntities; the
// period is YYYY-MM with a year in 2000-2100; every share in [0, 1]; hk_share +
// offshore_share < 1; grade_shares sum to 1 (within 1e-6); performance_per_entity in
// [0, 1000]; and the identifier spaces are large enough for the mix (at most about 8
// million Hong Kong companies).
Status ValidateSynthOptions(const SynthOptions& options);

// Generates the four feeds into `out_dir` (which must exist) and returns what it wrote.
// Errors: those of ValidateSynthOptions; kNotFound when out_dir does not exist;
// kInvalidArgument when it is not a directory; kPermissionDenied when a file cannot be
// created there; kResourceExhausted when the disk is full; kInternal for another I/O
// error. Not thread-safe with respect to the same out_dir; otherwise reentrant.
StatusOr<SynthSummary> WriteSyntheticFeeds(const SynthOptions& options, const std::string& out_dir,
                                           const SynthProgress& progress = {});

}  // namespace cg::mapping
