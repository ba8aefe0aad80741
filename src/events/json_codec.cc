// The JSON representation of events (events/FORMAT.md §1, §3). Conversion only: the limits and
// rules live in validate_event(), which every successful parse runs.
#include <nlohmann/json.hpp>

#include <chrono>
#include <set>
#include <vector>

#include "decode_error.h"
#include "govcredit/codec.h"
#include "govcredit/encoding.h"
#include "govcredit/merkle.h"

namespace govcredit {
namespace {

using events_internal::DecodeError;
using events_internal::fail;
using nlohmann::json;

const char* json_kind(const json& j) {
  switch (j.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "an array";
    case json::value_t::string:
      return "a string";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "an integer";
    case json::value_t::number_float:
      return "a fractional number";
    default:
      return "an unsupported value";
  }
}

const std::string& expect_string(const std::string& where, const json& j, const char* what) {
  if (!j.is_string())
    fail(Reason::kFieldType, where + " must be " + what + ", not " + json_kind(j));
  return j.get_ref<const std::string&>();
}

template <class Fixed>
Fixed expect_hex(const std::string& where, const json& j) {
  const std::string& s = expect_string(where, j, "a hex string");
  auto f = fixed_from_hex<Fixed>(s);
  if (!f)
    fail(Reason::kFieldInvalid,
         where + " must be " + std::to_string(Fixed::kSize * 2) + " hex characters");
  return *f;
}

Timestamp expect_time(const std::string& where, const json& j) {
  const std::string& s = expect_string(where, j, "an RFC 3339 UTC time string");
  auto t = parse_time(s);
  if (!t)
    fail(Reason::kFieldInvalid, where + " '" + s + "' is not a UTC time like 2013-08-28T09:30:00Z");
  return *t;
}

void reject_unknown_keys(const std::string& where, const json& obj,
                         const std::vector<std::string_view>& known) {
  for (const auto& [key, _] : obj.items()) {
    bool found = false;
    for (auto k : known) found = found || k == key;
    if (!found) fail(Reason::kFieldUnknown, where + " has an unknown field '" + key + "'");
  }
}

template <class T>
constexpr bool is_optional = false;
template <class T>
constexpr bool is_optional<std::optional<T>> = true;

struct JsonReader {
  const json& obj;
  std::string where;  // "payload" or "payload.evidence[0]"

  std::string at(std::string_view name) const { return where + "." + std::string(name); }

  template <class T>
  void operator()(std::string_view name, T& member, const FieldSpec& spec) {
    auto it = obj.find(name);
    if (it == obj.end() || it->is_null()) {
      if constexpr (is_optional<T>) {
        member.reset();
        return;
      } else {
        fail(it == obj.end() ? Reason::kFieldMissing : Reason::kFieldType,
             at(name) + (it == obj.end() ? " is missing" : " must not be null"));
      }
    }
    read(at(name), *it, member, spec);
  }

  static void read(const std::string& w, const json& j, std::string& s, const FieldSpec&) {
    s = expect_string(w, j, "a string");
  }
  template <class Tag>
  static void read(const std::string& w, const json& j, StrongString<Tag>& s, const FieldSpec&) {
    s.value = expect_string(w, j, "an identifier string");
  }
  template <DomainEnum E>
  static void read(const std::string& w, const json& j, E& e, const FieldSpec&) {
    const std::string& s = expect_string(w, j, "a string");
    auto v = enum_from_name<E>(s);
    if (!v) {
      std::string allowed;
      for (auto n : EnumNames<E>::names) allowed += (allowed.empty() ? "" : ", ") + std::string(n);
      fail(Reason::kFieldInvalid, w + " '" + s + "' is not one of: " + allowed);
    }
    e = *v;
  }
  static void read(const std::string& w, const json& j, Timestamp& t, const FieldSpec&) {
    t = expect_time(w, j);
  }
  static void read(const std::string& w, const json& j, std::int64_t& v, const FieldSpec&) {
    if (j.is_number_integer() && !j.is_number_unsigned()) {
      v = j.get<std::int64_t>();
    } else if (j.is_number_unsigned()) {
      auto u = j.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(INT64_MAX))
        fail(Reason::kFieldInvalid, w + " is out of the 64-bit integer range");
      v = static_cast<std::int64_t>(u);
    } else {
      fail(Reason::kFieldType, w + " must be an integer, not " + json_kind(j));
    }
  }
  template <std::size_t N, class Tag>
  static void read(const std::string& w, const json& j, FixedBytes<N, Tag>& f, const FieldSpec&) {
    f = expect_hex<FixedBytes<N, Tag>>(w, j);
  }
  static void read(const std::string& w, const json& j, Bytes& b, const FieldSpec& spec) {
    const std::string& s = expect_string(w, j, "a base64 string");
    if (s.size() > (spec.max_len + 2) / 3 * 4)
      fail(Reason::kFieldTooLong,
           w + " decodes to more than " + std::to_string(spec.max_len) + " bytes");
    auto d = from_base64(s);
    if (!d) fail(Reason::kFieldInvalid, w + " is not valid base64");
    b = std::move(*d);
  }
  static void read(const std::string& w, const json& j, Evidence& ev, const FieldSpec&) {
    if (!j.is_object()) fail(Reason::kFieldType, w + " must be an object, not " + json_kind(j));
    JsonReader r{j, w};
    std::vector<std::string_view> names;
    ev.fields([&](std::string_view n, auto& m, const FieldSpec& s) {
      names.push_back(n);
      r(n, m, s);
    });
    reject_unknown_keys(w, j, names);
  }
  template <class T>
  static void read(const std::string& w, const json& j, std::optional<T>& o,
                   const FieldSpec& spec) {
    T value{};
    read(w, j, value, spec);
    o = std::move(value);
  }
  template <class T>
  static void read(const std::string& w, const json& j, std::vector<T>& v, const FieldSpec& spec) {
    if (!j.is_array()) fail(Reason::kFieldType, w + " must be an array, not " + json_kind(j));
    if (j.size() > spec.max_items)
      fail(Reason::kFieldTooLong, w + " has " + std::to_string(j.size()) + " items; the limit is " +
                                      std::to_string(spec.max_items));
    v.assign(j.size(), T{});
    for (std::size_t i = 0; i < j.size(); ++i)
      read(w + "[" + std::to_string(i) + "]", j[i], v[i], spec);
  }
};

struct JsonWriter {
  json& obj;

  template <class T>
  void operator()(std::string_view name, const T& member, const FieldSpec&) {
    obj[std::string(name)] = write(member);
  }
  static json write(const std::string& s) { return s; }
  template <class Tag>
  static json write(const StrongString<Tag>& s) {
    return s.value;
  }
  template <DomainEnum E>
  static json write(const E& e) {
    return std::string(enum_name(e));
  }
  static json write(const Timestamp& t) { return format_time(t); }
  static json write(const std::int64_t& v) { return v; }
  template <std::size_t N, class Tag>
  static json write(const FixedBytes<N, Tag>& f) {
    return to_hex(f.view());
  }
  static json write(const Bytes& b) { return to_base64(b); }
  static json write(const Evidence& ev) {
    json o = json::object();
    JsonWriter w{o};
    const_cast<Evidence&>(ev).fields(
        [&](std::string_view n, const auto& m, const FieldSpec& s) { w(n, m, s); });
    return o;
  }
  template <class T>
  static json write(const std::optional<T>& o) {
    return o ? write(*o) : json(nullptr);
  }
  template <class T>
  static json write(const std::vector<T>& v) {
    json a = json::array();
    for (const auto& item : v) a.push_back(write(item));
    return a;
  }
};

const std::vector<std::string_view> kEnvelopeKeys = {
    "v", "id", "type", "subject", "issuer", "key_id", "issued_at", "payload", "signature", "batch"};

Event read_event(const json& j, const JsonReadOptions& opt) {
  if (!j.is_object())
    fail(Reason::kFieldType, "the event must be a JSON object, not " + std::string(json_kind(j)));
  reject_unknown_keys("the event", j, kEnvelopeKeys);
  auto need = [&](const char* key, bool optional_here) -> const json* {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) {
      if (optional_here) return nullptr;
      fail(Reason::kFieldMissing, std::string(key) + " is missing");
    }
    return &*it;
  };
  Event e;
  const json* v = need("v", false);
  if (!v->is_number_integer())
    fail(Reason::kFieldType, "v must be an integer, not " + std::string(json_kind(*v)));
  if (*v != kFormatVersion)
    fail(Reason::kVersionUnsupported, "format version " + v->dump() + " is not supported (only 1)");
  const std::string& type = expect_string("type", *need("type", false), "a string");
  auto payload = payload_for_type(type);
  if (!payload) fail(Reason::kTypeUnknown, "unknown event type '" + type + "'");
  if (const json* id = need("id", opt.for_signing))
    e.id = expect_hex<EventId>("id", *id);
  else
    random_bytes(e.id.bytes);
  e.subject.value = expect_string("subject", *need("subject", false), "a string");
  e.issuer.value = expect_string("issuer", *need("issuer", false), "a string");
  if (const json* k = need("key_id", opt.for_signing))
    e.key_id.value = expect_string("key_id", *k, "a string");
  if (const json* t = need("issued_at", opt.for_signing))
    e.issued_at = expect_time("issued_at", *t);
  else
    e.issued_at.ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  const json* p = need("payload", false);
  if (!p->is_object())
    fail(Reason::kFieldType, "payload must be an object, not " + std::string(json_kind(*p)));
  e.payload = std::move(*payload);
  std::visit(
      [&](auto& pl) {
        JsonReader r{*p, "payload"};
        std::vector<std::string_view> names;
        pl.fields([&](std::string_view n, auto& m, const FieldSpec& s) {
          names.push_back(n);
          r(n, m, s);
        });
        reject_unknown_keys("payload", *p, names);
      },
      e.payload);
  if (const json* s = need("signature", opt.for_signing))
    e.signature = expect_hex<Signature>("signature", *s);
  if (auto b = j.find("batch"); b != j.end() && !b->is_null()) {
    // A batch-signed event (FORMAT.md §2b): {"size", "index", "path": [hex...]}.
    if (!b->is_object()) fail(Reason::kFieldType, "batch must be an object");
    reject_unknown_keys("batch", *b, {"size", "index", "path"});
    BatchProof proof;
    auto number = [&](const char* k) -> std::uint32_t {
      auto it = b->find(k);
      if (it == b->end()) fail(Reason::kFieldMissing, std::string("batch.") + k + " is missing");
      if (!it->is_number_unsigned() || it->get<std::uint64_t>() > kMaxBatchEvents)
        fail(Reason::kFieldInvalid, std::string("batch.") + k + " must be a small count");
      return static_cast<std::uint32_t>(it->get<std::uint64_t>());
    };
    proof.size = number("size");
    proof.index = number("index");
    auto path = b->find("path");
    if (path == b->end() || !path->is_array() || path->size() > 32)
      fail(Reason::kFieldInvalid, "batch.path must be an array of at most 32 hashes");
    for (const json& h : *path) proof.path.push_back(expect_hex<Digest>("batch.path", h));
    if (proof.size == 0 || proof.index >= proof.size)
      fail(Reason::kFieldInvalid, "batch.index must be below batch.size");
    // The same shapes the wire decoder accepts (§2b): a path of any other length cannot verify.
    if (const std::size_t want = merkle::inclusion_path_length(proof.index, proof.size);
        proof.path.size() != want)
      fail(Reason::kFieldInvalid, "batch.path must hold " + std::to_string(want) +
                                      " hashes for leaf " + std::to_string(proof.index) +
                                      " of a batch of " + std::to_string(proof.size));
    e.batch = std::move(proof);
  }
  return e;
}

}  // namespace

Result<Event> event_from_json_value(const json& j, JsonReadOptions options) {
  try {
    Event e = read_event(j, options);
    if (options.for_signing && e.key_id.empty())
      e.key_id.value = std::string(32, '0');  // placeholder until sign_event() sets it
    Status v = validate_event(e);
    if (!v) return v;
    return e;
  } catch (const DecodeError& err) {
    return err.status;
  } catch (const std::exception& ex) {
    return Status(Reason::kFieldInvalid, std::string("the event cannot be read: ") + ex.what());
  }
}

Result<Event> event_from_json(std::string_view text, JsonReadOptions options) {
  // JSON is bigger than the wire form; four times the wire limit is generous for any valid event.
  if (text.size() > 4 * kMaxWireEventBytes)
    return Status(Reason::kEventTooLarge, "the JSON text is " + std::to_string(text.size()) +
                                              " bytes; the limit is " +
                                              std::to_string(4 * kMaxWireEventBytes));
  if (!is_valid_utf8(text)) return Status(Reason::kUtf8Invalid, "the JSON text is not valid UTF-8");
  // Duplicate keys make a document mean different things to different parsers; refuse them.
  std::vector<std::set<std::string>> seen;
  std::string duplicate;
  json::parser_callback_t cb = [&](int, json::parse_event_t ev, json& parsed) {
    if (ev == json::parse_event_t::object_start)
      seen.emplace_back();
    else if (ev == json::parse_event_t::object_end && !seen.empty())
      seen.pop_back();
    else if (ev == json::parse_event_t::key && !seen.empty() && duplicate.empty()) {
      const auto& k = parsed.get_ref<const std::string&>();
      if (!seen.back().insert(k).second) duplicate = k;
    }
    return true;
  };
  json j;
  try {
    j = json::parse(text.begin(), text.end(), cb);
  } catch (const json::exception& ex) {
    return Status(Reason::kJsonMalformed, std::string("the text is not valid JSON: ") + ex.what());
  }
  if (!duplicate.empty())
    return Status(Reason::kJsonDuplicateKey,
                  "the key '" + duplicate + "' appears twice in one object");
  return event_from_json_value(j, options);
}

json event_to_json(const Event& e, bool include_signature) {
  json j = json::object();
  j["v"] = e.version;
  j["id"] = to_hex(e.id.view());
  j["type"] = std::string(e.type_name());
  j["subject"] = e.subject.value;
  j["issuer"] = e.issuer.value;
  if (include_signature) j["key_id"] = e.key_id.value;
  j["issued_at"] = format_time(e.issued_at);
  json p = json::object();
  std::visit(
      [&](const auto& pl) {
        using P = std::decay_t<decltype(pl)>;
        JsonWriter w{p};
        const_cast<P&>(pl).fields(
            [&](std::string_view n, const auto& m, const FieldSpec& s) { w(n, m, s); });
      },
      e.payload);
  j["payload"] = std::move(p);
  if (include_signature) {
    j["signature"] = to_hex(e.signature.view());
    if (e.batch) {
      json path = json::array();
      for (const Digest& d : e.batch->path) path.push_back(to_hex(d));
      j["batch"] = {{"size", e.batch->size}, {"index", e.batch->index}, {"path", path}};
    }
  }
  return j;
}

std::string event_to_json_text(const Event& e, bool include_signature, int indent) {
  return event_to_json(e, include_signature)
      .dump(indent, ' ', false, json::error_handler_t::strict);
}

Result<EventId> event_id_from_hex(std::string_view text, std::string_view what) {
  auto id = fixed_from_hex<EventId>(text);
  if (!id)
    return Status(Reason::kInvalidArgument,
                  std::string(what) + " must be an event id: 32 lowercase hex digits");
  return *id;
}

}  // namespace govcredit
