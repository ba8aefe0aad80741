// validate_event(): the field rules both decoders share (events/FORMAT.md §1-§3).
#include <array>
#include <charconv>
#include <concepts>

#include "decode_error.h"
#include "govcredit/codec.h"
#include "govcredit/encoding.h"

namespace govcredit {
namespace {

using events_internal::DecodeError;
using events_internal::fail;

std::string path(std::string_view name) {
  return "payload." + std::string(name);
}

// A list item's or a member's name ("evidence[2]", "evidence[2].uri") for the messages, built on
// the stack: every event names its items, only a rejected one reads the name.
class SubName {
 public:
  SubName(std::string_view name, std::size_t index) {
    add(name);
    add("[");
    auto [end, ec] = std::to_chars(buf_.data() + len_, buf_.data() + buf_.size(), index);
    if (ec == std::errc()) len_ = static_cast<std::size_t>(end - buf_.data());
    add("]");
  }
  SubName(std::string_view name, std::string_view member) {
    add(name);
    add(member);
  }
  std::string_view view() const { return {buf_.data(), len_}; }

 private:
  void add(std::string_view s) {  // field names are short constants; a longer one is cut
    std::size_t n = std::min(s.size(), buf_.size() - len_);
    s.copy(buf_.data() + len_, n);
    len_ += n;
  }
  std::array<char, 160> buf_;
  std::size_t len_ = 0;
};

void check_text(std::string_view name, const std::string& s, const FieldSpec& spec) {
  if (s.size() > spec.max_len)
    fail(Reason::kFieldTooLong, path(name) + " is " + std::to_string(s.size()) +
                                    " bytes; the limit is " + std::to_string(spec.max_len));
  if (!is_valid_utf8(s)) fail(Reason::kUtf8Invalid, path(name) + " is not valid UTF-8");
  for (unsigned char c : s) {
    bool allowed = spec.multiline && (c == '\n' || c == '\t');
    if ((c < 0x20 || c == 0x7f) && !allowed)
      fail(Reason::kTextControlChar,
           path(name) + " contains the control character 0x" + to_hex(ByteView(&c, 1)) +
               (spec.multiline ? " (only newline and tab are allowed)" : ""));
  }
}

struct Validator {
  void operator()(std::string_view name, const std::string& s, const FieldSpec& spec) {
    check_text(name, s, spec);
  }
  void operator()(std::string_view name, const AgencyId& id, const FieldSpec&) {
    if (!is_identifier(id.value))
      fail(Reason::kFieldInvalid, path(name) + " '" + id.value +
                                      "' is not an agency id (lowercase letters, digits, '.', "
                                      "'_', '-'; at most 64)");
  }
  void operator()(std::string_view name, const PrincipalId& id, const FieldSpec&) {
    if (!is_identifier(id.value))
      fail(Reason::kFieldInvalid, path(name) + " '" + id.value + "' is not a principal id");
  }
  void operator()(std::string_view name, const KeyId& id, const FieldSpec&) {
    bool ok = id.value.size() == 32;
    for (char c : id.value) ok = ok && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
    if (!ok) fail(Reason::kFieldInvalid, path(name) + " must be 32 lowercase hex characters");
  }
  template <DomainEnum E>
  void operator()(std::string_view, const E&, const FieldSpec&) {}
  void operator()(std::string_view, const Timestamp&, const FieldSpec&) {}
  void operator()(std::string_view, const std::int64_t&, const FieldSpec&) {}
  template <std::size_t N, class Tag>
  void operator()(std::string_view, const FixedBytes<N, Tag>&, const FieldSpec&) {}
  void operator()(std::string_view name, const Bytes& b, const FieldSpec& spec) {
    if (b.size() > spec.max_len)
      fail(Reason::kFieldTooLong, path(name) + " is " + std::to_string(b.size()) +
                                      " bytes; the limit is " + std::to_string(spec.max_len));
  }
  void operator()(std::string_view name, const Evidence& ev, const FieldSpec&) {
    check_text(SubName(name, ".uri").view(), ev.uri, FieldSpec{.max_len = 512});
  }
  template <class T>
  void operator()(std::string_view name, const std::optional<T>& o, const FieldSpec& spec) {
    if (o) (*this)(name, *o, spec);
  }
  template <class T>
  void operator()(std::string_view name, const std::vector<T>& v, const FieldSpec& spec) {
    if (v.size() > spec.max_items)
      fail(Reason::kFieldTooLong, path(name) + " has " + std::to_string(v.size()) +
                                      " items; the limit is " + std::to_string(spec.max_items));
    if (v.size() < spec.min_items)
      fail(Reason::kFieldInvalid,
           path(name) + " needs at least " + std::to_string(spec.min_items) + " item(s)");
    for (std::size_t i = 0; i < v.size(); ++i) (*this)(SubName(name, i).view(), v[i], spec);
  }
};

// The message is a constant or a function building it: an accepted event builds no message.
void require(bool cond, Reason r, const char* message) {
  if (!cond) fail(r, message);
}
template <std::invocable F>
void require(bool cond, Reason r, F&& message) {
  if (!cond) fail(r, message());
}

// Each type's conditional rules: what a single event must satisfy on its own.
void rules(const Event&, const AgencyRegistered& p) {
  bool district = p.level == Level::kDistrict;
  require(
      district == p.district.has_value(), Reason::kFieldInvalid,
      "payload.district is required for a district-level agency and absent for a city-level one");
  if (p.parent) Validator{}("parent", *p.parent, kPlain);
}
void rules(const Event&, const PrincipalRegistered& p) {
  require((p.role == Role::kSource) == p.source_kind.has_value(), Reason::kFieldInvalid,
          "payload.source_kind is required for role 'source' and absent for every other role");
  require((p.role == Role::kAgency) == p.agency.has_value(), Reason::kFieldInvalid,
          "payload.agency is required for role 'agency' and absent for every other role");
}
void rules(const Event&, const RecordVerified& p) {
  bool confirmed = p.outcome == VerificationOutcome::kConfirmed;
  require(confirmed == p.severity.has_value(), Reason::kFieldInvalid,
          "payload.severity is required when the outcome is 'confirmed' and absent otherwise");
}
void rules(const Event&, const RecordCorrected& p) {
  require(
      p.category || p.title || p.summary || p.conduct_at || p.severity || !p.evidence_added.empty(),
      Reason::kFieldInvalid, "a correction must amend at least one field or add evidence");
}
void rules(const Event&, const ComplaintFiled& p) {
  require(p.contact_sealed.empty() || p.contact_sealed.size() >= 28, Reason::kFieldInvalid,
          "payload.contact_sealed must be empty or nonce(12) + ciphertext + tag(16)");
}
void rules(const Event&, const ComplaintTriaged& p) {
  require((p.outcome == TriageOutcome::kDuplicate) == p.duplicate_of.has_value(),
          Reason::kFieldInvalid,
          "payload.duplicate_of is required when the outcome is 'duplicate' and absent otherwise");
  require((p.outcome == TriageOutcome::kTransferred) == p.transferred_to.has_value(),
          Reason::kFieldInvalid,
          "payload.transferred_to is required when the outcome is 'transferred' and absent "
          "otherwise");
}
void rules(const Event& e, const RecommendationIssued& p) {
  require(p.deadline > e.issued_at, Reason::kDeadlineBeforeIssue,
          "payload.deadline must be after the recommendation's issued_at");
}
void rules(const Event&, const CompensationRecorded& p) {
  require(p.amount_fen >= 0, Reason::kFieldInvalid, "payload.amount_fen must not be negative");
  require(p.record || p.recommendation, Reason::kFieldInvalid,
          "a compensation names a record, a recommendation, or both");
}
bool is_period(std::string_view s) {
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (s.size() < 4 || !digit(s[0]) || !digit(s[1]) || !digit(s[2]) || !digit(s[3])) return false;
  if (s.size() == 4) return true;
  if (s.size() == 7 && s[4] == '-' && s[5] == 'Q') return s[6] >= '1' && s[6] <= '4';
  if (s.size() == 7 && s[4] == '-' && digit(s[5]) && digit(s[6])) {
    int m = (s[5] - '0') * 10 + (s[6] - '0');
    return m >= 1 && m <= 12;
  }
  return false;
}
void rules(const Event&, const ReportPublished& p) {
  require(is_period(p.period), Reason::kFieldInvalid,
          "payload.period must be a year (2013), a quarter (2013-Q3) or a month (2013-08)");
  require(p.content_bytes >= 0, Reason::kFieldInvalid,
          "payload.content_bytes must not be negative");
}
template <class P>
void rules(const Event&, const P&) {}

void check_envelope(const Event& e) {
  require(e.version == kFormatVersion, Reason::kVersionUnsupported,
          [&] { return "format version " + std::to_string(e.version) + " is not supported"; });
  require(e.subject == system_subject() || is_identifier(e.subject.value), Reason::kFieldInvalid,
          [&] { return "subject '" + e.subject.value + "' is neither an agency id nor _system"; });
  require(is_identifier(e.issuer.value), Reason::kFieldInvalid,
          [&] { return "issuer '" + e.issuer.value + "' is not a principal id"; });
  bool key_ok = e.key_id.value.size() == 32;
  for (char c : e.key_id.value)
    key_ok = key_ok && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  require(key_ok, Reason::kFieldInvalid, "key_id must be 32 lowercase hex characters");
}

}  // namespace

Status validate_event(const Event& e) {
  try {
    check_envelope(e);
    std::visit(
        [&](const auto& p) {
          using P = std::decay_t<decltype(p)>;
          Validator v;
          const_cast<P&>(p).fields(
              [&](std::string_view n, const auto& m, const FieldSpec& s) { v(n, m, s); });
          rules(e, p);
        },
        e.payload);
  } catch (const DecodeError& err) {
    return err.status;
  }
  return Status::ok();
}

}  // namespace govcredit
