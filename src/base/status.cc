#include "govcredit/status.h"

#include <array>
#include <vector>

namespace govcredit {
namespace {

struct ReasonEntry {
  Reason reason;
  std::string_view code;
};

constexpr std::array kTable = {
    ReasonEntry{Reason::kOk, "ok"},
    ReasonEntry{Reason::kJsonMalformed, "json_malformed"},
    ReasonEntry{Reason::kJsonDuplicateKey, "json_duplicate_key"},
    ReasonEntry{Reason::kUtf8Invalid, "utf8_invalid"},
    ReasonEntry{Reason::kEventTooLarge, "event_too_large"},
    ReasonEntry{Reason::kBinaryMalformed, "binary_malformed"},
    ReasonEntry{Reason::kVersionUnsupported, "version_unsupported"},
    ReasonEntry{Reason::kTypeUnknown, "type_unknown"},
    ReasonEntry{Reason::kFieldMissing, "field_missing"},
    ReasonEntry{Reason::kFieldUnknown, "field_unknown"},
    ReasonEntry{Reason::kFieldType, "field_type"},
    ReasonEntry{Reason::kFieldInvalid, "field_invalid"},
    ReasonEntry{Reason::kFieldTooLong, "field_too_long"},
    ReasonEntry{Reason::kTextControlChar, "text_control_char"},
    ReasonEntry{Reason::kGenesisRequired, "genesis_required"},
    ReasonEntry{Reason::kPrincipalUnknown, "principal_unknown"},
    ReasonEntry{Reason::kKeyUnknown, "key_unknown"},
    ReasonEntry{Reason::kKeyPrincipalMismatch, "key_principal_mismatch"},
    ReasonEntry{Reason::kKeyNotYetValid, "key_not_yet_valid"},
    ReasonEntry{Reason::kKeyRevoked, "key_revoked"},
    ReasonEntry{Reason::kSignatureInvalid, "signature_invalid"},
    ReasonEntry{Reason::kKeyIdMismatch, "key_id_mismatch"},
    ReasonEntry{Reason::kRoleNotAllowed, "role_not_allowed"},
    ReasonEntry{Reason::kSubjectMismatch, "subject_mismatch"},
    ReasonEntry{Reason::kAgencyUnknown, "agency_unknown"},
    ReasonEntry{Reason::kAgencyExists, "agency_exists"},
    ReasonEntry{Reason::kPrincipalExists, "principal_exists"},
    ReasonEntry{Reason::kKeyExists, "key_exists"},
    ReasonEntry{Reason::kEventIdConflict, "event_id_conflict"},
    ReasonEntry{Reason::kRecordUnknown, "record_unknown"},
    ReasonEntry{Reason::kReferenceOtherAgency, "reference_other_agency"},
    ReasonEntry{Reason::kLifecycleOutOfOrder, "lifecycle_out_of_order"},
    ReasonEntry{Reason::kConductAfterSubmission, "conduct_after_submission"},
    ReasonEntry{Reason::kRecordAlreadyVerified, "record_already_verified"},
    ReasonEntry{Reason::kRecordNotConfirmed, "record_not_confirmed"},
    ReasonEntry{Reason::kRecordClosed, "record_closed"},
    ReasonEntry{Reason::kNotSubmittingSource, "not_submitting_source"},
    ReasonEntry{Reason::kObjectionOpen, "objection_open"},
    ReasonEntry{Reason::kObjectionUnknown, "objection_unknown"},
    ReasonEntry{Reason::kObjectionAlreadyResolved, "objection_already_resolved"},
    ReasonEntry{Reason::kRepairWithoutRectification, "repair_without_rectification"},
    ReasonEntry{Reason::kRepairTooEarly, "repair_too_early"},
    ReasonEntry{Reason::kExpiryTooEarly, "expiry_too_early"},
    ReasonEntry{Reason::kComplaintUnknown, "complaint_unknown"},
    ReasonEntry{Reason::kReceiptExists, "receipt_exists"},
    ReasonEntry{Reason::kComplaintAlreadyTriaged, "complaint_already_triaged"},
    ReasonEntry{Reason::kComplaintNotTriaged, "complaint_not_triaged"},
    ReasonEntry{Reason::kComplaintClosed, "complaint_closed"},
    ReasonEntry{Reason::kSelfReference, "self_reference"},
    ReasonEntry{Reason::kRecommendationUnknown, "recommendation_unknown"},
    ReasonEntry{Reason::kRecommendationClosed, "recommendation_closed"},
    ReasonEntry{Reason::kReferenceExists, "recommendation_reference_exists"},
    ReasonEntry{Reason::kDuplicateReference, "duplicate_reference"},
    ReasonEntry{Reason::kDeadlineBeforeIssue, "deadline_before_issue"},
    ReasonEntry{Reason::kRectificationMissing, "rectification_missing"},
    ReasonEntry{Reason::kReportPeriodOpen, "report_period_open"},
    ReasonEntry{Reason::kIoError, "io_error"},
    ReasonEntry{Reason::kStorageError, "storage_error"},
    ReasonEntry{Reason::kInternal, "internal"},
    ReasonEntry{Reason::kNotFound, "not_found"},
    ReasonEntry{Reason::kInvalidArgument, "invalid_argument"},
    ReasonEntry{Reason::kCorrupt, "corrupt"},
    ReasonEntry{Reason::kUnauthenticated, "unauthenticated"},
    ReasonEntry{Reason::kRequestExpired, "request_expired"},
    ReasonEntry{Reason::kRequestReplayed, "request_replayed"},
    ReasonEntry{Reason::kForbidden, "forbidden"},
    ReasonEntry{Reason::kRateLimited, "rate_limited"},
    ReasonEntry{Reason::kUnavailable, "unavailable"},
};

}  // namespace

std::string_view reason_code(Reason r) {
  for (const auto& e : kTable)
    if (e.reason == r) return e.code;
  return "internal";
}

std::optional<Reason> reason_from_code(std::string_view code) {
  for (const auto& e : kTable)
    if (e.code == code) return e.reason;
  return std::nullopt;
}

const std::vector<Reason>& all_reasons() {
  static const std::vector<Reason> all = [] {
    std::vector<Reason> v;
    for (const auto& e : kTable) v.push_back(e.reason);
    return v;
  }();
  return all;
}

std::string Status::to_string() const {
  if (is_ok()) return "ok";
  return std::string(code()) + ": " + message_;
}

}  // namespace govcredit
