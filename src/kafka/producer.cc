// Topics, partitioning and the idempotent event producer.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "client.h"
#include "govcredit/codec.h"
#include "govcredit/registry.h"

namespace govcredit {

using namespace kafka_internal;

std::int32_t murmur2(std::string_view key) {
  // Kafka's Utils.murmur2 (Java), in unsigned arithmetic.
  const auto* data = reinterpret_cast<const std::uint8_t*>(key.data());
  const std::uint32_t m = 0x5bd1e995, len = static_cast<std::uint32_t>(key.size());
  std::uint32_t h = 0x9747b28cu ^ len;
  std::uint32_t i = 0;
  for (; i + 4 <= len; i += 4) {
    std::uint32_t k = data[i] | data[i + 1] << 8 | data[i + 2] << 16 |
                      static_cast<std::uint32_t>(data[i + 3]) << 24;
    k *= m;
    k ^= k >> 24;
    k *= m;
    h *= m;
    h ^= k;
  }
  switch (len % 4) {
    case 3:
      h ^= static_cast<std::uint32_t>(data[i + 2]) << 16;
      [[fallthrough]];
    case 2:
      h ^= static_cast<std::uint32_t>(data[i + 1]) << 8;
      [[fallthrough]];
    case 1:
      h ^= data[i];
      h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return static_cast<std::int32_t>(h);
}

int partition_for_key(std::string_view key, int partitions) {
  auto h = static_cast<std::uint32_t>(murmur2(key));
  return static_cast<int>((h & 0x7fffffffu) % static_cast<std::uint32_t>(partitions));
}

namespace {

// Whether every partition's leader answers a ListOffsets request for it; else the first error.
// A broker lists a new partition in its metadata before its replica manager has created the
// partition's log, and produce requests that arrive in between fail with NOT_LEADER_OR_FOLLOWER.
// A later request to the same partition may then land first, and since an empty partition has no
// producer state the broker accepts its sequence numbers out of order (KAFKA-15591); librdkafka,
// seeing the later batch acknowledged, reports the earlier one delivered too. One crash drill in
// CI lost a shard's genesis event that way. ListOffsets fails in the same window, so a topic
// whose every partition answers it is ready for producing. Only a topic just created is waited
// for: on an existing topic a partition without a leader (a broker down) must not stop producers
// of the other partitions.
rd_kafka_resp_err_t partitions_ready(rd_kafka_t* rk, const std::string& topic, int partitions,
                                     int timeout_ms) {
  for (int p = 0; p < partitions; ++p) {
    std::int64_t low = 0, high = 0;
    rd_kafka_resp_err_t err =
        rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &low, &high, timeout_ms);
    if (err) return err;
  }
  return RD_KAFKA_RESP_ERR_NO_ERROR;
}

// The topic's partition count from the brokers' metadata, asking again until timeout_ms while
// the answer is transient: on a cluster, a broker learns of a topic created through another one
// a moment later (it answers "unknown topic" until then), and a new partition has no leader for
// a moment; with `served`, also until its leader serves it (partitions_ready). A topic still
// unknown after unknown_ms is reported as missing.
Result<int> partition_count(rd_kafka_t* rk, const std::string& topic, int timeout_ms,
                            int unknown_ms, bool served = false) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::milliseconds(timeout_ms);
  const auto unknown_deadline = start + std::chrono::milliseconds(std::min(unknown_ms, timeout_ms));
  rd_kafka_topic_t* t = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  Result<int> out(Reason::kNotFound, "topic " + topic + " does not exist");
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    const rd_kafka_metadata_t* md = nullptr;
    rd_kafka_resp_err_t err =
        rd_kafka_metadata(rk, 0, t, &md, static_cast<int>(std::max<std::int64_t>(left.count(), 1)));
    if (err) {
      out = kafka_error(err, "metadata request to the brokers");
      break;
    }
    bool again = false;
    if (md->topic_cnt != 1 || md->topics[0].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
      out = Status(Reason::kNotFound, "topic " + topic + " does not exist");
      again = Clock::now() < unknown_deadline;
    } else if (md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      out = kafka_error(md->topics[0].err, "topic " + topic);
      again = md->topics[0].err == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE;
    } else if (md->topics[0].partition_cnt == 0) {
      out = Status(Reason::kIoError, "topic " + topic + " has no partitions yet");
      again = true;
    } else if (rd_kafka_resp_err_t e =
                   served
                       ? partitions_ready(rk, topic, md->topics[0].partition_cnt,
                                          static_cast<int>(std::max<std::int64_t>(left.count(), 1)))
                       : RD_KAFKA_RESP_ERR_NO_ERROR) {
      out = kafka_error(e, "a partition of " + topic + " is not served yet");
      again = true;
    } else {
      out = md->topics[0].partition_cnt;
    }
    rd_kafka_metadata_destroy(md);
    if (!again || Clock::now() + std::chrono::milliseconds(100) >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  rd_kafka_topic_destroy(t);
  return out;
}

}  // namespace

Result<int> events_partition_count(const KafkaConfig& config, int timeout_ms) {
  auto conf = make_conf(config);
  if (!conf) return conf.status();
  auto rk = make_handle(RD_KAFKA_PRODUCER, std::move(*conf));
  if (!rk) return rk.status();
  return partition_count(rk->get(), config.events_topic, timeout_ms, 3000);
}

Result<int> ensure_topics(const KafkaConfig& config, int timeout_ms) {
  auto conf = make_conf(config);
  if (!conf) return conf.status();
  auto rk = make_handle(RD_KAFKA_PRODUCER, std::move(*conf));
  if (!rk) return rk.status();
  char err[512];
  std::vector<rd_kafka_NewTopic_t*> topics;
  for (const std::string* name : {&config.events_topic, &config.rejected_topic}) {
    rd_kafka_NewTopic_t* t = rd_kafka_NewTopic_new(name->c_str(), config.partitions,
                                                   config.replication, err, sizeof err);
    if (t == nullptr)
      return Status(Reason::kInvalidArgument, std::string("topic ") + *name + ": " + err);
    // Kept forever and never compacted: the log is the system of record, and any node must be
    // able to rebuild any shard from offset 0.
    rd_kafka_NewTopic_set_config(t, "retention.ms",
                                 *name == config.events_topic ? "-1" : "31536000000");
    rd_kafka_NewTopic_set_config(t, "retention.bytes", "-1");
    rd_kafka_NewTopic_set_config(t, "cleanup.policy", "delete");
    rd_kafka_NewTopic_set_config(t, "min.insync.replicas",
                                 std::to_string(config.min_insync).c_str());
    topics.push_back(t);
  }
  rd_kafka_AdminOptions_t* opts =
      rd_kafka_AdminOptions_new(rk->get(), RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_operation_timeout(opts, timeout_ms, err, sizeof err);
  rd_kafka_AdminOptions_set_request_timeout(opts, timeout_ms, err, sizeof err);
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk->get());
  rd_kafka_CreateTopics(rk->get(), topics.data(), topics.size(), opts, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, timeout_ms + 5000);
  Status result;
  std::vector<std::string> created;  // by this call, not before
  if (ev == nullptr) {
    result = Status(Reason::kIoError, "no answer from the brokers to CreateTopics");
  } else if (rd_kafka_event_error(ev)) {
    result = kafka_error(rd_kafka_event_error(ev), "CreateTopics");
  } else {
    std::size_t n = 0;
    const rd_kafka_topic_result_t** res =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    for (std::size_t i = 0; i < n && result; ++i) {
      rd_kafka_resp_err_t e = rd_kafka_topic_result_error(res[i]);
      if (!e) created.emplace_back(rd_kafka_topic_result_name(res[i]));
      if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
        result = Status(Reason::kIoError, std::string("creating ") +
                                              rd_kafka_topic_result_name(res[i]) + ": " +
                                              (rd_kafka_topic_result_error_string(res[i])
                                                   ? rd_kafka_topic_result_error_string(res[i])
                                                   : rd_kafka_err2str(e)));
    }
  }
  if (ev) rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(q);
  rd_kafka_AdminOptions_destroy(opts);
  for (auto* t : topics) rd_kafka_NewTopic_destroy(t);
  if (!result) return result;
  // Metadata may lag creation by a moment: the topic was just created, so "unknown" is transient;
  // a topic this call created is not returned before its partitions are served (partitions_ready).
  auto just_created = [&](const std::string& name) {
    return std::find(created.begin(), created.end(), name) != created.end();
  };
  if (just_created(config.rejected_topic))
    if (auto r = partition_count(rk->get(), config.rejected_topic, timeout_ms, timeout_ms, true);
        !r)
      return r;
  return partition_count(rk->get(), config.events_topic, timeout_ms, timeout_ms,
                         just_created(config.events_topic));
}

// ---- EventProducer ----

namespace {

// One publish() call: the deliveries it waits for.
struct Pending {
  std::mutex mu;
  std::condition_variable cv;
  int remaining = 0;
  std::vector<Delivery> deliveries;
  Status error;
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
  auto* p = static_cast<Pending*>(m->_private);
  std::lock_guard lock(p->mu);
  if (m->err)
    p->error = kafka_error(m->err, "delivery to partition " + std::to_string(m->partition));
  else
    p->deliveries.push_back(Delivery{Partition{m->partition}, KafkaOffset{m->offset}});
  if (--p->remaining == 0) p->cv.notify_all();
}

}  // namespace

struct EventProducer::Impl {
  KafkaPtr rk;
  std::string topic;
  std::atomic<bool> stop{false};
  std::thread poller;  // serves delivery callbacks
  ~Impl() {
    if (rk) rd_kafka_flush(rk.get(), 10000);
    stop = true;
    if (poller.joinable()) poller.join();
  }
};

EventProducer::EventProducer(std::unique_ptr<Impl> impl, int partitions)
    : impl_(std::move(impl)), partitions_(partitions) {}
EventProducer::~EventProducer() = default;

Result<std::unique_ptr<EventProducer>> EventProducer::create(const KafkaConfig& config) {
  auto conf = make_conf(config);
  if (!conf) return conf.status();
  if (Status s = apply_settings(
          conf->get(), config, "the event producer",
          {{"enable.idempotence", "true", "a retry neither duplicates nor reorders an event"},
           {"acks", "all", "an event is published once every in-sync replica has it"},
           {"partitioner", "murmur2_random",
            "an agency's events go to the partition Kafka's Java clients and the embedded bus "
            "pick"}},
          {{"linger.ms", "2"}, {"message.timeout.ms", "30000"}, {"compression.type", "lz4"}});
      !s)
    return s;
  rd_kafka_conf_set_dr_msg_cb(conf->get(), on_delivery);
  auto rk = make_handle(RD_KAFKA_PRODUCER, std::move(*conf));
  if (!rk) return rk.status();
  auto n = partition_count(rk->get(), config.events_topic, 10000, 3000);
  if (!n) return n.status();
  auto impl = std::make_unique<Impl>();
  impl->rk = std::move(*rk);
  impl->topic = config.events_topic;
  Impl* raw = impl.get();
  impl->poller = std::thread([raw] {
    while (!raw->stop) rd_kafka_poll(raw->rk.get(), 50);
  });
  return std::unique_ptr<EventProducer>(new EventProducer(std::move(impl), *n));
}

std::vector<Result<std::vector<Delivery>>> EventProducer::publish_all(
    const std::vector<Event>& events, int timeout_ms) {
  std::vector<std::unique_ptr<Pending>> pending;
  std::vector<Result<std::vector<Delivery>>> out;
  for (const Event& e : events) {
    auto p = std::make_unique<Pending>();
    Bytes wire = encode_wire(e);
    const std::string& key = e.subject.value;
    std::vector<int> parts;
    if (Registry::is_registry_event(e))
      for (int i = 0; i < partitions_; ++i) parts.push_back(i);
    else
      parts.push_back(RD_KAFKA_PARTITION_UA);  // murmur2 of the key, like Java clients
    p->remaining = static_cast<int>(parts.size());
    for (int part : parts) {
      rd_kafka_resp_err_t err;
      while (
          (err = rd_kafka_producev(
               impl_->rk.get(), RD_KAFKA_V_TOPIC(impl_->topic.c_str()), RD_KAFKA_V_PARTITION(part),
               RD_KAFKA_V_KEY(key.data(), key.size()), RD_KAFKA_V_VALUE(wire.data(), wire.size()),
               RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(p.get()),
               RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));  // the poller drains the queue
      if (err) {
        std::lock_guard lock(p->mu);
        p->error = kafka_error(err, "producing to " + impl_->topic);
        --p->remaining;
      }
    }
    pending.push_back(std::move(p));
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (auto& p : pending) {
    std::unique_lock lock(p->mu);
    if (!p->cv.wait_until(lock, deadline, [&] { return p->remaining == 0; })) {
      out.emplace_back(Reason::kIoError, "Kafka did not acknowledge the event in time");
      // The message may still be delivered later; its Pending must outlive the callback.
      (void)p.release();
      continue;
    }
    if (!p->error)
      out.emplace_back(p->error);  // in place: see bus.cc
    else
      out.push_back(std::move(p->deliveries));
  }
  return out;
}

Result<std::vector<Delivery>> EventProducer::publish(const Event& event, int timeout_ms) {
  return std::move(publish_all({event}, timeout_ms).front());
}

}  // namespace govcredit
