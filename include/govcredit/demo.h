// A deterministic synthetic data set: the principals, agencies and workflow of DESIGN.md §1 with
// keys derived from fixed seeds. Used by `govcredit demo`, the test vectors and the tests.
//
// Determinism: the same Options give the same events byte for byte on any machine (own PRNG,
// no wall clock, Ed25519 signing is deterministic). The keys are public test keys: never use
// them for anything real.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "govcredit/crypto.h"
#include "govcredit/event.h"
#include "govcredit/privacy.h"

namespace govcredit::demo {

// The test key of a principal: seed = SHA-256("govcredit demo key:" + principal [+ ":" + n]).
PrivateKey key_for(const PrincipalId& principal, int generation = 0);

// Well-known principal ids of the demo world.
inline const PrincipalId kAuthority{"authority"};
inline const PrincipalId kComplaintChannel{"complaints"};
inline const PrincipalId kAuditor{"auditor"};
inline const PrincipalId kLedger{"ledger"};

struct Options {
  std::uint64_t seed = 2013;
  // How many records the sources submit; every other event type scales with it.
  int records = 300;
  // The first year of activity; the data set spans `years` years from its 1 January.
  int first_year = 2011;
  int years = 3;
};

struct World {
  std::vector<Event> events;  // in log order; every one valid against the shard before it
  std::map<PrincipalId, PrivateKey> keys;
  // The data key of each complaint's sealed contact details (for the complaint channel's vault).
  std::map<EventId, DataKey> contact_keys;
};

// The whole synthetic history.
World generate(const Options& options);

// A small history holding every event type at least once (the test vectors are drawn from it).
World every_type();

}  // namespace govcredit::demo
