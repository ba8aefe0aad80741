// The counters behind GET /metrics (Prometheus text exposition format 0.0.4).
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <array>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "govcredit/ingest.h"

namespace govcredit {

struct ShardFigures {
  int partition = 0;
  std::uint64_t entries = 0;
  std::uint64_t rejections = 0;
  std::uint64_t store_bytes = 0;
};

class Metrics {
 public:
  void observe_http(const std::string& method, const std::string& route, int status,
                    double seconds);
  void count_ingest(const IngestResult& r);
  void count_auth_failure(std::string_view code);
  void published();  // a submission handed to Kafka, its outcome still pending
  void settled();    // a pending submission's outcome arrived
  void rate_limited();
  void complaint_filed();
  std::string render(const std::vector<ShardFigures>& shards) const;

  // Upper bounds of the latency histogram's buckets, in seconds.
  static constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1,    2.5};

 private:
  struct Histogram {
    std::array<std::uint64_t, kBuckets.size()> buckets{};
    std::uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, std::uint64_t> requests_;
  std::map<std::string, Histogram> latency_;  // by route
  std::map<std::string, std::uint64_t> outcomes_;
  std::map<std::string, std::uint64_t> rejections_;
  std::map<std::string, std::uint64_t> auth_failures_;
  std::uint64_t pending_ = 0;
  std::uint64_t rate_limited_ = 0;
  std::uint64_t complaints_ = 0;
};

}  // namespace govcredit
