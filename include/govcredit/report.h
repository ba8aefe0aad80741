// The periodic special report for city leadership (信用信息专报, DESIGN.md §1; issue 7, first
// part): totals and monthly trends by category, source, district and agency; newly verified
// records; overdue recommendations at the period's end; complaints received and handled; score
// changes over the period and the ranking at its end — one self-contained HTML file with SVG
// charts (Chinese, or English) plus CSV tables, whose SHA-256s the HTML lists.
//
// Determinism: the report depends only on the entries whose event was issued before the period's
// end (never on the clock or on later entries), so regenerating it from the same ledger gives the
// same bytes. The HTML file's SHA-256 is what a report.published event anchors
// (events/FORMAT.md), and what `govcredit verify-report` looks for; it also regenerates the
// report and compares.
//
// Thread-safety: make_report reads through the Ledgers' read transactions only.
#pragma once

#include <string>
#include <vector>

#include "govcredit/ledger.h"
#include "govcredit/scoring.h"

namespace govcredit {

struct ReportOptions {
  std::string period;       // "2013", "2013-Q3", "2013-08"
  std::string lang = "zh";  // "zh" or "en"
};

struct ReportFile {
  std::string name;
  std::string content;
};

struct Report {
  std::string period;
  std::string title;
  ReportFile html;              // the anchored file
  std::vector<ReportFile> csv;  // the tables
};

// shards: every partition's shard, in partition order. kInvalidArgument for a bad period or
// language, or a period that has not ended by `now`.
Result<Report> make_report(const std::vector<const Ledger*>& shards, const ScoringRules& rules,
                           const ReportOptions& options, Timestamp now);

// The reports anchored in the shards whose content has this SHA-256 (usually one).
struct AnchoredReport {
  int partition = 0;
  Seq seq;
  std::string period;
  std::string title;
  std::int64_t content_bytes = 0;
  Timestamp published_at;
};
Result<std::vector<AnchoredReport>> find_anchored_reports(const std::vector<const Ledger*>& shards,
                                                          const Digest& content_sha256);

}  // namespace govcredit
