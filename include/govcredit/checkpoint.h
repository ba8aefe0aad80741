// Signed checkpoints: a C2SP signed note with a tlog-checkpoint body (docs/LEDGER_FORMAT.md §5).
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "govcredit/crypto.h"
#include "govcredit/status.h"
#include "govcredit/types.h"

namespace govcredit {

struct Checkpoint {
  std::string origin;  // "govcredit/<ledger name>/shard/<partition>"
  std::uint64_t size = 0;
  Digest root;
  Timestamp time;    // when it was signed
  std::string text;  // the whole signed note, as stored and served

  // The body the signature covers: four lines, each ending in '\n'.
  std::string body() const;
};

// The signed-note key hash: first 4 bytes of SHA-256(name ‖ "\n" ‖ 0x01 ‖ raw key).
std::array<std::uint8_t, 4> note_key_hash(std::string_view name, const PublicKeyBytes& key);

// Builds and signs a checkpoint (key name = origin).
Checkpoint sign_checkpoint(std::string origin, std::uint64_t size, const Digest& root,
                           Timestamp time, const PrivateKey& key);
// c with key's signature line added after those it carries (the body, and so the time, kept).
Checkpoint cosign_checkpoint(const Checkpoint& c, const PrivateKey& key);
// Parses a signed note. Rejections (reason kCorrupt): anything but the exact format.
Result<Checkpoint> parse_checkpoint(std::string_view text);
// Checks that the note carries a valid signature by key under the key name == origin.
Status verify_checkpoint(const Checkpoint& c, const PublicKey& key);

}  // namespace govcredit
