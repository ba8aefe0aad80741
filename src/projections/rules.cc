// The domain rules of events/FORMAT.md §5b: whether an event may follow the shard's state.
// One function per event type; each failure has its own reason code and says what to do.
#include <algorithm>
#include <chrono>

#include "govcredit/encoding.h"
#include "projector_impl.h"

namespace govcredit {
namespace {

constexpr std::int64_t kDayMs = 86400000;

std::string id_text(const EventId& id) {
  return to_hex(id.view());
}
std::string when(Timestamp t) {
  return format_time(t);
}

Status fail(Reason r, std::string message) {
  return Status(r, std::move(message));
}

}  // namespace

Status Projector::check(const Event& e, Role issuer_role) {
  return impl_->check(e, issuer_role);
}

Status Projector::Impl::check(const Event& e, Role issuer_role) {
  const std::string_view type = e.type_name();  // (for the messages: builds nothing)
  // The lifecycle-order rule, shared by every step.
  auto in_order = [&](Timestamp previous, std::string_view what) {
    if (e.issued_at >= previous) return Status::ok();
    return fail(Reason::kLifecycleOutOfOrder,
                "this " + std::string(type) + " is dated " + when(e.issued_at) + ", before the " +
                    std::string(what) + " it follows (" + when(previous) +
                    "); a lifecycle's steps must be in time order");
  };
  auto ours = [&](const AgencyId& owner, std::string_view what, const EventId& id) {
    if (owner == e.subject) return Status::ok();
    return fail(Reason::kReferenceOtherAgency,
                std::string(what) + " " + id_text(id) + " concerns '" + owner.value +
                    "', but this event's subject is '" + e.subject.value + "'");
  };
  // Looks up a record and applies the two shared rules.
  auto find_record = [&](const EventId& id, RecordState*& out) {
    out = record(id);
    if (out == nullptr)
      return fail(Reason::kRecordUnknown, "no record " + id_text(id) +
                                              " was submitted in this shard (the record id is the "
                                              "record.submitted event's id)");
    if (Status s = ours(out->agency, "the record", id); !s) return s;
    return Status::ok();
  };
  auto find_complaint = [&](const EventId& id, ComplaintState*& out) {
    out = complaint(id);
    if (out == nullptr)
      return fail(Reason::kComplaintUnknown,
                  "no complaint " + id_text(id) + " was filed in this shard");
    return ours(out->agency, "the complaint", id);
  };
  auto find_recommendation = [&](const EventId& id, RecommendationState*& out) {
    out = recommendation(id);
    if (out == nullptr)
      return fail(Reason::kRecommendationUnknown,
                  "no recommendation " + id_text(id) + " was issued in this shard");
    return ours(out->agency, "the recommendation", id);
  };
  // A step continuing a lifecycle: the object exists, is the subject's, and is not dated later.
  auto continue_record = [&](const EventId& id, RecordState*& out) {
    if (Status s = find_record(id, out); !s) return s;
    return in_order(out->last_at, "record's last step");
  };
  auto continue_complaint = [&](const EventId& id, ComplaintState*& out) {
    if (Status s = find_complaint(id, out); !s) return s;
    return in_order(out->last_at, "complaint's last step");
  };
  auto continue_recommendation = [&](const EventId& id, RecommendationState*& out) {
    if (Status s = find_recommendation(id, out); !s) return s;
    return in_order(out->last_at, "recommendation's last step");
  };
  auto closed_record = [](RecordPhase p) {
    return p != RecordPhase::kPending && p != RecordPhase::kConfirmed;
  };

  if (const auto* p = e.as<RecordSubmitted>()) {
    if (p->conduct_at > e.issued_at)
      return fail(Reason::kConductAfterSubmission, "payload.conduct_at (" + when(p->conduct_at) +
                                                       ") is after the submission itself (" +
                                                       when(e.issued_at) + ")");
    return Status::ok();
  }
  if (const auto* p = e.as<RecordVerified>()) {
    RecordState* r;
    if (Status s = continue_record(p->record, r); !s) return s;
    if (r->phase != RecordPhase::kPending)
      return fail(Reason::kRecordAlreadyVerified,
                  "the record " + id_text(p->record) + " was already verified (it is " +
                      std::string(enum_name(r->phase)) +
                      "); to change it, correct it or resolve an objection");
    return Status::ok();
  }
  if (const auto* p = e.as<RecordCorrected>()) {
    RecordState* r;
    if (Status s = continue_record(p->record, r); !s) return s;
    if (closed_record(r->phase))
      return fail(Reason::kRecordClosed, "the record " + id_text(p->record) + " is " +
                                             std::string(enum_name(r->phase)) +
                                             " and can no longer be corrected");
    if (issuer_role != Role::kAuthority && e.issuer != r->source)
      return fail(Reason::kNotSubmittingSource,
                  "the record " + id_text(p->record) + " was submitted by '" + r->source.value +
                      "'; only that source or the authority may correct it");
    if (p->severity && r->phase != RecordPhase::kConfirmed)
      return fail(Reason::kRecordNotConfirmed,
                  "payload.severity can only be amended on a confirmed record; the record is " +
                      std::string(enum_name(r->phase)));
    return Status::ok();
  }
  if (const auto* p = e.as<ObjectionRaised>()) {
    RecordState* r;
    if (Status s = continue_record(p->record, r); !s) return s;
    if (closed_record(r->phase))
      return fail(Reason::kRecordClosed, "the record " + id_text(p->record) + " is " +
                                             std::string(enum_name(r->phase)) +
                                             "; there is nothing left to object to");
    if (r->open_objection)
      return fail(Reason::kObjectionOpen, "an objection to this record (" +
                                              id_text(*r->open_objection) +
                                              ") is still open; wait for its resolution");
    return Status::ok();
  }
  if (const auto* p = e.as<ObjectionResolved>()) {
    ObjectionState* o = objection(p->objection);
    if (o == nullptr)
      return fail(Reason::kObjectionUnknown,
                  "no objection " + id_text(p->objection) + " was raised in this shard");
    RecordState* r;
    if (Status s = continue_record(o->record, r); !s) return s;
    if (o->state != 0)
      return fail(Reason::kObjectionAlreadyResolved,
                  "the objection " + id_text(p->objection) + " was already resolved (" +
                      (o->state == 1 ? "upheld" : "dismissed") + ")");
    return Status::ok();
  }
  if (const auto* p = e.as<RecordRepaired>()) {
    RecordState* r;
    if (Status s = continue_record(p->record, r); !s) return s;
    if (r->phase != RecordPhase::kConfirmed)
      return fail(Reason::kRecordNotConfirmed,
                  "only a confirmed record can be repaired or expire; the record is " +
                      std::string(enum_name(r->phase)));
    if (r->open_objection)
      return fail(Reason::kObjectionOpen, "an objection to this record (" +
                                              id_text(*r->open_objection) +
                                              ") is still open; resolve it first");
    if (p->kind == RepairKind::kExpired) {
      Timestamp due{r->confirmed_at->ms + rules.expiry_days * kDayMs};
      if (e.issued_at < due)
        return fail(Reason::kExpiryTooEarly,
                    "a record expires " + std::to_string(rules.expiry_days) +
                        " days after its confirmation, on " + when(due) + " for this one");
      return Status::ok();
    }
    const RectificationState* rect = p->basis ? rectification(*p->basis) : nullptr;
    const RecommendationState* rec = rect ? recommendation(rect->recommendation) : nullptr;
    bool names_record =
        rec && std::find(rec->records.begin(), rec->records.end(), p->record) != rec->records.end();
    if (!names_record || rec->phase != RecommendationPhase::kClosed ||
        rec->outcome != RecommendationOutcome::kSatisfied)
      return fail(Reason::kRepairWithoutRectification,
                  "credit repair needs payload.basis to name the rectification report of a "
                  "recommendation about this record that was closed as satisfied");
    Timestamp due{rect->at.ms + rules.repair_min_days * kDayMs};
    if (e.issued_at < due)
      return fail(Reason::kRepairTooEarly,
                  "credit repair is possible " + std::to_string(rules.repair_min_days) +
                      " days after the rectification, on " + when(due) + " for this record");
    return Status::ok();
  }
  if (const auto* p = e.as<ComplaintFiled>()) {
    if (auto other = receipt(p->receipt))
      return fail(Reason::kReceiptExists, "the receipt number " + p->receipt +
                                              " already belongs to complaint " + id_text(*other));
    return Status::ok();
  }
  if (const auto* p = e.as<ComplaintTriaged>()) {
    ComplaintState* c;
    if (Status s = continue_complaint(p->complaint, c); !s) return s;
    if (c->phase == ComplaintPhase::kClosed)
      return fail(Reason::kComplaintClosed,
                  "the complaint " + c->receipt + " is closed; reopen it before triaging again");
    if (c->phase != ComplaintPhase::kAwaitingTriage)
      return fail(Reason::kComplaintAlreadyTriaged, "the complaint " + c->receipt +
                                                        " was already triaged (" +
                                                        std::string(enum_name(c->phase)) +
                                                        "); a complaint is triaged once unless "
                                                        "reopened");
    if (p->record) {
      RecordState* r;
      if (Status s = find_record(*p->record, r); !s) return s;
      if (Status s = in_order(r->submitted_at, "submission of the linked record"); !s) return s;
    }
    if (p->duplicate_of) {
      if (*p->duplicate_of == p->complaint)
        return fail(Reason::kSelfReference, "a complaint cannot be a duplicate of itself");
      ComplaintState* d;
      if (Status s = find_complaint(*p->duplicate_of, d); !s) return s;
      if (Status s = in_order(d->filed_at, "filing of the complaint it duplicates"); !s) return s;
    }
    return Status::ok();
  }
  if (const auto* p = e.as<ComplaintReopened>()) {
    ComplaintState* c;
    if (Status s = continue_complaint(p->complaint, c); !s) return s;
    if (c->phase == ComplaintPhase::kAwaitingTriage)
      return fail(
          Reason::kComplaintNotTriaged,
          "the complaint " + c->receipt + " still awaits triage; there is nothing to reopen");
    return Status::ok();
  }
  if (const auto* p = e.as<ComplaintClosed>()) {
    ComplaintState* c;
    if (Status s = continue_complaint(p->complaint, c); !s) return s;
    if (c->phase == ComplaintPhase::kClosed)
      return fail(Reason::kComplaintClosed, "the complaint " + c->receipt + " is already closed");
    if (c->phase == ComplaintPhase::kAwaitingTriage)
      return fail(Reason::kComplaintNotTriaged,
                  "the complaint " + c->receipt + " must be triaged before it is closed");
    return Status::ok();
  }
  if (const auto* p = e.as<RecommendationIssued>()) {
    for (std::size_t i = 0; i < p->records.size(); ++i) {
      const EventId& id = p->records[i];
      for (std::size_t j = 0; j < i; ++j)
        if (p->records[j] == id)
          return fail(Reason::kDuplicateReference,
                      "payload.records names the record " + id_text(id) + " twice");
      RecordState* r;
      if (Status s = find_record(id, r); !s) return s;
      if (r->phase != RecordPhase::kConfirmed)
        return fail(Reason::kRecordNotConfirmed,
                    "a recommendation addresses confirmed records only; the record " + id_text(id) +
                        " is " + std::string(enum_name(r->phase)));
      if (Status s = in_order(*r->confirmed_at, "confirmation of a record it names"); !s) return s;
    }
    if (auto other = reference(p->reference))
      return fail(Reason::kReferenceExists, "the reference " + p->reference +
                                                " already belongs to recommendation " +
                                                id_text(*other));
    return Status::ok();
  }
  if (const auto* p = e.as<RectificationReported>()) {
    RecommendationState* r;
    if (Status s = continue_recommendation(p->recommendation, r); !s) return s;
    if (r->phase == RecommendationPhase::kClosed)
      return fail(Reason::kRecommendationClosed, "the recommendation " + r->reference +
                                                     " is closed; no further reports are taken");
    return Status::ok();
  }
  if (const auto* p = e.as<RecommendationClosed>()) {
    RecommendationState* r;
    if (Status s = continue_recommendation(p->recommendation, r); !s) return s;
    if (r->phase == RecommendationPhase::kClosed)
      return fail(Reason::kRecommendationClosed,
                  "the recommendation " + r->reference + " is already closed");
    if (p->outcome == RecommendationOutcome::kSatisfied && r->rectifications.empty())
      return fail(Reason::kRectificationMissing,
                  "the recommendation " + r->reference +
                      " cannot be closed as satisfied: the agency has reported no rectification");
    return Status::ok();
  }
  if (const auto* p = e.as<CompensationRecorded>()) {
    if (p->record) {
      RecordState* r;
      if (Status s = find_record(*p->record, r); !s) return s;
      if (Status s = in_order(r->submitted_at, "submission of the record"); !s) return s;
    }
    if (p->recommendation) {
      RecommendationState* r;
      if (Status s = find_recommendation(*p->recommendation, r); !s) return s;
      if (Status s = in_order(r->issued_at, "issue of the recommendation"); !s) return s;
    }
    return Status::ok();
  }
  if (const auto* p = e.as<ReportPublished>()) {
    Timestamp end = period_bounds(p->period).value().end;  // validation checked the syntax
    if (e.issued_at < end)
      return fail(Reason::kReportPeriodOpen, "the period " + p->period + " ends at " + when(end) +
                                                 "; its report can be published after that");
    return Status::ok();
  }
  return Status::ok();  // registry events: the Registry checked them
}

}  // namespace govcredit
