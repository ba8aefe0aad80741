#include "govcredit/status_cache.h"

namespace govcredit {

Result<AgencyStatus> StatusCache::get(const AgencyId& id, Timestamp t, const ScoringRules& rules) {
  const std::uint64_t size = ledger_.head().size;
  std::shared_ptr<const Entry> e;
  {
    std::lock_guard lock(mu_);
    if (size != size_) {
      entries_.clear();
      size_ = size;
    }
    if (auto it = entries_.find(id.value); it != entries_.end()) e = it->second;
  }
  if (!e) {
    auto st = agency_state(ledger_, id);
    if (!st) return st.status();
    auto state = std::make_shared<const AgencyState>(std::move(*st));
    e = std::make_shared<const Entry>(Entry{state, ScoreIndex(*state)});
    std::lock_guard lock(mu_);
    // Kept only if the log did not grow meanwhile (else the next call reads afresh).
    if (size_ == size) entries_.emplace(id.value, e);
  }
  if (auto s = e->index.score(t, rules)) return AgencyStatus{e->state, std::move(*s)};
  return AgencyStatus{e->state, score(*e->state, t, rules, false)};
}

}  // namespace govcredit
