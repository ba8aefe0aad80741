// The periodic special report (include/govcredit/report.h).
#include "govcredit/report.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>

#include "govcredit/codec.h"
#include "govcredit/encoding.h"
#include "govcredit/kafka.h"
#include "govcredit/projections.h"
#include "govcredit/views.h"

namespace govcredit {
namespace {

std::string esc(std::string_view s) {  // HTML text and attribute values
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string csv_field(std::string_view s) {  // RFC 4180
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  return out + "\"";
}

std::string fixed1(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string day_of(Timestamp t) {  // YYYY-MM-DD in China Standard Time
  return format_time(Timestamp{t.ms + 8 * 3600000}).substr(0, 10);
}

struct Texts {
  const char* title_fmt;  // with the period's label
  const char* summary;
  const char* category;
  const char* source;
  const char* district;
  const char* agency;
  const char* month;
  const char* submitted;
  const char* confirmed;
  const char* unfounded;
  const char* complaints_in;
  const char* complaints_done;
  const char* recs_issued;
  const char* recs_closed;
  const char* overdue;
  const char* compensation;
  const char* score_start;
  const char* score_end;
  const char* change;
  const char* band;
  const char* rank;
  const char* verified_title;
  const char* overdue_title;
  const char* ranking_title;
  const char* trend_title;
  const char* deadline;
  const char* days;
  const char* severity;
  const char* record_title;
  const char* date;
  const char* entry;
  const char* data_files;
  const char* determinism;  // how to reproduce the report
  const char* none;
  const char* city_level;
};

const Texts kZh = {"上海市政府信用信息专报（%s）",
                   "概况",
                   "失信类别",
                   "信息来源",
                   "区",
                   "单位",
                   "月份",
                   "新提交记录",
                   "核实确认",
                   "核实不属实",
                   "收到投诉",
                   "办结投诉",
                   "发出整改建议",
                   "整改建议办结",
                   "期末逾期整改",
                   "赔偿（元）",
                   "期初信用分",
                   "期末信用分",
                   "变化",
                   "等级",
                   "排名",
                   "本期新确认的失信记录",
                   "期末逾期未整改的建议",
                   "期末信用排名",
                   "各月新提交记录",
                   "整改期限",
                   "逾期天数",
                   "严重程度",
                   "记录标题",
                   "日期",
                   "账本条目（分区/序号）",
                   "数据文件（SHA-256）",
                   "本报告只依据发布时间在本期结束之前的账本事件生成，任何人可用 govcredit report "
                   "从同一账本重新生成并逐字节比对。",
                   "无",
                   "市级"};
const Texts kEn = {"Government Credit Special Report (%s)",
                   "Summary",
                   "Category",
                   "Source",
                   "District",
                   "Agency",
                   "Month",
                   "Records submitted",
                   "Confirmed",
                   "Unfounded",
                   "Complaints received",
                   "Complaints handled",
                   "Recommendations issued",
                   "Recommendations closed",
                   "Overdue at period end",
                   "Compensation (CNY)",
                   "Score at start",
                   "Score at end",
                   "Change",
                   "Band",
                   "Rank",
                   "Records newly confirmed in the period",
                   "Recommendations overdue at the end",
                   "Ranking at the period's end",
                   "Records submitted per month",
                   "Deadline",
                   "Days overdue",
                   "Severity",
                   "Record title",
                   "Date",
                   "Ledger entry (partition/seq)",
                   "Data files (SHA-256)",
                   "This report depends only on ledger events issued before the period's end: "
                   "anyone can regenerate it from the same ledger with govcredit report and "
                   "compare it byte for byte.",
                   "none",
                   "city level"};

std::string period_label(const std::string& p, bool zh) {
  if (p.size() == 4) return zh ? p + "年" : p;
  if (p[5] == 'Q')
    return zh ? p.substr(0, 4) + "年第" +
                    std::string("一二三四").substr(static_cast<std::size_t>(p[6] - '1') * 3, 3) +
                    "季度"
              : p.substr(0, 4) + " Q" + p.substr(6, 1);
  return zh ? p.substr(0, 4) + "年" + std::to_string(std::stoi(p.substr(5, 2))) + "月" : p;
}

// A horizontal bar chart as inline SVG.
std::string bar_chart(const std::string& caption,
                      const std::vector<std::pair<std::string, double>>& rows,
                      const char* color = "#4d7fb8") {
  double max = 1;
  for (const auto& r : rows) max = std::max(max, r.second);
  const int bar = 18, gap = 6, label = 230, width = 360;
  const int height = static_cast<int>(rows.size()) * (bar + gap) + 4;
  std::ostringstream o;
  o << "<figure><figcaption>" << esc(caption)
    << "</figcaption><svg xmlns=\"http://www.w3.org/2000/svg\" "
    << "viewBox=\"0 0 " << label + width + 60 << " " << height << "\" role=\"img\" aria-label=\""
    << esc(caption) << "\">";
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const int y = static_cast<int>(i) * (bar + gap);
    const double w = rows[i].second / max * width;
    o << "<text x=\"0\" y=\"" << y + bar - 4 << "\" font-size=\"12\">" << esc(rows[i].first)
      << "</text><rect x=\"" << label << "\" y=\"" << y << "\" width=\"" << fixed1(std::max(w, 1.0))
      << "\" height=\"" << bar << "\" fill=\"" << color << "\"/><text x=\"" << fixed1(label + w + 4)
      << "\" y=\"" << y + bar - 4 << "\" font-size=\"12\">" << rows[i].second << "</text>";
  }
  o << "</svg></figure>\n";
  return o.str();
}

struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;

  // At most `limit` rows; the rest are counted and left to the CSV file (`more` names it).
  std::string html(const std::string& caption, const char* none, std::size_t limit = SIZE_MAX,
                   const std::string& more = "") const {
    std::ostringstream o;
    o << "<table><caption>" << esc(caption) << "</caption><thead><tr>";
    for (const auto& h : header) o << "<th>" << esc(h) << "</th>";
    o << "</tr></thead><tbody>";
    if (rows.empty())
      o << "<tr><td colspan=\"" << header.size() << "\">" << esc(none) << "</td></tr>";
    for (std::size_t i = 0; i < rows.size() && i < limit; ++i) {
      o << "<tr>";
      for (const auto& c : rows[i]) o << "<td>" << esc(c) << "</td>";
      o << "</tr>";
    }
    if (rows.size() > limit)
      o << "<tr><td colspan=\"" << header.size() << "\">… +" << rows.size() - limit << " → "
        << esc(more) << "</td></tr>";
    o << "</tbody></table>\n";
    return o.str();
  }
  std::string csv() const {
    std::string out;
    auto line = [&](const std::vector<std::string>& cells) {
      for (std::size_t i = 0; i < cells.size(); ++i) out += (i ? "," : "") + csv_field(cells[i]);
      out += "\r\n";
    };
    line(header);
    for (const auto& r : rows) line(r);
    return out;
  }
};

// Chinese names of the categories and sources (DESIGN.md §1), in enum order.
constexpr std::array<std::string_view, kCategoryCount> kCategoryZh = {
    "政府信息公开不真实", "政府服务承诺不兑现", "财政收支中弄虚作假", "行政审批中违规审批",
    "行政征收征用中失信", "重大实事工程不落实", "因失信败诉或被纠错", "其他"};
constexpr std::array<std::string_view, 9> kSourceZh = {
    "司法机关",     "财政部门", "审计部门", "政府信息公开工作机构",
    "政府法制机构", "信访部门", "纠风机构", "监察部门（新闻舆情）",
    "其他相关部门"};

struct Counts {
  std::uint64_t submitted = 0, confirmed = 0, unfounded = 0, complaints_in = 0, complaints_done = 0,
                recs_issued = 0, recs_closed = 0;
  std::int64_t compensation_fen = 0;
};

}  // namespace

Result<Report> make_report(const std::vector<const Ledger*>& shards, const ScoringRules& rules,
                           const ReportOptions& o, Timestamp now) {
  auto bounds = period_bounds(o.period);
  if (!bounds)
    return Status(Reason::kInvalidArgument,
                  "the period must be a year (2013), a quarter (2013-Q3) or a month (2013-08)");
  if (o.lang != "zh" && o.lang != "en")
    return Status(Reason::kInvalidArgument, "the language must be zh or en");
  if (now < bounds->end)
    return Status(
        Reason::kInvalidArgument,
        "the period " + o.period + " has not ended yet (it ends " + format_time(bounds->end) + ")");
  if (shards.empty()) return Status(Reason::kInvalidArgument, "no shards");
  const bool zh = o.lang == "zh";
  const Texts& tx = zh ? kZh : kEn;
  const Timestamp start = bounds->start, end = bounds->end;
  auto reg = shards[0]->load_registry();
  if (!reg) return reg.status();
  const int partitions = static_cast<int>(shards.size());
  auto agency_name = [&](const AgencyId& a) {
    const AgencyInfo* i = reg->agency(a);
    return i ? (zh ? i->name_zh : i->name_en) : a.value;
  };
  auto category_name = [&](Category c) {
    return zh ? std::string(kCategoryZh[static_cast<std::size_t>(c)]) : std::string(enum_name(c));
  };
  auto district_of = [&](const AgencyId& a) {
    const AgencyInfo* i = reg->agency(a);
    return i && i->district ? *i->district : std::string(tx.city_level);
  };

  // One pass over every shard's log: what happened in the period.
  Counts total;
  std::map<std::string, Counts> by_category, by_source, by_district, by_agency;
  std::vector<std::uint64_t> per_month(bounds->months.size(), 0);
  struct Verified {
    Timestamp at;
    AgencyId agency;
    std::string category, severity, title;
    int partition;
    std::uint64_t seq;
  };
  std::vector<Verified> verified;
  for (int p = 0; p < partitions; ++p) {
    const Ledger& l = *shards[static_cast<std::size_t>(p)];
    Head h = l.head();
    Status bad = Status::ok();
    Status s = l.scan(Seq{0}, Seq{h.size}, [&](const Entry& en) {
      auto e = decode_logged_wire(en.wire);
      if (!e) {
        bad = e.status();
        return false;
      }
      if (e->issued_at < start || e->issued_at >= end) return true;
      if (Registry::is_registry_event(*e) && partition_for_key(e->subject.value, partitions) != p)
        return true;  // a registry copy
      const std::string agency = e->subject.value;
      auto bump = [&](auto member, std::uint64_t n = 1) {
        total.*member += n;
        by_agency[agency].*member += n;
        by_district[district_of(e->subject)].*member += n;
      };
      if (const auto* r = e->as<RecordSubmitted>()) {
        bump(&Counts::submitted);
        by_category[category_name(r->category)].submitted++;
        const PrincipalInfo* src = reg->principal(e->issuer);
        by_source[src && src->source_kind
                      ? (zh ? std::string(kSourceZh[static_cast<std::size_t>(*src->source_kind)])
                            : std::string(enum_name(*src->source_kind)))
                      : e->issuer.value]
            .submitted++;
        for (std::size_t m = bounds->months.size(); m-- > 0;)
          if (e->issued_at >= bounds->months[m]) {
            per_month[m]++;
            break;
          }
      } else if (const auto* v = e->as<RecordVerified>()) {
        auto rs = record_state(l, v->record);
        std::string cat = category_name(rs ? rs->category : Category::kOther);
        if (v->outcome == VerificationOutcome::kConfirmed) {
          bump(&Counts::confirmed);
          by_category[cat].confirmed++;
          std::string title;
          if (auto sub = l.get_by_event(v->record))
            if (auto se = decode_logged_wire(sub->wire))
              if (const auto* rsub = se->as<RecordSubmitted>()) title = rsub->title;
          verified.push_back(Verified{e->issued_at, e->subject, cat,
                                      v->severity ? std::string(enum_name(*v->severity)) : "",
                                      title, p, en.seq.value});
        } else {
          bump(&Counts::unfounded);
          by_category[cat].unfounded++;
        }
      } else if (e->as<ComplaintFiled>()) {
        bump(&Counts::complaints_in);
      } else if (e->as<ComplaintClosed>()) {
        bump(&Counts::complaints_done);
      } else if (e->as<RecommendationIssued>()) {
        bump(&Counts::recs_issued);
      } else if (e->as<RecommendationClosed>()) {
        bump(&Counts::recs_closed);
      } else if (const auto* c = e->as<CompensationRecorded>()) {
        total.compensation_fen += c->amount_fen;
        by_agency[agency].compensation_fen += c->amount_fen;
      }
      return true;
    });
    if (!s) return s;
    if (!bad) return bad;
  }

  // Scores at the period's start and end; overdue recommendations at its end.
  const Timestamp before_start{start.ms - 1}, before_end{end.ms - 1};
  struct AgencyRow {
    AgencyState at_end;
    double start_score = 0;
    Score end_score;
  };
  std::vector<Scored> ranking_input;
  std::map<std::string, AgencyRow> rows;
  Table overdue{{tx.agency, tx.district, "建议 / Recommendation", tx.deadline, tx.days, tx.entry},
                {}};
  std::uint64_t overdue_count = 0;
  for (const auto& [id, info] : reg->agencies()) {
    const Ledger& l = *shards[static_cast<std::size_t>(partition_for_key(id.value, partitions))];
    auto st_end = agency_state_as_of(l, id, before_end);
    if (!st_end) continue;  // registered after the period
    auto st_start = agency_state_as_of(l, id, before_start);
    AgencyRow row{*st_end, 100, score(*st_end, before_end, rules, false)};
    if (st_start) row.start_score = score(*st_start, before_start, rules, false).value;
    for (const RecItem& r : st_end->recommendations)
      if (overdue_at(r, before_end)) {
        ++overdue_count;
        auto rec = recommendation_state(l, r.id);
        overdue.rows.push_back({agency_name(id), district_of(id),
                                rec ? rec->reference : to_hex(r.id.view()), day_of(r.deadline),
                                std::to_string((before_end.ms - r.deadline.ms) / 86400000),
                                std::to_string(partition_for_key(id.value, partitions)) + "/" +
                                    std::to_string(r.issued_seq.value)});
      }
    ranking_input.push_back(Scored{*st_end, row.end_score});
    rows.emplace(id.value, std::move(row));
  }
  std::vector<Scored> ranking = ranked(std::move(ranking_input));

  // ---- Tables ----
  const std::string label = period_label(o.period, zh);
  char title_buf[256];
  std::snprintf(title_buf, sizeof title_buf, tx.title_fmt, label.c_str());
  const std::string title = title_buf;

  Table t_category{{tx.category, tx.submitted, tx.confirmed, tx.unfounded}, {}};
  for (std::size_t c = 0; c < kCategoryCount; ++c) {
    std::string name = category_name(static_cast<Category>(c));
    const Counts& x = by_category[name];
    t_category.rows.push_back({name, std::to_string(x.submitted), std::to_string(x.confirmed),
                               std::to_string(x.unfounded)});
  }
  Table t_source{{tx.source, tx.submitted}, {}};
  for (const auto& [name, x] : by_source)
    t_source.rows.push_back({name, std::to_string(x.submitted)});
  Table t_district{{tx.district, tx.submitted, tx.confirmed, tx.complaints_in, tx.complaints_done,
                    tx.recs_issued},
                   {}};
  for (const auto& [name, x] : by_district)
    t_district.rows.push_back({name, std::to_string(x.submitted), std::to_string(x.confirmed),
                               std::to_string(x.complaints_in), std::to_string(x.complaints_done),
                               std::to_string(x.recs_issued)});
  Table t_agency{{tx.rank, tx.agency, tx.district, tx.submitted, tx.confirmed, tx.complaints_in,
                  tx.complaints_done, tx.score_start, tx.score_end, tx.change, tx.band},
                 {}};
  for (std::size_t i = 0; i < ranking.size(); ++i) {
    const AgencyId& id = ranking[i].agency.info.id;
    const AgencyRow& row = rows.at(id.value);
    const Counts& x = by_agency[id.value];
    double change = row.end_score.value - row.start_score;
    t_agency.rows.push_back({std::to_string(i + 1), agency_name(id), district_of(id),
                             std::to_string(x.submitted), std::to_string(x.confirmed),
                             std::to_string(x.complaints_in), std::to_string(x.complaints_done),
                             fixed1(row.start_score), fixed1(row.end_score.value),
                             (change > 0 ? "+" : "") + fixed1(change), row.end_score.band});
  }
  std::sort(verified.begin(), verified.end(), [](const Verified& a, const Verified& b) {
    return std::tie(a.at.ms, a.partition, a.seq) < std::tie(b.at.ms, b.partition, b.seq);
  });
  Table t_verified{{tx.date, tx.agency, tx.category, tx.severity, tx.record_title, tx.entry}, {}};
  for (const Verified& v : verified)
    t_verified.rows.push_back({day_of(v.at), agency_name(v.agency), v.category, v.severity, v.title,
                               std::to_string(v.partition) + "/" + std::to_string(v.seq)});
  Table t_month{{tx.month, tx.submitted}, {}};
  for (std::size_t m = 0; m < per_month.size(); ++m)
    t_month.rows.push_back({day_of(bounds->months[m]).substr(0, 7), std::to_string(per_month[m])});

  Report rep;
  rep.period = o.period;
  rep.title = title;
  const std::string base = "report-" + o.period + "." + o.lang;
  const std::vector<std::pair<std::string, const Table*>> tables = {
      {"by-category", &t_category}, {"by-source", &t_source},  {"by-district", &t_district},
      {"agencies", &t_agency},      {"verified", &t_verified}, {"overdue", &overdue},
      {"by-month", &t_month}};
  for (const auto& [name, t] : tables) rep.csv.push_back({base + "." + name + ".csv", t->csv()});

  // ---- The HTML ----
  std::ostringstream h;
  h << "<!doctype html>\n<html lang=\"" << (zh ? "zh-CN" : "en")
    << "\">\n<head><meta charset=\"utf-8\">"
    << "<title>" << esc(title) << "</title>\n<style>"
    << "body{font-family:\"Noto Sans CJK SC\",\"PingFang SC\",\"Microsoft YaHei\",sans-serif;"
       "max-width:1000px;margin:2rem auto;padding:0 1rem;color:#1d2733;line-height:1.5}"
       "h1{color:#b4232a}table{border-collapse:collapse;width:100%;margin:1rem 0;font-size:.9rem}"
       "caption{text-align:left;font-weight:700;padding:.3rem 0}th,td{border-bottom:1px solid "
       "#d8dee6;"
       "padding:.3rem .5rem;text-align:left}figure{margin:1rem 0}figcaption{font-weight:700}"
       "svg{width:100%;height:auto}.cards{display:flex;flex-wrap:wrap;gap:1rem}.card{border:1px "
       "solid "
       "#d8dee6;border-radius:6px;padding:.6rem 1rem;min-width:9rem}.card "
       "b{display:block;font-size:"
       "1.5rem}code{font-size:.8rem;word-break:break-all}"
    << "</style></head>\n<body>\n<h1>" << esc(title) << "</h1>\n";
  h << "<p>" << esc(o.period) << " · " << esc(format_time(start)) << " — " << esc(format_time(end))
    << " · " << esc(rules.at(before_end).id) << "</p>\n";
  h << "<h2>" << esc(tx.summary) << "</h2>\n<div class=\"cards\">";
  auto card = [&](const char* name, const std::string& v) {
    h << "<div class=\"card\">" << esc(name) << "<b>" << esc(v) << "</b></div>";
  };
  card(tx.submitted, std::to_string(total.submitted));
  card(tx.confirmed, std::to_string(total.confirmed));
  card(tx.unfounded, std::to_string(total.unfounded));
  card(tx.complaints_in, std::to_string(total.complaints_in));
  card(tx.complaints_done, std::to_string(total.complaints_done));
  card(tx.recs_issued, std::to_string(total.recs_issued));
  card(tx.recs_closed, std::to_string(total.recs_closed));
  card(tx.overdue, std::to_string(overdue_count));
  card(tx.compensation, fixed1(static_cast<double>(total.compensation_fen) / 100));
  h << "</div>\n";
  std::vector<std::pair<std::string, double>> chart;
  for (const auto& r : t_month.rows) chart.emplace_back(r[0], std::stod(r[1]));
  h << bar_chart(tx.trend_title, chart);
  chart.clear();
  for (const auto& r : t_category.rows) chart.emplace_back(r[0], std::stod(r[1]));
  h << bar_chart(std::string(tx.category) + " · " + tx.submitted, chart);
  h << t_category.html(tx.category, tx.none);
  chart.clear();
  for (const auto& r : t_source.rows) chart.emplace_back(r[0], std::stod(r[1]));
  h << bar_chart(std::string(tx.source) + " · " + tx.submitted, chart, "#6b8e23");
  h << t_district.html(tx.district, tx.none);
  // The HTML stays readable at any volume: long lists show their first rows, the CSV has all.
  constexpr std::size_t kListed = 200;
  h << t_verified.html(tx.verified_title, tx.none, kListed, base + ".verified.csv");
  h << overdue.html(tx.overdue_title, tx.none, kListed, base + ".overdue.csv");
  chart.clear();
  for (std::size_t i = 0; i < std::min<std::size_t>(ranking.size(), 15); ++i)
    chart.emplace_back(t_agency.rows[i][1], std::round(ranking[i].score.value * 10) / 10);
  h << bar_chart(tx.ranking_title, chart, "#1f7a3a");
  h << t_agency.html(tx.ranking_title, tx.none, 500, base + ".agencies.csv");
  h << "<h2>" << esc(tx.data_files) << "</h2>\n<ul>";
  for (const auto& f : rep.csv)
    h << "<li>" << esc(f.name) << " <code>" << to_hex(sha256(f.content)) << "</code></li>";
  h << "</ul>\n<p>" << esc(tx.determinism) << "</p>\n</body>\n</html>\n";
  rep.html = {base + ".html", h.str()};
  return rep;
}

Result<std::vector<AnchoredReport>> find_anchored_reports(const std::vector<const Ledger*>& shards,
                                                          const Digest& content_sha256) {
  std::vector<AnchoredReport> out;
  for (std::size_t p = 0; p < shards.size(); ++p) {
    auto reps = reports(*shards[p]);
    if (!reps) return reps.status();
    for (const ReportState& r : *reps)
      if (r.content_sha256 == content_sha256)
        out.push_back(
            AnchoredReport{static_cast<int>(p), r.seq, r.period, r.title, r.content_bytes, r.at});
  }
  return out;
}

}  // namespace govcredit
