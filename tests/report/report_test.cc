// The special report: its figures against the events themselves, determinism, anchoring and the
// one-byte-change check, and refusals.
#include "govcredit/report.h"

#include <gtest/gtest.h>

#include "govcredit/bus.h"
#include "govcredit/codec.h"
#include "govcredit/demo.h"
#include "govcredit/encoding.h"
#include "govcredit/projections.h"
#include "support/support.h"

namespace govcredit {
namespace {

class Reports : public ::testing::Test {
 protected:
  void SetUp() override {
    auto bus = EmbeddedBus::open(EmbeddedOptions{.data_dir = dir_.path(), .partitions = 2});
    ASSERT_TRUE(bus);
    bus_ = std::move(*bus);
    world_ = demo::generate(demo::Options{.seed = 9, .records = 150});
    for (const auto& r : bus_->publish_all_with_results(world_.events)) ASSERT_TRUE(r);
    shards_ = {&bus_->shard(Partition{0}), &bus_->shard(Partition{1})};
  }
  Result<Report> make(const std::string& period, const std::string& lang = "zh") {
    return make_report(shards_, ScoringRules::builtin(), ReportOptions{period, lang},
                       Timestamp{1'900'000'000'000});
  }
  // A CSV table's rows (header dropped), split on commas (the tables checked have no quoted
  // cells).
  static std::vector<std::vector<std::string>> rows(const Report& r, const std::string& suffix) {
    for (const auto& f : r.csv)
      if (f.name.size() >= suffix.size() &&
          f.name.compare(f.name.size() - suffix.size(), suffix.size(), suffix) == 0) {
        std::vector<std::vector<std::string>> out;
        std::size_t at = f.content.find("\r\n") + 2;
        while (at < f.content.size()) {
          std::size_t end = f.content.find("\r\n", at);
          std::string line = f.content.substr(at, end - at);
          std::vector<std::string> cells;
          std::size_t p = 0;
          while (true) {
            std::size_t c = line.find(',', p);
            cells.push_back(line.substr(p, c - p));
            if (c == std::string::npos) break;
            p = c + 1;
          }
          out.push_back(cells);
          at = end + 2;
        }
        return out;
      }
    return {};
  }

  testing::TempDir dir_;
  std::unique_ptr<EmbeddedBus> bus_;
  demo::World world_;
  std::vector<const Ledger*> shards_;
};

TEST_F(Reports, FiguresMatchTheEventsOfThePeriod) {
  auto rep = make("2012-Q2", "en");
  ASSERT_TRUE(rep) << rep.status().to_string();
  auto b = period_bounds("2012-Q2").value();
  std::map<std::string, int> submitted, confirmed;
  int per_month[3] = {0, 0, 0};
  for (const Event& e : world_.events) {
    if (e.issued_at < b.start || e.issued_at >= b.end) continue;
    if (const auto* r = e.as<RecordSubmitted>()) {
      submitted[std::string(enum_name(r->category))]++;
      for (int m = 2; m >= 0; --m)
        if (e.issued_at >= b.months[static_cast<std::size_t>(m)]) {
          per_month[m]++;
          break;
        }
    }
    if (const auto* v = e.as<RecordVerified>(); v && v->outcome == VerificationOutcome::kConfirmed)
      confirmed["any"]++;
  }
  int total_submitted = 0, total_confirmed = 0;
  for (const auto& row : rows(*rep, ".by-category.csv")) {
    ASSERT_EQ(row.size(), 4u);
    EXPECT_EQ(std::stoi(row[1]), submitted[row[0]]) << row[0];
    total_submitted += std::stoi(row[1]);
    total_confirmed += std::stoi(row[2]);
  }
  EXPECT_GT(total_submitted, 0);
  EXPECT_EQ(total_confirmed, confirmed["any"]);
  auto months = rows(*rep, ".by-month.csv");
  ASSERT_EQ(months.size(), 3u);
  EXPECT_EQ(months[0][0], "2012-04");
  for (int m = 0; m < 3; ++m)
    EXPECT_EQ(std::stoi(months[static_cast<std::size_t>(m)][1]), per_month[m]);
  EXPECT_EQ(static_cast<int>(rows(*rep, ".verified.csv").size()), confirmed["any"]);
  EXPECT_EQ(rows(*rep, ".agencies.csv").size(), 40u);
  // The HTML lists every CSV's SHA-256.
  for (const auto& f : rep->csv)
    EXPECT_NE(rep->html.content.find(to_hex(sha256(f.content))), std::string::npos) << f.name;
  EXPECT_NE(rep->html.content.find("<svg"), std::string::npos);
  EXPECT_EQ(rep->html.content.find("<script"), std::string::npos);
}

TEST_F(Reports, AnchoredReportIsFoundAndReproducedAndAChangedByteIsNot) {
  auto rep = make("2012");
  ASSERT_TRUE(rep);
  EXPECT_NE(rep->html.content.find("上海市政府信用信息专报（2012年）"), std::string::npos);
  const Digest digest = sha256(rep->html.content);
  auto none = find_anchored_reports(shards_, digest);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());

  Event e;
  random_bytes(e.id.bytes);
  e.subject = system_subject();
  e.issuer = demo::kAuthority;
  e.issued_at = Timestamp{1'800'000'000'000};
  e.payload = ReportPublished{"2012", rep->title, digest,
                              static_cast<std::int64_t>(rep->html.content.size()), std::nullopt};
  auto key = world_.keys.at(demo::kAuthority);
  sign_event(e, key);
  auto res = bus_->publish_all_with_results({e});
  ASSERT_TRUE(res[0]);
  ASSERT_EQ((*res[0])[0].outcome, IngestOutcome::kAccepted) << (*res[0])[0].status.to_string();

  auto found = find_anchored_reports(shards_, digest);
  ASSERT_TRUE(found);
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].period, "2012");
  // Anchoring (an event after the period) changes nothing in the report: same bytes again.
  auto again = make("2012");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->html.content, rep->html.content);
  // One changed byte: not anchored.
  std::string changed = rep->html.content;
  changed[changed.size() / 2] ^= 1;
  auto miss = find_anchored_reports(shards_, sha256(changed));
  ASSERT_TRUE(miss);
  EXPECT_TRUE(miss->empty());
  // English is another file.
  auto en = make("2012", "en");
  ASSERT_TRUE(en);
  EXPECT_NE(en->html.content, rep->html.content);
  EXPECT_NE(en->html.content.find("Government Credit Special Report (2012)"), std::string::npos);
}

TEST_F(Reports, RefusesPeriodsThatAreBadOrNotOver) {
  for (std::string bad : {"2012-Q5", "2012-13", "12", "2012-7", "last year", ""}) {
    auto r = make(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.status().code(), "invalid_argument");
  }
  auto open = make_report(shards_, ScoringRules::builtin(), ReportOptions{"2013-Q4", "zh"},
                          Timestamp{1'385'000'000'000});  // 2013-11-21
  ASSERT_FALSE(open);
  EXPECT_NE(open.status().message().find("has not ended"), std::string::npos);
  EXPECT_FALSE(make("2012", "fr"));
}

TEST(PeriodBounds, AreMidnightInShanghai) {
  auto q = period_bounds("2013-Q3").value();
  EXPECT_EQ(format_time(q.start), "2013-06-30T16:00:00Z");
  EXPECT_EQ(format_time(q.end), "2013-09-30T16:00:00Z");
  ASSERT_EQ(q.months.size(), 3u);
  auto dec = period_bounds("2013-12").value();
  EXPECT_EQ(format_time(dec.end), "2013-12-31T16:00:00Z");
  auto y = period_bounds("2013").value();
  EXPECT_EQ(y.months.size(), 12u);
  EXPECT_FALSE(period_bounds("2013-00"));
}

}  // namespace
}  // namespace govcredit
