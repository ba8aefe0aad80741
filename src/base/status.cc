#include "govcredit/status.h"

#include <array>
#include <vector>

namespace govcredit {
namespace {

struct Entry {
  Reason reason;
  std::string_view code;
};

constexpr std::array kTable = {
    Entry{Reason::kOk, "ok"},
    Entry{Reason::kJsonMalformed, "json_malformed"},
    Entry{Reason::kJsonDuplicateKey, "json_duplicate_key"},
    Entry{Reason::kUtf8Invalid, "utf8_invalid"},
    Entry{Reason::kEventTooLarge, "event_too_large"},
    Entry{Reason::kBinaryMalformed, "binary_malformed"},
    Entry{Reason::kVersionUnsupported, "version_unsupported"},
    Entry{Reason::kTypeUnknown, "type_unknown"},
    Entry{Reason::kFieldMissing, "field_missing"},
    Entry{Reason::kFieldUnknown, "field_unknown"},
    Entry{Reason::kFieldType, "field_type"},
    Entry{Reason::kFieldInvalid, "field_invalid"},
    Entry{Reason::kFieldTooLong, "field_too_long"},
    Entry{Reason::kTextControlChar, "text_control_char"},
    Entry{Reason::kGenesisRequired, "genesis_required"},
    Entry{Reason::kPrincipalUnknown, "principal_unknown"},
    Entry{Reason::kKeyUnknown, "key_unknown"},
    Entry{Reason::kKeyPrincipalMismatch, "key_principal_mismatch"},
    Entry{Reason::kKeyNotYetValid, "key_not_yet_valid"},
    Entry{Reason::kKeyRevoked, "key_revoked"},
    Entry{Reason::kSignatureInvalid, "signature_invalid"},
    Entry{Reason::kKeyIdMismatch, "key_id_mismatch"},
    Entry{Reason::kRoleNotAllowed, "role_not_allowed"},
    Entry{Reason::kSubjectMismatch, "subject_mismatch"},
    Entry{Reason::kAgencyUnknown, "agency_unknown"},
    Entry{Reason::kAgencyExists, "agency_exists"},
    Entry{Reason::kPrincipalExists, "principal_exists"},
    Entry{Reason::kKeyExists, "key_exists"},
    Entry{Reason::kEventIdConflict, "event_id_conflict"},
    Entry{Reason::kRecordUnknown, "record_unknown"},
    Entry{Reason::kReferenceOtherAgency, "reference_other_agency"},
    Entry{Reason::kLifecycleOutOfOrder, "lifecycle_out_of_order"},
    Entry{Reason::kConductAfterSubmission, "conduct_after_submission"},
    Entry{Reason::kRecordAlreadyVerified, "record_already_verified"},
    Entry{Reason::kRecordNotConfirmed, "record_not_confirmed"},
    Entry{Reason::kRecordClosed, "record_closed"},
    Entry{Reason::kNotSubmittingSource, "not_submitting_source"},
    Entry{Reason::kObjectionOpen, "objection_open"},
    Entry{Reason::kObjectionUnknown, "objection_unknown"},
    Entry{Reason::kObjectionAlreadyResolved, "objection_already_resolved"},
    Entry{Reason::kRepairWithoutRectification, "repair_without_rectification"},
    Entry{Reason::kRepairTooEarly, "repair_too_early"},
    Entry{Reason::kExpiryTooEarly, "expiry_too_early"},
    Entry{Reason::kComplaintUnknown, "complaint_unknown"},
    Entry{Reason::kReceiptExists, "receipt_exists"},
    Entry{Reason::kComplaintAlreadyTriaged, "complaint_already_triaged"},
    Entry{Reason::kComplaintNotTriaged, "complaint_not_triaged"},
    Entry{Reason::kComplaintClosed, "complaint_closed"},
    Entry{Reason::kSelfReference, "self_reference"},
    Entry{Reason::kRecommendationUnknown, "recommendation_unknown"},
    Entry{Reason::kRecommendationClosed, "recommendation_closed"},
    Entry{Reason::kReferenceExists, "recommendation_reference_exists"},
    Entry{Reason::kDuplicateReference, "duplicate_reference"},
    Entry{Reason::kDeadlineBeforeIssue, "deadline_before_issue"},
    Entry{Reason::kRectificationMissing, "rectification_missing"},
    Entry{Reason::kReportPeriodOpen, "report_period_open"},
    Entry{Reason::kIoError, "io_error"},
    Entry{Reason::kStorageError, "storage_error"},
    Entry{Reason::kInternal, "internal"},
    Entry{Reason::kNotFound, "not_found"},
    Entry{Reason::kInvalidArgument, "invalid_argument"},
    Entry{Reason::kCorrupt, "corrupt"},
    Entry{Reason::kUnauthenticated, "unauthenticated"},
    Entry{Reason::kRequestExpired, "request_expired"},
    Entry{Reason::kRequestReplayed, "request_replayed"},
    Entry{Reason::kForbidden, "forbidden"},
    Entry{Reason::kRateLimited, "rate_limited"},
    Entry{Reason::kUnavailable, "unavailable"},
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
