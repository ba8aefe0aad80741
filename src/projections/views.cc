#include "govcredit/views.h"

#include <algorithm>
#include <map>

#include "govcredit/codec.h"
#include "govcredit/encoding.h"

namespace govcredit {

using nlohmann::json;

json line_json(const Line& l) {
  return {{"seq", l.seq.value},
          {"at", format_time(l.at)},
          {"type", std::string(event_type_from_code(l.type))}};
}

json score_json(const Score& s) {
  json lines = json::array();
  for (const auto& c : s.lines) {
    json j = {{"points", c.points}, {"what", c.what}};
    if (c.seq) j["seq"] = c.seq->value;
    lines.push_back(std::move(j));
  }
  return {{"as_of", format_time(s.as_of)},
          {"rules", s.version},
          {"score", s.value},
          {"band", s.band},
          {"contributions", std::move(lines)}};
}

namespace {

json counts_by_category(const AgencyState& a) {
  json out = json::object();
  for (std::size_t c = 0; c < kCategoryCount; ++c) {
    json row = json::object();
    for (std::size_t p = 0; p < kRecordPhaseCount; ++p)
      if (a.records[c][p])
        row[std::string(enum_name(static_cast<RecordPhase>(p)))] = a.records[c][p];
    if (!row.empty()) out[std::string(enum_name(static_cast<Category>(c)))] = std::move(row);
  }
  return out;
}

json record_phase_totals(const AgencyState& a) {
  json out = json::object();
  for (std::size_t p = 0; p < kRecordPhaseCount; ++p)
    out[std::string(enum_name(static_cast<RecordPhase>(p)))] =
        a.records_in(static_cast<RecordPhase>(p));
  return out;
}

json complaint_totals(const AgencyState& a) {
  json out = json::object();
  for (std::size_t p = 0; p < kComplaintPhaseCount; ++p)
    out[std::string(enum_name(static_cast<ComplaintPhase>(p)))] = a.complaints[p];
  return out;
}

}  // namespace

json agency_status_json(const AgencyState& a, const Score& s, Timestamp as_of) {
  json overdue = json::array();
  std::size_t open = 0;
  for (const RecItem& r : a.recommendations) {
    if (r.issued_at > as_of) continue;
    if (!(r.closed && r.closed->at <= as_of)) ++open;
    if (overdue_at(r, as_of))
      overdue.push_back({{"recommendation", to_hex(r.id.view())},
                         {"seq", r.issued_seq.value},
                         {"deadline", format_time(r.deadline)},
                         {"days_overdue", (as_of.ms - r.deadline.ms) / 86400000}});
  }
  json j = {{"agency", a.info.id.value},
            {"name_zh", a.info.name_zh},
            {"name_en", a.info.name_en},
            {"level", std::string(enum_name(a.info.level))},
            {"as_of", format_time(as_of)},
            {"records", record_phase_totals(a)},
            {"records_by_category", counts_by_category(a)},
            {"complaints", complaint_totals(a)},
            {"recommendations", {{"issued", a.recommendations.size()}, {"open", open}}},
            {"overdue", std::move(overdue)},
            {"compensation", {{"count", a.compensations}, {"amount_fen", a.compensation_fen}}},
            {"events", a.events},
            {"score", s.value},
            {"band", s.band},
            {"rules", s.version}};
  if (a.info.district) j["district"] = *a.info.district;
  if (a.info.parent) j["parent"] = a.info.parent->value;
  return j;
}

namespace {
json history_json(const std::vector<Line>& h) {
  json out = json::array();
  for (const Line& l : h) out.push_back(line_json(l));
  return out;
}
}  // namespace

json record_json(const EventId& id, const RecordState& r) {
  json j = {{"record", to_hex(id.view())},
            {"agency", r.agency.value},
            {"source", r.source.value},
            {"category", std::string(enum_name(r.category))},
            {"phase", std::string(enum_name(r.phase))},
            {"submitted_seq", r.submitted.value},
            {"submitted_at", format_time(r.submitted_at)},
            {"conduct_at", format_time(r.conduct_at)},
            {"corrections", r.corrections},
            {"history", history_json(r.history)}};
  if (r.severity) j["severity"] = std::string(enum_name(*r.severity));
  if (r.confirmed_at) j["confirmed_at"] = format_time(*r.confirmed_at);
  if (r.open_objection) j["open_objection"] = to_hex(r.open_objection->view());
  return j;
}

namespace {

// The payload of the event at seq, as JSON.
Result<json> payload_at(const Ledger& ledger, Seq seq) {
  auto entry = ledger.get(seq);
  if (!entry) return entry.status();
  auto ev = decode_logged_wire(entry->wire);
  if (!ev)
    return Status(Reason::kCorrupt, "the entry at seq " + std::to_string(seq.value) +
                                        " does not decode: " + ev.status().message());
  return event_to_json(*ev, false)["payload"];
}

}  // namespace

Result<json> complaint_view(const Ledger& ledger, const EventId& id) {
  auto c = complaint_state(ledger, id);
  if (!c) return c.status();
  auto filed = payload_at(ledger, c->filed);
  if (!filed) return filed.status();
  json out = complaint_json(id, *c);
  out["summary"] = (*filed)["summary"];
  out["contact_sealed"] = !(*filed)["contact_sealed"].get<std::string>().empty();
  return out;
}

Result<json> recommendation_view(const Ledger& ledger, const EventId& id, Timestamp as_of) {
  auto r = recommendation_state(ledger, id);
  if (!r) return r.status();
  auto issued = payload_at(ledger, r->issued);
  if (!issued) return issued.status();
  json out = recommendation_json(id, *r, as_of);
  out["actions"] = (*issued)["actions"];
  return out;
}

Result<json> record_view(const Ledger& ledger, const EventId& id) {
  auto state = record_state(ledger, id);
  if (!state) return state.status();
  json out = record_json(id, *state);
  json original, current, corrections = json::array();
  for (const Line& l : state->history) {
    const std::string_view type = event_type_from_code(l.type);
    if (type != RecordSubmitted::kType && type != RecordCorrected::kType) continue;
    auto entry = ledger.get(l.seq);
    if (!entry) return entry.status();
    auto ev = decode_logged_wire(entry->wire);
    if (!ev)
      return Status(Reason::kCorrupt, "the entry at seq " + std::to_string(l.seq.value) +
                                          " does not decode: " + ev.status().message());
    json payload = event_to_json(*ev, false)["payload"];
    if (type == RecordSubmitted::kType) {
      original = payload;
      original["seq"] = l.seq.value;
      current = payload;
      continue;
    }
    json changes = json::object();
    for (auto& [k, v] : payload.items())
      if (k != "record" && k != "reason" && !v.is_null() && !(v.is_array() && v.empty()))
        changes[k] = v;
    corrections.push_back({{"seq", l.seq.value},
                           {"at", format_time(l.at)},
                           {"issuer", ev->issuer.value},
                           {"reason", payload.value("reason", "")},
                           {"changes", changes}});
    for (auto& [k, v] : changes.items()) {
      if (k == "evidence_added") {
        for (const auto& x : v) current["evidence"].push_back(x);
      } else if (k != "severity") {
        current[k] = v;
      }
    }
  }
  if (state->severity) current["severity"] = std::string(enum_name(*state->severity));
  out["original"] = std::move(original);
  out["corrections"] = std::move(corrections);
  out["current"] = std::move(current);
  return out;
}

json complaint_json(const EventId& id, const ComplaintState& c) {
  json j = {{"complaint", to_hex(id.view())},
            {"receipt", c.receipt},
            {"agency", c.agency.value},
            {"phase", std::string(enum_name(c.phase))},
            {"filed_seq", c.filed.value},
            {"filed_at", format_time(c.filed_at)},
            {"triages", c.triages},
            {"reopens", c.reopens},
            {"history", history_json(c.history)}};
  if (c.category) j["category"] = std::string(enum_name(*c.category));
  if (c.triage) j["triage"] = std::string(enum_name(*c.triage));
  if (c.resolution) j["resolution"] = std::string(enum_name(*c.resolution));
  if (c.record) j["record"] = to_hex(c.record->view());
  return j;
}

json recommendation_json(const EventId& id, const RecommendationState& r, Timestamp as_of) {
  json records = json::array();
  for (const EventId& x : r.records) records.push_back(to_hex(x.view()));
  json rects = json::array();
  for (const Rectification& x : r.rectifications)
    rects.push_back(
        {{"rectification", to_hex(x.id.view())}, {"seq", x.seq.value}, {"at", format_time(x.at)}});
  RecItem item{id, r.issued, r.issued_at, r.deadline, std::nullopt, std::nullopt};
  if (!r.rectifications.empty())
    item.rectified = std::make_pair(r.rectifications.front().at, r.rectifications.front().seq);
  if (r.outcome) item.closed = RecItem::Closed{*r.outcome, r.closed_at, r.closed};
  json j = {{"recommendation", to_hex(id.view())},
            {"reference", r.reference},
            {"agency", r.agency.value},
            {"records", std::move(records)},
            {"issued_seq", r.issued.value},
            {"issued_at", format_time(r.issued_at)},
            {"deadline", format_time(r.deadline)},
            {"phase", std::string(enum_name(r.phase))},
            {"overdue", overdue_at(item, as_of)},
            {"rectifications", std::move(rects)},
            {"history", history_json(r.history)}};
  if (r.outcome) {
    j["outcome"] = std::string(enum_name(*r.outcome));
    j["closed_at"] = format_time(r.closed_at);
  }
  return j;
}

std::vector<Scored> ranked(std::vector<Scored> v) {
  std::sort(v.begin(), v.end(), [](const Scored& a, const Scored& b) {
    if (a.score.value != b.score.value) return a.score.value > b.score.value;
    return a.agency.info.id < b.agency.info.id;
  });
  return v;
}

json rollup_json(const std::vector<Scored>& agencies, Timestamp as_of) {
  struct Acc {
    std::size_t agencies = 0;
    double score_sum = 0;
    std::array<std::uint32_t, kRecordPhaseCount> records{};
    std::uint32_t complaints = 0, overdue = 0;
    std::map<std::string, std::size_t> bands;
  };
  std::map<std::string, Acc> districts;
  Acc city;
  auto add = [&](Acc& acc, const Scored& s) {
    ++acc.agencies;
    acc.score_sum += s.score.value;
    for (std::size_t p = 0; p < kRecordPhaseCount; ++p)
      acc.records[p] += s.agency.records_in(static_cast<RecordPhase>(p));
    for (auto n : s.agency.complaints) acc.complaints += n;
    for (const RecItem& r : s.agency.recommendations) acc.overdue += overdue_at(r, as_of);
    ++acc.bands[s.score.band];
  };
  for (const Scored& s : agencies) {
    if (s.agency.info.id == system_subject()) continue;
    add(city, s);
    add(districts[s.agency.info.district.value_or("市级")], s);
  }
  auto to_json = [](const Acc& a) {
    json records = json::object();
    for (std::size_t p = 0; p < kRecordPhaseCount; ++p)
      records[std::string(enum_name(static_cast<RecordPhase>(p)))] = a.records[p];
    return json{
        {"agencies", a.agencies},
        {"average_score", a.agencies ? std::round(a.score_sum / a.agencies * 100) / 100 : 0.0},
        {"records", std::move(records)},
        {"complaints", a.complaints},
        {"overdue_recommendations", a.overdue},
        {"bands", a.bands}};
  };
  json d = json::object();
  for (const auto& [name, acc] : districts) d[name] = to_json(acc);
  return {{"as_of", format_time(as_of)}, {"city", to_json(city)}, {"districts", std::move(d)}};
}

}  // namespace govcredit
