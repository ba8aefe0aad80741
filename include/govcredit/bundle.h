// The auditor's bundle (docs/AUDIT.md): everything a third party needs to check an agency's
// history with nothing but this file and the ledger's public key — a signed checkpoint, every
// registry entry and every entry about the agency, each with its RFC 9162 inclusion proof.
//
// Verifying a bundle: the checkpoint's signature (against a ledger key the auditor trusts); each
// entry's inclusion proof against the checkpoint's root; the registry rebuilt from the registry
// entries in log order (each checked as ingest checks it, from the genesis authority on); and
// each agency entry's signature, key validity and role against that registry. The registry's
// keys are therefore proven from the log, not taken on trust.
//
// What a bundle does not prove: that it holds *every* entry about the agency (the ledger has no
// per-agency commitment); `govcredit verify` on a full copy of the shard proves that.
#pragma once

#include <nlohmann/json.hpp>

#include "govcredit/checkpoint.h"
#include "govcredit/ledger.h"

namespace govcredit {

inline constexpr std::string_view kBundleFormat = "govcredit-bundle-v1";

// Signs a checkpoint of the shard's head with ledger_key (stored like any checkpoint) and
// collects the entries and their proofs against it.
Result<nlohmann::json> export_bundle(Ledger& ledger, const AgencyId& agency,
                                     const PrivateKey& ledger_key, Timestamp now);

struct BundleCheck {
  bool ok = false;
  bool key_trusted = false;  // the checkpoint was checked against a key given by the caller
  std::string agency;
  std::uint64_t tree_size = 0;
  std::uint64_t registry_entries = 0;
  std::uint64_t agency_entries = 0;
  std::optional<std::uint64_t> bad_seq;  // the first entry found wrong
  Status problem;
};

// trusted_ledger_key: the key the auditor holds; nullptr uses the key inside the bundle (which
// then proves only that the bundle is consistent with itself).
BundleCheck verify_bundle(const nlohmann::json& bundle, const PublicKey* trusted_ledger_key);

}  // namespace govcredit
