// Errors as values. Every rejection a user can cause carries a stable Reason code (part of the
// public API; never renumbered or renamed) and a sentence for people (free to improve).
//
// Thread-safety: Status and Result are plain values; share them like any value type.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace govcredit {

// The stable reason codes. The string form (reason_code()) is what APIs, logs and the
// rejection journal carry. Add new codes at the end of their group; never reuse a name.
enum class Reason : std::uint16_t {
  kOk = 0,
  // Syntax of a submitted event (JSON or binary).
  kJsonMalformed,
  kJsonDuplicateKey,
  kUtf8Invalid,
  kEventTooLarge,
  kBinaryMalformed,
  kVersionUnsupported,
  kTypeUnknown,
  kFieldMissing,
  kFieldUnknown,
  kFieldType,
  kFieldInvalid,
  kFieldTooLong,
  kTextControlChar,
  // Keys and signatures.
  kGenesisRequired,
  kPrincipalUnknown,
  kKeyUnknown,
  kKeyPrincipalMismatch,
  kKeyNotYetValid,
  kKeyRevoked,
  kSignatureInvalid,
  kKeyIdMismatch,
  // Authorisation.
  kRoleNotAllowed,
  kSubjectMismatch,
  // Registry consistency.
  kAgencyUnknown,
  kAgencyExists,
  kPrincipalExists,
  kKeyExists,
  // Ledger.
  kEventIdConflict,
  // Domain rules: lifecycles of records, complaints and recommendations (events/FORMAT.md §5b).
  kRecordUnknown,
  kReferenceOtherAgency,
  kLifecycleOutOfOrder,
  kConductAfterSubmission,
  kRecordAlreadyVerified,
  kRecordNotConfirmed,
  kRecordClosed,
  kNotSubmittingSource,
  kObjectionOpen,
  kObjectionUnknown,
  kObjectionAlreadyResolved,
  kRepairWithoutRectification,
  kRepairTooEarly,
  kExpiryTooEarly,
  kComplaintUnknown,
  kReceiptExists,
  kComplaintAlreadyTriaged,
  kComplaintNotTriaged,
  kComplaintClosed,
  kSelfReference,
  kRecommendationUnknown,
  kRecommendationClosed,
  kReferenceExists,
  kDuplicateReference,
  kDeadlineBeforeIssue,
  kRectificationMissing,
  kReportPeriodOpen,
  // Operational failures that are not the submitter's fault.
  kIoError,
  kStorageError,
  kInternal,
  kNotFound,
  kInvalidArgument,
  kCorrupt,
  // The HTTP API's own answers (docs/API.md).
  kUnauthenticated,  // no, or an unusable, request signature
  kRequestExpired,   // the signed time is too far from the server's clock
  kRequestReplayed,  // the nonce was already used with this key
  kForbidden,        // the principal's role may not see or do this
  kRateLimited,      // too many requests from this client; retry later
  kUnavailable,      // the service cannot answer now (e.g. a shard not assigned yet)
};

// The stable snake_case code, e.g. "signature_invalid".
std::string_view reason_code(Reason r);
// Inverse of reason_code(); nullopt for an unknown code.
std::optional<Reason> reason_from_code(std::string_view code);
// Every reason, in declaration order (for tests and documentation).
const std::vector<Reason>& all_reasons();

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Reason reason, std::string message) : reason_(reason), message_(std::move(message)) {}
  static Status ok() { return {}; }

  bool is_ok() const { return reason_ == Reason::kOk; }
  explicit operator bool() const { return is_ok(); }
  Reason reason() const { return reason_; }
  std::string_view code() const { return reason_code(reason_); }
  const std::string& message() const { return message_; }
  // "code: message", for logs and CLI output.
  std::string to_string() const;

 private:
  Reason reason_ = Reason::kOk;
  std::string message_;
};

// A value or a failed Status (never an ok Status). Modelled on std::expected, which g++ 12
// offers only in C++23 mode.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}       // NOLINT: implicit on purpose, like expected
  Result(Status error) : v_(std::move(error)) {}  // NOLINT
  Result(Reason reason, std::string message) : v_(Status(reason, std::move(message))) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  // Precondition: ok().
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  // Precondition: !ok().
  const Status& status() const { return std::get<1>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace govcredit
