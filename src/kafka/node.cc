// LedgerNode: consumes govcredit.events into one shard per partition, exactly once.
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <system_error>
#include <thread>

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

// One partition's share of a poll.
struct IngestJob {
  int partition;
  const std::vector<Message>* batch;
  Ingestor* ingestor;
  Result<std::vector<IngestResult>> results{Reason::kInternal, "not ingested"};
};

// Ingests every job, on up to one thread per core (this one included), each job on one thread:
// a shard is written by one thread at a time. Each job's signature checks get the cores shared
// out (at least two threads, so a job's checks still run ahead of its sequential pass): a poll
// of many partitions on many cores starts about twice as many threads as cores, not their square.
void ingest_in_parallel(std::vector<IngestJob>& jobs) {
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const std::size_t threads = std::min<std::size_t>(jobs.size(), cores);
  const unsigned per_job =
      threads <= 1 ? cores : std::max(2u, cores / static_cast<unsigned>(threads));
  for (IngestJob& job : jobs) job.ingestor->set_verify_threads(per_job);
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t j; (j = next.fetch_add(1)) < jobs.size();) {
      IngestJob& job = jobs[j];
      try {
        job.results = job.ingestor->ingest(*job.batch);
      } catch (const std::exception& e) {  // ingest reports failures as a Status; never expected
        job.results = Status(Reason::kInternal, std::string("ingest failed: ") + e.what());
      }
    }
  };
  std::vector<std::thread> helpers;
  for (std::size_t t = 1; t < threads; ++t) {
    try {
      helpers.emplace_back(work);
    } catch (const std::system_error&) {  // no thread to be had: this one does the rest
      break;
    }
  }
  work();
  for (auto& t : helpers) t.join();
}
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
      {
        std::lock_guard lock(self->mu);
        self->assigned.clear();
      }
      self->caught_up.clear();
      rd_kafka_assign(rk, nullptr);
    }
  }

  // With Durability::kByNextCommit a shard's last commit waits for the next one to reach the
  // disk; when no more come (an idle poll, the end of run()) sync() puts it there. A no-op for
  // shards with nothing pending, and under Durability::kOnReturn.
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
  if (impl_->consumer) rd_kafka_consumer_close(impl_->consumer.get());
  if (impl_->rejections) rd_kafka_flush(impl_->rejections.get(), 5000);
}

Result<std::unique_ptr<LedgerNode>> LedgerNode::create(const KafkaConfig& config,
                                                       const NodeOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->options = options;
  ::mkdir(options.data_dir.c_str(), 0755);
  auto conf = make_conf(config);
  if (!conf) return conf.status();
  for (auto [k, v] : {std::pair<const char*, std::string>{"group.id", options.group},
                      {"enable.auto.commit", "false"},
                      {"enable.auto.offset.store", "false"},
                      {"auto.offset.reset", "earliest"},
                      {"enable.partition.eof", "true"},
                      {"session.timeout.ms", "10000"},
                      {"heartbeat.interval.ms", "1000"},
                      {"fetch.wait.max.ms", "50"}})
    if (Status s = set(conf->get(), k, v); !s) return s;
  rd_kafka_conf_set_rebalance_cb(conf->get(), &Impl::rebalance);
  rd_kafka_conf_set_opaque(conf->get(), impl.get());
  auto rk = make_handle(RD_KAFKA_CONSUMER, std::move(*conf));
  if (!rk) return rk.status();
  impl->consumer = std::move(*rk);
  rd_kafka_poll_set_consumer(impl->consumer.get());
  if (options.publish_rejections) {
    auto pconf = make_conf(config);
    if (!pconf) return pconf.status();
    if (Status s = set(pconf->get(), "enable.idempotence", "true"); !s) return s;
    auto prk = make_handle(RD_KAFKA_PRODUCER, std::move(*pconf));
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

Status LedgerNode::run() {
  Impl& s = *impl_;
  rd_kafka_queue_t* queue = rd_kafka_queue_get_consumer(s.consumer.get());
  std::vector<rd_kafka_message_t*> msgs(s.options.max_batch);
  auto last_activity = Clock::now();
  Status result;
  while (!stop_.load()) {
    if (!s.error) {
      result = s.error;
      break;
    }
    // Block for the first message only, then take whatever else is already fetched: batches grow
    // under load (group commit) without adding latency when traffic is light.
    // (rd_kafka_consume_batch_queue alone would wait out its whole timeout to fill the batch.)
    ssize_t n = 0;
    if (rd_kafka_message_t* first = rd_kafka_consume_queue(queue, s.options.poll_timeout_ms)) {
      msgs[0] = first;
      ssize_t more = rd_kafka_consume_batch_queue(queue, 0, msgs.data() + 1, msgs.size() - 1);
      n = 1 + (more > 0 ? more : 0);
      if (s.options.on_poll) s.options.on_poll(static_cast<std::size_t>(n));
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
    } else if (Status synced = s.sync_shards(); !synced) {  // idle: the last commits on disk
      result = synced;
      break;
    }
    // Each partition has its own shard (LMDB environment, ingestor): ingest them side by side, so
    // that one shard's signature checks, domain rules and fsync overlap another's. The results
    // are handled here afterwards, in partition order, on this thread.
    std::vector<IngestJob> jobs;
    {
      std::lock_guard lock(s.mu);
      for (const auto& [p, batch] : by_partition) {
        jobs.push_back(IngestJob{p, &batch, s.shards.at(p).ingestor.get()});
      }
    }
    ingest_in_parallel(jobs);
    rd_kafka_topic_partition_list_t* commits =
        rd_kafka_topic_partition_list_new(static_cast<int>(jobs.size()));
    for (IngestJob& job : jobs) {
      if (!job.results) {
        if (result) result = job.results.status();
        continue;
      }
      const std::vector<Message>& batch = *job.batch;
      for (std::size_t i = 0; i < job.results->size(); ++i)
        if ((*job.results)[i].outcome == IngestOutcome::kRejected)
          s.publish_rejection(batch[i], (*job.results)[i]);
      if (s.options.on_batch) s.options.on_batch(Partition{job.partition}, *job.results);
      rd_kafka_topic_partition_list_add(commits, s.config.events_topic.c_str(), job.partition)
          ->offset = job.ingestor->ledger().next_offset().value;
    }
    // Informational: Kafka's committed offsets show lag; restarts use the shards' own offsets.
    if (commits->cnt > 0) rd_kafka_commit(s.consumer.get(), commits, 1);
    rd_kafka_topic_partition_list_destroy(commits);
    if (!result) break;
    if (s.options.exit_when_idle_ms > 0 && !s.assigned.empty() &&
        s.caught_up.size() >= s.assigned.size() &&
        Clock::now() - last_activity > std::chrono::milliseconds(s.options.exit_when_idle_ms))
      break;
  }
  rd_kafka_queue_destroy(queue);
  if (Status synced = s.sync_shards(); !synced && result) result = synced;
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
