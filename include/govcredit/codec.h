// Encoding and decoding events: the canonical binary form (events/FORMAT.md §2), the JSON form
// clients send, and Ed25519 signing over the canonical bytes.
//
// Every decoder is total: any input, however hostile, yields an Event or a Status with a stable
// reason code. No exception leaves these functions. Thread-safe (no shared state).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "govcredit/crypto.h"
#include "govcredit/event.h"
#include "govcredit/status.h"

namespace govcredit {

// The domain-separation prefix of the signing input: "govcredit/event/v1" and a zero byte.
inline constexpr std::string_view kEventSigningPrefix{"govcredit/event/v1\0", 19};
// Where the 16-byte event id sits in the wire form: after the prefix, the byte-order marker and
// the version byte (events/FORMAT.md §2). Lets the ledger index bytes it does not decode.
inline constexpr std::size_t kWireIdOffset = kEventSigningPrefix.size() + 2;

// Batch signatures (events/FORMAT.md §2b). The batch trailer that replaces the signature in the
// wire form: version (0x01) ‖ u32 size ‖ u32 index ‖ u8 k ‖ k × 32-byte path ‖ 64-byte signature.
inline constexpr std::uint8_t kBatchTrailerVersion = 0x01;
inline constexpr std::size_t kBatchTrailerFixed = 1 + 4 + 4 + 1;
inline constexpr std::uint32_t kMaxBatchEvents = 65536;
// The domain-separation prefix of what a batch signature covers: "govcredit/batch/v1" and a
// zero byte, then u32 size (little endian) and the 32-byte root.
inline constexpr std::string_view kBatchSigningPrefix{"govcredit/batch/v1\0", 19};
Bytes batch_signing_input(std::uint32_t size, const Digest& root);
// Signs the events as one batch (at most kMaxBatchEvents): sets each one's key_id, batch proof
// and the one signature over the root of the tree of their signing inputs.
void sign_batch(std::span<Event> events, const PrivateKey& key);
// The root a batch-signed event's proof leads to from its signing input; nullopt when the proof
// cannot be walked.
std::optional<Digest> batch_root(const Event& e, ByteView signing_input);
// Whether e's signature (single, or its batch's) is valid under key, given e's signing input.
bool signature_valid(const Event& e, ByteView signing_input, const PublicKey& key);
// The bytes after the signing input in e's wire form: 64, or the batch trailer's length.
std::size_t wire_trailer_size(const Event& e);

// The exact bytes the signature covers. Precondition: the event passed validate_event().
Bytes signing_input(const Event& e);
// signing_input(e) followed by the 64-byte signature: what Kafka carries and the ledger stores.
Bytes encode_wire(const Event& e);
// Strict decode of the wire form, including validate_event(). Rejections: event_too_large,
// binary_malformed, version_unsupported, type_unknown, field_too_long, field_invalid,
// utf8_invalid, text_control_char.
Result<Event> decode_wire(ByteView wire);
// An event id from its text form (32 lowercase hex digits); kInvalidArgument naming `what`.
Result<EventId> event_id_from_hex(std::string_view text, std::string_view what);

// The same decode without validate_event(): only for re-reading entries of a ledger's own log,
// which were validated when they were accepted and whose integrity `verify` checks (the
// projection rebuild, where validation is a third of the decoding cost). Never for input.
Result<Event> decode_logged_wire(ByteView wire);
// The same into `out` (what it held before does not matter; unspecified after a failure), so
// that a reader filling a vector of events decodes each where it stays.
Status decode_logged_wire(ByteView wire, Event& out);

// Field-level validation shared by both decoders: identifiers, text limits, UTF-8, control
// characters, list sizes, and each type's own conditional rules (e.g. a confirmed verification
// needs a severity). Does not look at signatures or the registry.
Status validate_event(const Event& e);

struct JsonReadOptions {
  // For `event sign`: "id", "issued_at", "key_id" and "signature" may be absent. A missing id is
  // filled with 16 random bytes and a missing issued_at with the current time (the client's
  // clock: this mode is never used by ingest).
  bool for_signing = false;
};
// Parses the JSON representation (events/FORMAT.md §1, §3) and runs validate_event().
// Rejections: json_malformed, json_duplicate_key, utf8_invalid, event_too_large, field_missing,
// field_unknown, field_type, field_invalid, field_too_long, text_control_char,
// version_unsupported, type_unknown.
Result<Event> event_from_json(std::string_view text, JsonReadOptions options = {});
Result<Event> event_from_json_value(const nlohmann::json& j, JsonReadOptions options = {});
// The JSON representation. With include_signature false, "key_id" and "signature" are omitted.
nlohmann::json event_to_json(const Event& e, bool include_signature = true);
std::string event_to_json_text(const Event& e, bool include_signature = true, int indent = -1);

// Sets e.key_id to the key's id and e.signature to its signature over signing_input(e).
void sign_event(Event& e, const PrivateKey& key);
// Checks that the key's id equals e.key_id (key_id_mismatch) and that the signature verifies
// (signature_invalid).
Status verify_event_signature(const Event& e, const PublicKey& key);

// Where each field lies in signing_input(e): for documentation (the worked example) and
// debugging of other-language clients.
struct FieldExtent {
  std::string name;  // "prefix", "marker", "v", "id", ..., "payload.title"
  std::size_t offset;
  std::size_t length;
};
std::vector<FieldExtent> signing_input_layout(const Event& e);

// The SHA-256 of the wire form: the event's content hash, used for idempotency checks.
Digest event_digest(ByteView wire);

}  // namespace govcredit
