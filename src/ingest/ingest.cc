#include "govcredit/ingest.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <thread>

#include "govcredit/codec.h"
#include "govcredit/encoding.h"
#include "govcredit/projections.h"

namespace govcredit {

Ingestor::Ingestor(Ledger& ledger, Registry registry)
    : ledger_(ledger),
      registry_(std::move(registry)),
      verify_threads_(std::max(1u, std::thread::hardware_concurrency())) {}

Result<std::unique_ptr<Ingestor>> Ingestor::create(Ledger& ledger) {
  if (Status s = ledger.claim_writer(); !s) return s;
  // The domain rules read the projections: bring them up to the log first.
  if (Status s = catch_up_projections(ledger); !s) return s;
  auto reg = ledger.load_registry();
  if (!reg) return reg.status();
  return std::unique_ptr<Ingestor>(new Ingestor(ledger, std::move(*reg)));
}

namespace {

std::optional<EventId> id_of(const Bytes& wire) {
  if (wire.size() < kWireIdOffset + 16) return std::nullopt;
  EventId id;
  std::memcpy(id.bytes.data(), wire.data() + kWireIdOffset, 16);
  return id;
}

// What the parallel pass learned about one message.
struct Prepared {
  std::optional<Result<Event>> event;  // set for wire messages (JSON ones decode in order)
  std::optional<SignatureVerdict> verdict;
};

// Decodes wire messages and checks each signature against the key the committed registry
// resolves, in chunks of kChunk messages taken in order, while the sequential pass runs: on
// threads − 1 workers, and on the sequential pass's own thread whenever the chunk it is at is not
// done yet (it takes the next chunk nobody has taken, and waits only when none is left). So the
// signature checks of the batch's later messages overlap the domain rules, projections and
// append of its earlier ones, and no core idles through the sequential pass. Keys registered
// inside this batch are not known to the workers; those events are verified in the sequential
// pass.
class Preparer {
 public:
  static constexpr std::size_t kChunk = 32;

  // `out` is the calling thread's storage for the results, emptied first and again at the end.
  Preparer(std::span<const Message> batch, const Registry& registry, unsigned threads,
           std::vector<Prepared>& out)
      : batch_(batch),
        registry_(registry),
        out_(out),
        chunks_((batch.size() + kChunk - 1) / kChunk),
        done_(std::make_unique<std::atomic<bool>[]>(chunks_)) {
    out_.clear();
    out_.resize(batch.size());
    if (threads <= 1 || chunks_ <= 1) return;  // at() does it all, in order
    for (unsigned t = 1; t < threads; ++t)
      workers_.emplace_back([this] {
        for (std::size_t c; (c = next_.fetch_add(1)) < chunks_;) run(c);
      });
  }
  Preparer(const Preparer&) = delete;
  Preparer& operator=(const Preparer&) = delete;
  ~Preparer() {
    stop();
    out_.clear();  // the events go; the storage stays for the thread's next batch
  }

  // Returns once no worker runs: chunks nobody has taken yet are dropped.
  void stop() {
    next_.store(chunks_);
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  // What the workers learned about message i, once they have.
  const Prepared& at(std::size_t i) {
    const std::size_t c = i / kChunk;
    while (!done_[c].load(std::memory_order_acquire)) {
      if (std::size_t n = next_.fetch_add(1); n < chunks_) {
        run(n);
        continue;
      }
      done_[c].wait(false, std::memory_order_acquire);
    }
    return out_[i];
  }

 private:
  void run(std::size_t c) {
    for (std::size_t i = c * kChunk; i < std::min(batch_.size(), (c + 1) * kChunk); ++i) {
      const Message& m = batch_[i];
      if (m.json) continue;
      out_[i].event = decode_wire(m.value);
      const auto& ev = *out_[i].event;
      if (!ev) continue;
      const KeyInfo* k = registry_.key(ev->key_id);
      if (k == nullptr) continue;
      ByteView signing(m.value.data(), m.value.size() - wire_trailer_size(*ev));
      out_[i].verdict = signature_verdict(*ev, signing, *k);
    }
    // No lock: a worker took one for every chunk until 2026-12-05 and, contended by the waiting
    // thread, slept on it ~200 times a second in a drain, idling its core (PERFORMANCE.md §5.40).
    done_[c].store(true, std::memory_order_release);
    done_[c].notify_all();
  }

  std::span<const Message> batch_;
  const Registry& registry_;
  std::vector<Prepared>& out_;
  const std::size_t chunks_;
  std::unique_ptr<std::atomic<bool>[]> done_;
  std::atomic<std::size_t> next_{0};
  std::vector<std::thread> workers_;  // last: joined before the members they use go
};

}  // namespace

Result<std::vector<IngestResult>> Ingestor::ingest(std::span<const Message> batch) {
  // The parallel pass's results (~490 bytes a message) in storage each thread keeps between
  // batches: a node's batch of 50,000 would otherwise take ~25 MB of new memory, which the kernel
  // zeroes, every time (docs/PERFORMANCE.md §5.30).
  thread_local std::vector<Prepared> prepared_storage;
  Preparer prepared(batch, registry_, verify_threads_, prepared_storage);
  std::vector<IngestResult> results;
  // Registry changes of this batch are staged and adopted only when the transaction commits.
  std::optional<Registry> staged;
  // The domain state, read through the transaction (agencies and records from states_ when it
  // holds them); changes are written back below, and the states kept once the transaction has
  // committed.
  std::optional<Projector> domain;
  std::uint64_t applied = 0;
  Status s = ledger_.write([&](Ledger::Batch& b) {
    results.clear();
    staged.reset();
    domain.emplace(&b.side());
    domain->use_cache(states_, b.size());
    bool appended = false;
    KafkaOffset next = ledger_.next_offset();
    // The shard's id look-ups, started a stretch ahead (Ledger::Batch::expect; the ids read from
    // the wire bytes: a malformed message's is only a wasted hint).
    constexpr std::size_t kAhead = Ledger::Batch::kExpectAhead;
    thread_local std::vector<EventId> ahead;
    auto expect = [&](std::size_t from) {
      ahead.clear();
      for (std::size_t i = from; i < std::min(batch.size(), from + kAhead); ++i)
        if (!batch[i].json)
          if (auto id = id_of(batch[i].value)) ahead.push_back(*id);
      b.expect(ahead);
    };
    expect(0);
    for (std::size_t index = 0; index < batch.size(); ++index) {
      if (index % kAhead == 0) expect(index + kAhead);
      const Message& m = batch[index];
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
        b.reject(Rejection{0, std::string(why.code()), why.message(), m.partition, m.offset,
                           m.timestamp, sha256(m.value), m.value.size(), id});
      };
      Bytes converted;
      // Read in place, never moved, out of `prepared`: this function runs again from scratch
      // when the LMDB map has to grow, and must find its inputs intact.
      const Prepared& p = prepared.at(index);
      std::optional<Result<Event>> decoded;
      if (m.json)
        decoded = event_from_json(as_chars(m.value));
      else if (!p.event)
        decoded = decode_wire(m.value);
      const Result<Event>& event = decoded ? *decoded : *p.event;
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
                                                      " is already at seq " +
                                                      std::to_string(existing->first.value)),
                 event->id);
        }
        results.push_back(std::move(r));
        continue;
      }
      const Registry& reg = staged ? *staged : registry_;
      ByteView signing(wire.data(), wire.size() - wire_trailer_size(*event));
      // A key registered earlier in this batch had no verdict in the parallel pass.
      std::optional<SignatureVerdict> verdict = p.verdict;
      if (!verdict && event->batch)
        if (const KeyInfo* k = reg.key(event->key_id))
          verdict = signature_verdict(*event, signing, *k);
      if (Status c = reg.check(*event, signing, verdict ? &*verdict : nullptr); !c) {
        reject(c, event->id);
        results.push_back(std::move(r));
        continue;
      }
      const PrincipalInfo* issuer = reg.principal(event->issuer);
      // (No issuer yet only for the genesis event, which the registry has pinned down.)
      if (Status c = domain->check(*event, issuer ? issuer->role : Role::kAuthority); !c) {
        reject(c, event->id);
        results.push_back(std::move(r));
        continue;
      }
      bool is_registry = Registry::is_registry_event(*event);
      AppendResult a = b.append(AppendItem{wire, event->id, is_registry, m.partition, m.offset});
      r.outcome = IngestOutcome::kAccepted;  // find_event above ruled out the other outcomes
      r.seq = a.seq;
      domain->apply(*event, a.seq);
      appended = true;
      if (is_registry) {
        if (!staged) staged = registry_;
        staged->apply(*event);
      }
      results.push_back(std::move(r));
    }
    if (appended) domain->flush(b.side(), b.size());
    b.set_next_offset(next);
    applied = b.size();
    return Status::ok();
  });
  prepared.stop();   // the workers read registry_
  if (!s) return s;  // (states_ lost the states this transaction took; they load again)
  domain->keep_states(states_, applied);  // (a successful write ran the function above)
  if (staged) registry_ = std::move(*staged);
  return results;
}

}  // namespace govcredit
