// Shared by the benchmark tools: elapsed seconds and percentiles.
#pragma once

#include <algorithm>
#include <chrono>
#include <vector>

namespace govcredit::bench {

using Clock = std::chrono::steady_clock;

inline double secs(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// The p-quantile (0..1) of v, nearest rank below.
inline double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

}  // namespace govcredit::bench
