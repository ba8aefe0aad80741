// apply(event): how each accepted event changes the projections (LEDGER_FORMAT.md §10.2).
//
//   audit trails    every event: a line in its subject agency's and its issuer's trail
//   agency status   counts by category × record phase and by complaint phase, the confirmed
//                   records that count towards the score, recommendations and compensation
//   lifecycles      records, objections, complaints, recommendations, each with its history
//
// apply never fails and never checks a rule (rules.cc did, before the event was accepted); an
// object it cannot find (only possible in a log filtered by time) is skipped.
#include <algorithm>
#include <type_traits>
#include <variant>

#include "pack.h"
#include "projector_impl.h"

namespace govcredit {
namespace {

std::size_t idx(Category c) {
  return static_cast<std::size_t>(c);
}
std::size_t idx(RecordPhase p) {
  return static_cast<std::size_t>(p);
}
std::size_t idx(ComplaintPhase p) {
  return static_cast<std::size_t>(p);
}

// Moves one record between count cells.
void move_record(AgencyState* a, Category from_c, RecordPhase from_p, Category to_c,
                 RecordPhase to_p) {
  if (a == nullptr) return;
  auto& from = a->records[idx(from_c)][idx(from_p)];
  if (from > 0) --from;
  ++a->records[idx(to_c)][idx(to_p)];
}

void move_complaint(AgencyState* a, ComplaintPhase from, ComplaintPhase to) {
  if (a == nullptr) return;
  if (a->complaints[idx(from)] > 0) --a->complaints[idx(from)];
  ++a->complaints[idx(to)];
}

// The payload's type code (event_type_code) of T.
template <class T, std::size_t I = 0>
constexpr std::uint8_t type_code_of() {
  if constexpr (std::is_same_v<std::variant_alternative_t<I, Payload>, T>)
    return static_cast<std::uint8_t>(I);
  else
    return type_code_of<T, I + 1>();
}

// An agency's items are appended as records are confirmed and recommendations issued, so each
// list is in the order of those events' seqs; an item is found by binary search for the seq that
// created it. (A scan from the end took longer as an agency's items grew, and each shard's
// ingest with it: ~3% of a 4M-event ingest's profile.)
template <class Item, class SeqOf>
Item* item_at(std::vector<Item>& items, Seq seq, SeqOf seq_of) {
  auto it = std::lower_bound(items.begin(), items.end(), seq,
                             [&](const Item& i, Seq s) { return seq_of(i) < s; });
  return it != items.end() && seq_of(*it) == seq ? &*it : nullptr;
}

// A confirmed record's item: created by the verification that confirmed it, one of the
// RecordVerified lines of the record's history (others, on a record no longer pending, changed
// nothing).
RecordItem* item_of(AgencyState* a, const RecordState& r, const EventId& record) {
  if (a == nullptr) return nullptr;
  constexpr std::uint8_t kVerified = type_code_of<RecordVerified>();
  for (const Line& l : r.history) {
    if (l.type != kVerified) continue;
    RecordItem* i = item_at(a->items, l.seq, [](const RecordItem& x) { return x.confirmed_seq; });
    if (i != nullptr && i->record == record) return i;
  }
  return nullptr;
}

RecItem* rec_item_of(AgencyState* a, const RecommendationState& r, const EventId& id) {
  if (a == nullptr) return nullptr;
  RecItem* i = item_at(a->recommendations, r.issued, [](const RecItem& x) { return x.issued_seq; });
  return i != nullptr && i->id == id ? i : nullptr;
}

}  // namespace

void Projector::apply(const Event& e, Seq seq) {
  impl_->apply(e, seq);
}

void Projector::Impl::apply(const Event& e, Seq seq) {
  const Line line{seq, e.issued_at, event_type_code(e)};
  const Hashed subject(e.subject.value);
  add_line(TrailKind::kAgency, subject, line);
  add_line(TrailKind::kPrincipal, Hashed(e.issuer.value), line);

  if (const auto* p = e.as<AgencyRegistered>()) {
    AgencyState a;
    a.info = AgencyInfo{e.subject, p->name_zh, p->name_en, p->level, p->district, p->parent};
    a.registered = seq;
    put(agencies, e.subject.value, std::move(a));
  }
  AgencyState* a = agency(subject, true);
  if (a != nullptr) {
    ++a->events;
    a->last_at = std::max(a->last_at, e.issued_at);
  }
  // The subject's changed item blocks (looked up once, when an event first changes one).
  ItemBlocks* changed_blocks = nullptr;
  auto blocks_of = [&]() -> ItemBlocks& {
    if (changed_blocks == nullptr) {
      auto it = item_blocks.find(subject);
      if (it == item_blocks.end()) it = item_blocks.emplace(e.subject.value, ItemBlocks{}).first;
      changed_blocks = &it->second;
    }
    return *changed_blocks;
  };
  // Marks the storage block of item i (of `items`, the agency's) changed, and returns i.
  auto touch = [&](auto& items, std::set<std::uint32_t>& blocks, auto* i) {
    if (i) {
      const auto b = static_cast<std::uint32_t>((i - items.data()) / pack::kAgencyBlockItems);
      if (blocks.empty() || *blocks.rbegin() != b) blocks.insert(b);  // mostly the last block
    }
    return i;
  };
  auto item = [&](const RecordState& r, const EventId& record) {
    return touch(a->items, blocks_of().records, item_of(a, r, record));
  };
  auto rec_item = [&](const RecommendationState& r, const EventId& id) {
    return touch(a->recommendations, blocks_of().recommendations, rec_item_of(a, r, id));
  };
  // Adds the line to a lifecycle object's history and marks it changed.
  auto record_step = [&](const EventId& id, bool moves_last = true) -> RecordState* {
    RecordState* r = record(id, true);
    if (r == nullptr) return nullptr;
    r->history.push_back(line);
    if (moves_last) r->last_at = std::max(r->last_at, e.issued_at);
    return r;
  };
  auto complaint_step = [&](const EventId& id) -> ComplaintState* {
    ComplaintState* c = complaint(id, true);
    if (c == nullptr) return nullptr;
    c->history.push_back(line);
    c->last_at = std::max(c->last_at, e.issued_at);
    return c;
  };
  auto recommendation_step = [&](const EventId& id,
                                 bool moves_last = true) -> RecommendationState* {
    RecommendationState* r = recommendation(id, true);
    if (r == nullptr) return nullptr;
    r->history.push_back(line);
    if (moves_last) r->last_at = std::max(r->last_at, e.issued_at);
    return r;
  };

  if (const auto* p = e.as<RecordSubmitted>()) {
    RecordState r;
    r.agency = e.subject;
    r.source = e.issuer;
    r.category = p->category;
    r.submitted = seq;
    r.submitted_at = e.issued_at;
    r.conduct_at = p->conduct_at;
    r.last_at = e.issued_at;
    r.history.push_back(line);
    put(records, e.id, std::move(r));
    if (a) ++a->records[idx(p->category)][idx(RecordPhase::kPending)];
  } else if (const auto* p = e.as<RecordVerified>()) {
    RecordState* r = record_step(p->record);
    if (r == nullptr || r->phase != RecordPhase::kPending) return;
    bool confirmed = p->outcome == VerificationOutcome::kConfirmed;
    RecordPhase to = confirmed ? RecordPhase::kConfirmed : RecordPhase::kUnfounded;
    move_record(a, r->category, r->phase, r->category, to);
    r->phase = to;
    if (confirmed) {
      r->severity = p->severity.value_or(Severity::kMinor);
      r->confirmed_at = e.issued_at;
      if (a) {
        a->items.push_back(RecordItem{p->record, seq, e.issued_at, r->category, *r->severity,
                                      std::nullopt, ItemEnd::kCounting, Timestamp{}, Seq{}});
        touch(a->items, blocks_of().records, &a->items.back());
      }
    }
  } else if (const auto* p = e.as<RecordCorrected>()) {
    RecordState* r = record_step(p->record);
    if (r == nullptr) return;
    ++r->corrections;
    if (p->category && *p->category != r->category) {
      move_record(a, r->category, r->phase, *p->category, r->phase);
      r->category = *p->category;
    }
    if (p->conduct_at) r->conduct_at = *p->conduct_at;
    if (p->severity && r->phase == RecordPhase::kConfirmed) r->severity = *p->severity;
    if ((p->category || p->severity) && r->phase == RecordPhase::kConfirmed)
      if (RecordItem* i = item(*r, p->record)) {
        i->category = r->category;
        i->severity = r->severity.value_or(i->severity);
        i->amended = seq;
      }
  } else if (const auto* p = e.as<ObjectionRaised>()) {
    RecordState* r = record_step(p->record);
    if (r == nullptr) return;
    r->open_objection = e.id;
    put(objections, e.id, ObjectionState{p->record, seq, e.issued_at, 0, Seq{}});
  } else if (const auto* p = e.as<ObjectionResolved>()) {
    ObjectionState* o = objection(p->objection, true);
    if (o == nullptr) return;
    bool upheld = p->outcome == ObjectionOutcome::kUpheld;
    o->state = upheld ? 1 : 2;
    o->resolved = seq;
    RecordState* r = record_step(o->record);
    if (r == nullptr) return;
    if (r->open_objection == p->objection) r->open_objection.reset();
    if (upheld && (r->phase == RecordPhase::kPending || r->phase == RecordPhase::kConfirmed)) {
      move_record(a, r->category, r->phase, r->category, RecordPhase::kOverturned);
      r->phase = RecordPhase::kOverturned;
      if (RecordItem* i = item(*r, o->record)) {
        i->end = ItemEnd::kOverturned;
        i->ended_at = e.issued_at;
        i->ended_seq = seq;
      }
    }
  } else if (const auto* p = e.as<RecordRepaired>()) {
    RecordState* r = record_step(p->record);
    if (r == nullptr || r->phase != RecordPhase::kConfirmed) return;
    bool repaired = p->kind == RepairKind::kRepaired;
    RecordPhase to = repaired ? RecordPhase::kRepaired : RecordPhase::kExpired;
    move_record(a, r->category, r->phase, r->category, to);
    r->phase = to;
    if (RecordItem* i = item(*r, p->record)) {
      i->end = repaired ? ItemEnd::kRepaired : ItemEnd::kExpired;
      i->ended_at = e.issued_at;
      i->ended_seq = seq;
    }
  } else if (const auto* p = e.as<ComplaintFiled>()) {
    ComplaintState c;
    c.agency = e.subject;
    c.receipt = p->receipt;
    c.category = p->category;
    c.secret_digest = p->secret_digest;
    c.filed = seq;
    c.filed_at = e.issued_at;
    c.last_at = e.issued_at;
    c.history.push_back(line);
    put(complaints, e.id, std::move(c));
    put(receipts, p->receipt, e.id);  // (replaces the slot whether or not it was loaded)
    if (a) ++a->complaints[idx(ComplaintPhase::kAwaitingTriage)];
  } else if (const auto* p = e.as<ComplaintTriaged>()) {
    ComplaintState* c = complaint_step(p->complaint);
    if (c == nullptr) return;
    ComplaintPhase to = ComplaintPhase::kInHandling;
    switch (p->outcome) {
      case TriageOutcome::kAccepted:
        to = ComplaintPhase::kInHandling;
        break;
      case TriageOutcome::kRejected:
        to = ComplaintPhase::kRejected;
        break;
      case TriageOutcome::kDuplicate:
        to = ComplaintPhase::kDuplicate;
        break;
      case TriageOutcome::kTransferred:
        to = ComplaintPhase::kTransferred;
        break;
    }
    move_complaint(a, c->phase, to);
    c->phase = to;
    c->triage = p->outcome;
    ++c->triages;
    if (p->record) {
      c->record = *p->record;
      record_step(*p->record, false);
    }
  } else if (const auto* p = e.as<ComplaintReopened>()) {
    ComplaintState* c = complaint_step(p->complaint);
    if (c == nullptr) return;
    move_complaint(a, c->phase, ComplaintPhase::kAwaitingTriage);
    c->phase = ComplaintPhase::kAwaitingTriage;
    c->resolution.reset();
    ++c->reopens;
  } else if (const auto* p = e.as<ComplaintClosed>()) {
    ComplaintState* c = complaint_step(p->complaint);
    if (c == nullptr) return;
    move_complaint(a, c->phase, ComplaintPhase::kClosed);
    c->phase = ComplaintPhase::kClosed;
    c->resolution = p->resolution;
  } else if (const auto* p = e.as<RecommendationIssued>()) {
    RecommendationState r;
    r.agency = e.subject;
    r.reference = p->reference;
    r.records = p->records;
    r.issued = seq;
    r.issued_at = e.issued_at;
    r.deadline = p->deadline;
    r.last_at = e.issued_at;
    r.history.push_back(line);
    put(recommendations, e.id, std::move(r));
    put(references, p->reference, e.id);
    for (const EventId& rec : p->records) record_step(rec, false);
    if (a) {
      a->recommendations.push_back(
          RecItem{e.id, seq, e.issued_at, p->deadline, std::nullopt, std::nullopt});
      touch(a->recommendations, blocks_of().recommendations, &a->recommendations.back());
    }
  } else if (const auto* p = e.as<RectificationReported>()) {
    RecommendationState* r = recommendation_step(p->recommendation);
    if (r == nullptr) return;
    r->rectifications.push_back(Rectification{e.id, seq, e.issued_at});
    if (r->phase == RecommendationPhase::kOpen)
      r->phase = RecommendationPhase::kRectificationReported;
    put(rectifications, e.id, RectificationState{p->recommendation, e.issued_at, seq});
    if (RecItem* i = rec_item(*r, p->recommendation); i && !i->rectified)
      i->rectified = std::make_pair(e.issued_at, seq);
  } else if (const auto* p = e.as<RecommendationClosed>()) {
    RecommendationState* r = recommendation_step(p->recommendation);
    if (r == nullptr) return;
    r->phase = RecommendationPhase::kClosed;
    r->outcome = p->outcome;
    r->closed_at = e.issued_at;
    r->closed = seq;
    if (RecItem* i = rec_item(*r, p->recommendation))
      i->closed = RecItem::Closed{p->outcome, e.issued_at, seq};
  } else if (const auto* p = e.as<CompensationRecorded>()) {
    if (p->record) record_step(*p->record, false);
    if (p->recommendation) recommendation_step(*p->recommendation, false);
    if (a) {
      ++a->compensations;
      a->compensation_fen += p->amount_fen;
    }
  } else if (const auto* p = e.as<ReportPublished>()) {
    Bytes key(p->period.begin(), p->period.end());
    key.push_back(0);
    for (int i = 7; i >= 0; --i) key.push_back(static_cast<std::uint8_t>(seq.value >> (8 * i)));
    reports.emplace_back(std::move(key),
                         pack::encode(ReportState{p->period, seq, p->content_sha256,
                                                  p->content_bytes, e.issued_at, p->title}));
  }
}

}  // namespace govcredit
