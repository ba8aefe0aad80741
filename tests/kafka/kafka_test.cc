// Integration tests against a real Apache Kafka broker started by ops/kafka/kafka.sh (the ctest
// fixture). No mocks. If the broker is not reachable the tests fail; they never skip.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "base/heap_warmup.h"
#include "govcredit/bus.h"
#include "govcredit/codec.h"
#include "govcredit/demo.h"
#include "govcredit/encoding.h"
#include "govcredit/kafka.h"
#include "govcredit/merkle.h"
#include "ledger/rfc9162_reference.h"
#include "support/support.h"

extern char** environ;

namespace govcredit {
namespace {

std::string brokers() {
  const char* b = std::getenv("GOVCREDIT_KAFKA_BROKERS");
  return b ? b : "127.0.0.1:19092";
}

// A fresh pair of topics per test, so tests never see each other's messages.
KafkaConfig fresh_config(int partitions = 4) {
  static int n = 0;
  KafkaConfig k;
  k.brokers = brokers();
  std::string suffix =
      std::to_string(getpid()) + "-" + std::to_string(n++) + "-" +
      std::to_string(std::chrono::steady_clock::now().time_since_epoch().count() % 1000000);
  k.events_topic = "test.events." + suffix;
  k.rejected_topic = "test.rejected." + suffix;
  k.partitions = partitions;
  auto created = ensure_topics(k);
  EXPECT_TRUE(created) << "is the test broker running? " << created.status().to_string();
  if (created) {
    EXPECT_EQ(*created, partitions);
  }
  return k;
}

NodeOptions node_options(const std::string& dir, const std::string& group) {
  NodeOptions o;
  o.data_dir = dir;
  o.group = group;
  o.exit_when_idle_ms = 1500;
  return o;
}

// Runs a node until it is caught up and idle; returns the heads of its shards.
std::map<int, Head> run_until_idle(const KafkaConfig& k, const NodeOptions& o) {
  auto node = LedgerNode::create(k, o);
  EXPECT_TRUE(node) << node.status().to_string();
  if (!node) return {};
  Status s = (*node)->run();
  EXPECT_TRUE(s) << s.to_string();
  std::map<int, Head> heads;
  for (Partition p : (*node)->shards()) {
    heads[p.value] = (*node)->shard(p)->head();
    // Whatever the durability, a node that stopped has every commit on disk.
    EXPECT_EQ((*node)->shard(p)->durable_size(), heads[p.value].size) << p.value;
  }
  return heads;
}

const demo::World& world() {
  static const demo::World w = demo::generate(demo::Options{.seed = 11, .records = 120});
  return w;
}

std::size_t publish(EventProducer& producer, const std::vector<Event>& events,
                    std::map<int, std::int64_t>* per_partition = nullptr) {
  std::size_t ok = 0;
  auto results = producer.publish_all(events);
  for (auto& r : results) {
    EXPECT_TRUE(r) << r.status().to_string();
    if (!r) continue;
    ++ok;
    if (per_partition) {
      for (const auto& d : *r) (*per_partition)[d.partition.value]++;
    }
  }
  return ok;
}

// Publishes every event of the demo world to a fresh 4-partition topic (k); `sent` gets each
// partition's count of messages. False when the producer could not be made or a publish failed.
bool publish_world(KafkaConfig& k, std::map<int, std::int64_t>& sent) {
  k = fresh_config();
  auto producer = EventProducer::create(k);
  EXPECT_TRUE(producer) << producer.status().to_string();
  return producer && publish(**producer, world().events, &sent) == world().events.size();
}

TEST(Kafka, ProduceIngestAndProveInclusion) {
  KafkaConfig k;
  std::map<int, std::int64_t> sent;
  ASSERT_TRUE(publish_world(k, sent));
  testing::TempDir dir;
  // on_batch is called on the thread running the node (its workers ingest the partitions side
  // by side), after the shard has committed what it reports, each partition's messages in
  // offset order, every one once; on_poll on the same thread, before, with each partition's
  // count of the messages its batches then report.
  NodeOptions o = node_options(dir.path(), "ledger-a");
  std::map<int, std::int64_t> reported;
  std::vector<std::string> misreported;
  const std::thread::id runner = std::this_thread::get_id();
  std::unique_ptr<LedgerNode>* node_ptr = nullptr;
  std::map<int, std::size_t> polled, results;
  std::map<int, std::int64_t> next_offset;
  o.on_poll = [&](const std::vector<std::pair<Partition, std::size_t>>& per_partition) {
    if (std::this_thread::get_id() != runner) misreported.push_back("on_poll on another thread");
    for (auto [p, n] : per_partition) polled[p.value] += n;
  };
  o.on_batch = [&](Partition p, const std::vector<IngestResult>& rs) {
    if (std::this_thread::get_id() != runner)
      misreported.push_back("on_batch for partition " + std::to_string(p.value) +
                            " on another thread");
    results[p.value] += rs.size();
    if (results[p.value] > polled[p.value])
      misreported.push_back("a batch of partition " + std::to_string(p.value) +
                            " reported before on_poll announced it");
    for (const IngestResult& r : rs)
      if (r.offset.value != next_offset[p.value]++)
        misreported.push_back("offset " + std::to_string(r.offset.value) + " of partition " +
                              std::to_string(p.value) + " reported out of order");
    const std::uint64_t committed = (*node_ptr)->shard(p)->head().size;
    for (const IngestResult& r : rs) {
      if (r.outcome != IngestOutcome::kAccepted) continue;
      ++reported[p.value];
      if (r.seq.value >= committed)
        misreported.push_back("seq " + std::to_string(r.seq.value) + " of partition " +
                              std::to_string(p.value) + " reported before its commit");
    }
  };
  auto node = LedgerNode::create(k, o);
  ASSERT_TRUE(node) << node.status().to_string();
  node_ptr = &*node;
  ASSERT_TRUE((*node)->run());
  EXPECT_EQ(misreported, std::vector<std::string>{});
  EXPECT_EQ(reported, sent);
  EXPECT_EQ(results, polled);
  ASSERT_EQ((*node)->shards().size(), 4u);
  for (auto [p, n] : sent) {
    Ledger* l = (*node)->shard(Partition{p});
    ASSERT_NE(l, nullptr);
    EXPECT_EQ(l->head().size, static_cast<std::uint64_t>(n)) << "partition " << p;
    EXPECT_EQ(l->rejection_count(), 0u);
    VerifyReport r = l->verify(VerifyOptions{.signatures = true});
    EXPECT_TRUE(r.ok) << r.problem.to_string();
  }
  // Every record is in the shard of its subject's partition, provably.
  int proven = 0;
  for (const Event& e : world().events) {
    if (!e.as<RecordSubmitted>()) continue;
    int p = partition_for_key(e.subject.value, 4);
    Ledger* l = (*node)->shard(Partition{p});
    auto entry = l->get_by_event(e.id);
    ASSERT_TRUE(entry) << "record " << to_hex(e.id) << " not in partition " << p;
    EXPECT_EQ(entry->wire, encode_wire(e));
    auto proof = l->inclusion_proof(entry->seq, l->head().size);
    ASSERT_TRUE(proof);
    EXPECT_TRUE(rfc9162::verify_inclusion(rfc9162::leaf(proof->leaf_data), entry->seq.value,
                                          proof->tree_size, rfc9162::of_all(proof->path),
                                          rfc9162::of(l->head().root)));
    ++proven;
  }
  EXPECT_EQ(proven, 120);
}

// A producer for a topic the brokers do not have is refused with a clear reason (after the short
// grace a topic created a moment ago on another broker gets), not created and not hung.
TEST(Kafka, AProducerForAMissingTopicIsRefused) {
  KafkaConfig k;
  k.brokers = brokers();
  k.events_topic = "test.missing." + std::to_string(getpid());
  auto start = std::chrono::steady_clock::now();
  auto producer = EventProducer::create(k);
  ASSERT_FALSE(producer);
  EXPECT_EQ(producer.status().reason(), Reason::kNotFound);
  EXPECT_NE(producer.status().message().find("does not exist"), std::string::npos)
      << producer.status().to_string();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(9))
      << "it waited for the whole metadata timeout";
  auto n = events_partition_count(k, 1000);
  ASSERT_FALSE(n);
  EXPECT_EQ(n.status().reason(), Reason::kNotFound);
}

TEST(Kafka, PartitionerMatchesTheBrokersClients) {
  KafkaConfig k = fresh_config(7);
  auto producer = EventProducer::create(k);
  ASSERT_TRUE(producer) << producer.status().to_string();
  std::vector<Event> records;
  for (const Event& e : world().events)
    if (!Registry::is_registry_event(e)) records.push_back(e);
  records.resize(200);
  auto results = (*producer)->publish_all(records);
  for (std::size_t i = 0; i < records.size(); ++i) {
    ASSERT_TRUE(results[i]);
    ASSERT_EQ(results[i]->size(), 1u);
    EXPECT_EQ((*results[i])[0].partition.value, partition_for_key(records[i].subject.value, 7))
        << records[i].subject.value;
  }
}

// The offsets a consumer group committed on the events topic, per partition (those it has).
std::map<int, std::int64_t> committed_offsets(const KafkaConfig& k, const std::string& group,
                                              int partitions) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", k.brokers.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "group.id", group.c_str(), err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  std::map<int, std::int64_t> out;
  if (rk == nullptr) {
    ADD_FAILURE() << err;
    return out;
  }
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p)
    rd_kafka_topic_partition_list_add(parts, k.events_topic.c_str(), p);
  rd_kafka_resp_err_t e = rd_kafka_committed(rk, parts, 10000);
  EXPECT_EQ(e, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(e);
  for (int i = 0; i < parts->cnt; ++i)
    if (parts->elems[i].offset >= 0) out[parts->elems[i].partition] = parts->elems[i].offset;
  rd_kafka_topic_partition_list_destroy(parts);
  rd_kafka_destroy(rk);
  return out;
}

TEST(Kafka, TwoNodesInDifferentGroupsBuildIdenticalShards) {
  KafkaConfig k;
  std::map<int, std::int64_t> sent;
  ASSERT_TRUE(publish_world(k, sent));
  testing::TempDir a, b;
  NodeOptions oa = node_options(a.path(), "group-a"), ob = node_options(b.path(), "group-b");
  ob.max_batch = 7;  // other batch boundaries, other LMDB transactions: same bytes
  ob.ledger.durability = Durability::kByNextCommit;  // and other flushes
  auto ha = run_until_idle(k, oa);
  auto hb = run_until_idle(k, ob);
  ASSERT_EQ(ha.size(), 4u);
  ASSERT_EQ(hb.size(), 4u);
  for (auto [p, h] : ha) {
    EXPECT_EQ(h.size, hb[p].size) << p;
    EXPECT_EQ(h.chain, hb[p].chain) << p;
    EXPECT_EQ(h.root, hb[p].root) << p;
  }
  // Each group's committed offsets (what Kafka's lag tools read) are past the last message of
  // every partition: a fresh topic's offsets count its messages from 0.
  for (const char* group : {"group-a", "group-b"})
    EXPECT_EQ(committed_offsets(k, group, 4), sent) << group;
}

// NodeOptions::warm_heap_bytes: create() returns with the whole region populated (it subscribes,
// joining its group, only after that), and the node then ingests the same shards as one without it.
// (The test program links the C library's malloc, which adopts nothing: this adopter keeps the
// regions, as mimalloc would, without serving from them; bench.quick_kafka runs the node with
// mimalloc's.)
std::vector<std::pair<void*, std::size_t>> g_kept_regions;
bool keep_region(void* start, std::size_t bytes) {
  g_kept_regions.emplace_back(start, bytes);
  return true;
}

TEST(Kafka, ANodeCreatedWithAWarmHeapHasItPopulatedAndIngestsTheSameShards) {
  KafkaConfig k;
  std::map<int, std::int64_t> sent;
  ASSERT_TRUE(publish_world(k, sent));
  set_heap_adopter(keep_region);
  const std::size_t mib = std::size_t{1} << 20, before = HeapWarmup::adopted_total();
  testing::TempDir a, b;
  NodeOptions warm = node_options(a.path(), "group-warm");
  warm.warm_heap_bytes = before + 96 * mib;
  auto node = LedgerNode::create(k, warm);
  set_heap_adopter(nullptr);
  ASSERT_TRUE(node) << node.status().to_string();
  EXPECT_EQ((*node)->heap_warmed_bytes(), 96 * mib);
  EXPECT_GT((*node)->heap_warm_seconds(), 0.0);
  ASSERT_TRUE((*node)->run());
  std::map<int, Head> warm_heads;
  for (Partition p : (*node)->shards()) warm_heads[p.value] = (*node)->shard(p)->head();
  auto cold_heads = run_until_idle(k, node_options(b.path(), "group-cold"));
  ASSERT_EQ(warm_heads.size(), 4u);
  for (auto [p, h] : cold_heads) {
    EXPECT_EQ(h.size, warm_heads[p].size) << p;
    EXPECT_EQ(h.root, warm_heads[p].root) << p;
  }
  EXPECT_EQ(committed_offsets(k, "group-warm", 4), sent);
}

// Durability::kByNextCommit: a shard's last commit reaches the disk with its next commit, or once
// its partition has been quiet for a moment — also while another partition's backlog keeps the
// node busy, so the whole node is never idle (until 2026-12-04 only an idle node synced them).
TEST(Kafka, ByNextCommitAQuietShardsLastCommitReachesTheDiskWhileOthersKeepTheNodeBusy) {
  KafkaConfig k;
  std::map<int, std::int64_t> sent;
  ASSERT_TRUE(publish_world(k, sent));
  // A backlog on partition 0 alone: garbage, rejected and journaled, two messages a commit. In
  // small record batches, which the node fetches a few KiB per partition at a time, so that the
  // other partitions' events are not queued behind the whole backlog.
  constexpr int kJunk = 20000;
  {
    char err[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", k.brokers.c_str(), err, sizeof err);
    rd_kafka_conf_set(conf, "batch.num.messages", "100", err, sizeof err);
    rd_kafka_t* raw = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    ASSERT_NE(raw, nullptr) << err;
    const std::string junk = "junk";
    for (int i = 0; i < kJunk; ++i)
      while (rd_kafka_producev(raw, RD_KAFKA_V_TOPIC(k.events_topic.c_str()),
                               RD_KAFKA_V_PARTITION(0),
                               RD_KAFKA_V_VALUE(const_cast<char*>(junk.data()), junk.size()),
                               RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                               RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        rd_kafka_poll(raw, 10);
    EXPECT_EQ(rd_kafka_flush(raw, 30000), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_destroy(raw);
  }
  k.extra["max.partition.fetch.bytes"] = "4096";
  testing::TempDir dir;
  NodeOptions o = node_options(dir.path(), "quiet-shards");
  o.ledger.durability = Durability::kByNextCommit;
  o.max_batch = 2;
  o.publish_rejections = false;
  std::unique_ptr<LedgerNode>* node = nullptr;
  std::optional<std::chrono::steady_clock::time_point> others_done;
  bool looked = false;  // at the other shards, 0.5 s after they caught up, partition 0 still busy
  std::map<int, std::uint64_t> durable_then, size_then;
  o.on_batch = [&](Partition p, const std::vector<IngestResult>&) {
    if (!others_done) {
      for (int q = 1; q < 4; ++q) {
        Ledger* l = (*node)->shard(Partition{q});
        if (l == nullptr || l->head().size < static_cast<std::uint64_t>(sent[q])) return;
      }
      others_done = std::chrono::steady_clock::now();
    } else if (p.value == 0 && !looked &&
               std::chrono::steady_clock::now() - *others_done > std::chrono::milliseconds(500)) {
      looked = true;
      for (int q = 1; q < 4; ++q) {
        durable_then[q] = (*node)->shard(Partition{q})->durable_size();
        size_then[q] = (*node)->shard(Partition{q})->head().size;
      }
    }
  };
  auto created = LedgerNode::create(k, o);
  ASSERT_TRUE(created) << created.status().to_string();
  node = &*created;
  Status ran = (*created)->run();
  ASSERT_TRUE(ran) << ran.to_string();
  ASSERT_TRUE(others_done);
  // Else partition 0's backlog was ingested within 0.5 s of the others: nothing was looked at.
  ASSERT_TRUE(looked) << "partition 0 caught up too soon to tell";
  for (int q = 1; q < 4; ++q) {
    EXPECT_EQ(size_then[q], static_cast<std::uint64_t>(sent[q])) << q;
    EXPECT_EQ(durable_then[q], size_then[q]) << q;
  }
  Ledger* zero = (*created)->shard(Partition{0});
  ASSERT_NE(zero, nullptr);
  EXPECT_EQ(zero->next_offset().value, sent[0] + kJunk);
  EXPECT_EQ(zero->head().size, static_cast<std::uint64_t>(sent[0]));
}

// The embedded default and Kafka are two transports over one ingest path: the same events in
// the same order give byte-identical shards (same offsets, same chain, same Merkle root).
TEST(Kafka, EmbeddedAndKafkaShardsAreIdentical) {
  KafkaConfig k = fresh_config(3);
  auto bus = KafkaBus::create(k);
  ASSERT_TRUE(bus);
  for (auto& r : (*bus)->publish_all(world().events)) ASSERT_TRUE(r) << r.status().to_string();
  testing::TempDir kdir, edir;
  auto heads = run_until_idle(k, node_options(kdir.path(), "vs-embedded"));
  auto embedded = EmbeddedBus::open(EmbeddedOptions{.data_dir = edir.path(), .partitions = 3});
  ASSERT_TRUE(embedded);
  for (auto& r : (*embedded)->publish_all(world().events)) ASSERT_TRUE(r);
  ASSERT_EQ(heads.size(), 3u);
  for (auto [p, h] : heads) {
    Head e = (*embedded)->shard(Partition{p}).head();
    EXPECT_EQ(h.size, e.size) << p;
    EXPECT_EQ(h.chain, e.chain) << p;
    EXPECT_EQ(h.root, e.root) << p;
  }
}

// A shard whose commit fails (a storage error) stops the node with that error, and the shard
// takes nothing past the failed batch (its worker has more of the partition's messages waiting:
// small batches), so a node started again on the same data consumes from each shard's own offset
// and ends with every event, each shard whole.
TEST(Kafka, AStorageFailureStopsTheNodeAndARestartLosesNothing) {
  KafkaConfig k;
  std::map<int, std::int64_t> sent;
  ASSERT_TRUE(publish_world(k, sent));
  testing::TempDir dir;
  {
    NodeOptions o = node_options(dir.path(), "failing");
    o.max_batch = 64;
    std::unique_ptr<LedgerNode>* node_ptr = nullptr;
    bool armed = false;
    o.on_batch = [&](Partition p, const std::vector<IngestResult>&) {
      if (armed || p.value != 0) return;
      armed = true;
      (*node_ptr)->shard(p)->fail_commits_for_testing(1);  // partition 0's next commit fails
    };
    auto node = LedgerNode::create(k, o);
    ASSERT_TRUE(node) << node.status().to_string();
    node_ptr = &*node;
    Status failed = (*node)->run();
    ASSERT_TRUE(armed);
    EXPECT_FALSE(failed);
    EXPECT_EQ(failed.code(), "storage_error") << failed.to_string();
    Ledger* l = (*node)->shard(Partition{0});
    ASSERT_NE(l, nullptr);
    EXPECT_LT(l->head().size, static_cast<std::uint64_t>(sent[0]));
  }
  auto heads = run_until_idle(k, node_options(dir.path(), "restarted"));
  ASSERT_EQ(heads.size(), 4u);
  for (auto [p, n] : sent) EXPECT_EQ(heads[p].size, static_cast<std::uint64_t>(n)) << p;
  for (auto [p, h] : heads) {
    auto l = Ledger::open(dir.path() + "/shard-" + std::to_string(p), Partition{p});
    ASSERT_TRUE(l) << l.status().to_string();
    VerifyReport r = (*l)->verify(VerifyOptions{.signatures = true});
    EXPECT_TRUE(r.ok) << p << ": " << r.problem.to_string();
  }
}

TEST(Kafka, PoisonMessagesAreJournaledAndNeverStopTheNode) {
  KafkaConfig k = fresh_config(1);
  auto producer = EventProducer::create(k);
  ASSERT_TRUE(producer) << producer.status().to_string();
  std::vector<Event> first(world().events.begin(), world().events.begin() + 100);
  publish(**producer, first);
  {  // raw garbage straight onto the topic
    char err[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", k.brokers.c_str(), err, sizeof err);
    rd_kafka_t* raw = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    for (std::string junk : {std::string("not an event"), std::string(70000, 'x'), std::string()})
      rd_kafka_producev(raw, RD_KAFKA_V_TOPIC(k.events_topic.c_str()),
                        RD_KAFKA_V_VALUE(junk.data(), junk.size()),
                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    rd_kafka_flush(raw, 10000);
    rd_kafka_destroy(raw);
  }
  std::vector<Event> rest(world().events.begin() + 100, world().events.begin() + 200);
  publish(**producer, rest);
  testing::TempDir dir;
  auto heads = run_until_idle(k, node_options(dir.path(), "poison"));
  ASSERT_EQ(heads.size(), 1u);
  EXPECT_EQ(heads[0].size, 200u);
  auto l = Ledger::open(dir.path() + "/shard-0", Partition{0});
  ASSERT_TRUE(l);
  auto journal = (*l)->rejections();
  ASSERT_TRUE(journal);
  const auto& rej = *journal;
  ASSERT_EQ(rej.size(), 3u);
  EXPECT_EQ(rej[0].reason, "binary_malformed");
  EXPECT_EQ(rej[1].reason, "event_too_large");
  EXPECT_EQ(rej[2].reason, "binary_malformed");
  EXPECT_EQ((*l)->next_offset().value, 203);
  // The notices reached the rejected topic too.
  char err[256];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", k.brokers.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "group.id", "reader", err, sizeof err);
  rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", err, sizeof err);
  rd_kafka_t* c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  rd_kafka_poll_set_consumer(c);
  rd_kafka_topic_partition_list_t* t = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(t, k.rejected_topic.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_subscribe(c, t);
  rd_kafka_topic_partition_list_destroy(t);
  int notices = 0;
  for (int i = 0; i < 100 && notices < 3; ++i)
    if (rd_kafka_message_t* m = rd_kafka_consumer_poll(c, 200)) {
      if (!m->err && std::string(static_cast<char*>(m->payload), m->len).find("\"reason\"") !=
                         std::string::npos)
        ++notices;
      rd_kafka_message_destroy(m);
    }
  rd_kafka_consumer_close(c);
  rd_kafka_destroy(c);
  EXPECT_EQ(notices, 3);
}

// The journal's first rejections, for a failure message.
std::string first_rejections(const Ledger& l) {
  auto r = l.rejections(0, 3);
  if (!r) return "the journal did not read: " + r.status().to_string();
  std::string out = "first rejections:";
  for (const Rejection& j : *r) out += " " + to_json(j);
  return out;
}

// `govcredit node` as a separate process, killed with SIGKILL while events keep arriving.
pid_t spawn_node(const KafkaConfig& k, const std::string& dir, const std::string& group,
                 const std::string& durability = "on-return") {
  std::vector<std::string> args = {
      GOVCREDIT_BINARY,   "node",           "--kafka", k.brokers, "--topic", k.events_topic,
      "--rejected-topic", k.rejected_topic, "--data",  dir,       "--group", group,
      "--durability",     durability,       "--quiet"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  EXPECT_EQ(posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&fa);
  return pid;
}

std::size_t env_size(const char* name, std::size_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::stoul(v) : fallback;
}

// The crash drill: a `govcredit node` process (every other round with --durability
// by-next-commit) ingests from Kafka while it is killed with SIGKILL at random moments,
// GOVCREDIT_CRASH_KILLS times over the events of GOVCREDIT_CRASH_RECORDS records (default 20 kills
// over 12,000 records, ~53k events; 10 over 5,000 under AddressSanitizer, where every round is
// several times slower; the long form in docs/SECURITY.md runs 100 over 1M events). Each round
// publishes the next slice of the events, starts a node, waits a random while and kills it, then
// opens every shard: verify must pass, and the head is recorded. At the end a restarted node
// finishes the job and a clean node ingests everything into a second directory: the heads must be
// equal, every recorded head must be the clean shard's chain hash at that size (each was a prefix
// of the clean run), every signature re-checks, and nothing was journaled as a rejection (a
// redelivered event treated as new would be).
TEST(Kafka, CrashDrillKilledNodeLeavesValidPrefixesAndLosesNothing) {
  // Under ASan the nodes ingest several times slower, so fewer kills over a smaller history
  // still land mid-ingest; most of the drill's time there was the final catch-up and the clean
  // reference run over all of it.
#if defined(__SANITIZE_ADDRESS__)
  const std::size_t kills_wanted = env_size("GOVCREDIT_CRASH_KILLS", 10);
  const int records = static_cast<int>(env_size("GOVCREDIT_CRASH_RECORDS", 5000));
#else
  const std::size_t kills_wanted = env_size("GOVCREDIT_CRASH_KILLS", 20);
  const int records = static_cast<int>(env_size("GOVCREDIT_CRASH_RECORDS", 12000));
#endif
  const demo::World w = demo::generate(demo::Options{.seed = 11, .records = records});
  const auto& events = w.events;
  KafkaConfig k = fresh_config();
  auto producer = EventProducer::create(k);
  ASSERT_TRUE(producer) << producer.status().to_string();
  testing::TempDir dir, clean;
  std::vector<std::pair<int, Head>> seen;  // (partition, head) after each kill
  std::uint64_t rng = 7;
  std::size_t next = 0, kills = 0, progressed = 0, last_total = 0, behind = 0, sent = 0;
  // When to kill is searched for, not guessed: the node needs a while to start (1-2 s under ASan
  // on one machine, under 0.5 s on another, 3.4 s beside another test under ASan on a third) and
  // then a while to catch up with the round's slice. Each wait is drawn from the middle half of
  // the interval between the longest wait that saw nothing ingested and the shortest that saw the
  // node caught up, and narrows that interval: a bisection that lands the later kills mid-ingest
  // on any machine. (Drawn from the whole interval, in one CI run the waits crept up on a start
  // at ~3.4 s from below, 2.4 to 3.3 s four rounds in a row, and only 2 of 10 rounds ingested
  // anything.) When the interval closes (the machine's speed drifted), it widens.
#if defined(__SANITIZE_ADDRESS__)
  std::int64_t started_after = 0, caught_up_by = 3000;
#else
  std::int64_t started_after = 0, caught_up_by = 1000;
#endif
  const std::size_t slice = events.size() / kills_wanted + 1;
  for (std::size_t round = 0; round < kills_wanted; ++round) {
    const std::size_t end = std::min(events.size(), next + slice);
    publish(**producer, std::vector<Event>(events.begin() + static_cast<std::ptrdiff_t>(next),
                                           events.begin() + static_cast<std::ptrdiff_t>(end)));
    for (std::size_t i = next; i < end; ++i) sent += Registry::is_registry_event(events[i]) ? 4 : 1;
    next = end;
    // A fresh group each round: the killed node stays a member of its group until its session
    // times out; the shards' own offsets, not the group's, decide where ingest resumes.
    // Every other round the node commits by the next commit (a killed process loses nothing of
    // either: the kernel holds what was written).
    pid_t pid = spawn_node(k, dir.path(), "crashy-" + std::to_string(round),
                           round % 2 ? "by-next-commit" : "on-return");
    ASSERT_GT(pid, 0);
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    if (caught_up_by - started_after < 20) {
      const std::int64_t lo = std::min(started_after, caught_up_by);
      const std::int64_t hi = std::max(started_after, caught_up_by);
      started_after = lo * 6 / 10;
      caught_up_by = hi * 14 / 10 + 50;
    }
    const std::int64_t span = caught_up_by - started_after;
    const std::int64_t wait_ms =
        started_after + span / 4 +
        static_cast<std::int64_t>((rng >> 33) % static_cast<std::uint64_t>(span / 2 + 1));
    std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the node exited by itself: " << status;
    ++kills;
    std::size_t total = 0;
    for (int p = 0; p < 4; ++p) {
      const std::string shard = dir.path() + "/shard-" + std::to_string(p);
      if (access(shard.c_str(), F_OK) != 0) continue;
      auto l = Ledger::open(shard, Partition{p});
      ASSERT_TRUE(l) << "after kill " << kills << ": " << l.status().to_string();
      VerifyReport v = (*l)->verify();
      ASSERT_TRUE(v.ok) << "after kill " << kills << " shard " << p << ": "
                        << v.problem.to_string();
      const Head h = (*l)->head();
      EXPECT_EQ((*l)->next_offset().value, static_cast<std::int64_t>(h.size))
          << "offsets and entries out of step (every message here is valid) in shard " << p << "; "
          << first_rejections(**l);
      seen.emplace_back(p, h);
      total += h.size;
    }
    std::cerr << "kill " << kills << "/" << kills_wanted << " after " << wait_ms << " ms: " << total
              << " of " << sent << " messages ingested\n";
    if (total > last_total) ++progressed;
    if (total < sent) ++behind;  // killed before it had caught up: mid-ingest, or joining
    if (total == last_total) {   // not started yet: wait longer
      started_after = wait_ms;
      // The upper bound may be stale: a guess until a node has been seen caught up (2.8 s under
      // ASan on a slow day), or one fast round's (in a CI run, 294 ms in round 3, then 14 rounds
      // killed at 174-772 ms before their node ingested anything, as the bound crept up by the
      // widening below). A node that had not even started after a wait doubles the bound above it.
      caught_up_by = std::max(caught_up_by, 2 * wait_ms);
    }
    if (total == sent) {  // already done: kill sooner
      caught_up_by = wait_ms;
      // A caught-up node started and ingested its slice within the wait, so the lower bound,
      // which may come from the first round (the slowest start), drops to a quarter of it. With
      // the bound kept, a CI run on a fast host killed rounds 2-20 at 856 down to 165 ms, each
      // after its node had caught up (a slice there took well under 165 ms), and the interval
      // only widened from 426 ms; 1 of 20 kills came early. In 1,000 simulated drills on each of
      // seven machines whose nodes start in 20 ms to 3.4 s and ingest a slice in 10 ms to 1.5 s,
      // every drill met both bounds below; with the bound kept, every drill on the three fastest
      // failed the second. Here, 9 drills (3 beside a busy loop) killed 16-19 of 20 rounds early,
      // and 2 under ASan 6 of 10.
      started_after = std::min(started_after, wait_ms / 4);
    }
    last_total = total;
  }
  publish(**producer,
          std::vector<Event>(events.begin() + static_cast<std::ptrdiff_t>(next), events.end()));
  std::cerr << "crash drill: " << kills << " kills over " << events.size() << " events; "
            << progressed << " rounds ingested something before their kill, " << behind
            << " kills came before the node had caught up; " << last_total
            << " entries before the last restart\n";
  EXPECT_EQ(kills, kills_wanted);
  // A third: under ASan on a slow machine 9 of 20 rounds progressed (the kill wait adapts from
  // the first rounds, when nodes start slowest); the correctness checks below do not depend on it.
  EXPECT_GE(progressed, kills / 3) << "too few rounds ingested anything before their kill";
  EXPECT_GE(behind, kills / 4) << "too few kills landed while the node had work to do";
  auto after = run_until_idle(k, node_options(dir.path(), "crashy-finish"));
  auto reference = run_until_idle(k, node_options(clean.path(), "reference"));
  ASSERT_EQ(after.size(), 4u);
  ASSERT_EQ(reference.size(), 4u);
  std::map<int, std::unique_ptr<Ledger>> ref;
  for (auto [p, h] : reference) {
    EXPECT_EQ(after[p].size, h.size) << "partition " << p;
    EXPECT_EQ(after[p].chain, h.chain) << "partition " << p;
    EXPECT_EQ(after[p].root, h.root) << "partition " << p;
    auto l = Ledger::open(dir.path() + "/shard-" + std::to_string(p), Partition{p});
    ASSERT_TRUE(l);
    EXPECT_TRUE((*l)->verify(VerifyOptions{.signatures = true}).ok);
    EXPECT_EQ((*l)->rejection_count(), 0u)
        << "a redelivered event was treated as new in shard " << p << "; " << first_rejections(**l);
    auto r = Ledger::open(clean.path() + "/shard-" + std::to_string(p), Partition{p});
    ASSERT_TRUE(r);
    ref[p] = std::move(*r);
  }
  for (const auto& [p, h] : seen) {
    if (h.size == 0) continue;
    auto e = ref[p]->entry_hash(Seq{h.size - 1});
    ASSERT_TRUE(e) << "shard " << p << " held more entries after a kill than the clean run";
    EXPECT_EQ(h.chain, *e) << "shard " << p << " at size " << h.size
                           << " after a kill was not a prefix of the clean run";
  }
}

// Polls `cond` every 50 ms until it holds or `limit` passes; its last answer.
bool wait_for(const std::function<bool()>& cond, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return cond();
}

// Two nodes of one group: B joins while A drains a backlog, so Kafka takes partitions from A
// while A has batches in flight (the revocation lets them finish and drops what waits), and B
// leaves while more is being published, so A gets them back and seeks each to its own shard's
// offset. No message may be handed to a node again (the ingestor would report it as already
// consumed), ingested twice (rejected as event_exists) or skipped (the shard would differ from a
// reference node's): A's shards must end equal to the reference's, with nothing handed again or
// rejected, and every shard B built must be a prefix of the reference's.
TEST(Kafka, PartitionsHandedOverMidIngestAreNeitherRepeatedNorSkipped) {
#if defined(__SANITIZE_ADDRESS__)
  const int records = 6000;  // ingest is several times slower: a smaller backlog lasts as long
#else
  const int records = 20000;
#endif
  const demo::World w = demo::generate(demo::Options{.seed = 17, .records = records});
  const auto& events = w.events;
  KafkaConfig k = fresh_config();
  auto producer = EventProducer::create(k);
  ASSERT_TRUE(producer) << producer.status().to_string();
  std::map<int, std::int64_t> sent;
  std::atomic<std::int64_t> sent_total{0};
  auto publish_slice = [&](std::size_t from, std::size_t to) {
    std::map<int, std::int64_t> counts;
    publish(**producer,
            std::vector<Event>(events.begin() + static_cast<std::ptrdiff_t>(from),
                               events.begin() + static_cast<std::ptrdiff_t>(to)),
            &counts);
    for (auto [p, n] : counts) sent[p] += n, sent_total += n;
  };
  const std::size_t third = events.size() / 3;
  publish_slice(0, 2 * third);
  const std::int64_t backlog = sent_total;  // messages (registry events go to every partition)

  testing::TempDir da, db, dref;
  NodeOptions oa = node_options(da.path(), "handover"), ob = node_options(db.path(), "handover");
  oa.exit_when_idle_ms = ob.exit_when_idle_ms = 0;  // both run until stopped
  oa.max_batch = ob.max_batch = 64;  // small polls: batches in flight at any moment of a drain
  // Every message the nodes were handed: ingested, handed again (kAlreadyConsumed: the node was
  // sought to before an offset its shard had), or rejected.
  std::atomic<std::int64_t> a_ingested{0}, b_ingested{0}, redelivered{0}, rejected{0};
  auto counting = [&](std::atomic<std::int64_t>& into) {
    return [&into, &redelivered, &rejected](Partition, const std::vector<IngestResult>& rs) {
      into += static_cast<std::int64_t>(rs.size());
      for (const auto& r : rs) {
        if (r.outcome == IngestOutcome::kAlreadyConsumed) ++redelivered;
        if (r.outcome == IngestOutcome::kRejected) ++rejected;
      }
    };
  };
  oa.on_batch = counting(a_ingested);
  ob.on_batch = counting(b_ingested);
  auto a = LedgerNode::create(k, oa);
  ASSERT_TRUE(a) << a.status().to_string();
  std::thread ta([&] { EXPECT_TRUE((*a)->run()); });
  std::unique_ptr<LedgerNode> b;
  std::thread tb;
  // Stops whichever nodes run, so that no thread outlives a failed assertion.
  auto stop_all = [&] {
    if (b) b->stop();
    if (tb.joinable()) tb.join();
    (*a)->stop();
    if (ta.joinable()) ta.join();
  };

  // B joins once A is draining.
  if (!wait_for([&] { return a_ingested > 0; }, std::chrono::seconds(60))) {
    stop_all();
    FAIL() << "node A ingested nothing";
  }
  auto made = LedgerNode::create(k, ob);
  if (!made) {
    stop_all();
    FAIL() << made.status().to_string();
  }
  b = std::move(*made);
  tb = std::thread([&] { EXPECT_TRUE(b->run()); });
  // The group's first split: how far A had got when B was given its partitions.
  std::int64_t a_at_split = 0;
  const bool split = wait_for(
      [&] {
        a_at_split = a_ingested;
        const auto na = (*a)->assigned().size(), nb = b->assigned().size();
        return na > 0 && nb > 0 && na + nb == 4;
      },
      std::chrono::seconds(60));
  if (!split) {
    stop_all();
    FAIL() << "the group never split the partitions between A and B";
  }
  // The last third is published while B ingests; then B leaves, and A takes every partition back.
  publish_slice(2 * third, events.size());
  const bool b_worked = wait_for([&] { return b_ingested > 0; }, std::chrono::seconds(60));
  b->stop();
  tb.join();
  // B left its group when its run() returned, not when it is destroyed (it still is not).
  EXPECT_TRUE(b->assigned().empty());
  EXPECT_EQ(b->run().reason(), Reason::kInvalidArgument) << "a node runs once";
  auto caught_up = [&] {
    if ((*a)->assigned().size() != 4) return false;
    for (auto [p, n] : sent) {
      Ledger* l = (*a)->shard(Partition{p});
      if (l == nullptr || static_cast<std::int64_t>(l->head().size) != n) return false;
    }
    return true;
  };
  const bool a_caught_up = wait_for(caught_up, std::chrono::seconds(120));
  std::string where = "A is assigned";
  for (Partition p : (*a)->assigned()) where += " " + std::to_string(p.value);
  for (auto [p, n] : sent) {
    Ledger* l = (*a)->shard(Partition{p});
    where += "; partition " + std::to_string(p) + ": " + std::to_string(n) + " sent, " +
             (l ? std::to_string(l->head().size) : std::string("no shard")) + " in A's shard";
  }
  (*a)->stop();
  ta.join();
  std::cerr << "handover: " << sent_total << " messages; A had ingested " << a_at_split
            << " when the group split, " << a_ingested << " in all; B " << b_ingested
            << "; handed again " << redelivered << ", rejected " << rejected << "\n";
  EXPECT_TRUE(b_worked) << "node B was given partitions but ingested nothing";
  EXPECT_LT(a_at_split, backlog)
      << "A had drained its backlog before the group split: nothing was in flight to hand over";
  ASSERT_TRUE(a_caught_up) << "node A did not take every partition back and catch up: " << where;
  EXPECT_EQ(redelivered, 0) << "a node that got a partition back was not sought to its shard's "
                               "offset: it was handed messages its shard already had";
  EXPECT_EQ(rejected, 0) << "a message was rejected (the data set is valid; one ingested twice "
                            "would be event_exists)";

  auto reference = run_until_idle(k, node_options(dref.path(), "handover-reference"));
  ASSERT_EQ(reference.size(), 4u);
  for (auto [p, h] : reference) {
    EXPECT_EQ(h.size, static_cast<std::uint64_t>(sent[p])) << "partition " << p;
    Ledger* l = (*a)->shard(Partition{p});
    ASSERT_NE(l, nullptr) << "partition " << p;
    EXPECT_EQ(l->head().chain, h.chain) << "partition " << p;
    EXPECT_EQ(l->head().root, h.root) << "partition " << p;
    EXPECT_EQ(l->rejection_count(), 0u) << "partition " << p << "; " << first_rejections(*l);
    EXPECT_TRUE(l->verify(VerifyOptions{.signatures = true}).ok) << "partition " << p;
  }
  std::size_t b_shards = 0;
  for (Partition p : b->shards()) {
    const Head h = b->shard(p)->head();
    if (h.size == 0) continue;
    ++b_shards;
    auto ref = Ledger::open(dref.path() + "/shard-" + std::to_string(p.value), p);
    ASSERT_TRUE(ref) << ref.status().to_string();
    auto e = (*ref)->entry_hash(Seq{h.size - 1});
    ASSERT_TRUE(e) << "B's shard " << p.value << " holds more than the reference's";
    EXPECT_EQ(h.chain, *e) << "B's shard " << p.value << " is not a prefix of the reference's";
    EXPECT_EQ(b->shard(p)->rejection_count(), 0u) << "B's shard " << p.value;
  }
  EXPECT_GT(b_shards, 0u);
}

TEST(Kafka, IngestResumesAfterTheBrokerRestarts) {
  KafkaConfig k = fresh_config(2);
  auto producer = EventProducer::create(k);
  ASSERT_TRUE(producer) << producer.status().to_string();
  const auto& events = world().events;
  std::size_t half = events.size() / 2;
  publish(**producer,
          std::vector<Event>(events.begin(), events.begin() + static_cast<std::ptrdiff_t>(half)));
  testing::TempDir dir;
  NodeOptions o = node_options(dir.path(), "restart");
  o.exit_when_idle_ms = 0;
  auto node = LedgerNode::create(k, o);
  ASSERT_TRUE(node) << node.status().to_string();
  std::thread runner([&] { EXPECT_TRUE((*node)->run()); });
  std::this_thread::sleep_for(std::chrono::seconds(2));
  std::string script = testing::source_dir() + "/ops/kafka/kafka.sh";
  ASSERT_EQ(std::system((script + " stop single > /dev/null 2>&1").c_str()), 0);
  ASSERT_EQ(std::system((script + " start single > /dev/null 2>&1").c_str()), 0);
  // The second half goes out after the restart; the same node must take it in.
  publish(**producer,
          std::vector<Event>(events.begin() + static_cast<std::ptrdiff_t>(half), events.end()));
  std::map<int, std::int64_t> expected;
  for (const Event& e : events) {
    if (Registry::is_registry_event(e)) {
      expected[0]++;
      expected[1]++;
    } else {
      expected[partition_for_key(e.subject.value, 2)]++;
    }
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  auto done = [&] {
    for (auto [p, n] : expected) {
      Ledger* l = (*node)->shard(Partition{p});
      if (!l || l->head().size != static_cast<std::uint64_t>(n)) return false;
    }
    return true;
  };
  while (!done() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  (*node)->stop();
  runner.join();
  EXPECT_TRUE(done()) << "the node did not catch up after the broker restarted";
}

// A node pointed at a topic the brokers do not have says so through on_consumer_error (the CLI
// prints it) instead of waiting in silence.
TEST(Kafka, ANodeOnAMissingTopicReportsTheConsumerError) {
  KafkaConfig k;
  k.brokers = brokers();
  k.events_topic = "test.missing-node." + std::to_string(getpid());
  testing::TempDir dir;
  NodeOptions o = node_options(dir.path(), "missing");
  o.exit_when_idle_ms = 0;
  std::mutex mu;
  std::vector<Status> errors;
  o.on_consumer_error = [&](Partition, const Status& s) {
    std::lock_guard lock(mu);
    errors.push_back(s);
  };
  auto node = LedgerNode::create(k, o);
  ASSERT_TRUE(node) << node.status().to_string();
  std::thread runner([&] { EXPECT_TRUE((*node)->run()); });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  auto reported = [&] {
    std::lock_guard lock(mu);
    return !errors.empty();
  };
  while (!reported() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  (*node)->stop();
  runner.join();
  std::lock_guard lock(mu);
  ASSERT_FALSE(errors.empty()) << "no consumer error reported for a missing topic";
  EXPECT_EQ(errors[0].reason(), Reason::kIoError);
  EXPECT_NE(errors[0].message().find(k.events_topic), std::string::npos) << errors[0].to_string();
}

}  // namespace
}  // namespace govcredit
