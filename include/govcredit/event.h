// The event model: one envelope, twenty payload types (events/FORMAT.md §3).
//
// Each payload lists its fields once, in canonical order, in fields(v): the binary codec, the
// JSON mapping and the validator all walk that list, so the three can never disagree about a
// field's name, order or limits. v is called as v(name, member, spec).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "govcredit/enums.h"
#include "govcredit/types.h"

namespace govcredit {

// Limits of one field. max_len: bytes of UTF-8 for text, bytes for byte strings. multiline: \n
// and \t are allowed in the text. max_items/min_items: for lists.
struct FieldSpec {
  std::size_t max_len = 0;
  bool multiline = false;
  std::size_t max_items = 0;
  std::size_t min_items = 0;
};

inline constexpr std::uint8_t kFormatVersion = 1;
inline constexpr std::size_t kMaxWireEventBytes = 65536;

// A document backing a record: its SHA-256 and where to fetch it.
struct Evidence {
  Digest sha256;
  std::string uri;
  template <class V>
  void fields(V&& v) {
    v("sha256", sha256, FieldSpec{});
    v("uri", uri, FieldSpec{.max_len = 512});
  }
  bool operator==(const Evidence&) const = default;
};

inline constexpr FieldSpec kEvidenceList{.max_items = 32};
inline constexpr FieldSpec kNote{.max_len = 2048, .multiline = true};
inline constexpr FieldSpec kLongText{.max_len = 4096, .multiline = true};
inline constexpr FieldSpec kTitle{.max_len = 256};
inline constexpr FieldSpec kPlain{};

// ---- Registry ----

struct AgencyRegistered {
  static constexpr std::string_view kType = "agency.registered";
  std::string name_zh;
  std::string name_en;
  Level level = Level::kCity;
  std::optional<std::string> district;
  std::optional<AgencyId> parent;
  template <class V>
  void fields(V&& v) {
    v("name_zh", name_zh, FieldSpec{.max_len = 128});
    v("name_en", name_en, FieldSpec{.max_len = 256});
    v("level", level, kPlain);
    v("district", district, FieldSpec{.max_len = 64});
    v("parent", parent, kPlain);
  }
  bool operator==(const AgencyRegistered&) const = default;
};

struct PrincipalRegistered {
  static constexpr std::string_view kType = "principal.registered";
  PrincipalId principal;
  Role role = Role::kAuditor;
  std::optional<SourceKind> source_kind;
  std::optional<AgencyId> agency;
  std::string display_name;
  PublicKeyBytes public_key;
  Timestamp valid_from;
  template <class V>
  void fields(V&& v) {
    v("principal", principal, kPlain);
    v("role", role, kPlain);
    v("source_kind", source_kind, kPlain);
    v("agency", agency, kPlain);
    v("display_name", display_name, FieldSpec{.max_len = 128});
    v("public_key", public_key, kPlain);
    v("valid_from", valid_from, kPlain);
  }
  bool operator==(const PrincipalRegistered&) const = default;
};

struct KeyAuthorised {
  static constexpr std::string_view kType = "key.authorised";
  PrincipalId principal;
  PublicKeyBytes public_key;
  Timestamp valid_from;
  template <class V>
  void fields(V&& v) {
    v("principal", principal, kPlain);
    v("public_key", public_key, kPlain);
    v("valid_from", valid_from, kPlain);
  }
  bool operator==(const KeyAuthorised&) const = default;
};

struct KeyRevoked {
  static constexpr std::string_view kType = "key.revoked";
  PrincipalId principal;
  KeyId key_id;
  Timestamp revoked_at;
  std::string reason;
  template <class V>
  void fields(V&& v) {
    v("principal", principal, kPlain);
    v("key_id", key_id, kPlain);
    v("revoked_at", revoked_at, kPlain);
    v("reason", reason, FieldSpec{.max_len = 512});
  }
  bool operator==(const KeyRevoked&) const = default;
};

// ---- Records ----

struct RecordSubmitted {
  static constexpr std::string_view kType = "record.submitted";
  Category category = Category::kOther;
  std::string title;
  std::string summary;
  Timestamp conduct_at;
  std::vector<Evidence> evidence;
  std::optional<std::string> source_ref;
  template <class V>
  void fields(V&& v) {
    v("category", category, kPlain);
    v("title", title, kTitle);
    v("summary", summary, kLongText);
    v("conduct_at", conduct_at, kPlain);
    v("evidence", evidence, kEvidenceList);
    v("source_ref", source_ref, FieldSpec{.max_len = 128});
  }
  bool operator==(const RecordSubmitted&) const = default;
};

struct RecordVerified {
  static constexpr std::string_view kType = "record.verified";
  EventId record;
  VerificationOutcome outcome = VerificationOutcome::kConfirmed;
  std::optional<Severity> severity;
  std::string note;
  template <class V>
  void fields(V&& v) {
    v("record", record, kPlain);
    v("outcome", outcome, kPlain);
    v("severity", severity, kPlain);
    v("note", note, kNote);
  }
  bool operator==(const RecordVerified&) const = default;
};

struct RecordCorrected {
  static constexpr std::string_view kType = "record.corrected";
  EventId record;
  std::string reason;
  std::optional<Category> category;
  std::optional<std::string> title;
  std::optional<std::string> summary;
  std::optional<Timestamp> conduct_at;
  std::optional<Severity> severity;
  std::vector<Evidence> evidence_added;
  template <class V>
  void fields(V&& v) {
    v("record", record, kPlain);
    v("reason", reason, kNote);
    v("category", category, kPlain);
    v("title", title, kTitle);
    v("summary", summary, kLongText);
    v("conduct_at", conduct_at, kPlain);
    v("severity", severity, kPlain);
    v("evidence_added", evidence_added, kEvidenceList);
  }
  bool operator==(const RecordCorrected&) const = default;
};

struct ObjectionRaised {
  static constexpr std::string_view kType = "objection.raised";
  EventId record;
  std::string grounds;
  std::vector<Evidence> evidence;
  template <class V>
  void fields(V&& v) {
    v("record", record, kPlain);
    v("grounds", grounds, kLongText);
    v("evidence", evidence, kEvidenceList);
  }
  bool operator==(const ObjectionRaised&) const = default;
};

struct ObjectionResolved {
  static constexpr std::string_view kType = "objection.resolved";
  EventId objection;
  ObjectionOutcome outcome = ObjectionOutcome::kDismissed;
  std::string note;
  template <class V>
  void fields(V&& v) {
    v("objection", objection, kPlain);
    v("outcome", outcome, kPlain);
    v("note", note, kNote);
  }
  bool operator==(const ObjectionResolved&) const = default;
};

struct RecordRepaired {
  static constexpr std::string_view kType = "record.repaired";
  EventId record;
  RepairKind kind = RepairKind::kRepaired;
  std::optional<EventId> basis;
  std::string note;
  template <class V>
  void fields(V&& v) {
    v("record", record, kPlain);
    v("kind", kind, kPlain);
    v("basis", basis, kPlain);
    v("note", note, kNote);
  }
  bool operator==(const RecordRepaired&) const = default;
};

// ---- Complaints ----

struct ComplaintFiled {
  static constexpr std::string_view kType = "complaint.filed";
  std::string receipt;
  std::optional<Category> category;
  std::string summary;
  Bytes contact_sealed;
  Digest secret_digest;
  template <class V>
  void fields(V&& v) {
    v("receipt", receipt, FieldSpec{.max_len = 32});
    v("category", category, kPlain);
    v("summary", summary, kLongText);
    v("contact_sealed", contact_sealed, FieldSpec{.max_len = 2048});
    v("secret_digest", secret_digest, kPlain);
  }
  bool operator==(const ComplaintFiled&) const = default;
};

// The receipt the complaint channel issues (POST /v1/complaints, and the demo data set as it
// would): "TS", the UTC day filed as yyyymmdd, "-", then `number` (below 10^8) as eight digits.
// A day's receipts share a prefix, so the p.receipt rows of a day lie together.
std::string complaint_receipt(Timestamp filed, std::uint32_t number);

struct ComplaintTriaged {
  static constexpr std::string_view kType = "complaint.triaged";
  EventId complaint;
  TriageOutcome outcome = TriageOutcome::kAccepted;
  std::optional<EventId> record;
  std::optional<EventId> duplicate_of;
  std::optional<std::string> transferred_to;
  std::string note;
  template <class V>
  void fields(V&& v) {
    v("complaint", complaint, kPlain);
    v("outcome", outcome, kPlain);
    v("record", record, kPlain);
    v("duplicate_of", duplicate_of, kPlain);
    v("transferred_to", transferred_to, FieldSpec{.max_len = 256});
    v("note", note, kNote);
  }
  bool operator==(const ComplaintTriaged&) const = default;
};

struct ComplaintReopened {
  static constexpr std::string_view kType = "complaint.reopened";
  EventId complaint;
  std::string reason;
  template <class V>
  void fields(V&& v) {
    v("complaint", complaint, kPlain);
    v("reason", reason, kNote);
  }
  bool operator==(const ComplaintReopened&) const = default;
};

struct ComplaintClosed {
  static constexpr std::string_view kType = "complaint.closed";
  EventId complaint;
  ComplaintResolution resolution = ComplaintResolution::kResolved;
  std::string answer;
  template <class V>
  void fields(V&& v) {
    v("complaint", complaint, kPlain);
    v("resolution", resolution, kPlain);
    v("answer", answer, kLongText);
  }
  bool operator==(const ComplaintClosed&) const = default;
};

// ---- Accountability ----

struct RecommendationIssued {
  static constexpr std::string_view kType = "recommendation.issued";
  std::string reference;
  std::vector<EventId> records;
  std::vector<std::string> actions;
  Timestamp deadline;
  template <class V>
  void fields(V&& v) {
    v("reference", reference, FieldSpec{.max_len = 64});
    v("records", records, FieldSpec{.max_items = 64, .min_items = 1});
    v("actions", actions, FieldSpec{.max_len = 1024, .max_items = 32, .min_items = 1});
    v("deadline", deadline, kPlain);
  }
  bool operator==(const RecommendationIssued&) const = default;
};

struct RectificationReported {
  static constexpr std::string_view kType = "rectification.reported";
  EventId recommendation;
  std::string summary;
  std::vector<Evidence> evidence;
  template <class V>
  void fields(V&& v) {
    v("recommendation", recommendation, kPlain);
    v("summary", summary, kLongText);
    v("evidence", evidence, kEvidenceList);
  }
  bool operator==(const RectificationReported&) const = default;
};

struct RecommendationClosed {
  static constexpr std::string_view kType = "recommendation.closed";
  EventId recommendation;
  RecommendationOutcome outcome = RecommendationOutcome::kSatisfied;
  std::string note;
  template <class V>
  void fields(V&& v) {
    v("recommendation", recommendation, kPlain);
    v("outcome", outcome, kPlain);
    v("note", note, kNote);
  }
  bool operator==(const RecommendationClosed&) const = default;
};

struct CompensationRecorded {
  static constexpr std::string_view kType = "compensation.recorded";
  std::optional<EventId> record;
  std::optional<EventId> recommendation;
  std::int64_t amount_fen = 0;
  std::string beneficiary;
  std::string note;
  template <class V>
  void fields(V&& v) {
    v("record", record, kPlain);
    v("recommendation", recommendation, kPlain);
    v("amount_fen", amount_fen, kPlain);
    v("beneficiary", beneficiary, FieldSpec{.max_len = 256});
    v("note", note, kNote);
  }
  bool operator==(const CompensationRecorded&) const = default;
};

// ---- Reporting ----

struct ReportPublished {
  static constexpr std::string_view kType = "report.published";
  std::string period;
  std::string title;
  Digest content_sha256;
  std::int64_t content_bytes = 0;
  std::optional<std::string> uri;
  template <class V>
  void fields(V&& v) {
    v("period", period, FieldSpec{.max_len = 16});
    v("title", title, kTitle);
    v("content_sha256", content_sha256, kPlain);
    v("content_bytes", content_bytes, kPlain);
    v("uri", uri, FieldSpec{.max_len = 512});
  }
  bool operator==(const ReportPublished&) const = default;
};

// The alternatives' order is internal (not part of the format: the type travels by name).
using Payload =
    std::variant<AgencyRegistered, PrincipalRegistered, KeyAuthorised, KeyRevoked, RecordSubmitted,
                 RecordVerified, RecordCorrected, ObjectionRaised, ObjectionResolved,
                 RecordRepaired, ComplaintFiled, ComplaintTriaged, ComplaintReopened,
                 ComplaintClosed, RecommendationIssued, RectificationReported, RecommendationClosed,
                 CompensationRecorded, ReportPublished>;

// Index of a payload alternative; stable within one build only.
using EventType = std::size_t;
inline constexpr std::size_t kEventTypeCount = std::variant_size_v<Payload>;

// "record.submitted" etc.
std::string_view event_type_name(const Payload& p);
std::string_view event_type_name(EventType t);
// Every type name, in Payload order.
const std::vector<std::string_view>& all_event_type_names();
// A default-constructed payload of the named type, or nullopt for an unknown name.
std::optional<Payload> payload_for_type(std::string_view name);
// The same in place: makes p a default-constructed payload of the named type; false (p
// unchanged) for an unknown name.
bool emplace_payload_for_type(std::string_view name, Payload& p);

// A batch signature's share of one event (events/FORMAT.md §2b): the event is leaf `index` of
// a Merkle tree over the signing inputs of `size` events, whose root the issuer signed once.
struct BatchProof {
  std::uint32_t size = 0;
  std::uint32_t index = 0;
  std::vector<Digest> path;  // the RFC 9162 inclusion path of the leaf
  bool operator==(const BatchProof&) const = default;
};

// The envelope (events/FORMAT.md §1).
struct Event {
  std::uint8_t version = kFormatVersion;
  EventId id;
  AgencyId subject;
  PrincipalId issuer;
  KeyId key_id;
  Timestamp issued_at;
  Payload payload;
  Signature signature;  // over the signing input, or over the batch's root when batch is set
  std::optional<BatchProof> batch;

  std::string_view type_name() const { return event_type_name(payload); }
  template <class T>
  const T* as() const {
    return std::get_if<T>(&payload);
  }
  bool operator==(const Event&) const = default;
};

}  // namespace govcredit
