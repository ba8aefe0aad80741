#include "govcredit/ingest.h"

#include <cstring>

#include "govcredit/codec.h"
#include "govcredit/encoding.h"

namespace govcredit {

Result<std::unique_ptr<Ingestor>> Ingestor::create(Ledger& ledger) {
  auto reg = ledger.load_registry();
  if (!reg) return reg.status();
  return std::unique_ptr<Ingestor>(new Ingestor(ledger, std::move(*reg)));
}

namespace {

std::optional<EventId> id_of(const Bytes& wire) {
  if (wire.size() < 21 + 16) return std::nullopt;
  EventId id;
  std::memcpy(id.bytes.data(), wire.data() + 21, 16);
  return id;
}

}  // namespace

Result<std::vector<IngestResult>> Ingestor::ingest(std::span<const Message> batch) {
  std::vector<IngestResult> results;
  // Registry changes of this batch are staged and adopted only when the transaction commits.
  std::optional<Registry> staged;
  Status s = ledger_.write([&](Ledger::Batch& b) {
    results.clear();
    staged.reset();
    KafkaOffset next = ledger_.next_offset();
    for (const Message& m : batch) {
      IngestResult r{IngestOutcome::kAlreadyConsumed, m.offset, Seq{0}, std::nullopt, Status::ok()};
      if (m.offset < next) {
        results.push_back(std::move(r));
        continue;
      }
      next = KafkaOffset{m.offset.value + 1};
      auto reject = [&](const Status& why, std::optional<EventId> id) {
        r.outcome = IngestOutcome::kRejected;
        r.status = why;
        r.event_id = id;
        b.reject(Rejection{0, std::string(why.code()), why.message(), m.partition, m.offset, m.timestamp,
                           sha256(m.value), m.value.size(), id});
      };
      Bytes converted;
      auto event = m.json ? event_from_json(as_chars(m.value)) : decode_wire(m.value);
      if (event && m.json) converted = encode_wire(*event);
      const Bytes& wire = m.json ? converted : m.value;
      if (!event) {
        reject(event.status(), m.json ? std::nullopt : id_of(m.value));
        results.push_back(std::move(r));
        continue;
      }
      r.event_id = event->id;
      // Idempotency first: an identical re-send is acknowledged even if, say, its key has been
      // revoked since it was accepted.
      if (auto existing = b.find_event(event->id, wire)) {
        if (existing->second) {
          r.outcome = IngestOutcome::kDuplicate;
          r.seq = existing->first;
        } else {
          reject(Status(Reason::kEventIdConflict, "another event with id " + to_hex(event->id) +
                                                      " is already at seq " + std::to_string(existing->first.value)),
                 event->id);
        }
        results.push_back(std::move(r));
        continue;
      }
      const Registry& reg = staged ? *staged : registry_;
      ByteView signing(wire.data(), wire.size() - 64);
      if (Status c = reg.check(*event, signing); !c) {
        reject(c, event->id);
        results.push_back(std::move(r));
        continue;
      }
      bool is_registry = Registry::is_registry_event(*event);
      AppendResult a = b.append(AppendItem{wire, event->id, is_registry, m.partition, m.offset});
      r.outcome = IngestOutcome::kAccepted;  // find_event above ruled out the other outcomes
      r.seq = a.seq;
      if (is_registry) {
        if (!staged) staged = registry_;
        staged->apply(*event);
      }
      results.push_back(std::move(r));
    }
    b.set_next_offset(next);
    return Status::ok();
  });
  if (!s) return s;
  if (staged) registry_ = std::move(*staged);
  return results;
}

}  // namespace govcredit
