#include "govcredit/demo.h"

#include <algorithm>
#include <array>
#include <set>

#include "govcredit/encoding.h"
#include "world.h"

namespace govcredit::demo {

PrivateKey key_for(const PrincipalId& principal, int generation) {
  std::string label = "govcredit demo key:" + principal.value;
  if (generation > 0) label += ":" + std::to_string(generation);
  Digest seed = sha256(label);
  return PrivateKey::from_seed(seed.view()).value();
}

namespace {

struct AgencySeed {
  const char* id;
  const char* zh;
  const char* en;
  const char* district;  // nullptr for city level
};

const std::array kCityAgencies = {
    AgencySeed{"sh.city.finance", "上海市财政局", "Shanghai Municipal Finance Bureau", nullptr},
    AgencySeed{"sh.city.planning", "上海市规划和国土资源管理局",
               "Shanghai Planning and Land Resources Administration", nullptr},
    AgencySeed{"sh.city.housing", "上海市住房保障和房屋管理局",
               "Shanghai Housing Security and Administration Bureau", nullptr},
    AgencySeed{"sh.city.transport", "上海市交通运输和港口管理局",
               "Shanghai Transport and Port Administration", nullptr},
    AgencySeed{"sh.city.environment", "上海市环境保护局",
               "Shanghai Environmental Protection Bureau", nullptr},
    AgencySeed{"sh.city.education", "上海市教育委员会", "Shanghai Education Commission", nullptr},
    AgencySeed{"sh.city.health", "上海市卫生局", "Shanghai Health Bureau", nullptr},
    AgencySeed{"sh.city.commerce", "上海市商务委员会", "Shanghai Commission of Commerce", nullptr},
};

struct DistrictSeed {
  const char* code;
  const char* zh;
  const char* en;
};
// The sixteen districts (and county) of 2013.
const std::array kDistricts = {
    DistrictSeed{"huangpu", "黄浦区", "Huangpu"},
    DistrictSeed{"xuhui", "徐汇区", "Xuhui"},
    DistrictSeed{"changning", "长宁区", "Changning"},
    DistrictSeed{"jingan", "静安区", "Jing'an"},
    DistrictSeed{"putuo", "普陀区", "Putuo"},
    DistrictSeed{"zhabei", "闸北区", "Zhabei"},
    DistrictSeed{"hongkou", "虹口区", "Hongkou"},
    DistrictSeed{"yangpu", "杨浦区", "Yangpu"},
    DistrictSeed{"minhang", "闵行区", "Minhang"},
    DistrictSeed{"baoshan", "宝山区", "Baoshan"},
    DistrictSeed{"jiading", "嘉定区", "Jiading"},
    DistrictSeed{"pudong", "浦东新区", "Pudong New Area"},
    DistrictSeed{"jinshan", "金山区", "Jinshan"},
    DistrictSeed{"songjiang", "松江区", "Songjiang"},
    DistrictSeed{"qingpu", "青浦区", "Qingpu"},
    DistrictSeed{"fengxian", "奉贤区", "Fengxian"},
};

struct SourceSeed {
  const char* principal;
  SourceKind kind;
  const char* name;
  std::array<Category, 2> categories;
};
const std::array kSources = {
    SourceSeed{"src.judicial",
               SourceKind::kJudicial,
               "上海市高级人民法院",
               {Category::kAdjudicatedFault, Category::kLevyExpropriation}},
    SourceSeed{"src.finance",
               SourceKind::kFinance,
               "上海市财政局预算处",
               {Category::kFiscalFraud, Category::kFiscalFraud}},
    SourceSeed{"src.audit",
               SourceKind::kAudit,
               "上海市审计局",
               {Category::kFiscalFraud, Category::kApprovalViolation}},
    SourceSeed{"src.disclosure",
               SourceKind::kDisclosureOffice,
               "上海市政府信息公开办公室",
               {Category::kDisclosure, Category::kDisclosure}},
    SourceSeed{"src.legal",
               SourceKind::kLegalAffairs,
               "上海市人民政府法制办公室",
               {Category::kAdjudicatedFault, Category::kApprovalViolation}},
    SourceSeed{"src.petitions",
               SourceKind::kPetitions,
               "上海市信访办公室",
               {Category::kAdjudicatedFault, Category::kLevyExpropriation}},
    SourceSeed{"src.malpractice",
               SourceKind::kAntiMalpractice,
               "上海市纠风办",
               {Category::kServiceCommitment, Category::kServiceCommitment}},
    SourceSeed{"src.media",
               SourceKind::kMediaMonitoring,
               "上海市监察局舆情监测",
               {Category::kProjectDefault, Category::kOther}},
    SourceSeed{"src.other",
               SourceKind::kOther,
               "其他相关部门",
               {Category::kOther, Category::kProjectDefault}},
};

const char* title_for(Category c) {
  switch (c) {
    case Category::kDisclosure:
      return "应主动公开的政府信息未公开";
    case Category::kServiceCommitment:
      return "公开服务承诺未兑现";
    case Category::kFiscalFraud:
      return "财政收支中虚列支出";
    case Category::kApprovalViolation:
      return "违规办理行政审批";
    case Category::kLevyExpropriation:
      return "征收补偿承诺未落实";
    case Category::kProjectDefault:
      return "承诺的重大实事工程未按期完成";
    case Category::kAdjudicatedFault:
      return "因失信在行政诉讼中败诉";
    case Category::kOther:
      return "其他失信行为";
  }
  return "";
}

Timestamp jan1(int year) {
  return *parse_time(std::to_string(year) + "-01-01T00:00:00Z");
}
Timestamp plus_days(Timestamp t, std::int64_t days) {
  return Timestamp{t.ms + days * kDay};
}

std::string agency_principal(const std::string& agency) {
  return "ag." + agency;
}

Evidence evidence_for(const std::string& what) {
  return Evidence{
      sha256("evidence:" + what),
      "https://docs.example.gov.cn/" + to_hex(sha256(what).view()).substr(0, 16) + ".pdf"};
}

// One planned event; sorted by time (then plan order) before it is signed.
struct Planned {
  Timestamp at;
  std::uint64_t order;
  PrincipalId issuer;
  AgencyId subject;
  Payload payload;
  EventId id;
};

class Timeline {
 public:
  Timeline(Builder& b, Timestamp end) : b_(b), end_(end) {}
  // Plans an event; returns its id. Events after the end of the data set are dropped (the id is
  // still returned, and nothing may depend on it: callers check with within()).
  EventId add(Timestamp at, const PrincipalId& issuer, const AgencyId& subject, Payload p) {
    EventId id = b_.next_id();
    if (within(at)) plan_.push_back({at, order_++, issuer, subject, std::move(p), id});
    return id;
  }
  // Like add(), for a payload that needs its own event id (a sealed contact binds to it).
  template <class MakePayload>
  EventId add_with_id(Timestamp at, const PrincipalId& issuer, const AgencyId& subject,
                      MakePayload make) {
    EventId id = b_.next_id();
    if (within(at)) plan_.push_back({at, order_++, issuer, subject, make(id), id});
    return id;
  }
  bool within(Timestamp at) const { return at < end_; }
  void emit_all(const std::map<PrincipalId, Timestamp>& rotations) {
    std::stable_sort(plan_.begin(), plan_.end(),
                     [](const Planned& a, const Planned& b) { return a.at < b.at; });
    // A recommendation's reference is numbered as an office numbers its documents: per year, in
    // the order issued (沪监建〔2015〕7号 is the seventh of 2015), so only now that the plan is in
    // time order.
    std::map<std::string, int> issued_in;
    for (auto& p : plan_)
      if (auto* r = std::get_if<RecommendationIssued>(&p.payload)) {
        const std::string year = format_time(p.at).substr(0, 4);
        r->reference = "沪监建〔" + year + "〕" + std::to_string(++issued_in[year]) + "号";
      }
    std::set<PrincipalId> rotated;
    for (auto& p : plan_) {
      auto rot = rotations.find(p.issuer);
      if (rot != rotations.end() && p.at >= rot->second && rotated.insert(p.issuer).second)
        b_.rotate(p.issuer, key_for(p.issuer, 1));
      b_.emit_deferred(p.issuer, p.subject, p.at, std::move(p.payload), p.id);
    }
    b_.sign_deferred();
  }

 private:
  Builder& b_;
  Timestamp end_;
  std::uint64_t order_ = 0;
  std::vector<Planned> plan_;
};

void register_world(Builder& b, Timestamp t0, std::vector<std::string>& agencies) {
  auto reg_principal = [&](const PrincipalId& id, Role role, std::optional<SourceKind> kind,
                           std::optional<AgencyId> agency, const std::string& name) {
    PrincipalRegistered p{id, role, kind, agency, name, key_for(id).public_key().bytes(), t0};
    AgencyId subject = agency ? *agency : system_subject();
    b.emit(id == kAuthority ? kAuthority : kAuthority, subject, t0, p);
  };
  reg_principal(kAuthority, Role::kAuthority, std::nullopt, std::nullopt,
                "上海市监察局（市预防腐败局）");
  reg_principal(kComplaintChannel, Role::kComplaintChannel, std::nullopt, std::nullopt,
                "市民投诉受理渠道");
  reg_principal(kAuditor, Role::kAuditor, std::nullopt, std::nullopt, "外部审计员");
  reg_principal(kLedger, Role::kLedger, std::nullopt, std::nullopt, "账本节点");
  for (const auto& s : kSources)
    reg_principal(PrincipalId(s.principal), Role::kSource, s.kind, std::nullopt, s.name);
  auto reg_agency = [&](const std::string& id, const std::string& zh, const std::string& en,
                        const char* district, std::optional<AgencyId> parent) {
    AgencyRegistered a{zh, en, district ? Level::kDistrict : Level::kCity,
                       district ? std::optional<std::string>(district) : std::nullopt, parent};
    b.emit(kAuthority, AgencyId(id), t0, a);
    reg_principal(PrincipalId(agency_principal(id)), Role::kAgency, std::nullopt, AgencyId(id), zh);
    agencies.push_back(id);
  };
  for (const auto& a : kCityAgencies) reg_agency(a.id, a.zh, a.en, nullptr, std::nullopt);
  for (const auto& d : kDistricts) {
    std::string gov = std::string("sh.") + d.code + ".gov";
    reg_agency(gov, std::string(d.zh) + "人民政府", std::string(d.en) + " District Government",
               d.zh, std::nullopt);
    reg_agency(std::string("sh.") + d.code + ".housing", std::string(d.zh) + "住房保障和房屋管理局",
               std::string(d.en) + " Housing Bureau", d.zh, AgencyId(gov));
  }
}

}  // namespace

World generate(const Options& o) {
  Builder b(o.seed);
  Rng rng(o.seed);
  const Timestamp t0 = jan1(o.first_year);
  const Timestamp end = jan1(o.first_year + o.years);
  const std::int64_t span_days = (end.ms - t0.ms) / kDay;
  std::vector<std::string> agencies;
  register_world(b, t0, agencies);

  Timeline tl(b, end);
  // One key rotation in the middle: the audit bureau's key is replaced and the old one revoked.
  const PrincipalId audit("src.audit");
  const Timestamp rotation = plus_days(t0, span_days / 2);
  tl.add(rotation, kAuthority, system_subject(),
         KeyAuthorised{audit, key_for(audit, 1).public_key().bytes(), rotation});
  tl.add(plus_days(rotation, 1), kAuthority, system_subject(),
         KeyRevoked{audit, key_for(audit).key_id(), plus_days(rotation, 1), "定期轮换密钥"});

  // Per agency: its submitted records (id, time), for complaints that point at one.
  std::map<std::string, std::vector<std::pair<EventId, Timestamp>>> records_of;
  for (int i = 0; i < o.records; ++i) {
    const auto& src = rng.pick(kSources);
    const AgencyId agency(rng.pick(agencies));
    const Category cat = src.categories[static_cast<std::size_t>(rng.between(0, 1))];
    Timestamp ts = plus_days(t0, rng.between(1, span_days - 30));
    RecordSubmitted rs{cat,
                       title_for(cat),
                       "经" + std::string(src.name) + "核查，" + title_for(cat) + "。案件编号 " +
                           std::to_string(1000 + i) + "。",
                       plus_days(ts, -rng.between(10, 200)),
                       {evidence_for("record-" + std::to_string(i))},
                       std::string("案-") + std::to_string(o.first_year) + "-" + std::to_string(i)};
    PrincipalId source(src.principal);
    EventId rec = tl.add(ts, source, agency, rs);
    if (tl.within(ts)) records_of[agency.value].emplace_back(rec, ts);
    if (rng.chance(10)) {
      RecordCorrected rc{rec,          "更正案件摘要中的日期",
                         std::nullopt, std::nullopt,
                         std::nullopt, plus_days(ts, -rng.between(10, 200)),
                         std::nullopt, {}};
      tl.add(plus_days(ts, rng.between(1, 4)), source, agency, rc);
    }
    if (!rng.chance(88)) continue;  // left unverified
    Timestamp tv = plus_days(ts, rng.between(5, 40));
    bool confirmed = rng.chance(75);
    Severity sev = static_cast<Severity>(rng.between(0, 2));
    tl.add(tv, kAuthority, agency,
           RecordVerified{
               rec, confirmed ? VerificationOutcome::kConfirmed : VerificationOutcome::kUnfounded,
               confirmed ? std::optional<Severity>(sev) : std::nullopt,
               confirmed ? "经核实，情况属实" : "经核实，反映情况不实"});
    if (!confirmed || !tl.within(tv)) continue;
    const PrincipalId ag(agency_principal(agency.value));
    if (rng.chance(20)) {
      Timestamp to = plus_days(tv, rng.between(3, 15));
      EventId obj = tl.add(to, ag, agency,
                           ObjectionRaised{rec,
                                           "本单位已于事发前整改，记录与事实不符",
                                           {evidence_for("objection-" + std::to_string(i))}});
      bool upheld = rng.chance(30);
      if (tl.within(to))
        tl.add(plus_days(to, rng.between(10, 30)), kAuthority, agency,
               ObjectionResolved{obj,
                                 upheld ? ObjectionOutcome::kUpheld : ObjectionOutcome::kDismissed,
                                 upheld ? "异议成立，撤销该记录" : "异议不成立，维持原记录"});
      if (upheld) continue;
    }
    if (cat == Category::kLevyExpropriation && rng.chance(30))
      tl.add(plus_days(tv, rng.between(20, 60)), kAuthority, agency,
             CompensationRecorded{rec, std::nullopt, rng.between(10000, 5000000),
                                  "被征收户（共若干户）", "按判决补偿"});
    if (!rng.chance(45)) {
      if (rng.chance(30)) {
        Timestamp te = plus_days(tv, 730);
        tl.add(te, kAuthority, agency,
               RecordRepaired{rec, RepairKind::kExpired, std::nullopt, "记录期满两年，不再计分"});
      }
      continue;
    }
    Timestamp ti = plus_days(tv, rng.between(10, 30));
    Timestamp deadline = plus_days(ti, rng.between(60, 120));
    EventId recm =  // its reference is numbered in emit_all(), once the plan is in time order
        tl.add(ti, kAuthority, agency,
               RecommendationIssued{
                   "", {rec}, {"限期整改并书面报告整改情况", "追究相关责任人责任"}, deadline});
    if (!tl.within(ti)) continue;
    int fate = static_cast<int>(rng.between(1, 100));
    if (fate <= 65) {  // rectified on time, closed satisfied, later repaired
      Timestamp tr = plus_days(ti, rng.between(20, (deadline.ms - ti.ms) / kDay - 1));
      EventId rect = tl.add(
          tr, ag, agency,
          RectificationReported{
              recm, "已完成整改：建立制度，追回资金", {evidence_for("rect-" + std::to_string(i))}});
      Timestamp tc = plus_days(tr, rng.between(5, 20));
      tl.add(tc, kAuthority, agency,
             RecommendationClosed{recm, RecommendationOutcome::kSatisfied, "整改到位"});
      if (rng.chance(60))
        tl.add(plus_days(tc, 180 + rng.between(0, 60)), kAuthority, agency,
               RecordRepaired{rec, RepairKind::kRepaired, rect, "整改完成满六个月，予以信用修复"});
    } else if (fate <= 80) {  // rectified late, escalated
      Timestamp tr = plus_days(deadline, rng.between(5, 40));
      tl.add(tr, ag, agency, RectificationReported{recm, "逾期完成整改", {}});
      tl.add(plus_days(tr, 10), kAuthority, agency,
             RecommendationClosed{recm, RecommendationOutcome::kEscalated, "逾期整改，移送问责"});
    }
    // else: never answered; overdue from its deadline on.
  }

  // Citizen complaints. A duplicate points at an earlier complaint about the same agency.
  std::map<std::string, std::vector<std::pair<EventId, Timestamp>>> complaints_of;
  for (int i = 0; i < o.records / 2; ++i) {
    const AgencyId agency(rng.pick(agencies));
    Timestamp tf = plus_days(t0, rng.between(1, span_days - 10));
    // The complaint channel's form, the day filed and eight digits that look random (i times a
    // number prime to 10^8, so no two complaints share them).
    std::string receipt = complaint_receipt(
        tf, static_cast<std::uint32_t>((std::uint64_t(i) * 48271 + 12345) % 100000000));
    std::optional<Category> cat =
        rng.chance(60) ? std::optional<Category>(static_cast<Category>(rng.between(0, 7)))
                       : std::nullopt;
    std::string summary = "市民反映：" +
                          std::string(title_for(static_cast<Category>(rng.between(0, 7)))) +
                          "，请予核查。";
    static const std::array kSurnames = {"王", "李", "张", "刘", "陈",
                                         "杨", "赵", "黄", "周", "吴"};
    std::string contact = std::string("联系人：") + rng.pick(kSurnames) +
                          (rng.chance(50) ? "先生" : "女士") + "，电话 139" +
                          std::to_string(10000000 + rng.between(0, 89999999));
    // Deterministic key and nonce (the demo must be byte-identical everywhere); each key seals
    // exactly one contact. Real complaints get random ones (new_data_key()).
    DataKey key;
    Digest kd = sha256("govcredit demo contact key:" + receipt);
    std::copy(kd.bytes.begin(), kd.bytes.end(), key.bytes.begin());
    Digest nonce = sha256("govcredit demo contact nonce:" + receipt);
    EventId c = tl.add_with_id(tf, kComplaintChannel, agency, [&](const EventId& id) {
      return ComplaintFiled{
          receipt, cat, summary,
          seal_contact(key, id, contact, ByteView(nonce.bytes.data(), 12)).value(),
          sha256("demo complaint secret:" + receipt)};
    });
    if (tl.within(tf)) b.world.contact_keys.emplace(c, key);
    if (!rng.chance(90) || !tl.within(tf)) continue;
    Timestamp tt = plus_days(tf, rng.between(1, 10));
    int k = static_cast<int>(rng.between(1, 100));
    ComplaintTriaged tr{c,       TriageOutcome::kAccepted, std::nullopt, std::nullopt, std::nullopt,
                        "已受理"};
    auto earlier = [&](const auto& list) -> std::optional<EventId> {
      std::optional<EventId> found;
      for (const auto& [id, at] : list)
        if (at < tf && rng.chance(50)) found = id;
      return found;
    };
    std::optional<EventId> dup = earlier(complaints_of[agency.value]);
    if (k <= 20) {
      tr.outcome = TriageOutcome::kRejected;
      tr.note = "不属于受理范围";
    } else if (k <= 30 && dup) {
      tr.outcome = TriageOutcome::kDuplicate;
      tr.duplicate_of = dup;
      tr.note = "重复投诉";
    } else if (k <= 50) {
      tr.outcome = TriageOutcome::kTransferred;
      tr.transferred_to = "区监察局";
      tr.note = "转区监察局办理";
    } else if (auto linked = earlier(records_of[agency.value])) {
      tr.record = linked;
      tr.note = "已受理，并入已有失信记录核查";
    }
    complaints_of[agency.value].emplace_back(c, tf);
    tl.add(tt, kAuthority, agency, tr);
    if (!rng.chance(80)) continue;
    Timestamp tc = plus_days(tt, rng.between(5, 30));
    tl.add(
        tc, kAuthority, agency,
        ComplaintClosed{
            c, rng.chance(80) ? ComplaintResolution::kResolved : ComplaintResolution::kUnresolved,
            "经调查，已责成被投诉单位整改并答复投诉人。"});
    if (rng.chance(5)) {
      Timestamp tro = plus_days(tc, rng.between(3, 20));
      tl.add(tro, kAuthority, agency, ComplaintReopened{c, "投诉人对答复不满意，重新办理"});
      tl.add(plus_days(tro, 5), kAuthority, agency,
             ComplaintTriaged{c, TriageOutcome::kAccepted, std::nullopt, std::nullopt, std::nullopt,
                              "重新受理"});
    }
  }

  // A special report at the end of every quarter.
  for (int y = o.first_year; y < o.first_year + o.years; ++y)
    for (int q = 1; q <= 4; ++q) {
      std::string period = std::to_string(y) + "-Q" + std::to_string(q);
      Timestamp at = plus_days(jan1(y), q * 91 + 15);
      tl.add(at, kAuthority, system_subject(),
             ReportPublished{period, "政府信用信息专报（" + period + "）",
                             sha256("demo report " + period), 40960, std::nullopt});
    }

  tl.emit_all({{audit, rotation}});
  return std::move(b.world);
}

World every_type() {
  Builder b(7);
  const Timestamp t0 = *parse_time("2013-08-28T09:00:00Z");
  auto at = [&](int day) { return plus_days(t0, day); };
  const AgencyId agency("sh.city.housing");
  const PrincipalId source("src.audit"), ag("ag.sh.city.housing");
  b.emit(kAuthority, system_subject(), t0,
         PrincipalRegistered{kAuthority, Role::kAuthority, std::nullopt, std::nullopt,
                             "上海市监察局", key_for(kAuthority).public_key().bytes(), t0});
  b.emit(kAuthority, agency, t0,
         AgencyRegistered{"上海市住房保障和房屋管理局",
                          "Shanghai Housing Security and Administration Bureau", Level::kCity,
                          std::nullopt, std::nullopt});
  b.emit(kAuthority, system_subject(), t0,
         PrincipalRegistered{source, Role::kSource, SourceKind::kAudit, std::nullopt,
                             "上海市审计局", key_for(source).public_key().bytes(), t0});
  b.emit(kAuthority, agency, t0,
         PrincipalRegistered{ag, Role::kAgency, std::nullopt, agency, "上海市住房保障和房屋管理局",
                             key_for(ag).public_key().bytes(), t0});
  b.emit(
      kAuthority, system_subject(), t0,
      PrincipalRegistered{kComplaintChannel, Role::kComplaintChannel, std::nullopt, std::nullopt,
                          "市民投诉受理渠道", key_for(kComplaintChannel).public_key().bytes(), t0});
  b.emit(kAuthority, system_subject(), at(1),
         KeyAuthorised{source, key_for(source, 1).public_key().bytes(), at(1)});
  const EventId rec =
      b.emit(source, agency, at(2),
             RecordSubmitted{Category::kFiscalFraud,
                             "专项资金虚列支出",
                             "审计发现2012年度保障房专项资金虚列支出1200万元。\n详见审计报告。",
                             *parse_time("2012-12-31T00:00:00Z"),
                             {evidence_for("audit-report-2013-17")},
                             std::string("沪审报〔2013〕17号")})
          .id;
  b.emit(
      kAuthority, agency, at(10),
      RecordVerified{rec, VerificationOutcome::kConfirmed, Severity::kSerious, "经核实，情况属实"});
  b.emit(source, agency, at(11),
         RecordCorrected{rec,
                         "金额更正",
                         std::nullopt,
                         std::nullopt,
                         "审计发现2012年度保障房专项资金虚列支出1180万元。",
                         std::nullopt,
                         std::nullopt,
                         {}});
  const EventId obj =
      b.emit(ag, agency, at(12),
             ObjectionRaised{rec, "部分支出已于2013年初冲回", {evidence_for("reversal-voucher")}})
          .id;
  b.emit(kAuthority, agency, at(20),
         ObjectionResolved{obj, ObjectionOutcome::kDismissed, "冲回发生在审计之后，异议不成立"});
  const EventId recm =
      b.emit(kAuthority, agency, at(21),
             RecommendationIssued{
                 "沪监建〔2013〕12号", {rec}, {"追回虚列资金", "书面报告整改情况"}, at(81)})
          .id;
  const EventId rect =
      b.emit(ag, agency, at(60),
             RectificationReported{
                 recm, "已追回全部资金并完善报销制度", {evidence_for("rectification-report")}})
          .id;
  b.emit(kAuthority, agency, at(65),
         RecommendationClosed{recm, RecommendationOutcome::kSatisfied, "整改到位"});
  b.emit(
      kAuthority, agency, at(66),
      CompensationRecorded{rec, recm, 250000, "受影响的保障房申请家庭（12户）", "按规定补发补贴"});
  b.emit(kAuthority, agency, at(250),
         RecordRepaired{rec, RepairKind::kRepaired, rect, "整改完成满六个月，予以信用修复"});
  Bytes sealed(12 + 24 + 16);
  for (std::size_t i = 0; i < sealed.size(); ++i) sealed[i] = static_cast<std::uint8_t>(i * 7 + 3);
  const EventId c = b.emit(kComplaintChannel, agency, at(3),
                           ComplaintFiled{"TS2013-000001", Category::kServiceCommitment,
                                          "承诺十个工作日办结的配租申请两个月未办结。", sealed,
                                          sha256("vector secret")})
                        .id;
  b.emit(kAuthority, agency, at(4),
         ComplaintTriaged{c, TriageOutcome::kAccepted, rec, std::nullopt, std::nullopt,
                          "已受理，并入审计记录核查"});
  b.emit(kAuthority, agency, at(30),
         ComplaintClosed{c, ComplaintResolution::kResolved, "已督促办结，并答复投诉人。"});
  b.emit(kAuthority, agency, at(35), ComplaintReopened{c, "投诉人反映仍未办结"});
  b.emit(kAuthority, system_subject(), at(40),
         KeyRevoked{source, key_for(source).key_id(), at(40), "密钥轮换"});
  b.emit(kAuthority, system_subject(), at(45),
         ReportPublished{"2013-Q3", "政府信用信息专报（2013年第三季度）", sha256("report 2013-Q3"),
                         40960, std::nullopt});
  return std::move(b.world);
}

}  // namespace govcredit::demo
