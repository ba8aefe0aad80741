// The demo data set (src/demo): the same bytes in every run on every machine — `govcredit demo`,
// the tests' shards and the benchmark suite's data rest on that — and every event signed by its
// issuer's key of the time (keys rotate inside the data set), and its receipts and references
// numbered as the complaint channel and the bureau number theirs.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <regex>
#include <set>

#include "govcredit/codec.h"
#include "govcredit/crypto.h"
#include "govcredit/demo.h"
#include "govcredit/encoding.h"

namespace govcredit {
namespace {

// SHA-256 over every event's wire bytes, each preceded by its length.
std::string digest_of(const demo::World& w) {
  Bytes all;
  for (const Event& e : w.events) {
    Bytes wire = encode_wire(e);
    for (int shift = 24; shift >= 0; shift -= 8)
      all.push_back(static_cast<std::uint8_t>(wire.size() >> shift));
    all.insert(all.end(), wire.begin(), wire.end());
  }
  return to_hex(sha256(ByteView(all.data(), all.size())));
}

TEST(Demo, TheSameBytesInEveryRun) {
  // Recorded from the generator that signed one event after another (834ff4c), the first two
  // again when receipts and references took the forms of the next test; a change to the data
  // set's content changes them on purpose, anything else must not.
  EXPECT_EQ(digest_of(demo::generate(demo::Options{})),
            "21b0d4196d6461b2e78f961b369151b7bd3d18a51ba07b75af5391ec50cfca4f");
  EXPECT_EQ(digest_of(demo::generate(demo::Options{.seed = 3, .records = 2000})),
            "1c8d0fbad566641531976fdee550119f2728d26fca2f1224576ccb3fc36f9418");
  EXPECT_EQ(digest_of(demo::every_type()),
            "93c2f79f45362bf20bb3a0ce8864b81f1c3d1324360ad9ae34eac8b7a00c4727");
}

TEST(Demo, EveryEventIsSignedByItsIssuersKeyOfTheTime) {
  const demo::World w = demo::generate(demo::Options{.seed = 3, .records = 2000});
  ASSERT_GT(w.events.size(), 8000u);
  std::size_t rotated = 0;
  for (const Event& e : w.events) {
    SCOPED_TRACE(to_hex(e.id));
    const PrivateKey first = demo::key_for(e.issuer), second = demo::key_for(e.issuer, 1);
    const PrivateKey& key = e.key_id == second.key_id() ? second : first;
    rotated += &key == &second;
    EXPECT_TRUE(verify_event_signature(e, key.public_key()).ok());
  }
  EXPECT_GT(rotated, 0u);  // the audit source's key rotates inside the data set
}

TEST(ComplaintReceipt, TheChannelsFormOfTheUtcDayFiled) {
  // The one form both the complaint channel (src/server/api.cc) and the demo issue.
  EXPECT_EQ(complaint_receipt(*parse_time("2013-08-28T09:00:00Z"), 42), "TS20130828-00000042");
  EXPECT_EQ(complaint_receipt(*parse_time("2013-12-31T23:59:59.999Z"), 99999999),
            "TS20131231-99999999");
  EXPECT_EQ(complaint_receipt(*parse_time("2014-01-01T00:00:00Z"), 0), "TS20140101-00000000");
}

TEST(Demo, ReceiptsAndReferencesAreNumberedAsIssued) {
  // A receipt is the complaint channel's TSyyyymmdd-NNNNNNNN of the day filed (src/server/api.cc),
  // a reference 沪监建〔year〕N号 with N counting the year's recommendations in the order issued.
  // Both tables are keyed by this text (docs/LEDGER_FORMAT.md §10.2), so numbers issued in time
  // order put a batch's new rows on few pages, as in real use; numbered in the order generated,
  // each row went to a page of its own (docs/PERFORMANCE.md §5.57).
  const demo::World w = demo::generate(demo::Options{.seed = 3, .records = 2000, .years = 3});
  const std::regex receipt_form(R"(TS(\d{8})-\d{8})");
  const std::regex reference_form("沪监建〔(\\d{4})〕(\\d+)号");
  std::set<std::string> receipts;
  std::map<std::string, int> last_of_year;
  std::size_t complaints = 0, recommendations = 0;
  for (const Event& e : w.events) {
    std::string day = format_time(e.issued_at).substr(0, 10);
    day.erase(std::remove(day.begin(), day.end(), '-'), day.end());
    std::smatch m;
    if (const auto* c = std::get_if<ComplaintFiled>(&e.payload)) {
      ++complaints;
      ASSERT_TRUE(std::regex_match(c->receipt, m, receipt_form)) << c->receipt;
      EXPECT_EQ(m[1].str(), day) << c->receipt;
      EXPECT_TRUE(receipts.insert(c->receipt).second) << "receipt issued twice: " << c->receipt;
    } else if (const auto* r = std::get_if<RecommendationIssued>(&e.payload)) {
      ++recommendations;
      ASSERT_TRUE(std::regex_match(r->reference, m, reference_form)) << r->reference;
      EXPECT_EQ(m[1].str(), day.substr(0, 4)) << r->reference;
      EXPECT_EQ(std::stoi(m[2].str()), ++last_of_year[m[1].str()]) << r->reference;
    }
  }
  EXPECT_GT(complaints, 500u);
  EXPECT_GT(recommendations, 300u);
  EXPECT_EQ(last_of_year.size(), 3u);  // numbering starts afresh in each of the three years
}

}  // namespace
}  // namespace govcredit
