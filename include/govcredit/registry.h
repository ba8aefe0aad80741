// The key registry: agencies, principals with roles, and their keys with validity periods, as
// built from one shard's registry events. Also the authorisation matrix (events/FORMAT.md §4).
//
// Every decision is a pure function of the registry's state and the event itself (its
// issued_at, never the wall clock), so replaying one shard's log anywhere gives the same answers.
//
// Thread-safety: const methods may run concurrently; apply() needs exclusive access.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <unordered_map>

#include "govcredit/crypto.h"
#include "govcredit/event.h"
#include "govcredit/status.h"

namespace govcredit {

struct AgencyInfo {
  AgencyId id;
  std::string name_zh;
  std::string name_en;
  Level level = Level::kCity;
  std::optional<std::string> district;
  std::optional<AgencyId> parent;
  bool operator==(const AgencyInfo&) const = default;
};

struct PrincipalInfo {
  PrincipalId id;
  Role role = Role::kAuditor;
  std::optional<SourceKind> source_kind;
  std::optional<AgencyId> agency;
  std::string display_name;
};

struct KeyInfo {
  PublicKey key;
  PrincipalId principal;
  Timestamp valid_from;
  std::optional<Timestamp> revoked_at;
};

// A signature already checked against a key (e.g. in parallel, ahead of the sequential pass).
// Keys are immutable (the id is a hash of the key), so the verdict holds wherever that key id
// resolves to the same key.
struct SignatureVerdict {
  KeyId key;
  bool valid = false;
};

// The signature verdict on e under k (signing_input: e's signing bytes): one verification for a
// single signature; for a member of a signed batch (events/FORMAT.md §2b) its Merkle path to the
// batch root, then the batch signature's verdict. Batch verdicts are remembered process-wide per
// (key id, size, root, signature), bounded: the members of one batch arrive spread over many
// polls, shards and verify windows, and each distinct batch needs one Ed25519 verification. So
// are the nodes of each verified batch's tree (batches of up to 4,096): a member's walk takes a
// parent from them when it holds both of its children, checking every node of its path against
// them, and hashes the rest. A verdict is a pure function of those bytes (a key id names one
// key), so remembering it never changes a decision. Thread-safe.
SignatureVerdict signature_verdict(const Event& e, ByteView signing_input, const KeyInfo& k);
// Forgets the batch verdicts and trees remembered so far, so that what follows checks every batch
// signature again, as a new process would: the benchmarks time `verify --signatures` after an
// ingest in the same process, whose verdicts would otherwise spare it most verifications.
void forget_batch_verdicts();

class Registry {
 public:
  // All checks in the order of FORMAT.md §5 (steps 2-4). signing_input is the event's canonical
  // bytes (the wire form minus its last 64 bytes); pass an empty view to have them recomputed.
  // A verdict for the key the event resolves to replaces the signature check.
  Status check(const Event& e, ByteView signing_input = {},
               const SignatureVerdict* verdict = nullptr) const;

  // Step 2: genesis rule, the issuer's key and its validity at e.issued_at, the signature.
  Status authenticate(const Event& e, ByteView signing_input = {},
                      const SignatureVerdict* verdict = nullptr) const;
  // Step 3: the issuer's role may emit this type about this subject.
  Status authorise(const Event& e) const;
  // Step 4: what the event registers does not exist yet; what it names does.
  Status check_consistency(const Event& e) const;

  // Records the registry effects of an accepted event; other types are ignored.
  // Precondition: check(e) returned ok.
  void apply(const Event& e);

  bool has_authority() const { return has_authority_; }
  const AgencyInfo* agency(const AgencyId& id) const;
  const PrincipalInfo* principal(const PrincipalId& id) const;
  const KeyInfo* key(const KeyId& id) const;
  const std::map<AgencyId, AgencyInfo>& agencies() const { return agencies_; }
  // In no particular order (agencies() is in id order).
  const std::unordered_map<PrincipalId, PrincipalInfo>& principals() const { return principals_; }
  const std::unordered_map<KeyId, KeyInfo>& keys() const { return keys_; }

  // True when an event of this type is a registry event (published to every partition).
  static bool is_registry_event(const Event& e);

 private:
  // The subject a registry event about principal p must carry.
  AgencyId subject_for_principal(const PrincipalInfo& p) const;

  bool has_authority_ = false;
  std::map<AgencyId, AgencyInfo> agencies_;
  // Looked up for every event (its issuer, its key), never listed in order: hashed.
  std::unordered_map<PrincipalId, PrincipalInfo> principals_;
  std::unordered_map<KeyId, KeyInfo> keys_;
};

}  // namespace govcredit
