// One test per domain rule (events/FORMAT.md §5b), through the real ingest path into a real
// LMDB shard. Every rejection is also checked to have written nothing: the log's head and the
// projections' digest are unchanged.
#include <gtest/gtest.h>

#include "demo/world.h"
#include "govcredit/codec.h"
#include "govcredit/encoding.h"
#include "govcredit/ingest.h"
#include "govcredit/projections.h"
#include "govcredit/views.h"
#include "support/support.h"

namespace govcredit {
namespace {

using demo::kAuthority;
using demo::kComplaintChannel;

const AgencyId kAgency("sh.city.housing"), kOther("sh.city.finance");
const PrincipalId kSource("src.audit"), kSource2("src.finance"), kAg("ag.sh.city.housing"),
    kAg2("ag.sh.city.finance");
constexpr std::int64_t kDay = 86400000;

Timestamp day(int n) {
  return Timestamp{parse_time("2013-01-01T00:00:00Z")->ms + n * kDay};
}

class Rules : public ::testing::Test {
 protected:
  void SetUp() override {
    auto l = Ledger::open(dir_.path(), Partition{0});
    ASSERT_TRUE(l) << l.status().to_string();
    ledger_ = std::move(*l);
    auto i = Ingestor::create(*ledger_);
    ASSERT_TRUE(i);
    ingest_ = std::move(*i);
    const Timestamp t0 = day(0);
    auto reg = [&](const PrincipalId& p, Role role, std::optional<SourceKind> kind,
                   std::optional<AgencyId> agency) {
      ok(kAuthority, agency ? *agency : system_subject(), t0,
         PrincipalRegistered{p, role, kind, agency, p.value, demo::key_for(p).public_key().bytes(),
                             t0});
    };
    reg(kAuthority, Role::kAuthority, std::nullopt, std::nullopt);
    for (const AgencyId& a : {kAgency, kOther})
      ok(kAuthority, a, t0, AgencyRegistered{"机关 " + a.value, a.value, Level::kCity, {}, {}});
    reg(kSource, Role::kSource, SourceKind::kAudit, std::nullopt);
    reg(kSource2, Role::kSource, SourceKind::kFinance, std::nullopt);
    reg(kAg, Role::kAgency, std::nullopt, kAgency);
    reg(kAg2, Role::kAgency, std::nullopt, kOther);
    reg(kComplaintChannel, Role::kComplaintChannel, std::nullopt, std::nullopt);
  }

  // Publishes one event; returns the reason it was rejected (kOk when accepted). A rejection
  // must leave the log and the projections untouched.
  Reason submit(const PrincipalId& issuer, const AgencyId& subject, Timestamp at, Payload p,
                EventId* id = nullptr) {
    Event e = builder_.make(issuer, subject, at, std::move(p));
    if (id) *id = e.id;
    const std::uint64_t before = ledger_->head().size;
    const Digest digest_before = digest();
    auto r = ingest_->ingest(std::vector<Message>{
        Message{encode_wire(e), Partition{0}, KafkaOffset{offset_++}, Timestamp{0}}});
    EXPECT_TRUE(r) << r.status().to_string();
    if (!r) return Reason::kInternal;
    const IngestResult& x = r->front();
    if (x.outcome == IngestOutcome::kAccepted) return Reason::kOk;
    EXPECT_EQ(ledger_->head().size, before) << "a rejected event reached the log";
    EXPECT_EQ(digest(), digest_before) << "a rejected event changed the projections";
    last_message_ = x.status.message();
    return x.status.reason();
  }
  EventId ok(const PrincipalId& issuer, const AgencyId& subject, Timestamp at, Payload p) {
    EventId id;
    Reason r = submit(issuer, subject, at, std::move(p), &id);
    EXPECT_EQ(r, Reason::kOk) << last_message_;
    return id;
  }
  Digest digest() {
    Digest d;
    EXPECT_TRUE(ledger_->read_side([&](const SideReader& r) {
      d = side_digest(r);
      return Status::ok();
    }));
    return d;
  }

  EventId record(int at = 1, Category c = Category::kFiscalFraud, const AgencyId& a = kAgency) {
    return ok(kSource, a, day(at),
              RecordSubmitted{c, "标题", "摘要", day(at - 1), {}, std::nullopt});
  }
  EventId confirmed(int at = 1, const AgencyId& a = kAgency) {
    EventId r = record(at, Category::kFiscalFraud, a);
    ok(kAuthority, a, day(at + 1),
       RecordVerified{r, VerificationOutcome::kConfirmed, Severity::kSerious, "属实"});
    return r;
  }
  EventId recommendation(const EventId& rec, int at, int deadline, std::string ref = "沪监建1号") {
    return ok(kAuthority, kAgency, day(at),
              RecommendationIssued{std::move(ref), {rec}, {"整改"}, day(deadline)});
  }
  EventId complaint(int at, std::string receipt = "TS-1") {
    return ok(kComplaintChannel, kAgency, day(at),
              ComplaintFiled{std::move(receipt), std::nullopt, "投诉", {}, sha256("s")});
  }

  testing::TempDir dir_;
  std::unique_ptr<Ledger> ledger_;
  std::unique_ptr<Ingestor> ingest_;
  demo::Builder builder_{99};
  std::int64_t offset_ = 0;
  std::string last_message_;
};

TEST_F(Rules, VerificationNeedsASubmittedRecord) {
  EventId ghost = builder_.next_id();
  EXPECT_EQ(submit(kAuthority, kAgency, day(2),
                   RecordVerified{ghost, VerificationOutcome::kConfirmed, Severity::kMinor, ""}),
            Reason::kRecordUnknown);
  EXPECT_NE(last_message_.find(to_hex(ghost.view())), std::string::npos);
}

TEST_F(Rules, AReferenceMustConcernTheSubjectAgency) {
  EventId r = record(1, Category::kFiscalFraud, kOther);
  EXPECT_EQ(submit(kAuthority, kAgency, day(2),
                   RecordVerified{r, VerificationOutcome::kConfirmed, Severity::kMinor, ""}),
            Reason::kReferenceOtherAgency);
}

TEST_F(Rules, ARecordIsVerifiedOnce) {
  EventId r = confirmed();
  EXPECT_EQ(submit(kAuthority, kAgency, day(3),
                   RecordVerified{r, VerificationOutcome::kUnfounded, std::nullopt, ""}),
            Reason::kRecordAlreadyVerified);
}

TEST_F(Rules, LifecycleStepsAreInTimeOrder) {
  EventId r = record(10);
  EXPECT_EQ(submit(kAuthority, kAgency, day(9),
                   RecordVerified{r, VerificationOutcome::kConfirmed, Severity::kMinor, ""}),
            Reason::kLifecycleOutOfOrder);
  ok(kAuthority, kAgency, day(10),
     RecordVerified{r, VerificationOutcome::kConfirmed, Severity::kMinor, ""});  // same instant: ok
}

TEST_F(Rules, ConductCannotFollowTheSubmission) {
  EXPECT_EQ(submit(kSource, kAgency, day(1),
                   RecordSubmitted{Category::kOther, "t", "s", day(2), {}, std::nullopt}),
            Reason::kConductAfterSubmission);
}

TEST_F(Rules, ACorrectionAmendsAndTheOriginalStays) {
  EventId r = confirmed();
  RecordCorrected fix{r, "类别更正", Category::kDisclosure, {}, {}, {}, Severity::kGrave, {}};
  EXPECT_EQ(submit(kSource2, kAgency, day(3), fix), Reason::kNotSubmittingSource);
  ok(kSource, kAgency, day(3), fix);
  ok(kAuthority, kAgency, day(4), RecordCorrected{r, "标题", {}, "新标题", {}, {}, {}, {}});
  auto st = record_state(*ledger_, r);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->category, Category::kDisclosure);
  EXPECT_EQ(st->severity, Severity::kGrave);
  EXPECT_EQ(st->corrections, 2u);
  ASSERT_EQ(st->history.size(), 4u);  // submitted, verified, two corrections
  // The original submission is still in the log, unchanged, at the first history line.
  auto original = ledger_->get(st->history[0].seq);
  ASSERT_TRUE(original);
  auto ev = decode_wire(original->wire);
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->as<RecordSubmitted>()->category, Category::kFiscalFraud);
  // The agency's counts moved with the correction.
  auto a = agency_state(*ledger_, kAgency);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->records[static_cast<std::size_t>(Category::kDisclosure)][1], 1u);
  EXPECT_EQ(a->records[static_cast<std::size_t>(Category::kFiscalFraud)][1], 0u);
  EXPECT_EQ(a->items.at(0).severity, Severity::kGrave);
  // The record's view shows both: as submitted, each correction, and as it now reads.
  auto view = record_view(*ledger_, r);
  ASSERT_TRUE(view) << view.status().to_string();
  const auto& j = *view;
  EXPECT_EQ(j["original"]["category"], "fiscal_fraud");
  EXPECT_EQ(j["original"]["title"], "标题");
  EXPECT_EQ(j["original"]["seq"], st->history[0].seq.value);
  ASSERT_EQ(j["corrections"].size(), 2u);
  EXPECT_EQ(j["corrections"][0]["issuer"], kSource.value);
  EXPECT_EQ(j["corrections"][0]["changes"]["category"], "disclosure");
  EXPECT_EQ(j["corrections"][1]["reason"], "标题");
  EXPECT_EQ(j["current"]["category"], "disclosure");
  EXPECT_EQ(j["current"]["title"], "新标题");
  EXPECT_EQ(j["current"]["summary"], "摘要");
  EXPECT_EQ(j["current"]["severity"], "grave");
}

TEST_F(Rules, SeverityIsAmendedOnlyOnConfirmedRecords) {
  EventId r = record();
  EXPECT_EQ(submit(kSource, kAgency, day(2),
                   RecordCorrected{r, "x", {}, {}, {}, {}, Severity::kGrave, {}}),
            Reason::kRecordNotConfirmed);
}

TEST_F(Rules, ClosedRecordsAreNotCorrectedOrObjectedTo) {
  EventId r = record();
  ok(kAuthority, kAgency, day(2),
     RecordVerified{r, VerificationOutcome::kUnfounded, std::nullopt, "不实"});
  EXPECT_EQ(submit(kSource, kAgency, day(3), RecordCorrected{r, "x", {}, "t", {}, {}, {}, {}}),
            Reason::kRecordClosed);
  EXPECT_EQ(submit(kAg, kAgency, day(3), ObjectionRaised{r, "异议", {}}), Reason::kRecordClosed);
}

TEST_F(Rules, OnlyTheSubjectAgencyObjectsAndOnlyTheAuthorityResolves) {
  EventId r = confirmed();
  EXPECT_EQ(submit(kSource, kAgency, day(3), ObjectionRaised{r, "异议", {}}),
            Reason::kRoleNotAllowed);
  EXPECT_EQ(submit(kAg2, kOther, day(3), ObjectionRaised{r, "异议", {}}),
            Reason::kReferenceOtherAgency);
  EventId o = ok(kAg, kAgency, day(3), ObjectionRaised{r, "异议", {}});
  EXPECT_EQ(submit(kAg, kAgency, day(4), ObjectionRaised{r, "再次异议", {}}),
            Reason::kObjectionOpen);
  EXPECT_EQ(submit(kAg, kAgency, day(4), ObjectionResolved{o, ObjectionOutcome::kUpheld, ""}),
            Reason::kRoleNotAllowed);
  EXPECT_EQ(submit(kAuthority, kAgency, day(4),
                   ObjectionResolved{builder_.next_id(), ObjectionOutcome::kUpheld, ""}),
            Reason::kObjectionUnknown);
  ok(kAuthority, kAgency, day(5), ObjectionResolved{o, ObjectionOutcome::kUpheld, "成立"});
  EXPECT_EQ(
      submit(kAuthority, kAgency, day(6), ObjectionResolved{o, ObjectionOutcome::kDismissed, ""}),
      Reason::kObjectionAlreadyResolved);
  // Upheld: the record is overturned and stops counting.
  EXPECT_EQ(record_state(*ledger_, r)->phase, RecordPhase::kOverturned);
  EXPECT_EQ(agency_state(*ledger_, kAgency)->items.at(0).end, ItemEnd::kOverturned);
}

TEST_F(Rules, CreditRepairNeedsAnAcceptedRectificationAndTheMinimumPeriod) {
  EventId r = confirmed();
  EXPECT_EQ(submit(kAuthority, kAgency, day(400), RecordRepaired{r, RepairKind::kRepaired, {}, ""}),
            Reason::kRepairWithoutRectification);
  EventId m = recommendation(r, 5, 60);
  EventId rect = ok(kAg, kAgency, day(30), RectificationReported{m, "已整改", {}});
  // Rectified but the recommendation is not closed as satisfied yet.
  EXPECT_EQ(
      submit(kAuthority, kAgency, day(300), RecordRepaired{r, RepairKind::kRepaired, rect, ""}),
      Reason::kRepairWithoutRectification);
  ok(kAuthority, kAgency, day(35), RecommendationClosed{m, RecommendationOutcome::kSatisfied, ""});
  EXPECT_EQ(submit(kAuthority, kAgency, day(30 + 179),
                   RecordRepaired{r, RepairKind::kRepaired, rect, ""}),
            Reason::kRepairTooEarly);
  ok(kAuthority, kAgency, day(30 + 180), RecordRepaired{r, RepairKind::kRepaired, rect, "修复"});
  EXPECT_EQ(record_state(*ledger_, r)->phase, RecordPhase::kRepaired);
  EXPECT_EQ(submit(kAuthority, kAgency, day(900), RecordRepaired{r, RepairKind::kExpired, {}, ""}),
            Reason::kRecordNotConfirmed);
}

TEST_F(Rules, ExpiryOnlyAfterTheRetentionPeriod) {
  EventId r = confirmed();  // confirmed on day 2
  EXPECT_EQ(
      submit(kAuthority, kAgency, day(2 + 729), RecordRepaired{r, RepairKind::kExpired, {}, ""}),
      Reason::kExpiryTooEarly);
  ok(kAuthority, kAgency, day(2 + 730), RecordRepaired{r, RepairKind::kExpired, {}, "期满"});
}

TEST_F(Rules, RepairWaitsForAnOpenObjection) {
  EventId r = confirmed();
  ok(kAg, kAgency, day(3), ObjectionRaised{r, "异议", {}});
  EXPECT_EQ(submit(kAuthority, kAgency, day(800), RecordRepaired{r, RepairKind::kExpired, {}, ""}),
            Reason::kObjectionOpen);
}

TEST_F(Rules, AComplaintIsTriagedOnceUnlessReopened) {
  EventId c = complaint(1);
  auto triage = [&](TriageOutcome o = TriageOutcome::kAccepted) {
    return ComplaintTriaged{c, o, {}, {}, {}, "受理"};
  };
  EXPECT_EQ(submit(kAuthority, kAgency, day(2), ComplaintReopened{c, "x"}),
            Reason::kComplaintNotTriaged);
  EXPECT_EQ(
      submit(kAuthority, kAgency, day(2), ComplaintClosed{c, ComplaintResolution::kResolved, "x"}),
      Reason::kComplaintNotTriaged);
  ok(kAuthority, kAgency, day(2), triage());
  EXPECT_EQ(submit(kAuthority, kAgency, day(3), triage(TriageOutcome::kRejected)),
            Reason::kComplaintAlreadyTriaged);
  ok(kAuthority, kAgency, day(4), ComplaintClosed{c, ComplaintResolution::kResolved, "答复"});
  EXPECT_EQ(submit(kAuthority, kAgency, day(5), triage()), Reason::kComplaintClosed);
  EXPECT_EQ(
      submit(kAuthority, kAgency, day(5), ComplaintClosed{c, ComplaintResolution::kResolved, ""}),
      Reason::kComplaintClosed);
  ok(kAuthority, kAgency, day(6), ComplaintReopened{c, "不满意"});
  ok(kAuthority, kAgency, day(7), triage());
  auto st = complaint_state(*ledger_, c);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->triages, 2u);
  EXPECT_EQ(st->reopens, 1u);
  EXPECT_EQ(st->phase, ComplaintPhase::kInHandling);
  auto view = complaint_view(*ledger_, c);
  ASSERT_TRUE(view);
  EXPECT_EQ((*view)["summary"], "投诉");
  EXPECT_EQ((*view)["contact_sealed"], false);
  // filed, triaged, closed, reopened, triaged: the rejected attempts left no line
  EXPECT_EQ((*view)["history"].size(), 5u);
}

TEST_F(Rules, ReceiptsAreUniqueAndDuplicatesPointElsewhere) {
  EventId c = complaint(1, "TS-7");
  EXPECT_EQ(submit(kComplaintChannel, kAgency, day(2),
                   ComplaintFiled{"TS-7", std::nullopt, "again", {}, sha256("s")}),
            Reason::kReceiptExists);
  EXPECT_EQ(submit(kAuthority, kAgency, day(2),
                   ComplaintTriaged{c, TriageOutcome::kDuplicate, {}, c, {}, ""}),
            Reason::kSelfReference);
  EXPECT_EQ(submit(kAuthority, kAgency, day(2),
                   ComplaintTriaged{c, TriageOutcome::kDuplicate, {}, builder_.next_id(), {}, ""}),
            Reason::kComplaintUnknown);
  EXPECT_EQ(submit(kAuthority, kAgency, day(2),
                   ComplaintTriaged{c, TriageOutcome::kAccepted, builder_.next_id(), {}, {}, ""}),
            Reason::kRecordUnknown);
}

TEST_F(Rules, ARecommendationNamesConfirmedRecordsOnceUnderANewReference) {
  EventId pending = record(1);
  EventId r = confirmed(3);
  EXPECT_EQ(
      submit(kAuthority, kAgency, day(10), RecommendationIssued{"A", {pending}, {"整改"}, day(40)}),
      Reason::kRecordNotConfirmed);
  EXPECT_EQ(
      submit(kAuthority, kAgency, day(10), RecommendationIssued{"A", {r, r}, {"整改"}, day(40)}),
      Reason::kDuplicateReference);
  EXPECT_EQ(submit(kAuthority, kAgency, day(10), RecommendationIssued{"A", {r}, {"整改"}, day(10)}),
            Reason::kDeadlineBeforeIssue);
  EXPECT_EQ(submit(kAuthority, kAgency, day(3), RecommendationIssued{"A", {r}, {"整改"}, day(40)}),
            Reason::kLifecycleOutOfOrder);  // dated before the record's confirmation (day 4)
  recommendation(r, 10, 40, "A");
  EXPECT_EQ(submit(kAuthority, kAgency, day(11), RecommendationIssued{"A", {r}, {"整改"}, day(40)}),
            Reason::kReferenceExists);
}

TEST_F(Rules, RectificationComesFromTheAddressedAgencyUntilClosed) {
  EventId r = confirmed();
  EventId m = recommendation(r, 5, 60);
  EXPECT_EQ(submit(kAg2, kOther, day(10), RectificationReported{m, "x", {}}),
            Reason::kReferenceOtherAgency);
  EXPECT_EQ(submit(kAuthority, kAgency, day(10), RectificationReported{m, "x", {}}),
            Reason::kRoleNotAllowed);
  EXPECT_EQ(submit(kAuthority, kAgency, day(10),
                   RecommendationClosed{m, RecommendationOutcome::kSatisfied, ""}),
            Reason::kRectificationMissing);
  ok(kAuthority, kAgency, day(70),
     RecommendationClosed{m, RecommendationOutcome::kEscalated, "逾期"});
  EXPECT_EQ(submit(kAg, kAgency, day(71), RectificationReported{m, "迟到", {}}),
            Reason::kRecommendationClosed);
  EXPECT_EQ(submit(kAuthority, kAgency, day(72),
                   RecommendationClosed{m, RecommendationOutcome::kEscalated, ""}),
            Reason::kRecommendationClosed);
  EXPECT_EQ(submit(kAg, kAgency, day(71), RectificationReported{builder_.next_id(), "x", {}}),
            Reason::kRecommendationUnknown);
  auto view = recommendation_view(*ledger_, m, day(100));
  ASSERT_TRUE(view);
  EXPECT_EQ((*view)["reference"], "沪监建1号");
  EXPECT_EQ((*view)["actions"], nlohmann::json::array({"整改"}));
  EXPECT_EQ((*view)["outcome"], "escalated");
  EXPECT_EQ((*view)["overdue"], false);  // closed by then
}

TEST_F(Rules, CompensationNamesKnownObjects) {
  EXPECT_EQ(submit(kAuthority, kAgency, day(5),
                   CompensationRecorded{builder_.next_id(), {}, 100, "户", ""}),
            Reason::kRecordUnknown);
  EventId r = confirmed();
  ok(kAuthority, kAgency, day(5), CompensationRecorded{r, {}, 100, "户", ""});
  EXPECT_EQ(agency_state(*ledger_, kAgency)->compensation_fen, 100);
}

TEST_F(Rules, AReportIsPublishedAfterItsPeriod) {
  // 2013-Q1 ends 2013-04-01T00:00+08:00 = 2013-03-31T16:00Z.
  Timestamp before = *parse_time("2013-03-31T15:59:59Z"),
            after = *parse_time("2013-03-31T16:00:00Z");
  EXPECT_EQ(submit(kAuthority, system_subject(), before,
                   ReportPublished{"2013-Q1", "专报", sha256("r"), 10, std::nullopt}),
            Reason::kReportPeriodOpen);
  ok(kAuthority, system_subject(), after,
     ReportPublished{"2013-Q1", "专报", sha256("r"), 10, std::nullopt});
  auto reps = reports(*ledger_);
  ASSERT_TRUE(reps);
  ASSERT_EQ(reps->size(), 1u);
  EXPECT_EQ(reps->front().period, "2013-Q1");
}

TEST_F(Rules, OverdueIsJudgedAgainstTheAskedTimeNotTheClock) {
  EventId r = confirmed();
  EventId m = recommendation(r, 5, 60);
  auto a = agency_state(*ledger_, kAgency);
  ASSERT_TRUE(a);
  const RecItem& item = a->recommendations.at(0);
  EXPECT_EQ(item.id, m);
  EXPECT_FALSE(overdue_at(item, day(60)));
  EXPECT_TRUE(overdue_at(item, day(61)));
  EXPECT_FALSE(overdue_at(item, day(4)));  // not issued yet
  ok(kAg, kAgency, day(50), RectificationReported{m, "按期整改", {}});
  EXPECT_FALSE(overdue_at(agency_state(*ledger_, kAgency)->recommendations.at(0), day(100)));
}

}  // namespace
}  // namespace govcredit
