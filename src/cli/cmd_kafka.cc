// govcredit kafka topics | submit | node: the Kafka transport from the command line.
#include <atomic>
#include <csignal>
#include <iostream>
#include <sstream>

#include "common.h"
#include "govcredit/codec.h"
#include "govcredit/encoding.h"
#include "govcredit/kafka.h"

namespace govcredit::cli {
namespace {

std::atomic<LedgerNode*> g_node{nullptr};
void on_signal(int) {
  if (LedgerNode* n = g_node.load()) n->stop();
}

void add_kafka_options(CLI::App* cmd, KafkaConfig& k) {
  cmd->add_option("--kafka", k.brokers, "bootstrap brokers, e.g. 127.0.0.1:19092")
      ->capture_default_str();
  add_kafka_set_option(cmd, k.extra);
  cmd->add_option("--topic", k.events_topic, "events topic")->capture_default_str();
  cmd->add_option("--rejected-topic", k.rejected_topic, "rejection notices topic")
      ->capture_default_str();
}

int topics(const KafkaConfig& k) {
  auto n = ensure_topics(k);
  if (!n) return report(n.status());
  std::cout << k.events_topic << ": " << *n << " partition(s); " << k.rejected_topic << " ready\n";
  return kExitOk;
}

struct SubmitArgs {
  KafkaConfig kafka;
  std::string file;
};

int submit(const SubmitArgs& a) {
  auto text = read_file(a.file);
  if (!text) return report(text.status());
  // One event per line (JSON lines) or one pretty-printed event for the whole file.
  std::vector<std::string> docs;
  std::string trimmed = *text;
  if (trimmed.find("\n{") == std::string::npos) {
    docs.push_back(trimmed);
  } else {
    std::istringstream in(*text);
    for (std::string line; std::getline(in, line);)
      if (line.find_first_not_of(" \t\r") != std::string::npos) docs.push_back(line);
  }
  std::vector<Event> events;
  for (std::size_t i = 0; i < docs.size(); ++i) {
    auto e = event_from_json(docs[i]);
    if (!e) {
      std::cerr << a.file << ":" << (docs.size() == 1 ? 1 : i + 1)
                << ": not submitted: " << e.status().to_string() << "\n";
      return kExitRejected;  // nothing is published when any event is malformed
    }
    events.push_back(std::move(*e));
  }
  auto producer = EventProducer::create(a.kafka);
  if (!producer) return report(producer.status());
  auto results = (*producer)->publish_all(events);
  int failed = 0;
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (!results[i]) {
      ++failed;
      std::cerr << "event " << to_hex(events[i].id) << ": " << results[i].status().to_string()
                << "\n";
      continue;
    }
    std::cout << to_hex(events[i].id) << " " << events[i].type_name();
    for (const auto& d : *results[i])
      std::cout << " p" << d.partition.value << "@" << d.offset.value;
    std::cout << "\n";
  }
  if (failed)
    return report(Status(Reason::kIoError,
                         std::to_string(failed) + " event(s) were not acknowledged by Kafka"));
  return kExitOk;
}

struct NodeArgs {
  KafkaConfig kafka;
  NodeOptions node;
  bool quiet = false;
};

int node(NodeArgs& a) {
  std::size_t accepted = 0, rejected = 0, duplicates = 0;
  a.node.on_batch = [&](Partition p, const std::vector<IngestResult>& rs) {
    for (const auto& r : rs) {
      accepted += r.outcome == IngestOutcome::kAccepted;
      duplicates += r.outcome == IngestOutcome::kDuplicate;
      if (r.outcome == IngestOutcome::kRejected) {
        ++rejected;
        if (!a.quiet)
          std::cerr << "partition " << p.value << " offset " << r.offset.value
                    << ": rejected: " << r.status.to_string() << "\n";
      }
    }
  };
  a.node.on_consumer_error = [](Partition p, const Status& s) {
    std::cerr << "partition " << p.value << ": Kafka: " << s.to_string() << "\n";
  };
  auto n = LedgerNode::create(a.kafka, a.node);
  if (!n) return report(n.status());
  if (a.node.warm_heap_bytes > 0) report_heap_warmed(**n);
  g_node = n->get();
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  Status s = (*n)->run();
  g_node = nullptr;
  for (Partition p : (*n)->shards()) {
    Head h = (*n)->shard(p)->head();
    std::cout << "shard " << p.value << ": " << h.size << " entries, next offset "
              << (*n)->shard(p)->next_offset().value << ", root " << to_hex(h.root) << "\n";
  }
  std::cout << "this run: " << accepted << " appended, " << duplicates << " already present, "
            << rejected << " rejected\n";
  return s ? kExitOk : report(s);
}

}  // namespace

void register_kafka_commands(CLI::App& app, Runner& run) {
  auto* kafka = app.add_subcommand("kafka", "Kafka administration.");
  kafka->require_subcommand(1);
  auto tk = std::make_shared<KafkaConfig>();
  auto* t = kafka->add_subcommand(
      "topics",
      "Create govcredit.events (kept forever: retention.ms=-1, cleanup.policy=delete) and "
      "govcredit.rejected if missing, and print the partition count. Also a readiness check.");
  add_kafka_options(t, *tk);
  t->add_option("--partitions", tk->partitions, "partitions of new topics")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  t->add_option("--replication", tk->replication, "replication factor of new topics")
      ->capture_default_str()
      ->check(CLI::Range(1, 16));
  t->add_option("--min-insync", tk->min_insync, "min.insync.replicas of new topics")
      ->capture_default_str()
      ->check(CLI::Range(1, 16));
  t->callback([&run, tk] { run = [tk] { return topics(*tk); }; });

  auto sa = std::make_shared<SubmitArgs>();
  auto* s = app.add_subcommand(
      "submit",
      "Publish signed events (a JSON file, or JSON lines) to Kafka with an idempotent producer "
      "(acks=all). Returns once Kafka has every event; prints each event's partition@offset. "
      "Registry events go to every partition. Malformed input publishes nothing.");
  add_kafka_options(s, sa->kafka);
  s->add_option("file", sa->file, "event file, - for stdin")->required();
  s->callback([&run, sa] { run = [sa] { return submit(*sa); }; });

  auto na = std::make_shared<NodeArgs>();
  auto* n = app.add_subcommand(
      "node",
      "Run a ledger node: consume the events topic (consumer group --group) into one LMDB shard "
      "per partition under --data, exactly once. Stops on SIGINT/SIGTERM, or with "
      "--exit-when-idle. Of a backlog it holds up to 300000 fetched messages or 192 MiB ahead of "
      "its ingest (--kafka-set queued.min.messages=N or queued.max.messages.kbytes=K for less).");
  add_kafka_options(n, na->kafka);
  n->add_option("--data", na->node.data_dir, "data directory")->capture_default_str();
  n->add_option("--group", na->node.group, "consumer group")->capture_default_str();
  n->add_option("--name", na->node.ledger.name, "ledger name, used in checkpoint origins")
      ->capture_default_str();
  n->add_option("--max-batch", na->node.max_batch,
                "messages per poll, and per LMDB transaction, at most (a partition's messages "
                "that arrived while its shard was busy are ingested together: this bounds a "
                "backlog's batches)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  add_durability_option(n, na->node.ledger.durability);
  n->add_option("--exit-when-idle", na->node.exit_when_idle_ms,
                "stop after this many ms caught up with nothing new (0: never)")
      ->capture_default_str();
  add_warm_heap_option(n, na->node.warm_heap_bytes);
  n->add_flag("--quiet", na->quiet, "do not print each rejection");
  n->callback([&run, na] { run = [na] { return node(*na); }; });
}

}  // namespace govcredit::cli
