// The transport seen by everything that publishes events: one interface, two implementations.
//
//   KafkaBus     publishes to govcredit.events; ledger nodes (LedgerNode) consume it.
//   EmbeddedBus  the default with nothing else installed: an in-process bus over the LMDB
//                shards of one data directory, running the very same Ingestor.
//
// Both route an event like Kafka's default partitioner (murmur2 of the subject) and fan registry
// events out to every partition, so an embedded shard is byte-identical to the shard a ledger
// node builds from a fresh Kafka topic holding the same events in the same order.
//
// Thread-safety: publish() may be called from many threads at once.
#pragma once

#include <future>
#include <memory>
#include <vector>

#include "govcredit/event.h"
#include "govcredit/ingest.h"
#include "govcredit/kafka.h"
#include "govcredit/ledger.h"

namespace govcredit {

class Bus {
 public:
  virtual ~Bus() = default;
  // Returns once the transport holds the event durably: one delivery per partition it went to.
  virtual Result<std::vector<Delivery>> publish(const Event& event) = 0;
  // Publishes many at once (pipelined); one result per event, in order.
  virtual std::vector<Result<std::vector<Delivery>>> publish_all(
      const std::vector<Event>& events) = 0;
  virtual int partitions() const = 0;
};

class KafkaBus final : public Bus {
 public:
  static Result<std::unique_ptr<KafkaBus>> create(const KafkaConfig& config);
  Result<std::vector<Delivery>> publish(const Event& event) override;
  std::vector<Result<std::vector<Delivery>>> publish_all(const std::vector<Event>& events) override;
  int partitions() const override;

 private:
  explicit KafkaBus(std::unique_ptr<EventProducer> p) : producer_(std::move(p)) {}
  std::unique_ptr<EventProducer> producer_;
};

struct EmbeddedOptions {
  std::string data_dir = "govcredit-data";
  int partitions = 1;
  LedgerOptions ledger{};
  std::size_t max_batch = 5000;  // messages per LMDB transaction at most (group commit)
};

class EmbeddedBus final : public Bus {
 public:
  static Result<std::unique_ptr<EmbeddedBus>> open(const EmbeddedOptions& options);
  ~EmbeddedBus() override;

  // Appends through each target shard's Ingestor. Returns when every target shard has committed
  // the event (accepted, acknowledged as a duplicate, or journaled as rejected).
  Result<std::vector<Delivery>> publish(const Event& event) override;
  std::vector<Result<std::vector<Delivery>>> publish_all(const std::vector<Event>& events) override;
  // Like publish_all(), returning each target shard's ingest outcome.
  std::vector<Result<std::vector<IngestResult>>> publish_all_with_results(
      const std::vector<Event>& events);

  // Events on their shards' queues, their outcomes not yet waited for.
  class Pending {
   public:
    // Waits until every target shard has committed every event: one result per event, in order,
    // as publish_all_with_results() returns them. Once only.
    std::vector<Result<std::vector<IngestResult>>> wait();

   private:
    friend class EmbeddedBus;
    std::vector<std::vector<std::future<Result<IngestResult>>>> futures_;
  };
  // The first half of publish_all_with_results(): queues the events, in order, and returns at
  // once. A publisher that queues the next events before it waits for these keeps the shards'
  // writers busy, and their transactions large, where waiting first would let the queues run dry
  // (docs/PERFORMANCE.md §5.36). Events queued by later calls come after these on every shard.
  Pending enqueue_all(const std::vector<Event>& events);
  int partitions() const override;
  Ledger& shard(Partition p);

  struct Impl;

 private:
  explicit EmbeddedBus(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace govcredit
