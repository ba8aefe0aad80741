#include "govcredit/bus.h"

#include <sys/stat.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

#include "govcredit/codec.h"

namespace govcredit {

// ---- KafkaBus ----

Result<std::unique_ptr<KafkaBus>> KafkaBus::create(const KafkaConfig& config) {
  auto p = EventProducer::create(config);
  if (!p) return p.status();
  return std::unique_ptr<KafkaBus>(new KafkaBus(std::move(*p)));
}
Result<std::vector<Delivery>> KafkaBus::publish(const Event& event) {
  return producer_->publish(event);
}
std::vector<Result<std::vector<Delivery>>> KafkaBus::publish_all(const std::vector<Event>& events) {
  return producer_->publish_all(events);
}
int KafkaBus::partitions() const {
  return producer_->partitions();
}

// ---- EmbeddedBus ----

namespace {

// One partition: its shard and a writer thread that commits queued messages in groups.
class EmbeddedShard {
 public:
  EmbeddedShard(std::unique_ptr<Ledger> ledger, std::unique_ptr<Ingestor> ingestor,
                std::size_t max_batch)
      : ledger_(std::move(ledger)),
        ingestor_(std::move(ingestor)),
        max_batch_(max_batch),
        writer_([this] { write_loop(); }) {}
  ~EmbeddedShard() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    writer_.join();
  }
  std::future<Result<IngestResult>> enqueue(Bytes wire) {
    std::promise<Result<IngestResult>> p;
    auto f = p.get_future();
    {
      std::lock_guard lock(mu_);
      queue_.push_back(Item{std::move(wire), std::move(p)});
    }
    cv_.notify_one();
    return f;
  }
  Ledger& ledger() { return *ledger_; }

 private:
  struct Item {
    Bytes wire;
    std::promise<Result<IngestResult>> done;
  };

  void write_loop() {
    for (;;) {
      std::vector<Item> items;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, nothing left
        while (!queue_.empty() && items.size() < max_batch_) {
          items.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      // Offsets continue the shard's own count, exactly as Kafka would number a fresh topic.
      std::vector<Message> batch;
      KafkaOffset next = ledger_->next_offset();
      const Timestamp now{std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count()};
      for (auto& it : items) {
        batch.push_back(Message{std::move(it.wire), ledger_->partition(), next, now});
        next.value++;
      }
      auto results = ingestor_->ingest(batch);
      for (std::size_t i = 0; i < items.size(); ++i) {
        if (results)
          items[i].done.set_value((*results)[i]);
        else
          items[i].done.set_value(results.status());
      }
    }
  }

  std::unique_ptr<Ledger> ledger_;
  std::unique_ptr<Ingestor> ingestor_;  // used by the writer thread only
  const std::size_t max_batch_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;  // GUARDED_BY(mu_)
  bool stop_ = false;       // GUARDED_BY(mu_)
  std::thread writer_;
};

}  // namespace

struct EmbeddedBus::Impl {
  EmbeddedOptions options;
  std::vector<std::unique_ptr<EmbeddedShard>> shards;
};

EmbeddedBus::EmbeddedBus(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EmbeddedBus::~EmbeddedBus() = default;

Result<std::unique_ptr<EmbeddedBus>> EmbeddedBus::open(const EmbeddedOptions& options) {
  if (options.partitions < 1)
    return Status(Reason::kInvalidArgument, "an embedded bus needs at least one partition");
  ::mkdir(options.data_dir.c_str(), 0755);
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  for (int p = 0; p < options.partitions; ++p) {
    auto l = Ledger::open(options.data_dir + "/shard-" + std::to_string(p), Partition{p},
                          options.ledger);
    if (!l) return l.status();
    auto ing = Ingestor::create(**l);
    if (!ing) return ing.status();
    impl->shards.push_back(
        std::make_unique<EmbeddedShard>(std::move(*l), std::move(*ing), options.max_batch));
  }
  return std::unique_ptr<EmbeddedBus>(new EmbeddedBus(std::move(impl)));
}

int EmbeddedBus::partitions() const {
  return static_cast<int>(impl_->shards.size());
}
Ledger& EmbeddedBus::shard(Partition p) {
  return impl_->shards.at(static_cast<std::size_t>(p.value))->ledger();
}

namespace {
std::vector<int> targets_of(const Event& e, int partitions) {
  std::vector<int> out;
  if (Registry::is_registry_event(e))
    for (int p = 0; p < partitions; ++p) out.push_back(p);
  else
    out.push_back(partition_for_key(e.subject.value, partitions));
  return out;
}
}  // namespace

EmbeddedBus::Pending EmbeddedBus::enqueue_all(const std::vector<Event>& events) {
  Pending pending;
  pending.futures_.resize(events.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    Bytes wire = encode_wire(events[i]);
    for (int p : targets_of(events[i], partitions()))
      pending.futures_[i].push_back(impl_->shards[static_cast<std::size_t>(p)]->enqueue(wire));
  }
  return pending;
}

std::vector<Result<std::vector<IngestResult>>> EmbeddedBus::Pending::wait() {
  std::vector<Result<std::vector<IngestResult>>> out;
  for (auto& per_event : futures_) {
    std::vector<IngestResult> results;
    Status failed;
    for (auto& f : per_event) {
      Result<IngestResult> r = f.get();
      if (r)
        results.push_back(std::move(*r));
      else
        failed = r.status();
    }
    if (!failed)
      out.emplace_back(failed);  // in place: moving a temporary trips g++ 12 -Wmaybe-uninitialized
    else
      out.push_back(std::move(results));
  }
  futures_.clear();
  return out;
}

std::vector<Result<std::vector<IngestResult>>> EmbeddedBus::publish_all_with_results(
    const std::vector<Event>& events) {
  // Everything queued first so each shard's writer commits large groups, then waited for.
  return enqueue_all(events).wait();
}

std::vector<Result<std::vector<Delivery>>> EmbeddedBus::publish_all(
    const std::vector<Event>& events) {
  std::vector<Result<std::vector<Delivery>>> out;
  auto results = publish_all_with_results(events);
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (!results[i]) {
      out.push_back(results[i].status());
      continue;
    }
    std::vector<int> targets = targets_of(events[i], partitions());
    std::vector<Delivery> d;
    for (std::size_t k = 0; k < targets.size(); ++k)
      d.push_back(Delivery{Partition{targets[k]}, (*results[i])[k].offset});
    out.push_back(std::move(d));
  }
  return out;
}

Result<std::vector<Delivery>> EmbeddedBus::publish(const Event& event) {
  return std::move(publish_all({event}).front());
}

}  // namespace govcredit
