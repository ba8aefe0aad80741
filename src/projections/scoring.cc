// Scoring rules (config/scoring.toml, docs/SCORING.md) and the score with its explanation.
#include "govcredit/scoring.h"

#include <toml++/toml.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>

#include "govcredit/encoding.h"

namespace govcredit {

extern const char* const kBuiltinScoringToml;  // generated from config/scoring.toml

namespace {

std::string fmt_points(double p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%+.2f", p);
  return buf;
}

std::string date_of(Timestamp t) {
  return format_time(t).substr(0, 10);
}

}  // namespace

Timestamp add_months(Timestamp t, int n) {
  using namespace std::chrono;
  const std::int64_t day_ms = 86400000;
  std::int64_t days = t.ms >= 0 ? t.ms / day_ms : -((-t.ms + day_ms - 1) / day_ms);
  std::int64_t rest = t.ms - days * day_ms;
  year_month_day ymd{sys_days{std::chrono::days{days}}};
  year_month_day moved = ymd + months{n};
  if (!moved.ok()) moved = year_month_day_last{moved.year(), month_day_last{moved.month()}};
  std::int64_t out_days = sys_days{moved}.time_since_epoch().count();
  return Timestamp{out_days * day_ms + rest};
}

Result<ScoringRules> ScoringRules::parse(std::string_view text, const std::string& source) {
  toml::table doc;
  try {
    doc = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << source << ":" << e.source().begin.line << ":" << e.source().begin.column << ": "
        << e.description();
    return Status(Reason::kInvalidArgument, msg.str());
  }
  const toml::array* versions = doc["version"].as_array();
  if (versions == nullptr || versions->empty())
    return Status(Reason::kInvalidArgument, source + ": no [[version]] tables");
  ScoringRules rules;
  std::size_t n = 0;
  for (const toml::node& node : *versions) {
    const toml::table* t = node.as_table();
    std::string where = source + ": version[" + std::to_string(n++) + "]";
    if (t == nullptr) return Status(Reason::kInvalidArgument, where + " is not a table");
    ScoringVersion v;
    auto need_num = [&](std::string_view key, double& out) -> Status {
      auto x = (*t)[key].value<double>();
      if (!x)
        return Status(Reason::kInvalidArgument,
                      where + "." + std::string(key) + " is missing or not a number");
      out = *x;
      return Status::ok();
    };
    auto id = (*t)["id"].value<std::string>();
    if (!id) return Status(Reason::kInvalidArgument, where + ".id is missing");
    v.id = *id;
    where = source + ": version " + v.id;
    auto from = (*t)["effective_from"].value<std::string>();
    std::optional<Timestamp> ts = from ? parse_time_with_offset(*from) : std::nullopt;
    if (!ts)
      return Status(Reason::kInvalidArgument,
                    where + ".effective_from is missing or not an RFC 3339 time (quote it)");
    v.effective_from = *ts;
    double months = 0;
    for (auto [key, out] : {std::pair<std::string_view, double*>{"base", &v.base},
                            {"decay_factor", &v.decay_factor},
                            {"overdue_deduction", &v.overdue_deduction},
                            {"on_time_credit", &v.on_time_credit},
                            {"credit_cap", &v.credit_cap},
                            {"decay_after_months", &months}})
      if (Status s = need_num(key, *out); !s) return s;
    v.decay_after_months = static_cast<int>(months);
    const toml::table* weights = (*t)["category_weight"].as_table();
    const toml::table* factors = (*t)["severity_factor"].as_table();
    if (weights == nullptr || factors == nullptr)
      return Status(Reason::kInvalidArgument,
                    where + " needs [version.category_weight] and [version.severity_factor]");
    for (std::size_t c = 0; c < kCategoryCount; ++c) {
      auto name = enum_name(static_cast<Category>(c));
      auto w = (*weights)[name].value<double>();
      if (!w)
        return Status(Reason::kInvalidArgument,
                      where + ".category_weight." + std::string(name) + " is missing");
      v.category_weight[c] = *w;
    }
    for (std::size_t s = 0; s < 3; ++s) {
      auto name = enum_name(static_cast<Severity>(s));
      auto f = (*factors)[name].value<double>();
      if (!f)
        return Status(Reason::kInvalidArgument,
                      where + ".severity_factor." + std::string(name) + " is missing");
      v.severity_factor[s] = *f;
    }
    const toml::array* bands = (*t)["band"].as_array();
    if (bands == nullptr || bands->empty())
      return Status(Reason::kInvalidArgument, where + " needs [[version.band]] entries");
    for (const toml::node& b : *bands) {
      const toml::table* bt = b.as_table();
      auto name = bt ? (*bt)["name"].value<std::string>() : std::nullopt;
      auto min = bt ? (*bt)["min"].value<double>() : std::nullopt;
      if (!name || !min)
        return Status(Reason::kInvalidArgument, where + ": each band needs name and min");
      v.bands.push_back(ScoringBand{*name, *min});
    }
    std::sort(v.bands.begin(), v.bands.end(),
              [](const ScoringBand& a, const ScoringBand& b) { return a.min > b.min; });
    rules.versions_.push_back(std::move(v));
  }
  std::sort(rules.versions_.begin(), rules.versions_.end(),
            [](const ScoringVersion& a, const ScoringVersion& b) {
              return a.effective_from < b.effective_from;
            });
  for (std::size_t i = 1; i < rules.versions_.size(); ++i)
    if (rules.versions_[i].effective_from == rules.versions_[i - 1].effective_from ||
        rules.versions_[i].id == rules.versions_[i - 1].id)
      return Status(Reason::kInvalidArgument, source + ": versions " + rules.versions_[i - 1].id +
                                                  " and " + rules.versions_[i].id +
                                                  " clash (same id or effective_from)");
  return rules;
}

Result<ScoringRules> ScoringRules::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(Reason::kIoError, "cannot read scoring rules " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse(ss.str(), path);
}

const ScoringRules& ScoringRules::builtin() {
  static const ScoringRules rules = [] {
    auto r = parse(kBuiltinScoringToml, "config/scoring.toml (built in)");
    if (!r) throw std::logic_error(r.status().to_string());  // caught by the build's tests
    return std::move(*r);
  }();
  return rules;
}

const ScoringVersion& ScoringRules::at(Timestamp t) const {
  const ScoringVersion* v = &versions_.front();
  for (const auto& x : versions_)
    if (x.effective_from <= t) v = &x;
  return *v;
}

namespace {

std::string band_of(const ScoringVersion& v, double value) {
  for (const auto& b : v.bands)
    if (value >= b.min) return b.name;
  return v.bands.empty() ? "" : v.bands.back().name;
}

}  // namespace

Score score(const AgencyState& a, Timestamp as_of, const ScoringRules& rules, bool explain) {
  const ScoringVersion& v = rules.at(as_of);
  Score s;
  s.as_of = as_of;
  s.version = v.id;
  double total = v.base;
  auto line = [&](std::optional<Seq> seq, double points, auto&& describe) {
    if (explain) s.lines.push_back(Contribution{seq, points, describe()});
  };
  line(std::nullopt, v.base, [&] { return "base score (rules " + v.id + ")"; });
  for (const RecordItem& i : a.items) {
    if (i.confirmed_at > as_of) continue;
    auto what = [&] {
      std::string w = "record " + to_hex(i.record.view()).substr(0, 12) + "… " +
                      std::string(enum_name(i.category)) + "/" +
                      std::string(enum_name(i.severity)) + " confirmed " + date_of(i.confirmed_at);
      if (i.amended) w += " (as corrected at seq " + std::to_string(i.amended->value) + ")";
      return w;
    };
    if (i.end != ItemEnd::kCounting && i.ended_at <= as_of) {
      line(i.ended_seq, 0, [&] {
        return what() + "; " + std::string(enum_name(i.end)) + " on " + date_of(i.ended_at) +
               ", no longer counts";
      });
      continue;
    }
    double points = v.category_weight[static_cast<std::size_t>(i.category)] *
                    v.severity_factor[static_cast<std::size_t>(i.severity)];
    bool decayed = add_months(i.confirmed_at, v.decay_after_months) <= as_of;
    if (decayed) points *= v.decay_factor;
    total -= points;
    line(i.confirmed_seq, -points, [&] {
      return what() + (decayed ? "; decayed ×" + fmt_points(v.decay_factor).substr(1) + " after " +
                                     std::to_string(v.decay_after_months) + " months"
                               : std::string());
    });
  }
  double credits = 0;
  for (const RecItem& r : a.recommendations) {
    if (r.issued_at > as_of) continue;
    auto what = [&] {
      return "recommendation " + to_hex(r.id.view()).substr(0, 12) + "… deadline " +
             date_of(r.deadline);
    };
    const bool on_time = r.rectified && r.rectified->first <= r.deadline;
    // Overdue once the deadline passed without a rectification report, open or since closed.
    if (r.deadline < as_of && !on_time) {
      total -= v.overdue_deduction;
      line(r.issued_seq, -v.overdue_deduction,
           [&] { return what() + ": not rectified by the deadline"; });
    } else if (on_time && r.closed && r.closed->outcome == RecommendationOutcome::kSatisfied &&
               r.closed->at <= as_of) {
      double c = std::min(v.on_time_credit, std::max(0.0, v.credit_cap - credits));
      credits += c;
      total += c;
      line(r.closed->seq, c, [&] {
        return what() + ": rectified on time (seq " + std::to_string(r.rectified->second.value) +
               "), closed satisfied" + (c < v.on_time_credit ? " (credit cap reached)" : "");
      });
    }
  }
  double clamped = std::clamp(total, 0.0, v.base);
  if (clamped != total)
    line(std::nullopt, clamped - total,
         [&] { return "clamped to [0, " + fmt_points(v.base).substr(1) + "]"; });
  s.value = std::round(clamped * 100) / 100;
  s.band = band_of(v, s.value);
  return s;
}

ScoreIndex::ScoreIndex(const AgencyState& a) : last_at_(a.last_at) {
  for (const RecordItem& i : a.items)
    if (i.end == ItemEnd::kCounting)
      confirmed_[static_cast<std::size_t>(i.category) * 3 + static_cast<std::size_t>(i.severity)]
          .push_back(i.confirmed_at);
  for (auto& v : confirmed_) std::sort(v.begin(), v.end());
  for (const RecItem& r : a.recommendations) {
    const bool on_time = r.rectified && r.rectified->first <= r.deadline;
    if (!on_time)
      late_deadlines_.push_back(r.deadline);
    else if (r.closed && r.closed->outcome == RecommendationOutcome::kSatisfied)
      ++on_time_satisfied_;
  }
  std::sort(late_deadlines_.begin(), late_deadlines_.end());
}

std::optional<Score> ScoreIndex::score(Timestamp t, const ScoringRules& rules) const {
  if (t < last_at_) return std::nullopt;
  const ScoringVersion& v = rules.at(t);
  double total = v.base;
  for (std::size_t b = 0; b < confirmed_.size(); ++b) {
    const auto& times = confirmed_[b];
    if (times.empty()) continue;
    const double w = v.category_weight[b / 3] * v.severity_factor[b % 3];
    // add_months is monotone, so the decayed records are a prefix of the sorted times.
    auto decayed = std::partition_point(times.begin(), times.end(), [&](Timestamp c) {
      return add_months(c, v.decay_after_months) <= t;
    });
    const auto old = static_cast<double>(decayed - times.begin());
    total -= w * (static_cast<double>(times.size()) - old) + w * v.decay_factor * old;
  }
  const auto overdue =
      std::lower_bound(late_deadlines_.begin(), late_deadlines_.end(), t) - late_deadlines_.begin();
  total -= v.overdue_deduction * static_cast<double>(overdue);
  total += std::min(v.on_time_credit * static_cast<double>(on_time_satisfied_),
                    std::max(0.0, v.credit_cap));
  Score s;
  s.as_of = t;
  s.version = v.id;
  s.value = std::round(std::clamp(total, 0.0, v.base) * 100) / 100;
  s.band = band_of(v, s.value);
  return s;
}

}  // namespace govcredit
