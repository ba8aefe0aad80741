// kafka_bench: single-signed events produced and ingested end to end through a real broker.
//
//   kafka_bench [--brokers B] [--events N | --records N] [--years Y] [--partitions P]
//               [--batch-signed N] [--batch-window W] [--paced N] [--disk-burst MIB]
//               [--warm-heap MIB] [--again-after S] [--producer-set K=V]... [--node-set K=V]...
//               [--reference-seconds S] [--out FILE]
//
// 1. Measures this machine's Ed25519 verification rate with `openssl speed ed25519` and with the
//    ledger's own verifier (libsodium) (the reference the target is set against) in the same run:
//    before, and again after the drain with the node idle; the ratio is taken against the fastest
//    of the four (bench::VerifyReference; --reference-seconds, default 3, is how long openssl runs
//    each test). A batch-signed run has no target against it and measures only the ledger's
//    verifier, once, for signature_bound_events_per_s.
// 2. Throughput: publishes every event of a generated data set (the demo's, about N events over Y
//    years, default 3: more events are denser in time, as in ingest_bench), then starts one
//    ledger node that consumes them into LMDB shards (durable commits, every signature
//    verified); events/s is counted from the node's first durable commits (those of its first
//    poll) to its last (the group join before it is reported apart; when that first poll held
//    most of the events, as in a small run, from the node's start), so the producer's work does
//    not share the cores with ingest, as it would not where agencies publish from their own
//    machines. The process's CPU time per event, its page faults and the machine's idle share
//    over the same run are reported too (throughput_run_usage), and the node's polls and batches
//    (throughput_run_polls: their sizes, and how long a poll's messages took to their last
//    commit). --concurrent publishes while the node already runs and counts from the first
//    publish to the last append instead (producer, broker and node on the same cores). With
//    --batch-signed N every issuer's events are signed in batches of up to N (events/FORMAT.md
//    §2b) before the run, within each window of N events of the stream (--batch-window W: of W;
//    0: the whole stream, each issuer's events in full batches as `govcredit import` signs a
//    source's file); registry events keep their own signatures.
// 3. Latency: publishes N events (--paced, default 2000) paced at 500/s and measures, per event,
//    produce -> committed: the ledger node's durable commit of the batch holding it, after which
//    its inclusion proof can be served (the node's on_batch hook runs right after the commit),
//    each split at the node's poll that returned the event (its on_poll hook): the wait to be
//    polled and the node's own time, so that a slow sample says on which side it was slow.
//    Before it, everything the page cache holds unwritten is written out (sync(2)): the broker
//    leaves its log to the kernel's writeback, which would write the throughput run's messages
//    ~30 s after they were published, in the middle of the latency run, and a commit's fdatasync
//    waits behind such writeback on a shared disk (docs/PERFORMANCE.md §3.2). The kernel's
//    Dirty and Writeback memory is sampled through the paced run and reported with it, and so
//    are the node's five slowest polls: this process's CPU time, faults, waits and preemptions
//    in each, and the machine's steal and iowait around it (the node's work, a wait, or the
//    host).
//    --disk-burst MIB writes MIB of data beside the shards 1 s into the paced run and flushes
//    it: what another program's writes on the same disk do to the latency.
// --producer-set name=value sets a librdkafka property of the benchmark's event producer only,
// e.g. compression.type=none to compare with the producer's default lz4 (PERFORMANCE.md §5.28,
// §5.37); the node's settings are its own.
// --warm-heap MIB has the node populate that much heap before it joins its group and keep it, as
// `govcredit node --warm-heap` does (NodeOptions::warm_heap_bytes, PERFORMANCE.md §5.40); the
// time it took is reported apart (node_heap_warm_seconds), before the node's start.
// --again-after S leaves the node idle S seconds after the latency run, then publishes a second
// data set of the same size (another seed; ~9% of it rejected, its registry events and receipts
// repeating the first's) while the node runs, and reports that stage apart (second_stage): what
// a node that kept running pays for a burst after a pause (PERFORMANCE.md §5.41).
// Results go to FILE as JSON.
#include <fcntl.h>
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "govcredit/codec.h"
#include "govcredit/demo.h"
#include "govcredit/encoding.h"
#include "govcredit/kafka.h"

#include "bench_util.h"

using namespace govcredit;
using Clock = std::chrono::steady_clock;

namespace {

// CPU time, page faults and context switches so far (getrusage) of the calling thread
// (RUSAGE_THREAD) or of the whole process (RUSAGE_SELF).
struct ThreadUsage {
  double user_ms = 0, sys_ms = 0;
  long minor_faults = 0, major_faults = 0, waits = 0, preemptions = 0;
  static ThreadUsage now(int who = RUSAGE_THREAD) {
    rusage r{};
    getrusage(who, &r);
    auto ms = [](const timeval& t) {
      return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_usec) / 1e3;
    };
    return {ms(r.ru_utime), ms(r.ru_stime), r.ru_minflt, r.ru_majflt, r.ru_nvcsw, r.ru_nivcsw};
  }
};

// The machine's time so far by kind, in clock ticks summed over its CPUs (/proc/stat's "cpu"
// line); nullopt when it cannot be read. Steal is time the hypervisor ran something else while
// a vCPU wanted to run.
struct MachineTicks {
  long user, nice, system, idle, iowait, irq, softirq, steal;
  long total() const { return user + nice + system + idle + iowait + irq + softirq + steal; }
};
std::optional<MachineTicks> machine_ticks() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  MachineTicks t{};
  if (!(in >> cpu >> t.user >> t.nice >> t.system >> t.idle >> t.iowait >> t.irq >> t.softirq >>
        t.steal) ||
      cpu != "cpu")
    return std::nullopt;
  return t;
}

// This process's usage (all its threads: the node, its helpers, librdkafka's) and the machine's
// ticks, at one moment.
struct ProcessUsage {
  ThreadUsage process;
  std::optional<MachineTicks> machine;
  static ProcessUsage now() { return {ThreadUsage::now(RUSAGE_SELF), machine_ticks()}; }
};

// What the process used from `from` to `to`, for `count` messages: CPU in user space and in the
// kernel, CPU per message (as cpu_us_per_EACH), minor faults, and the machine's idle share.
nlohmann::json usage_between(const ProcessUsage& from, const ProcessUsage& to, std::uint64_t count,
                             const std::string& each) {
  const double user_s = (to.process.user_ms - from.process.user_ms) / 1e3,
               sys_s = (to.process.sys_ms - from.process.sys_ms) / 1e3;
  nlohmann::json u = {{"user_s", user_s},
                      {"sys_s", sys_s},
                      {"cpu_us_per_" + each, 1e6 * (user_s + sys_s) / static_cast<double>(count)},
                      {"minor_faults", to.process.minor_faults - from.process.minor_faults}};
  if (const auto& a = from.machine, &b = to.machine; a && b && b->total() > a->total())
    u["machine_idle_share"] =  // idle and iowait
        static_cast<double>(b->idle + b->iowait - a->idle - a->iowait) /
        static_cast<double>(b->total() - a->total());
  return u;
}

// One poll of the node: when it returned, when the last of its messages was committed (the
// node's workers ingest each partition's messages in order, and it reports each batch as its
// shard commits it), and, in the paced run, this process's usage at both: the node's workers,
// its polling thread, librdkafka's threads.
struct PollRecord {
  Clock::time_point polled, done;
  std::size_t messages = 0, unreported = 0;
  ThreadUsage at_poll, at_done;
};

struct Timings {
  std::mutex mu;
  std::unordered_map<std::string, Clock::time_point> sent;
  std::vector<double> latencies_ms;
  std::vector<Clock::time_point> latency_sent;  // when each sample of latencies_ms was sent
  // Each sample split at the node's poll that returned it: the wait to be polled (the broker,
  // the consumer, a node busy with the poll before) and the node's time from that poll to its
  // commit (signature checks, domain rules, projections, append, fsync).
  std::vector<double> before_poll_ms, in_node_ms;
  bool record_polls = false;  // the paced run's polls, into `polls`
  std::vector<PollRecord> polls, throughput_polls;
  // Each partition's polled messages not yet reported, oldest first: the poll's index (in the
  // current run's polls) and how many of that poll's messages were for the partition. A batch
  // reports its partition's messages in the order they were polled.
  std::map<int, std::deque<std::pair<std::size_t, std::size_t>>> unreported;
  // first_batch: the last commit of the first poll's messages
  Clock::time_point first_batch, last_append;
  std::uint64_t appended = 0, appended_by_first_batch = 0;
  std::uint64_t processed = 0;      // results of any outcome (the second stage's rejections too)
  std::uint64_t batches = 0;        // ingest calls (one durable commit each)
  std::vector<double> batch_sizes;  // the throughput run's, in messages
};

// The kernel's Dirty and Writeback memory in kB (/proc/meminfo): what programs have written and
// the kernel not yet, and what it is writing out now. -1 when not readable.
std::pair<long, long> dirty_and_writeback_kb() {
  std::ifstream in("/proc/meminfo");
  std::string key, rest;
  long value = 0, dirty = -1, writeback = -1;
  while (in >> key >> value) {
    std::getline(in, rest);
    if (key == "Dirty:") dirty = value;
    if (key == "Writeback:") writeback = value;
  }
  return {dirty, writeback};
}

// The machine's steal and iowait ticks so far; -1 each when /proc/stat cannot be read.
std::pair<long, long> steal_and_iowait_ticks() {
  const auto t = machine_ticks();
  return t ? std::pair{t->steal, t->iowait} : std::pair{-1L, -1L};
}

// Samples dirty_and_writeback_kb() and steal_and_iowait_ticks() every 50 ms on its own thread
// while it lives.
class PageCacheSampler {
 public:
  explicit PageCacheSampler(Clock::time_point start) : start_(start), thread_([this] { loop(); }) {}
  ~PageCacheSampler() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  // The largest of each, and when (seconds after start) Writeback was largest; after stop().
  nlohmann::json result() const {
    return {{"dirty_max", dirty_max_},
            {"writeback_max", writeback_max_},
            {"writeback_max_at_s", writeback_max_at_s_}};
  }
  // Steal and iowait in milliseconds (all CPUs together) from the last sample at or before `from`
  // to the first at or after `to`: a window up to 50 ms wider on each side (after stop()).
  std::pair<double, double> steal_and_iowait_ms(Clock::time_point from,
                                                Clock::time_point to) const {
    if (ticks_.empty()) return {0, 0};
    auto first = ticks_.front(), last = ticks_.back();
    for (const auto& s : ticks_) {
      if (s.at <= from) first = s;
      if (s.at >= to) {
        last = s;
        break;
      }
    }
    const double ms_per_tick = 1e3 / static_cast<double>(sysconf(_SC_CLK_TCK));
    return {static_cast<double>(last.steal - first.steal) * ms_per_tick,
            static_cast<double>(last.iowait - first.iowait) * ms_per_tick};
  }

 private:
  void loop() {
    while (!stop_) {
      const auto [dirty, writeback] = dirty_and_writeback_kb();
      if (const auto [steal, iowait] = steal_and_iowait_ticks(); steal >= 0)
        ticks_.push_back(Ticks{Clock::now(), steal, iowait});
      dirty_max_ = std::max(dirty_max_, dirty);
      if (writeback > writeback_max_) {
        writeback_max_ = writeback;
        writeback_max_at_s_ = std::chrono::duration<double>(Clock::now() - start_).count();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  const Clock::time_point start_;
  std::atomic<bool> stop_{false};
  long dirty_max_ = -1, writeback_max_ = -1;
  double writeback_max_at_s_ = 0;
  struct Ticks {
    Clock::time_point at;
    long steal, iowait;
  };
  std::vector<Ticks> ticks_;  // written by the thread, read after stop()
  std::thread thread_;        // last: starts once the fields above are set
};

// Writes `mib` MiB of zeros to `path` and flushes them (fdatasync), then removes the file; the
// seconds after `start` at which it began and ended, or an error.
Result<std::pair<double, double>> disk_burst(const std::string& path, std::size_t mib,
                                             Clock::time_point start) {
  const double begun = std::chrono::duration<double>(Clock::now() - start).count();
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status(Reason::kStorageError, "cannot create " + path);
  const std::vector<char> block(1 << 20, 0);
  bool ok = true;
  for (std::size_t i = 0; i < mib && ok; ++i)
    ok = ::write(fd, block.data(), block.size()) == static_cast<ssize_t>(block.size());
  ok = ::fdatasync(fd) == 0 && ok;
  ::close(fd);
  ::unlink(path.c_str());
  if (!ok) return Status(Reason::kStorageError, "cannot write or flush " + path);
  return std::pair{begun, std::chrono::duration<double>(Clock::now() - start).count()};
}

}  // namespace

int main(int argc, char** argv) {
  std::string brokers = "127.0.0.1:19092", out = "bench-results/kafka.json";
  int records = 20000, partitions = 4, paced_count = 2000;
  std::size_t batch_signed = 0, burst_mib = 0;
  std::optional<std::size_t> batch_window;
  bool concurrent = false;
  std::size_t warm_heap_mib = 0, again_after_s = 0;
  std::uint64_t events = 0;
  int years = demo::Options{}.years;
  std::map<std::string, std::string> producer_set, node_set;
  int reference_seconds = 3;
  CLI::App app{
      "kafka_bench: ingest through a real Kafka broker, and produce -> proof latency "
      "(docs/PERFORMANCE.md)"};
  app.add_option("--brokers", brokers, "bootstrap servers")->capture_default_str();
  auto* rec = app.add_option("--records", records, "demo records (about 4.4 events each)")
                  ->capture_default_str()
                  ->check(CLI::Range(1L, 1L << 40));
  app.add_option("--events", events, "about this many events (instead of --records)")
      ->excludes(rec)
      ->check(CLI::Range(1L, 1L << 40));
  app.add_option("--years", years,
                 "years the data set spans (the same events spread over a longer history)")
      ->capture_default_str()
      ->check(CLI::Range(1, 200));
  app.add_option("--paced", paced_count, "events in the paced latency run (500/s)")
      ->capture_default_str()
      ->check(CLI::Range(10, 1000000));
  app.add_option("--partitions", partitions, "partitions of the bench topic")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  app.add_option("--batch-signed", batch_signed,
                 "sign in batches of up to N per issuer (0: one signature per event)")
      ->capture_default_str();
  app.add_option("--batch-window", batch_window,
                 "with --batch-signed: each issuer's batches formed within windows of W events "
                 "of the stream (default: N, as the suite's batch-signed scenarios; 0: the whole "
                 "stream, each issuer's events in full batches as `govcredit import` signs a "
                 "source's file)");
  app.add_option("--disk-burst", burst_mib,
                 "write and flush MIB of data beside the shards 1 s into the paced run "
                 "(another program's writes on the same disk; 0: none)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1 << 20));
  app.add_option("--warm-heap", warm_heap_mib,
                 "MiB of heap the node populates before it joins its group, as `govcredit node "
                 "--warm-heap` (0: none)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1 << 20));
  app.add_option("--again-after", again_after_s,
                 "after the latency run, leave the node idle SECONDS, then publish a second data "
                 "set of the same size (another seed) while it runs, and report that stage apart "
                 "(second_stage): what a node that kept running pays for the same work after a "
                 "pause (0: no second stage)")
      ->capture_default_str()
      ->check(CLI::Range(0, 3600));
  app.add_flag("--concurrent", concurrent,
               "publish while the node ingests (default: fill the topic, then drain it)");
  // name=value options collecting librdkafka properties (repeatable), parsed as `--kafka-set`.
  auto settings_option = [&app](const std::string& name, std::map<std::string, std::string>& into,
                                const std::string& help) {
    app.add_option_function<std::vector<std::string>>(
        name,
        [name, &into](const std::vector<std::string>& kv) {
          for (const auto& s : kv)
            if (Status added = add_kafka_setting(into, s); !added)
              throw CLI::ValidationError(name, added.message());
        },
        help);
  };
  settings_option("--producer-set", producer_set,
                  "name=value: a librdkafka property of the event producer only, not of the node "
                  "(repeatable), e.g. compression.type=none; as `govcredit import --kafka-set`, "
                  "the producer's fixed settings are refused");
  settings_option("--node-set", node_set,
                  "name=value: a librdkafka property of the ledger node's consumer only "
                  "(repeatable), e.g. queued.min.messages=100000; as `govcredit node "
                  "--kafka-set`, the node's fixed settings are refused when the node starts");
  bench::add_reference_option(app, reference_seconds);
  app.add_option("--out", out, "result JSON")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  const std::size_t window = batch_window.value_or(batch_signed);
  if (events) records = bench::records_for(events);
  const unsigned cores = std::thread::hardware_concurrency();
  auto reference = bench::VerifyReference::measure_before("kafka_bench", cores, batch_signed != 0,
                                                          reference_seconds);

  std::cerr << "kafka_bench: generating and signing events ...\n";
  demo::World w = demo::generate(demo::Options{.seed = 3, .records = records, .years = years});
  std::cerr << "  " << w.events.size() << " events\n";
  std::size_t signatures = w.events.size();
  if (batch_signed) {
    signatures = bench::resign_in_batches(w.events, batch_signed, window);
    std::cerr << "  re-signed in " << bench::batch_signing_text(batch_signed, window) << ": "
              << signatures << " distinct signatures, one per "
              << static_cast<double>(w.events.size()) / static_cast<double>(signatures)
              << " events\n";
  }

  // The second stage's data set: the same agencies and sources, other records. Its registry events
  // and some complaints' receipts repeat the first set's and are rejected (agency_exists,
  // receipt_exists and what follows from them: ~9% of it); the rest is accepted.
  demo::World w2;
  if (again_after_s) {
    w2 = demo::generate(demo::Options{.seed = 4, .records = records, .years = years});
    if (batch_signed) bench::resign_in_batches(w2.events, batch_signed, window);
    std::cerr << "  a second set of " << w2.events.size() << " events for the stage after "
              << again_after_s << " s idle\n";
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
  KafkaConfig producer_config = k;
  producer_config.extra = producer_set;
  k.extra = node_set;  // the node's (and its rejection notices' producer's)
  auto producer = EventProducer::create(producer_config);
  if (!producer) {
    std::cerr << producer.status().to_string() << "\n";
    return 1;
  }
  std::string dir = "/tmp/govcredit-kafka-bench-" + suffix;
  Timings t;
  NodeOptions o;
  o.data_dir = dir;
  o.group = "bench-" + suffix;
  o.on_batch = [&](Partition p, const std::vector<IngestResult>& rs) {
    auto now = Clock::now();
    std::lock_guard lock(t.mu);
    ++t.batches;
    std::vector<PollRecord>& polls = t.record_polls ? t.polls : t.throughput_polls;
    if (!t.record_polls) t.batch_sizes.push_back(static_cast<double>(rs.size()));
    auto& unreported = t.unreported[p.value];
    bool first_poll_done = false;
    t.processed += rs.size();
    for (const auto& r : rs) {
      // The poll that brought this message.
      PollRecord* poll = nullptr;
      if (!unreported.empty()) {
        poll = &polls[unreported.front().first];
        if (--unreported.front().second == 0) unreported.pop_front();
        if (--poll->unreported == 0) {
          poll->done = now;
          if (t.record_polls) poll->at_done = ThreadUsage::now(RUSAGE_SELF);
          // The commits of the first poll's messages end the node's start.
          first_poll_done = first_poll_done || (!t.record_polls && poll == &polls.front());
        }
      }
      if (r.outcome != IngestOutcome::kAccepted) continue;
      ++t.appended;
      t.last_append = now;
      if (r.event_id) {
        auto it = t.sent.find(to_hex(*r.event_id));
        if (it != t.sent.end()) {
          const Clock::time_point polled = poll ? poll->polled : now;
          t.latencies_ms.push_back(
              std::chrono::duration<double, std::milli>(now - it->second).count());
          t.latency_sent.push_back(it->second);
          t.before_poll_ms.push_back(
              std::chrono::duration<double, std::milli>(polled - it->second).count());
          t.in_node_ms.push_back(std::chrono::duration<double, std::milli>(now - polled).count());
          t.sent.erase(it);
        }
      }
    }
    if (first_poll_done) t.first_batch = now, t.appended_by_first_batch = t.appended;
  };
  o.on_poll = [&](const std::vector<std::pair<Partition, std::size_t>>& per_partition) {
    const auto now = Clock::now();
    std::lock_guard lock(t.mu);
    std::vector<PollRecord>& polls = t.record_polls ? t.polls : t.throughput_polls;
    std::size_t messages = 0;
    for (auto [p, n] : per_partition) {
      t.unreported[p.value].emplace_back(polls.size(), n);
      messages += n;
    }
    const ThreadUsage u = t.record_polls ? ThreadUsage::now(RUSAGE_SELF) : ThreadUsage{};
    polls.push_back(PollRecord{now, now, messages, messages, u, u});
  };
  o.on_consumer_error = [](Partition p, const Status& s) {
    std::cerr << "\nkafka_bench: partition " << p.value << ": " << s.to_string() << "\n";
  };
  o.warm_heap_bytes = warm_heap_mib << 20;
  // In a drain the node is created once the topic is filled, as a node started on a backlog is:
  // the heap it warms (--warm-heap) is then the node's, not the publishing's.
  std::unique_ptr<LedgerNode> node;
  auto create_node = [&] {
    auto n = LedgerNode::create(k, o);
    if (!n) {
      std::cerr << n.status().to_string() << "\n";
      return false;
    }
    node = std::move(*n);
    if (warm_heap_mib)
      std::cerr << "  the node populated " << (node->heap_warmed_bytes() >> 20)
                << " MiB of heap in " << node->heap_warm_seconds() << " s\n";
    return true;
  };
  if (concurrent && !create_node()) return 1;
  std::thread runner;
  auto start_node = [&] {
    runner = std::thread([&] {
      pthread_setname_np(pthread_self(), "ledger-node");
      if (Status s = node->run(); !s) std::cerr << "node: " << s.to_string() << "\n";
    });
  };
  if (concurrent) start_node();
  // A run in which the node stops ingesting measures nothing: say where each shard stands and
  // what the node is assigned, stop it, and fail.
  auto stalled = [&] {
    std::cerr << "  assigned partitions:";
    for (Partition p : node->assigned()) std::cerr << " " << p.value;
    std::cerr << "\n";
    for (Partition p : node->shards())
      std::cerr << "  shard " << p.value << ": next offset " << node->shard(p)->next_offset().value
                << "\n";
    node->stop();
    if (runner.joinable()) runner.join();
    return 1;
  };

  // Throughput: everything as fast as it goes (the registry first, so nothing is rejected).
  // Messages a data set makes (registry events go to every partition), and its publishing in
  // chunks of 5,000, each chunk's acknowledgements awaited.
  auto messages_of = [partitions](const std::vector<Event>& events) {
    std::uint64_t n = 0;
    for (const Event& e : events)
      n += Registry::is_registry_event(e) ? static_cast<std::uint64_t>(partitions) : 1;
    return n;
  };
  auto publish_in_chunks = [&producer](const std::vector<Event>& events) {
    const std::size_t chunk = 5000;
    for (std::size_t i = 0; i < events.size(); i += chunk) {
      std::vector<Event> part(
          events.begin() + static_cast<std::ptrdiff_t>(i),
          events.begin() + static_cast<std::ptrdiff_t>(std::min(events.size(), i + chunk)));
      for (auto& r : (*producer)->publish_all(part))
        if (!r) std::cerr << r.status().to_string() << "\n";
    }
  };
  const std::uint64_t messages = messages_of(w.events);
  auto t0 = Clock::now();
  ProcessUsage drain_from = ProcessUsage::now();  // concurrent: the publishing is in it
  std::cerr << "kafka_bench: throughput run ("
            << (concurrent ? "publishing while the node ingests" : "publishing, then ingesting")
            << ") ...\n";
  publish_in_chunks(w.events);
  auto produced = Clock::now();
  const double produce_s = std::chrono::duration<double>(produced - t0).count();
  if (!concurrent) {
    std::cerr << "  published " << messages << " messages in " << produce_s << " s\n";
    if (!create_node()) return 1;
    t0 = Clock::now();
    drain_from = ProcessUsage::now();
    start_node();
  }
  // Waits until the node's count (t.*counter) is `target`, showing its progress past `from`;
  // false, having said where it stopped, when nothing more arrived for 60 s.
  auto wait_for_node = [&t](std::uint64_t Timings::*counter, std::uint64_t from,
                            std::uint64_t target) {
    std::uint64_t seen = from;
    auto progressed = Clock::now(), shown = Clock::now();
    while (true) {
      std::uint64_t now;
      {
        std::lock_guard lock(t.mu);
        now = t.*counter;
      }
      if (now >= target) break;
      if (now != seen) seen = now, progressed = Clock::now();
      if (Clock::now() - progressed > std::chrono::seconds(60)) {
        std::cerr << "\nkafka_bench: the node stopped making progress at " << seen - from << " of "
                  << target - from << " messages\n";
        return false;
      }
      if (Clock::now() - shown > std::chrono::seconds(1)) {
        std::cerr << "\r  ingested " << now - from << " / " << target - from << std::flush;
        shown = Clock::now();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::cerr << "\r";
    return true;
  };
  if (!wait_for_node(&Timings::appended, 0, messages)) return stalled();
  const ProcessUsage drain_to = ProcessUsage::now();
  double secs, eps, join_s = 0;
  bool timed_from_start = false;
  {
    std::lock_guard lock(t.mu);
    if (concurrent) {
      secs = std::chrono::duration<double>(t.last_append - t0).count();
      eps = static_cast<double>(t.appended) / secs;
    } else {
      join_s = std::chrono::duration<double>(t.first_batch - t0).count();
      // From the first commit on, so that the consumer group's join (0.3-3 s) is not counted;
      // unless that commit held most of the events (a small run), which leaves too few to time.
      timed_from_start = 2 * (t.appended - t.appended_by_first_batch) < t.appended;
      secs = std::chrono::duration<double>(t.last_append - (timed_from_start ? t0 : t.first_batch))
                 .count();
      eps = secs > 0 ? static_cast<double>(t.appended -
                                           (timed_from_start ? 0 : t.appended_by_first_batch)) /
                           secs
                     : 0.0;
    }
  }
  const std::uint64_t throughput_batches = t.batches;
  std::vector<PollRecord> throughput_polls;
  std::vector<double> batch_sizes;
  {
    std::lock_guard lock(t.mu);
    throughput_polls = t.throughput_polls;
    batch_sizes = t.batch_sizes;
  }
  std::cerr << "  " << t.appended << " appended, " << eps << " events/s ("
            << (concurrent         ? "from the first publish to the last append: "
                : timed_from_start ? "from the node's start to its last durable commit: "
                                   : "from the first durable commit to the last: ")
            << secs << " s; publishing took " << produce_s << " s";
  if (!concurrent) std::cerr << "; the node's start to its first commit " << join_s << " s";
  std::cerr << "; " << throughput_batches << " ingest batches)\n";
  reference.measure_after("kafka_bench", eps, cores);  // the node caught up and idle

  // Latency: paced, with a fresh set of events (new ids) for the same subjects. First the page
  // cache's unwritten data goes to the disk, so that its writeback does not land in this run.
  const auto sync0 = Clock::now();
  ::sync();
  const double sync_s = std::chrono::duration<double>(Clock::now() - sync0).count();
  std::cerr << "kafka_bench: latency run (" << paced_count << " events at 500/s"
            << (burst_mib ? ", a burst of " + std::to_string(burst_mib) + " MiB 1 s in"
                          : std::string())
            << "; unwritten data synced first in " << sync_s << " s) ...\n";
  std::vector<Event> paced;
  for (const Event& e : w.events) {
    if (!e.as<RecordSubmitted>()) continue;
    Event c = e;
    c.id.bytes[15] ^= 0x5a;
    sign_event(c, bench::signing_key(c));
    paced.push_back(c);
    if (paced.size() == static_cast<std::size_t>(paced_count)) break;
  }
  {
    std::lock_guard lock(t.mu);
    t.latencies_ms.clear();
    t.latency_sent.clear();
    t.before_poll_ms.clear();
    t.in_node_ms.clear();
    t.polls.clear();
    t.unreported.clear();  // all reported: the node caught up
    t.record_polls = true;
  }
  std::uint64_t before = t.appended;
  // How long each publish waited for the broker's acknowledgement: a latency sample far above
  // the rest with an acknowledgement as long says the wait was on the publishing side.
  std::vector<double> ack_ms;
  auto start = Clock::now();
  PageCacheSampler page_cache(start);
  std::optional<Result<std::pair<double, double>>> burst;
  std::thread burst_thread;
  if (burst_mib)
    burst_thread = std::thread([&] {
      std::this_thread::sleep_until(start + std::chrono::seconds(1));
      burst = disk_burst(dir + "-burst", burst_mib, start);
    });
  for (std::size_t i = 0; i < paced.size(); ++i) {
    std::this_thread::sleep_until(start + std::chrono::microseconds(2000 * i));
    auto sent = Clock::now();
    {
      std::lock_guard lock(t.mu);
      t.sent[to_hex(paced[i].id)] = sent;
    }
    if (auto r = (*producer)->publish_all({paced[i]}, 30000); !r[0])
      std::cerr << r[0].status().to_string() << "\n";
    ack_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - sent).count());
  }
  auto pending = [&] {
    std::lock_guard lock(t.mu);
    return t.appended < before + paced.size();
  };
  while (pending() && Clock::now() - start < std::chrono::minutes(2))
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  page_cache.stop();
  if (burst_thread.joinable()) burst_thread.join();
  if (pending()) {
    std::cerr << "kafka_bench: the paced events were not all ingested within 2 minutes\n";
    return stalled();
  }
  // The second stage: the node idle for a while (its allocator returns what it freed, and this
  // VM's guest hands free memory back to its host, PERFORMANCE.md §4), then a second data set
  // published while it runs; timed from the first publish to the last result.
  nlohmann::json second_stage;
  if (again_after_s) {
    std::cerr << "kafka_bench: the node idle for " << again_after_s << " s ...\n";
    std::this_thread::sleep_for(std::chrono::seconds(again_after_s));
    const std::uint64_t messages2 = messages_of(w2.events);
    std::uint64_t processed_before, appended_before;
    {
      // The paced run's polls stay as they are (its slowest are reported): this stage's go with
      // the throughput run's, whose copy was taken.
      std::lock_guard lock(t.mu);
      processed_before = t.processed;
      appended_before = t.appended;
      t.unreported.clear();  // all reported: the paced run was ingested
      t.record_polls = false;
    }
    std::cerr << "kafka_bench: second stage (" << messages2
              << " messages published while the node ingests) ...\n";
    const auto from = ProcessUsage::now();
    const auto s0 = Clock::now();
    publish_in_chunks(w2.events);
    const double publish2_s = std::chrono::duration<double>(Clock::now() - s0).count();
    if (!wait_for_node(&Timings::processed, processed_before, processed_before + messages2))
      return stalled();
    const auto to = ProcessUsage::now();
    const double secs2 = std::chrono::duration<double>(Clock::now() - s0).count();
    std::uint64_t accepted2;
    {
      std::lock_guard lock(t.mu);
      accepted2 = t.appended - appended_before;
    }
    second_stage = usage_between(from, to, messages2, "message");
    second_stage.update({{"idle_seconds_before", again_after_s},
                         {"messages", messages2},
                         {"accepted", accepted2},
                         {"rejected", messages2 - accepted2},
                         {"publish_seconds", publish2_s},
                         {"seconds", secs2},
                         {"messages_per_s", static_cast<double>(messages2) / secs2},
                         {"note",
                          "published while the node ingests: the time and the CPU (this "
                          "process's) include the publishing; compare second stages with each "
                          "other, not with the drain"}});
    std::cerr << "  " << messages2 << " messages (" << accepted2 << " accepted) in " << secs2
              << " s from the first publish, publishing " << publish2_s << " s; "
              << second_stage["cpu_us_per_message"].get<double>() << " us of CPU a message, "
              << second_stage["sys_s"].get<double>() << " s in the kernel, "
              << second_stage["minor_faults"].get<long>() << " minor faults\n";
  }
  node->stop();
  runner.join();
  std::vector<double> lat, in_node;
  std::vector<PollRecord> polls;
  // When, in seconds into the paced run, the first and the last sample over 100 ms were sent:
  // one stall or many; and the longest of their waits for the node's poll and in the node.
  std::optional<std::pair<double, double>> slow_sent_s;
  double slow_before_poll_ms = 0, slow_in_node_ms = 0;
  {
    std::lock_guard lock(t.mu);
    lat = t.latencies_ms;
    in_node = t.in_node_ms;
    polls = t.polls;
    for (std::size_t i = 0; i < lat.size(); ++i) {
      if (lat[i] <= 100) continue;
      slow_before_poll_ms = std::max(slow_before_poll_ms, t.before_poll_ms[i]);
      slow_in_node_ms = std::max(slow_in_node_ms, t.in_node_ms[i]);
      const double at = std::chrono::duration<double>(t.latency_sent[i] - start).count();
      slow_sent_s = slow_sent_s ? std::pair{std::min(slow_sent_s->first, at),
                                            std::max(slow_sent_s->second, at)}
                                : std::pair{at, at};
    }
  }
  nlohmann::json j = bench::ingest_result(w.events.size(), messages, partitions, cores,
                                          batch_signed, window, signatures, reference, eps);
  j["ingest_events_per_s"] = eps;
  j["years"] = years;
  j["mode"] = concurrent ? "concurrent: published while the node ingests, timed from the first "
                           "publish to the last append"
              : timed_from_start
                  ? "drain: published first, then ingested; timed from the node's start to its "
                    "last durable commit (its first commit held most of the events)"
                  : "drain: published first, then ingested; timed from the node's first "
                    "durable commit to its last";
  if (!producer_set.empty()) j["producer_set"] = producer_set;
  if (!node_set.empty()) j["node_set"] = node_set;
  j["ingest_seconds"] = secs;
  j["publish_seconds"] = produce_s;
  if (!concurrent) j["node_start_to_first_commit_seconds"] = join_s;
  if (warm_heap_mib) {
    j["node_warm_heap_mib"] = warm_heap_mib;
    j["node_heap_warmed_mib"] = node->heap_warmed_bytes() >> 20;
    j["node_heap_warm_seconds"] = node->heap_warm_seconds();
  }
  j["ingest_batches"] = throughput_batches;
  if (!second_stage.is_null()) j["second_stage"] = second_stage;
  {
    // Where the throughput run's time went, a figure steadier than events/s on a VM whose speed
    // moves with its host: this process's CPU per event (the broker's is not in it) and how much
    // of the machine stayed idle, from the node's start (or the first publish) to the last append.
    j["throughput_run_usage"] = usage_between(drain_from, drain_to, messages, "event");
    // The node's polls and batches: how many messages a poll handed to the workers, how many a
    // batch (one transaction) took, and how long a poll's messages took from the poll to the
    // last one's commit (the workers ingest a partition's batches one after another, so a
    // poll's messages may wait behind an earlier poll's).
    std::vector<double> sizes, spans_ms;
    for (const PollRecord& p : throughput_polls) {
      sizes.push_back(static_cast<double>(p.messages));
      if (p.unreported == 0)
        spans_ms.push_back(std::chrono::duration<double, std::milli>(p.done - p.polled).count());
    }
    j["throughput_run_polls"] = {{"polls", throughput_polls.size()},
                                 {"messages_p50", bench::percentile(sizes, 0.5)},
                                 {"batches", batch_sizes.size()},
                                 {"batch_messages_p50", bench::percentile(batch_sizes, 0.5)},
                                 {"poll_to_last_commit_ms_p50", bench::percentile(spans_ms, 0.5)},
                                 {"poll_to_last_commit_ms_max", bench::percentile(spans_ms, 1.0)}};
  }
  // p50, p99, p99.9, the maximum and how many took over 100 ms, of milliseconds.
  auto spread = [](const std::vector<double>& ms) {
    return nlohmann::json{
        {"p50", bench::percentile(ms, 0.5)},
        {"p99", bench::percentile(ms, 0.99)},
        {"p999", bench::percentile(ms, 0.999)},
        {"max", bench::percentile(ms, 1.0)},
        {"over_100ms", std::count_if(ms.begin(), ms.end(), [](double x) { return x > 100; })}};
  };
  j["paced_latency_ms"] = spread(lat);
  j["paced_latency_ms"]["rate_per_s"] = 500;
  j["paced_latency_ms"]["samples"] = lat.size();
  if (slow_sent_s) {
    j["paced_latency_ms"]["over_100ms_sent_at_s"] = {slow_sent_s->first, slow_sent_s->second};
    j["paced_latency_ms"]["over_100ms_before_poll_ms_max"] = slow_before_poll_ms;
    j["paced_latency_ms"]["over_100ms_in_node_ms_max"] = slow_in_node_ms;
  }
  // The node's part of every sample: from the poll that returned the event to its commit.
  j["paced_in_node_ms"] = spread(in_node);
  j["paced_publish_ack_ms"] = spread(ack_ms);
  j["sync_before_latency_seconds"] = sync_s;
  j["paced_page_cache_kB"] = page_cache.result();
  // The node's five slowest polls of the paced run, from the poll to its last message's commit,
  // with what this process did meanwhile (the node's workers and polling thread, librdkafka's
  // threads, the paced publishing): CPU in user space and in the kernel, page faults, waits
  // (voluntary context switches: a flush, a lock, a worker waiting for work) and preemptions
  // (involuntary ones), and the machine's steal and iowait around it. A slow poll with little
  // CPU waited on the disk or another thread; one with its time in user space was the node's
  // own work; one with preemptions and steal was the host's. (Until 2026-12-04 these were the
  // node's thread's, which ingested itself then.)
  std::sort(polls.begin(), polls.end(), [](const PollRecord& a, const PollRecord& b) {
    return a.done - a.polled > b.done - b.polled;
  });
  j["paced_slowest_polls"] = nlohmann::json::array();
  for (std::size_t i = 0; i < std::min<std::size_t>(5, polls.size()); ++i) {
    const PollRecord& p = polls[i];
    const auto [steal_ms, iowait_ms] = page_cache.steal_and_iowait_ms(p.polled, p.done);
    j["paced_slowest_polls"].push_back(
        {{"at_s", std::chrono::duration<double>(p.polled - start).count()},
         {"in_node_ms", std::chrono::duration<double, std::milli>(p.done - p.polled).count()},
         {"messages", p.messages},
         {"user_ms", p.at_done.user_ms - p.at_poll.user_ms},
         {"kernel_ms", p.at_done.sys_ms - p.at_poll.sys_ms},
         {"minor_faults", p.at_done.minor_faults - p.at_poll.minor_faults},
         {"major_faults", p.at_done.major_faults - p.at_poll.major_faults},
         {"waits", p.at_done.waits - p.at_poll.waits},
         {"preemptions", p.at_done.preemptions - p.at_poll.preemptions},
         {"machine_steal_ms", steal_ms},
         {"machine_iowait_ms", iowait_ms}});
  }
  j["paced_machine_steal_ms"] = page_cache.steal_and_iowait_ms(start, Clock::now()).first;
  if (burst) {
    j["disk_burst"] = {{"mib", burst_mib}};
    if (*burst)
      j["disk_burst"]["seconds_into_paced_run"] = {(*burst)->first, (*burst)->second};
    else
      j["disk_burst"]["error"] = burst->status().to_string();
  }
  j["note"] =
      "publish_all waits for each acknowledgement (synchronous per event) in the latency run; "
      "one ledger node, durable LMDB commits, every signature verified";
  bench::write_result(out, j);
  node.reset();
  std::filesystem::remove_all(dir);
  return 0;
}
