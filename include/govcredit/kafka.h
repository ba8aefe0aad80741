// Kafka transport (librdkafka): topics, the event producer, and the ledger node that consumes
// govcredit.events into one LMDB shard per partition (DESIGN.md §2).
//
// Exactly once into the ledger: the node never relies on Kafka's committed offsets. When a
// partition is assigned, it seeks to the offset stored in that partition's shard (written in the
// same LMDB transaction as the entries), so a crash, restart or rebalance neither loses nor
// duplicates an event. Offsets are still committed to Kafka afterwards, for lag monitoring only.
//
// Thread-safety: an EventProducer may be used from several threads. A LedgerNode runs on the
// thread that calls run(); stop() may be called from any thread (or a signal handler via the flag).
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "govcredit/event.h"
#include "govcredit/ingest.h"
#include "govcredit/ledger.h"
#include "govcredit/status.h"

namespace govcredit {

struct KafkaConfig {
  std::string brokers = "127.0.0.1:19092";
  std::string events_topic = "govcredit.events";
  std::string rejected_topic = "govcredit.rejected";
  // Used when creating the topics.
  int partitions = 4;
  int replication = 1;
  int min_insync = 1;
  // Extra librdkafka properties (name -> value), e.g. {"debug", "feature"}.
  std::map<std::string, std::string> extra;
};

// Adds a librdkafka property given as name=value (the commands' --kafka-set, kafka_bench's
// --producer-set) to `extra`, replacing an earlier value of that name; kInvalidArgument, with
// `extra` unchanged, when it has no '=' or nothing before it.
Status add_kafka_setting(std::map<std::string, std::string>& extra, std::string_view name_value);

// Creates govcredit.events (retention.ms=-1, cleanup.policy=delete: kept forever, never compacted)
// and govcredit.rejected if they do not exist; an existing topic is left as it is. A topic it
// creates is returned once every partition's leader serves it, so the first events produced to
// it cannot overtake one another (src/kafka/producer.cc, partitions_ready). Returns the events
// topic's partition count.
Result<int> ensure_topics(const KafkaConfig& config, int timeout_ms = 30000);
// The partition count of the events topic (a metadata request).
Result<int> events_partition_count(const KafkaConfig& config, int timeout_ms = 10000);

// Kafka's Utils.murmur2 (Java) of the key's bytes.
std::int32_t murmur2(std::string_view key);
// The partition Kafka's Java clients (and librdkafka's murmur2_random) pick for a key:
// (murmur2(key) & 0x7fffffff) % partitions. The embedded bus uses it too.
int partition_for_key(std::string_view key, int partitions);

struct Delivery {
  Partition partition;
  KafkaOffset offset;
};

// An idempotent producer (enable.idempotence, acks=all) of wire events keyed by subject.
class EventProducer {
 public:
  static Result<std::unique_ptr<EventProducer>> create(const KafkaConfig& config);
  ~EventProducer();

  // Publishes and waits until Kafka acknowledged (or failed). Registry events go to every
  // partition (each shard keeps its own registry); the result lists one delivery per copy.
  Result<std::vector<Delivery>> publish(const Event& event, int timeout_ms = 30000);
  // Publishes many and waits for all; one result per event, in order.
  std::vector<Result<std::vector<Delivery>>> publish_all(const std::vector<Event>& events,
                                                         int timeout_ms = 60000);
  int partitions() const { return partitions_; }

  struct Impl;

 private:
  explicit EventProducer(std::unique_ptr<Impl> impl, int partitions);
  std::unique_ptr<Impl> impl_;
  int partitions_;
};

struct NodeOptions {
  std::string data_dir = "govcredit-data";
  std::string group = "govcredit-ledger";
  LedgerOptions ledger{};
  // Messages per poll at most, and per batch: a partition's messages that arrived while its
  // shard was busy are ingested together, up to this many in one LMDB transaction. A poll takes
  // only what has already arrived, so this bounds the batches of a backlog (a drain, a catch-up
  // after downtime) and not the latency of light traffic. 50,000
  // (5,000 until 2026-12-03): through Kafka, batch-signed ingest of a 1M-event backlog ran
  // 29-36% faster in three alternating pairs (docs/PERFORMANCE.md §5.23); a single-signed
  // backlog's polls then took 1.1-1.4 s each there, which is also how long stop() may take to
  // be seen (more with a larger batch or a slower machine).
  std::size_t max_batch = 50000;
  int poll_timeout_ms = 100;
  // Stop by itself once every assigned partition is caught up and nothing arrived for this long
  // (0: run until stop()). For tests and batch replays.
  int exit_when_idle_ms = 0;
  bool publish_rejections = true;  // send notices to the rejected topic
  // Memory populated for the node's heap before it joins its group, and kept (0: none). The
  // allocator serves the node from it and never gives it back, so a backlog's drain does not pay
  // the kernel for pages touched the first time, which on a virtual machine whose host takes back
  // what the guest frees costs 1.4-9 ms per MiB (docs/PERFORMANCE.md §5.34, §5.38, §5.40): a
  // batch-signed 1M drain ran ~27% faster with 1536 MiB (~15% with 1024). The price: this much
  // resident memory for the node's life, and the time to populate it at start (~3 s per GiB on
  // that host). At most half of the memory available at start; nothing under 64 MiB; nothing
  // in builds without mimalloc (the sanitizer builds); GOVCREDIT_HEAP_WARMUP=0 turns it off.
  std::size_t warm_heap_bytes = 0;
  // Called after each ingested batch (for progress output and tests), on the thread that runs
  // the node, once the batch's shard has committed it. run() ingests on one worker thread per
  // core, each partition's batches in order on one worker at a time; the node's thread polls
  // meanwhile and reports each batch as it finishes (a partition's in offset order).
  std::function<void(Partition, const std::vector<IngestResult>&)> on_batch{};
  // Called on the node's thread when a poll returned messages for its shards, before they are
  // handed to the workers: how many for each partition. A partition's batches then report them
  // in that order, so with on_batch a benchmark tells a message's wait to be polled from the
  // node's time on it.
  std::function<void(const std::vector<std::pair<Partition, std::size_t>>& per_partition)>
      on_poll{};
  // Called with each error Kafka's consumer hands to the node (a subscribed topic that does not
  // exist, a fetch that failed for a partition). librdkafka retries what is transient itself
  // (a broker that went away only shows in its log); these are what to look at when a
  // partition stops advancing. `govcredit node` prints them.
  std::function<void(Partition, const Status&)> on_consumer_error{};
};

class LedgerNode {
 public:
  static Result<std::unique_ptr<LedgerNode>> create(const KafkaConfig& config,
                                                    const NodeOptions& options);
  ~LedgerNode();
  // Consumes until stop() or the idle condition. Returns a storage or Kafka error that stopped it.
  // On return the node has left its consumer group (its partitions go to the group's other
  // members at once; assigned() is empty); its shards stay open for reading. Runs once: a second
  // call returns invalid_argument.
  Status run();
  void stop() { stop_.store(true); }
  // Shards this node has opened (assigned now or before), by partition.
  std::vector<Partition> shards() const;
  // The partitions Kafka assigns to this node right now.
  std::vector<Partition> assigned() const;
  Ledger* shard(Partition p) const;
  // What create() populated for NodeOptions::warm_heap_bytes (0 when nothing), and how long it
  // took.
  std::size_t heap_warmed_bytes() const;
  double heap_warm_seconds() const;

  struct Impl;

 private:
  explicit LedgerNode(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::atomic<bool> stop_{false};
};

}  // namespace govcredit
