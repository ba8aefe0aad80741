// Complainants' contact details (DESIGN.md §3, events/FORMAT.md §3 complaint.filed): sealed with
// AES-256-GCM under a fresh data key per complaint before the complaint enters the log; the data
// keys live in a KeyVault — a separate LMDB environment, outside every hash chain and Merkle tree —
// so that destroying one key (govcredit erase) makes those details unrecoverable while every
// proof over the log still verifies.
//
//   contact_sealed = nonce (12) ‖ ciphertext ‖ tag (16)
//   AES-256-GCM, key = the complaint's data key, AAD = "govcredit/contact/v1" 0x00 ‖ event id
//
// The AAD binds a sealed blob to its complaint: it cannot be moved to another event.
//
// Thread-safety: seal/open are pure. A KeyVault is used by one process at a time (it holds an
// exclusive lock on its directory) and by one thread at a time.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "govcredit/status.h"
#include "govcredit/types.h"

namespace govcredit {

struct DataKeyTag {};
using DataKey = FixedBytes<32, DataKeyTag>;

DataKey new_data_key();
// nonce: 12 bytes, or empty for a random one. A key must never seal twice with one nonce.
Result<Bytes> seal_contact(const DataKey& key, const EventId& complaint, std::string_view contact,
                           ByteView nonce = {});
// A wrong key, a wrong event id or a changed byte is kCorrupt.
Result<std::string> open_contact(const DataKey& key, const EventId& complaint, ByteView sealed);

class KeyVault {
 public:
  // Opens (creating) the vault in dir. kIoError when another process holds it.
  static Result<std::unique_ptr<KeyVault>> open(const std::string& dir);
  ~KeyVault();

  Status put(const EventId& complaint, const DataKey& key);
  // nullopt when there is no key (never stored, or erased).
  Result<std::optional<DataKey>> get(const EventId& complaint) const;
  // Destroys the key: deletes it, then rewrites the vault file compactly (dropping LMDB's free
  // pages, which could still hold the old bytes) and overwrites the old file with zeros before
  // removing it. kNotFound when there was no key.
  Status erase(const EventId& complaint);
  std::size_t size() const;

  struct Impl;

 private:
  explicit KeyVault(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace govcredit
