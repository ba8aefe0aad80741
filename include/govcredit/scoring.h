// Scoring: an agency's credit score and band as of a time, from its projected state and the
// versioned rules of config/scoring.toml (docs/SCORING.md), with every contribution explained
// by the ledger sequence that caused it.
//
// A score is computed when asked, never stored: it depends on the time asked about (decay,
// deadlines) and the rules in force then. Pure functions; thread-safe.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "govcredit/projections.h"

namespace govcredit {

struct ScoringBand {
  std::string name;
  double min = 0;
};

struct ScoringVersion {
  std::string id;
  Timestamp effective_from;
  double base = 100;
  std::array<double, kCategoryCount> category_weight{};
  std::array<double, 3> severity_factor{};
  int decay_after_months = 24;
  double decay_factor = 0.5;
  double overdue_deduction = 5;
  double on_time_credit = 2;
  double credit_cap = 10;
  std::vector<ScoringBand> bands;  // best first; the last has min 0
};

class ScoringRules {
 public:
  // Parses the TOML text; `source` names it in error messages. Every version must be complete:
  // a missing key or category is kInvalidArgument with the key's path.
  static Result<ScoringRules> parse(std::string_view toml, const std::string& source);
  static Result<ScoringRules> load(const std::string& path);
  // config/scoring.toml as built into the binary.
  static const ScoringRules& builtin();

  // The version in force at t (the first one for times before every effective_from).
  const ScoringVersion& at(Timestamp t) const;
  const std::vector<ScoringVersion>& versions() const { return versions_; }

 private:
  std::vector<ScoringVersion> versions_;  // by effective_from
};

// One line of an explanation.
struct Contribution {
  std::optional<Seq> seq;  // the ledger entry that caused it (fetch its inclusion proof)
  double points = 0;       // negative: a deduction
  std::string what;        // e.g. "record … fiscal_fraud/serious confirmed 2012-03-04"
};

struct Score {
  Timestamp as_of;
  std::string version;
  double value = 0;
  std::string band;
  std::vector<Contribution> lines;  // base first, then each record and recommendation
};

// With explain = false the contributions are left out (a status look-up needs only the value).
Score score(const AgencyState& a, Timestamp as_of, const ScoringRules& rules, bool explain = true);

// The score of an agency's current state at any time t at or after its last event, in
// O(log n): confirmed records bucketed by category × severity with their confirmation times
// sorted, and the deadlines of recommendations not rectified on time sorted. Equal to
// score(a, t, rules, false).value for such t (tests/projections check it); built once per state.
class ScoreIndex {
 public:
  explicit ScoreIndex(const AgencyState& a);
  Timestamp valid_from() const { return last_at_; }
  // nullopt when t is before the state's last event (use score() then).
  std::optional<Score> score(Timestamp t, const ScoringRules& rules) const;

 private:
  Timestamp last_at_;
  std::array<std::vector<Timestamp>, kCategoryCount * 3> confirmed_{};
  std::vector<Timestamp> late_deadlines_;
  std::size_t on_time_satisfied_ = 0;
};

// t plus n calendar months (same day of month, clamped to the month's last day; same time).
Timestamp add_months(Timestamp t, int n);

}  // namespace govcredit
