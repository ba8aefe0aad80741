// kafka_bench: single-signed events produced and ingested end to end through a real broker.
//
//   kafka_bench [--brokers B] [--records N] [--partitions P] [--batch-signed N] [--out FILE]
//
// 1. Measures this machine's Ed25519 verification rate with `openssl speed ed25519` (the
//    reference the target is set against) in the same run.
// 2. Throughput: publishes every event of a generated data set while one ledger node consumes
//    them into LMDB shards (durable commits, every signature verified); events/s is counted
//    from the first publish to the last append. With --batch-signed N every issuer's events are
//    signed in batches of up to N (events/FORMAT.md §2b) before the run, as `govcredit import`
//    does; registry events keep their own signatures.
// 3. Latency: publishes 2000 events paced at 500/s and measures produce->appended per event.
// Results go to FILE as JSON.
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "govcredit/codec.h"
#include "govcredit/demo.h"
#include "govcredit/encoding.h"
#include "govcredit/kafka.h"

using namespace govcredit;
using Clock = std::chrono::steady_clock;

namespace {

double openssl_verify_rate() {
  FILE* p = popen("openssl speed -seconds 3 ed25519 2>/dev/null", "r");
  if (!p) return 0;
  std::string out;
  char buf[512];
  while (fgets(buf, sizeof buf, p)) out += buf;
  pclose(p);
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    if (line.find("Ed25519") == std::string::npos || line.find("bits") == std::string::npos)
      continue;
    std::istringstream ls(line);
    std::vector<std::string> words;
    for (std::string w; ls >> w;) words.push_back(w);
    return std::stod(words.back());  // ... sign/s verify/s
  }
  return 0;
}

struct Timings {
  std::mutex mu;
  std::unordered_map<std::string, Clock::time_point> sent;
  std::vector<double> latencies_ms;
  Clock::time_point last_append;
  std::uint64_t appended = 0;
  std::uint64_t batches = 0;  // ingest calls (one durable commit each)
};

double pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

// The demo key an event was signed with (the first or, after a rotation, the second).
PrivateKey signing_key(const Event& e) {
  return demo::key_for(e.issuer, demo::key_for(e.issuer).key_id() == e.key_id ? 0 : 1);
}

// Re-signs the events in batches: within each window of `size` events, one batch per issuer and
// key. The events stay where they are in the stream (a batch's members need not be adjacent).
void resign_in_batches(std::vector<Event>& events, std::size_t size) {
  for (std::size_t from = 0; from < events.size(); from += size) {
    std::size_t to = std::min(events.size(), from + size);
    std::map<std::pair<std::string, std::string>, std::vector<std::size_t>> groups;
    for (std::size_t i = from; i < to; ++i)
      if (!Registry::is_registry_event(events[i]))
        groups[{events[i].issuer.value, events[i].key_id.value}].push_back(i);
    for (const auto& [who, idx] : groups) {
      std::vector<Event> batch;
      for (std::size_t i : idx) batch.push_back(events[i]);
      sign_batch(batch, signing_key(batch.front()));
      for (std::size_t k = 0; k < idx.size(); ++k) events[idx[k]] = std::move(batch[k]);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string brokers = "127.0.0.1:19092", out = "bench-results/kafka.json";
  int records = 20000, partitions = 4;
  std::size_t batch_signed = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--brokers")
      brokers = next();
    else if (a == "--records")
      records = std::stoi(next());
    else if (a == "--partitions")
      partitions = std::stoi(next());
    else if (a == "--batch-signed")
      batch_signed = std::stoul(next());
    else if (a == "--out")
      out = next();
    else {
      std::cerr << "usage: kafka_bench [--brokers B] [--records N] [--partitions P] "
                   "[--batch-signed N] [--out FILE]\n";
      return 2;
    }
  }
  std::cerr << "kafka_bench: measuring openssl speed ed25519 ...\n";
  const double verify_rate = openssl_verify_rate();
  const unsigned cores = std::thread::hardware_concurrency();
  std::cerr << "  " << verify_rate << " verifications/s per core, " << cores << " cores\n";

  std::cerr << "kafka_bench: generating and signing events ...\n";
  demo::World w = demo::generate(demo::Options{.seed = 3, .records = records});
  std::cerr << "  " << w.events.size() << " events\n";
  if (batch_signed) {
    resign_in_batches(w.events, batch_signed);
    std::cerr << "  re-signed in batches of up to " << batch_signed << " per issuer\n";
  }

  KafkaConfig k;
  k.brokers = brokers;
  std::string suffix = std::to_string(getpid());
  k.events_topic = "bench.events." + suffix;
  k.rejected_topic = "bench.rejected." + suffix;
  k.partitions = partitions;
  if (auto n = ensure_topics(k); !n) {
    std::cerr << n.status().to_string() << "\n";
    return 1;
  }
  auto producer = EventProducer::create(k);
  if (!producer) {
    std::cerr << producer.status().to_string() << "\n";
    return 1;
  }
  std::string dir = "/tmp/govcredit-kafka-bench-" + suffix;
  Timings t;
  NodeOptions o;
  o.data_dir = dir;
  o.group = "bench-" + suffix;
  o.on_batch = [&](Partition, const std::vector<IngestResult>& rs) {
    auto now = Clock::now();
    std::lock_guard lock(t.mu);
    ++t.batches;
    for (const auto& r : rs) {
      if (r.outcome != IngestOutcome::kAccepted) continue;
      ++t.appended;
      t.last_append = now;
      if (r.event_id) {
        auto it = t.sent.find(to_hex(*r.event_id));
        if (it != t.sent.end()) {
          t.latencies_ms.push_back(
              std::chrono::duration<double, std::milli>(now - it->second).count());
          t.sent.erase(it);
        }
      }
    }
  };
  auto node = LedgerNode::create(k, o);
  if (!node) {
    std::cerr << node.status().to_string() << "\n";
    return 1;
  }
  std::thread runner([&] {
    pthread_setname_np(pthread_self(), "ledger-node");
    if (Status s = (*node)->run(); !s) std::cerr << "node: " << s.to_string() << "\n";
  });

  // Throughput: everything as fast as it goes (the registry first, so nothing is rejected).
  std::uint64_t messages = 0;
  for (const Event& e : w.events)
    messages += Registry::is_registry_event(e) ? static_cast<std::uint64_t>(partitions) : 1;
  auto t0 = Clock::now();
  std::cerr << "kafka_bench: throughput run ...\n";
  std::size_t chunk = 5000;
  for (std::size_t i = 0; i < w.events.size(); i += chunk) {
    std::vector<Event> part(
        w.events.begin() + static_cast<std::ptrdiff_t>(i),
        w.events.begin() + static_cast<std::ptrdiff_t>(std::min(w.events.size(), i + chunk)));
    for (auto& r : (*producer)->publish_all(part))
      if (!r) std::cerr << r.status().to_string() << "\n";
  }
  auto produced = Clock::now();
  while (true) {
    {
      std::lock_guard lock(t.mu);
      if (t.appended >= messages) break;
    }
    if (Clock::now() - t0 > std::chrono::minutes(10)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  double secs = std::chrono::duration<double>(t.last_append - t0).count();
  double eps = static_cast<double>(t.appended) / secs;
  const std::uint64_t throughput_batches = t.batches;
  std::cerr << "  " << t.appended << " appended in " << secs << " s = " << eps
            << " events/s (produce alone took "
            << std::chrono::duration<double>(produced - t0).count() << " s; " << throughput_batches
            << " ingest batches)\n";

  // Latency: paced, with a fresh set of events (new ids) for the same subjects.
  std::cerr << "kafka_bench: latency run (2000 events at 500/s) ...\n";
  std::vector<Event> paced;
  for (const Event& e : w.events) {
    if (!e.as<RecordSubmitted>()) continue;
    Event c = e;
    c.id.bytes[15] ^= 0x5a;
    sign_event(c, signing_key(c));
    paced.push_back(c);
    if (paced.size() == 2000) break;
  }
  {
    std::lock_guard lock(t.mu);
    t.latencies_ms.clear();
  }
  std::uint64_t before = t.appended;
  auto start = Clock::now();
  for (std::size_t i = 0; i < paced.size(); ++i) {
    std::this_thread::sleep_until(start + std::chrono::microseconds(2000 * i));
    {
      std::lock_guard lock(t.mu);
      t.sent[to_hex(paced[i].id)] = Clock::now();
    }
    if (auto r = (*producer)->publish_all({paced[i]}, 30000); !r[0])
      std::cerr << r[0].status().to_string() << "\n";
  }
  auto pending = [&] {
    std::lock_guard lock(t.mu);
    return t.appended < before + paced.size();
  };
  while (pending() && Clock::now() - start < std::chrono::minutes(2))
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  (*node)->stop();
  runner.join();
  std::vector<double> lat;
  {
    std::lock_guard lock(t.mu);
    lat = t.latencies_ms;
  }
  nlohmann::json j = {
      {"events", w.events.size()},
      {"messages", messages},
      {"partitions", partitions},
      {"cores", cores},
      {"signatures", batch_signed ? "batches of up to " + std::to_string(batch_signed) +
                                        " per issuer (registry events single)"
                                  : std::string("one per event")},
      {"openssl_ed25519_verify_per_s_per_core", verify_rate},
      {"end_to_end_events_per_s", eps},
      {"ingest_batches", throughput_batches},
      {"ratio_to_cores_times_verify_rate", eps / (verify_rate * cores)},
      {"paced_latency_ms",
       {{"rate_per_s", 500},
        {"samples", lat.size()},
        {"p50", pct(lat, 0.5)},
        {"p99", pct(lat, 0.99)},
        {"max", pct(lat, 1.0)}}},
      {"note",
       "publish_all waits for each acknowledgement (synchronous per event) in the latency run; "
       "one ledger node, durable LMDB commits, every signature verified"},
  };
  std::filesystem::create_directories(std::filesystem::path(out).parent_path().empty()
                                          ? "."
                                          : std::filesystem::path(out).parent_path());
  std::ofstream(out) << j.dump(2) << "\n";
  std::cout << j.dump(2) << "\n";
  node->reset();
  std::filesystem::remove_all(dir);
  return 0;
}
