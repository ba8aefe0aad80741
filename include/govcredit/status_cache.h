// An in-process cache for repeated agency status look-ups (the HTTP API, benchmarks): the
// decoded AgencyState with its ScoreIndex, per agency, valid while the shard's log has not grown
// (the projections change only when entries are appended). A hit costs a mutex, a hash look-up
// and an O(log n) score; a miss reads and decodes the stored state once.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "govcredit/projections.h"
#include "govcredit/scoring.h"

namespace govcredit {

struct AgencyStatus {
  std::shared_ptr<const AgencyState> agency;
  Score score;  // without explanation lines
};

class StatusCache {
 public:
  explicit StatusCache(const Ledger& ledger) : ledger_(ledger) {}
  // The agency's current state scored at t (normally now). kNotFound for an unknown agency.
  Result<AgencyStatus> get(const AgencyId& id, Timestamp t, const ScoringRules& rules);

 private:
  struct Entry {
    std::shared_ptr<const AgencyState> state;
    ScoreIndex index;
  };
  const Ledger& ledger_;
  std::mutex mu_;
  std::uint64_t size_ = 0;  // the log size the entries reflect; GUARDED_BY(mu_)
  std::unordered_map<std::string, std::shared_ptr<const Entry>> entries_;  // GUARDED_BY(mu_)
};

}  // namespace govcredit
