#include "metrics.h"

#include <sstream>

namespace govcredit {

namespace {

// A label value with \, " and newlines escaped.
std::string label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace

void Metrics::observe_http(const std::string& method, const std::string& route, int status,
                           double seconds) {
  const std::string r = route.empty() ? "unmatched" : route;
  std::lock_guard lock(mu_);
  ++requests_[{method, r, status}];
  Histogram& h = latency_[r];
  for (std::size_t i = 0; i < kBuckets.size(); ++i)
    if (seconds <= kBuckets[i]) ++h.buckets[i];
  ++h.count;
  h.sum += seconds;
}

void Metrics::count_ingest(const IngestResult& r) {
  std::lock_guard lock(mu_);
  switch (r.outcome) {
    case IngestOutcome::kAccepted:
      ++outcomes_["accepted"];
      break;
    case IngestOutcome::kDuplicate:
      ++outcomes_["duplicate"];
      break;
    case IngestOutcome::kRejected:
      ++outcomes_["rejected"];
      ++rejections_[std::string(r.status.code())];
      break;
    case IngestOutcome::kAlreadyConsumed:
      ++outcomes_["already_consumed"];
      break;
  }
}

void Metrics::count_auth_failure(std::string_view code) {
  std::lock_guard lock(mu_);
  ++auth_failures_[std::string(code)];
}

void Metrics::published() {
  std::lock_guard lock(mu_);
  ++pending_;
}

void Metrics::settled() {
  std::lock_guard lock(mu_);
  if (pending_ > 0) --pending_;
}

void Metrics::rate_limited() {
  std::lock_guard lock(mu_);
  ++rate_limited_;
}

void Metrics::complaint_filed() {
  std::lock_guard lock(mu_);
  ++complaints_;
}

std::string Metrics::render(const std::vector<ShardFigures>& shards) const {
  std::ostringstream o;
  std::lock_guard lock(mu_);
  o << "# HELP govcredit_ledger_entries Entries in each shard's log.\n"
       "# TYPE govcredit_ledger_entries gauge\n";
  for (const auto& s : shards)
    o << "govcredit_ledger_entries{partition=\"" << s.partition << "\"} " << s.entries << "\n";
  o << "# HELP govcredit_ledger_rejections Rejected messages journaled by each shard.\n"
       "# TYPE govcredit_ledger_rejections gauge\n";
  for (const auto& s : shards)
    o << "govcredit_ledger_rejections{partition=\"" << s.partition << "\"} " << s.rejections
      << "\n";
  o << "# HELP govcredit_store_bytes Bytes of each shard's LMDB data file.\n"
       "# TYPE govcredit_store_bytes gauge\n";
  for (const auto& s : shards)
    o << "govcredit_store_bytes{partition=\"" << s.partition << "\"} " << s.store_bytes << "\n";
  o << "# HELP govcredit_ingest_events_total Events this process ingested, by outcome "
       "(rate() of it is the ingest rate).\n"
       "# TYPE govcredit_ingest_events_total counter\n";
  for (const auto& [k, v] : outcomes_)
    o << "govcredit_ingest_events_total{outcome=\"" << k << "\"} " << v << "\n";
  o << "# HELP govcredit_ingest_rejections_total Events this process rejected, by reason code.\n"
       "# TYPE govcredit_ingest_rejections_total counter\n";
  for (const auto& [k, v] : rejections_)
    o << "govcredit_ingest_rejections_total{reason=\"" << label(k) << "\"} " << v << "\n";
  o << "# HELP govcredit_consumer_lag_events Submissions published to Kafka by this server and "
       "not yet ingested by its ledger node.\n"
       "# TYPE govcredit_consumer_lag_events gauge\n"
       "govcredit_consumer_lag_events "
    << pending_ << "\n";
  o << "# HELP govcredit_auth_failures_total Requests refused by authentication, by reason code.\n"
       "# TYPE govcredit_auth_failures_total counter\n";
  for (const auto& [k, v] : auth_failures_)
    o << "govcredit_auth_failures_total{reason=\"" << label(k) << "\"} " << v << "\n";
  o << "# HELP govcredit_complaints_filed_total Citizens' complaints taken.\n"
       "# TYPE govcredit_complaints_filed_total counter\n"
       "govcredit_complaints_filed_total "
    << complaints_ << "\n";
  o << "# HELP govcredit_rate_limited_total Requests refused by the complaint rate limit.\n"
       "# TYPE govcredit_rate_limited_total counter\n"
       "govcredit_rate_limited_total "
    << rate_limited_ << "\n";
  o << "# HELP govcredit_http_requests_total HTTP requests, by method, route and status.\n"
       "# TYPE govcredit_http_requests_total counter\n";
  for (const auto& [k, v] : requests_)
    o << "govcredit_http_requests_total{method=\"" << label(std::get<0>(k)) << "\",route=\""
      << label(std::get<1>(k)) << "\",code=\"" << std::get<2>(k) << "\"} " << v << "\n";
  o << "# HELP govcredit_http_request_duration_seconds Time from a request's last byte to its "
       "response's, by route.\n"
       "# TYPE govcredit_http_request_duration_seconds histogram\n";
  for (const auto& [route, h] : latency_) {
    std::string l = label(route);
    // Each bucket already counts every value <= le (cumulative, as Prometheus wants).
    for (std::size_t i = 0; i < kBuckets.size(); ++i)
      o << "govcredit_http_request_duration_seconds_bucket{route=\"" << l << "\",le=\""
        << kBuckets[i] << "\"} " << h.buckets[i] << "\n";
    o << "govcredit_http_request_duration_seconds_bucket{route=\"" << l << "\",le=\"+Inf\"} "
      << h.count << "\n";
    o << "govcredit_http_request_duration_seconds_sum{route=\"" << l << "\"} " << h.sum << "\n";
    o << "govcredit_http_request_duration_seconds_count{route=\"" << l << "\"} " << h.count << "\n";
  }
  return o.str();
}

}  // namespace govcredit
