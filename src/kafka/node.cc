// LedgerNode: consumes govcredit.events into one shard per partition, exactly once.
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <system_error>
#include <thread>

#include "../base/heap_warmup.h"
#include "client.h"
#include "govcredit/encoding.h"

namespace govcredit {

using namespace kafka_internal;

namespace {
struct Shard {
  std::unique_ptr<Ledger> ledger;
  std::unique_ptr<Ingestor> ingestor;
};
using Clock = std::chrono::steady_clock;

// How long a shard's partition stays quiet before the node puts the shard's last commit on disk
// under Durability::kByNextCommit (LedgerNode::run).
constexpr auto kQuietShardSync = std::chrono::milliseconds(100);
// How often at most the node commits its consumed offsets to Kafka (LedgerNode::run).
constexpr auto kOffsetCommitInterval = std::chrono::milliseconds(100);

// librdkafka's prefetch (its local queue of fetched messages, for all of the node's partitions).
// librdkafka 2.0 stops fetching while the queue holds queued.min.messages or
// queued.max.messages.kbytes and looks again only when its broker thread next wakes, up to a
// second later; with its defaults (100,000 messages, 64 MiB) a node draining a backlog at
// ~200k events/s emptied the queue in half that time and waited for the next fetch
// (docs/PERFORMANCE.md §5.32). Defaults of LedgerNode::create, which KafkaConfig::extra overrides.
constexpr const char* kPrefetchMessages = "300000";
constexpr const char* kPrefetchKbytes = "196608";

// A batch a lane's worker ingested, for the node's thread to report and commit.
struct Ingested {
  int partition;
  std::vector<Message> batch;
  Ingestor* ingestor;
  Result<std::vector<IngestResult>> results{Reason::kInternal, "not ingested"};
  KafkaOffset next_offset{0};  // the shard's after this batch (a later one may be in flight)
};

// The node's ingest workers, one per core, fed by the node's thread. Each partition is a lane:
// the messages polled for it wait there in order, and a free worker takes the oldest lane with
// messages waiting and no batch in flight, all of its messages (up to max_batch) as one batch,
// one LMDB transaction. So a shard is written by one thread at a time, in offset order, and a
// worker that finished its partition starts the next one's messages at once, instead of waiting
// for the slowest partition of a poll (docs/PERFORMANCE.md §5.27); the node's thread polls and
// groups the next messages meanwhile. Finished batches queue up for the node's thread, which
// reports them (rejection notices, on_batch) and commits their offsets; a worker wakes it from
// its poll (rd_kafka_queue_yield) when it queues one.
class IngestLanes {
 public:
  IngestLanes(std::size_t max_batch, rd_kafka_queue_t* wake) : max_batch_(max_batch), wake_(wake) {
    cores_ = std::max(1u, std::thread::hardware_concurrency());
    for (unsigned t = 0; t < cores_; ++t) {
      try {
        workers_.emplace_back([this] { work(); });
      } catch (const std::system_error&) {  // no thread to be had: run with fewer
        break;
      }
    }
  }
  ~IngestLanes() { close(); }
  IngestLanes(const IngestLanes&) = delete;
  IngestLanes& operator=(const IngestLanes&) = delete;

  // Appends a poll's messages, grouped by partition, to their lanes.
  void add(std::map<int, std::vector<Message>>& by_partition,
           const std::function<Ingestor*(int)>& ingestor_of) {
    {
      std::lock_guard lock(mu_);
      for (auto& [p, messages] : by_partition) {
        Lane& lane = lanes_[p];
        if (lane.failed) continue;  // the node stops; Kafka hands these out again after it
        if (!lane.ingestor) lane.ingestor = ingestor_of(p);
        waiting_ += messages.size();
        if (lane.waiting.empty()) {
          lane.waiting = std::move(messages);
          if (!lane.busy) ready_.push_back(p);
        } else {
          lane.waiting.insert(lane.waiting.end(), std::make_move_iterator(messages.begin()),
                              std::make_move_iterator(messages.end()));
        }
      }
    }
    work_cv_.notify_all();
    if (workers_.empty()) run_here();
  }

  // The batches finished since the last call, oldest first.
  std::vector<Ingested> take_finished() {
    std::lock_guard lock(mu_);
    std::vector<Ingested> out(std::make_move_iterator(finished_.begin()),
                              std::make_move_iterator(finished_.end()));
    finished_.clear();
    return out;
  }
  // Messages in lanes that no worker has taken yet.
  std::size_t waiting() const {
    std::lock_guard lock(mu_);
    return waiting_;
  }
  // The partition's lane has nothing waiting and no batch in flight.
  bool quiet(int partition) const {
    std::lock_guard lock(mu_);
    auto it = lanes_.find(partition);
    return it == lanes_.end() || (it->second.waiting.empty() && !it->second.busy);
  }
  // Nothing waiting, in flight or finished and not yet taken.
  bool idle() const {
    std::lock_guard lock(mu_);
    return waiting_ == 0 && running_ == 0 && finished_.empty();
  }
  // Blocks until a batch finishes or `timeout` passes.
  void wait_finished(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    done_cv_.wait_for(lock, timeout, [&] { return !finished_.empty() || running_ == 0; });
  }
  // Drops what waits (Kafka hands it out again from the shard's offset after a rebalance or a
  // restart) and lets the batches in flight finish; their results stay for take_finished().
  void quiesce() {
    std::unique_lock lock(mu_);
    for (auto& [p, lane] : lanes_) lane.waiting.clear();
    ready_.clear();
    waiting_ = 0;
    done_cv_.wait(lock, [&] { return running_ == 0; });
  }
  // quiesce(), then ends the workers.
  void close() {
    quiesce();
    {
      std::lock_guard lock(mu_);
      closing_ = true;
    }
    work_cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

 private:
  struct Lane {
    Ingestor* ingestor = nullptr;
    std::vector<Message> waiting;
    bool busy = false;
    // A batch failed (a storage error): the shard's offset stayed before it, and a later batch
    // would leave a gap (the ingestor takes any offset past the shard's), so the lane takes no
    // more; the node's thread reports the failure and stops.
    bool failed = false;
  };

  void work() {
    std::unique_lock lock(mu_);
    while (true) {
      work_cv_.wait(lock, [&] { return closing_ || !ready_.empty(); });
      if (closing_) return;
      ingest_one(lock);
    }
  }
  // With no worker thread: the node's thread ingests what it added.
  void run_here() {
    std::unique_lock lock(mu_);
    while (!ready_.empty()) ingest_one(lock);
  }

  // Takes the oldest ready lane's messages and ingests them with the lock released.
  void ingest_one(std::unique_lock<std::mutex>& lock) {
    const int p = ready_.front();
    ready_.pop_front();
    Lane& lane = lanes_[p];
    Ingested job{p, {}, lane.ingestor};
    if (lane.waiting.size() <= max_batch_) {
      job.batch = std::move(lane.waiting);
      lane.waiting.clear();
    } else {
      const auto cut = lane.waiting.begin() + static_cast<std::ptrdiff_t>(max_batch_);
      job.batch.assign(std::make_move_iterator(lane.waiting.begin()), std::make_move_iterator(cut));
      lane.waiting.erase(lane.waiting.begin(), cut);
    }
    waiting_ -= job.batch.size();
    lane.busy = true;
    ++running_;
    // The batch's signature checks get the cores shared out among the lanes at work now (at
    // least two threads, so that its checks still run ahead of its sequential pass).
    const std::size_t active =
        std::min<std::size_t>(std::max<std::size_t>(1, workers_.size()), running_ + ready_.size());
    const unsigned checkers =
        active <= 1 ? cores_ : std::max(2u, cores_ / static_cast<unsigned>(active));
    lock.unlock();
    job.ingestor->set_verify_threads(checkers);
    try {
      job.results = job.ingestor->ingest(job.batch);
    } catch (const std::exception& e) {  // ingest reports failures as a Status; never expected
      job.results = Status(Reason::kInternal, std::string("ingest failed: ") + e.what());
    }
    job.next_offset = job.ingestor->ledger().next_offset();
    lock.lock();
    finished_.push_back(std::move(job));
    lane.busy = false;
    --running_;
    if (!finished_.back().results) {
      lane.failed = true;
      waiting_ -= lane.waiting.size();
      lane.waiting.clear();
    }
    if (!lane.waiting.empty()) ready_.push_back(p);
    done_cv_.notify_all();
    if (wake_) rd_kafka_queue_yield(wake_);  // the node's thread may be waiting for messages
  }

  const std::size_t max_batch_;
  rd_kafka_queue_t* const wake_;
  unsigned cores_ = 1;
  mutable std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  std::map<int, Lane> lanes_;      // GUARDED_BY(mu_); a Lane's address is stable
  std::deque<int> ready_;          // GUARDED_BY(mu_): lanes with messages waiting, not busy
  std::deque<Ingested> finished_;  // GUARDED_BY(mu_)
  std::size_t waiting_ = 0;        // GUARDED_BY(mu_)
  std::size_t running_ = 0;        // GUARDED_BY(mu_)
  bool closing_ = false;           // GUARDED_BY(mu_)
  std::vector<std::thread> workers_;
};
}  // namespace

struct LedgerNode::Impl {
  KafkaConfig config;
  NodeOptions options;
  KafkaPtr consumer;
  KafkaPtr rejections;                // producer of rejection notices (may be null)
  mutable std::mutex mu;              // guards shards (read by other threads via shard())
  std::map<int, Shard> shards;        // GUARDED_BY(mu)
  std::set<int> assigned, caught_up;  // consumer thread only
  Status error;                       // a failure seen in the rebalance callback
  IngestLanes* lanes = nullptr;       // run()'s, while it runs; the rebalance callback's too
  bool left_group = false;            // run() returned and closed the consumer
  std::size_t heap_warmed_bytes = 0;  // create()'s warm-up (NodeOptions::warm_heap_bytes)
  double heap_warm_seconds = 0;

  Status open_shard(int p) {
    std::lock_guard lock(mu);
    if (shards.count(p)) return Status::ok();
    auto l = Ledger::open(options.data_dir + "/shard-" + std::to_string(p), Partition{p},
                          options.ledger);
    if (!l) return l.status();
    auto ing = Ingestor::create(**l);
    if (!ing) return ing.status();
    shards[p] = Shard{std::move(*l), std::move(*ing)};
    return Status::ok();
  }

  // Eager rebalance: on assignment, seek every partition to its shard's stored offset.
  static void rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                        rd_kafka_topic_partition_list_t* parts, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      for (int i = 0; i < parts->cnt; ++i) {
        int p = parts->elems[i].partition;
        if (Status s = self->open_shard(p); !s) {
          self->error = s;
          parts->elems[i].offset = RD_KAFKA_OFFSET_END;  // consume nothing into a broken shard
          continue;
        }
        std::lock_guard lock(self->mu);
        parts->elems[i].offset = self->shards[p].ledger->next_offset().value;
        self->assigned.insert(p);
      }
      self->caught_up.clear();
      rd_kafka_assign(rk, parts);
    } else {
      // Revoked: no worker may write a shard past the offsets the next assignment starts from.
      if (self->lanes) self->lanes->quiesce();
      {
        std::lock_guard lock(self->mu);
        self->assigned.clear();
      }
      self->caught_up.clear();
      rd_kafka_assign(rk, nullptr);
    }
  }

  // With Durability::kByNextCommit a shard's last commit waits for the next one to reach the
  // disk; when no more come (an idle poll, the end of run(); for one shard, run()'s
  // sync_quiet_shards) sync() puts it there. A no-op for shards with nothing pending, and under
  // Durability::kOnReturn.
  Status sync_shards() {
    std::vector<Ledger*> ledgers;
    {
      std::lock_guard lock(mu);
      for (auto& [p, shard] : shards) ledgers.push_back(shard.ledger.get());
    }
    for (Ledger* l : ledgers)
      if (Status st = l->sync(); !st) return st;
    return Status::ok();
  }

  void publish_rejection(const Message& m, const IngestResult& r) {
    if (!rejections) return;
    nlohmann::json j = {{"reason", std::string(r.status.code())},
                        {"message", r.status.message()},
                        {"partition", m.partition.value},
                        {"offset", m.offset.value},
                        {"sha256", to_hex(sha256(ByteView(m.value)))}};
    if (r.event_id) j["event_id"] = to_hex(*r.event_id);
    std::string v = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::string key = std::to_string(m.partition.value);
    rd_kafka_producev(rejections.get(), RD_KAFKA_V_TOPIC(config.rejected_topic.c_str()),
                      RD_KAFKA_V_KEY(key.data(), key.size()), RD_KAFKA_V_VALUE(v.data(), v.size()),
                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    rd_kafka_poll(rejections.get(), 0);
  }
};

LedgerNode::LedgerNode(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LedgerNode::~LedgerNode() {
  if (impl_->consumer && !impl_->left_group) rd_kafka_consumer_close(impl_->consumer.get());
  if (impl_->rejections) rd_kafka_flush(impl_->rejections.get(), 5000);
}

Result<std::unique_ptr<LedgerNode>> LedgerNode::create(const KafkaConfig& config,
                                                       const NodeOptions& options) {
  auto conf = make_conf(config);
  if (!conf) return conf.status();
  const char* node = "the ledger node";
  if (Status s = apply_settings(
          conf->get(), config, node,
          {{"group.id", options.group, "it is the node's group: set it with --group"},
           {"enable.auto.commit", "false",
            "it commits each partition's offset itself, once the shard has the messages"},
           {"enable.auto.offset.store", "false", "it stores the offsets it commits itself"},
           {"auto.offset.reset", "earliest",
            "a new shard reads its partition from the first message"},
           {"enable.partition.eof", "true", "it tells a caught-up partition by its end"}},
          {{"session.timeout.ms", "10000"},
           {"heartbeat.interval.ms", "1000"},
           {"fetch.wait.max.ms", "50"},
           {"queued.min.messages", kPrefetchMessages},
           {"queued.max.messages.kbytes", kPrefetchKbytes}});
      !s)
    return s;
  ConfPtr pconf;  // the rejection notices' producer's
  if (options.publish_rejections) {
    auto c = make_conf(config);
    if (!c) return c.status();
    if (Status s = apply_settings(c->get(), config, node,
                                  {{"enable.idempotence", "true",
                                    "its rejection notices are neither duplicated nor reordered"}},
                                  {});
        !s)
      return s;
    pconf = std::move(*c);
  }
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->options = options;
  ::mkdir(options.data_dir.c_str(), 0755);
  // The heap first (once the settings are known good), so that librdkafka's buffers come from it
  // too; the whole of it before the node joins its group, where partitions would wait for it.
  if (options.warm_heap_bytes > 0) {
    const auto started = Clock::now();
    HeapWarmup warm(options.warm_heap_bytes,
                    {.idle_priority = false,
                     .small_pages_above_ms_per_mib = std::numeric_limits<double>::infinity()});
    warm.wait();
    impl->heap_warmed_bytes = warm.populated_bytes();
    impl->heap_warm_seconds = std::chrono::duration<double>(Clock::now() - started).count();
  }
  rd_kafka_conf_set_rebalance_cb(conf->get(), &Impl::rebalance);
  rd_kafka_conf_set_opaque(conf->get(), impl.get());
  auto rk = make_handle(RD_KAFKA_CONSUMER, std::move(*conf));
  if (!rk) return rk.status();
  impl->consumer = std::move(*rk);
  rd_kafka_poll_set_consumer(impl->consumer.get());
  if (pconf) {
    auto prk = make_handle(RD_KAFKA_PRODUCER, std::move(pconf));
    if (!prk) return prk.status();
    impl->rejections = std::move(*prk);
  }
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, config.events_topic.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t err = rd_kafka_subscribe(impl->consumer.get(), topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (err) return kafka_error(err, "subscribing to " + config.events_topic);
  return std::unique_ptr<LedgerNode>(new LedgerNode(std::move(impl)));
}

std::size_t LedgerNode::heap_warmed_bytes() const {
  return impl_->heap_warmed_bytes;
}
double LedgerNode::heap_warm_seconds() const {
  return impl_->heap_warm_seconds;
}

Status LedgerNode::run() {
  Impl& s = *impl_;
  if (s.left_group)
    return Status(
        Reason::kInvalidArgument,
        "this ledger node has run and left its consumer group: create another to run again");
  rd_kafka_queue_t* queue = rd_kafka_queue_get_consumer(s.consumer.get());
  std::vector<rd_kafka_message_t*> msgs(std::max<std::size_t>(1, s.options.max_batch));
  IngestLanes lanes(msgs.size(), queue);
  s.lanes = &lanes;
  auto ingestor_of = [&s](int p) {
    std::lock_guard lock(s.mu);
    return s.shards.at(p).ingestor.get();
  };
  auto last_activity = Clock::now();
  Status result;
  // Partitions whose shard committed a batch that may not be on disk yet (Durability::
  // kByNextCommit), and when it was reported.
  std::map<int, Clock::time_point> unsynced;
  // The next offset of each partition ingested since the last commit of offsets to Kafka.
  // Informational (Kafka's committed offsets show lag; restarts use the shards' own offsets), so
  // sent at most every kOffsetCommitInterval and when run() ends: one request a batch flooded the
  // group's coordinator when batches were small (thousands a second), and closing the consumer
  // then waited for the requests queued behind. Only partitions still assigned are committed: a
  // batch finished after its partition was revoked must not overwrite what the partition's new
  // owner commits.
  std::map<int, std::int64_t> to_commit;
  auto last_offset_commit = Clock::now();
  auto commit_offsets = [&](bool now) {
    if (to_commit.empty() || (!now && Clock::now() - last_offset_commit < kOffsetCommitInterval))
      return;
    rd_kafka_topic_partition_list_t* commits =
        rd_kafka_topic_partition_list_new(static_cast<int>(to_commit.size()));
    for (auto [p, next] : to_commit)
      if (s.assigned.count(p))  // (set by the rebalance callback, on this thread)
        rd_kafka_topic_partition_list_add(commits, s.config.events_topic.c_str(), p)->offset = next;
    if (commits->cnt > 0) rd_kafka_commit(s.consumer.get(), commits, 1);
    rd_kafka_topic_partition_list_destroy(commits);
    to_commit.clear();
    last_offset_commit = Clock::now();
  };
  // Reports the batches the workers finished (rejection notices, on_batch) and commits their
  // offsets, on this thread, each partition's in offset order.
  auto report = [&] {
    std::vector<Ingested> finished = lanes.take_finished();
    if (finished.empty()) return commit_offsets(false);
    last_activity = Clock::now();
    for (Ingested& job : finished) {
      if (!job.results) {
        if (result) result = job.results.status();
        continue;
      }
      for (std::size_t i = 0; i < job.results->size(); ++i)
        if ((*job.results)[i].outcome == IngestOutcome::kRejected)
          s.publish_rejection(job.batch[i], (*job.results)[i]);
      if (s.options.on_batch) s.options.on_batch(Partition{job.partition}, *job.results);
      unsynced[job.partition] = last_activity;
      to_commit[job.partition] = job.next_offset.value;
    }
    commit_offsets(false);
  };
  // With Durability::kByNextCommit a shard's last commit reaches the disk with its next one; a
  // shard whose partition went quiet gets it there after kQuietShardSync, even while other
  // partitions keep the node busy (a no-op under kOnReturn). Its worker is not writing then, so
  // the flush takes nothing from its ingest.
  auto sync_quiet_shards = [&] {
    const auto now = Clock::now();
    for (auto it = unsynced.begin(); it != unsynced.end();) {
      if (now - it->second < kQuietShardSync || !lanes.quiet(it->first)) {
        ++it;
        continue;
      }
      Ledger* ledger = nullptr;
      {
        std::lock_guard lock(s.mu);
        if (auto shard = s.shards.find(it->first); shard != s.shards.end())
          ledger = shard->second.ledger.get();
      }
      // (A shard closed since, at a rebalance, was synced as it closed.)
      if (ledger != nullptr)
        if (Status synced = ledger->sync(); !synced) return synced;
      it = unsynced.erase(it);
    }
    return Status::ok();
  };
  while (!stop_.load()) {
    report();
    if (!result) break;
    if (Status synced = sync_quiet_shards(); !synced) {
      result = synced;
      break;
    }
    if (!s.error) {
      result = s.error;
      break;
    }
    // A backlog's messages wait in the lanes, at most about one poll's worth beyond what the
    // workers hold: poll again once the workers have taken some.
    if (lanes.waiting() >= msgs.size()) {
      lanes.wait_finished(std::chrono::milliseconds(s.options.poll_timeout_ms));
      continue;
    }
    // Block for the first message only, then take whatever else is already fetched: batches grow
    // under load (group commit) without adding latency when traffic is light.
    // (rd_kafka_consume_batch_queue alone would wait out its whole timeout to fill the batch.)
    // A worker that finished a batch ends the wait early (rd_kafka_queue_yield).
    ssize_t n = 0;
    if (rd_kafka_message_t* first = rd_kafka_consume_queue(queue, s.options.poll_timeout_ms)) {
      msgs[0] = first;
      ssize_t more = rd_kafka_consume_batch_queue(queue, 0, msgs.data() + 1, msgs.size() - 1);
      n = 1 + (more > 0 ? more : 0);
    }
    // Group by partition, keeping each partition's order.
    std::map<int, std::vector<Message>> by_partition;
    for (ssize_t i = 0; i < n; ++i) {
      rd_kafka_message_t* m = msgs[static_cast<std::size_t>(i)];
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        s.caught_up.insert(m->partition);
      } else if (m->err) {
        if (s.options.on_consumer_error) {
          const char* what = rd_kafka_message_errstr(m);  // librdkafka's sentence, with the cause
          s.options.on_consumer_error(
              Partition{m->partition},
              what && *what ? Status(Reason::kIoError, what)
                            : kafka_error(m->err, "consuming " + s.config.events_topic));
        }
      } else if (s.assigned.count(m->partition)) {
        rd_kafka_timestamp_type_t tt;
        std::int64_t ts = rd_kafka_message_timestamp(m, &tt);
        const auto* p = static_cast<const std::uint8_t*>(m->payload);
        by_partition[m->partition].push_back(Message{Bytes(p, p + m->len), Partition{m->partition},
                                                     KafkaOffset{m->offset},
                                                     Timestamp{ts < 0 ? 0 : ts}});
        s.caught_up.erase(m->partition);
      }
      rd_kafka_message_destroy(m);
    }
    if (!by_partition.empty()) {
      last_activity = Clock::now();
      if (s.options.on_poll) {
        std::vector<std::pair<Partition, std::size_t>> counts;
        for (const auto& [p, batch] : by_partition) counts.emplace_back(Partition{p}, batch.size());
        s.options.on_poll(counts);
      }
      lanes.add(by_partition, ingestor_of);
    } else if (lanes.idle()) {  // idle: the last commits on disk
      if (Status synced = s.sync_shards(); !synced) {
        result = synced;
        break;
      }
      if (s.options.exit_when_idle_ms > 0 && !s.assigned.empty() &&
          s.caught_up.size() >= s.assigned.size() &&
          Clock::now() - last_activity > std::chrono::milliseconds(s.options.exit_when_idle_ms))
        break;
    }
  }
  // What waits is dropped (the next run consumes it from the shards' offsets); the batches in
  // flight finish and are reported.
  lanes.close();
  s.lanes = nullptr;
  report();
  commit_offsets(true);
  rd_kafka_queue_destroy(queue);
  if (Status synced = s.sync_shards(); !synced && result) result = synced;
  // A node whose run() has returned consumes nothing more, so it leaves its group now rather than
  // when it is destroyed: Kafka hands its partitions to the group's other members at once. (A
  // member that stays, its heartbeats sent by librdkafka's own thread, kept them unconsumed until
  // max.poll.interval.ms, five minutes: found by Kafka.PartitionsHandedOverMidIngestAreNeither-
  // RepeatedNorSkipped.) The revocation this brings clears `assigned`.
  rd_kafka_consumer_close(s.consumer.get());
  s.left_group = true;
  return result;
}

std::vector<Partition> LedgerNode::shards() const {
  std::lock_guard lock(impl_->mu);
  std::vector<Partition> out;
  for (const auto& [p, _] : impl_->shards) out.push_back(Partition{p});
  return out;
}

std::vector<Partition> LedgerNode::assigned() const {
  std::lock_guard lock(impl_->mu);
  std::vector<Partition> out;
  for (int p : impl_->assigned) out.push_back(Partition{p});
  return out;
}

Ledger* LedgerNode::shard(Partition p) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->shards.find(p.value);
  return it == impl_->shards.end() ? nullptr : it->second.ledger.get();
}

}  // namespace govcredit
