// Ingest: the one code path from transport bytes to ledger entries, shared by the Kafka consumer
// and the embedded bus (DESIGN.md §2).
//
//   decode -> idempotency -> key + signature -> authorisation -> registry consistency
//          -> domain rules (projections) -> append + apply to the projections
//
// A batch of messages from one partition is processed in one LMDB write transaction together with
// the partition's next offset, so each message is consumed exactly once whatever the transport
// redelivers. Every decision is a function of the shard's own history and the message bytes
// (never the wall clock), so replaying a partition reproduces the shard byte for byte.
//
// Thread-safety: one thread drives an Ingestor. registry() may be read by that thread only.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "govcredit/ledger.h"
#include "govcredit/projections.h"
#include "govcredit/registry.h"

namespace govcredit {

// One message as a transport delivers it.
struct Message {
  Bytes value;  // the event's wire form (or whatever garbage was published)
  Partition partition;
  KafkaOffset offset;
  Timestamp timestamp;  // the transport's timestamp; used only for the rejection journal
  // The value is the JSON form (events/FORMAT.md §1) rather than the wire form: used by the CLI's
  // `append` and the HTTP API. It is converted to the wire form before anything is stored.
  bool json = false;
};

enum class IngestOutcome {
  kAccepted,         // appended at seq
  kDuplicate,        // the identical event is already at seq (a re-send); nothing written
  kRejected,         // journaled with a reason code; nothing appended
  kAlreadyConsumed,  // offset below the shard's next offset (a redelivery); ignored
};

struct IngestResult {
  IngestOutcome outcome;
  KafkaOffset offset;
  Seq seq;  // for kAccepted and kDuplicate
  std::optional<EventId> event_id;
  Status status;  // the reason for kRejected
};

class Ingestor {
 public:
  // Loads the shard's registry from its log.
  static Result<std::unique_ptr<Ingestor>> create(Ledger& ledger);

  // Processes messages (of this ledger's partition, in offset order) in one transaction.
  // Returns one result per message, or a storage error (then nothing was written and the same
  // batch may be retried).
  Result<std::vector<IngestResult>> ingest(std::span<const Message> batch);

  const Registry& registry() const { return registry_; }
  Ledger& ledger() { return ledger_; }

  // Threads that decode and verify signatures (default: one per core): n − 1 workers ahead of the
  // sequential pass, and the pass's own thread when it catches up with them. Verdicts are pure
  // functions of bytes and keys, so this never changes a decision.
  void set_verify_threads(unsigned n) { verify_threads_ = n == 0 ? 1 : n; }

 private:
  Ingestor(Ledger& ledger, Registry registry);
  Ledger& ledger_;
  Registry registry_;
  StateCache states_;  // agency and record states as the last committed batch left them
  unsigned verify_threads_ = 1;
};

}  // namespace govcredit
