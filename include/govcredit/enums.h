// The domain's closed vocabularies (DESIGN.md §1). Each enum's code names are part of the event
// format (events/FORMAT.md §3): they are the bytes that get signed, so never rename one.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace govcredit {

template <class E>
struct EnumNames;  // specialised below: static constexpr std::array names

// The code name of an enum value, e.g. "fiscal_fraud".
template <class E>
constexpr std::string_view enum_name(E e) {
  return EnumNames<E>::names[static_cast<std::size_t>(e)];
}
// The value with this code name, or nullopt.
template <class E>
constexpr std::optional<E> enum_from_name(std::string_view s) {
  const auto& n = EnumNames<E>::names;
  for (std::size_t i = 0; i < n.size(); ++i)
    if (n[i] == s) return static_cast<E>(i);
  return std::nullopt;
}

#define GOVCREDIT_ENUM_NAMES(E, ...)                   \
  template <>                                          \
  struct EnumNames<E> {                                \
    static constexpr std::array names = {__VA_ARGS__}; \
    static constexpr std::string_view what = #E;       \
  }

// The eight kinds of government dishonesty (八项政府失信行为).
enum class Category : std::uint8_t {
  kDisclosure,
  kServiceCommitment,
  kFiscalFraud,
  kApprovalViolation,
  kLevyExpropriation,
  kProjectDefault,
  kAdjudicatedFault,
  kOther,
};
GOVCREDIT_ENUM_NAMES(Category, std::string_view("disclosure"),
                     std::string_view("service_commitment"), std::string_view("fiscal_fraud"),
                     std::string_view("approval_violation"), std::string_view("levy_expropriation"),
                     std::string_view("project_default"), std::string_view("adjudicated_fault"),
                     std::string_view("other"));

// The nine collection sources (征集来源).
enum class SourceKind : std::uint8_t {
  kJudicial,
  kFinance,
  kAudit,
  kDisclosureOffice,
  kLegalAffairs,
  kPetitions,
  kAntiMalpractice,
  kMediaMonitoring,
  kOther,
};
GOVCREDIT_ENUM_NAMES(SourceKind, std::string_view("judicial"), std::string_view("finance"),
                     std::string_view("audit"), std::string_view("disclosure_office"),
                     std::string_view("legal_affairs"), std::string_view("petitions"),
                     std::string_view("anti_malpractice"), std::string_view("media_monitoring"),
                     std::string_view("other"));

enum class Role : std::uint8_t {
  kAuthority,
  kSource,
  kAgency,
  kComplaintChannel,
  kAuditor,
  kLedger
};
GOVCREDIT_ENUM_NAMES(Role, std::string_view("authority"), std::string_view("source"),
                     std::string_view("agency"), std::string_view("complaint_channel"),
                     std::string_view("auditor"), std::string_view("ledger"));

enum class Level : std::uint8_t { kCity, kDistrict };
GOVCREDIT_ENUM_NAMES(Level, std::string_view("city"), std::string_view("district"));

enum class VerificationOutcome : std::uint8_t { kConfirmed, kUnfounded };
GOVCREDIT_ENUM_NAMES(VerificationOutcome, std::string_view("confirmed"),
                     std::string_view("unfounded"));

enum class Severity : std::uint8_t { kMinor, kSerious, kGrave };
GOVCREDIT_ENUM_NAMES(Severity, std::string_view("minor"), std::string_view("serious"),
                     std::string_view("grave"));

enum class ObjectionOutcome : std::uint8_t { kUpheld, kDismissed };
GOVCREDIT_ENUM_NAMES(ObjectionOutcome, std::string_view("upheld"), std::string_view("dismissed"));

enum class RepairKind : std::uint8_t { kRepaired, kExpired };
GOVCREDIT_ENUM_NAMES(RepairKind, std::string_view("repaired"), std::string_view("expired"));

enum class TriageOutcome : std::uint8_t { kAccepted, kRejected, kDuplicate, kTransferred };
GOVCREDIT_ENUM_NAMES(TriageOutcome, std::string_view("accepted"), std::string_view("rejected"),
                     std::string_view("duplicate"), std::string_view("transferred"));

enum class ComplaintResolution : std::uint8_t { kResolved, kUnresolved };
GOVCREDIT_ENUM_NAMES(ComplaintResolution, std::string_view("resolved"),
                     std::string_view("unresolved"));

enum class RecommendationOutcome : std::uint8_t { kSatisfied, kEscalated };
GOVCREDIT_ENUM_NAMES(RecommendationOutcome, std::string_view("satisfied"),
                     std::string_view("escalated"));

#undef GOVCREDIT_ENUM_NAMES

template <class E>
concept DomainEnum = requires {
  EnumNames<E>::names;
};

}  // namespace govcredit
