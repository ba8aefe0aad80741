// ledger_bench: the ledger's hot paths on generated data, results as JSON.
//
//   ledger_bench [--entries N] [--batch B] [--dir D] [--out FILE] [--no-sync] [--keep]
//                [--sequential-ids] [--no-expect]
//
// Scenarios: append of pre-signed events in batches (signature checks excluded: this is the
// storage path alone), verify without signatures (chain + Merkle + index recomputed), inclusion
// and consistency proof latency at N entries, disk bytes per event.
//
// The events are the demo data set's signed events, repeated with the 16-byte id patched to be
// unique (the append path does not check signatures, so their realistic size and shape is what
// matters). The store is durable (fsync per batch) unless --no-sync. --sequential-ids numbers
// the ids in increasing order instead (real ids are random): an experiment that shows what the
// event index's random inserts cost (docs/PERFORMANCE.md). Each batch hands the shard its ids a
// stretch ahead of their appends, as the ingest does (Ledger::Batch::expect); --no-expect does not.
#include <sys/resource.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "govcredit/codec.h"
#include "govcredit/demo.h"
#include "govcredit/ledger.h"

#include "bench_util.h"

using namespace govcredit;
using bench::Clock;
using bench::percentile;
using bench::secs;

namespace {

// Where the time goes as the shard grows: each tenth of the batches' mean, so that a cost growing
// with the shard shows apart from a few slow batches (PERFORMANCE.md §4).
std::vector<double> by_tenth(const std::vector<double>& per_batch) {
  std::vector<double> means;
  const std::size_t n = per_batch.size();
  for (std::size_t t = 0; t < 10 && n >= 10; ++t) {
    double sum = 0;
    for (std::size_t k = t * n / 10; k < (t + 1) * n / 10; ++k) sum += per_batch[k];
    means.push_back(sum / static_cast<double>((t + 1) * n / 10 - t * n / 10));
  }
  return means;
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t entries = 1000000, batch = 1000;
  std::string dir = "/tmp/govcredit-ledger-bench", out = "bench-results/ledger.json";
  bool no_sync = false, keep = false, sequential = false, no_expect = false;
  std::string durability = "on-return";
  CLI::App app{
      "ledger_bench: append, verify and proof latency of one LMDB shard (docs/PERFORMANCE.md)"};
  app.add_option("--entries", entries, "entries to append")
      ->capture_default_str()
      ->check(CLI::Range(1L, 1L << 40));
  app.add_option("--batch", batch, "entries per write transaction")
      ->capture_default_str()
      ->check(CLI::Range(1L, 1L << 40));
  app.add_option("--dir", dir, "shard directory (emptied first)")->capture_default_str();
  app.add_option("--out", out, "result JSON")->capture_default_str();
  app.add_option("--durability", durability,
                 "on-return: each commit on disk when its write returns (two flushes); "
                 "by-next-commit: its meta page on disk with the next commit's flush (one "
                 "flush a commit; the run ends with a sync, timed)")
      ->check(CLI::IsMember({"on-return", "by-next-commit"}))
      ->capture_default_str();
  app.add_flag("--no-sync", no_sync, "no fsync per commit");
  app.add_flag("--keep", keep, "keep the shard afterwards");
  app.add_flag("--sequential-ids", sequential, "ids in increasing order (an experiment)");
  app.add_flag("--no-expect", no_expect,
               "append without handing the ids to the shard ahead (Ledger::Batch::expect; "
               "docs/PERFORMANCE.md §5.44)");
  CLI11_PARSE(app, argc, argv);
  std::filesystem::remove_all(dir);
  std::vector<Bytes> base;
  for (const auto& e : demo::generate(demo::Options{.seed = 1, .records = 2000}).events)
    base.push_back(encode_wire(e));
  std::uint64_t wire_bytes = 0;
  std::cerr << "ledger_bench: " << entries << " entries, batches of " << batch << ", "
            << base.size() << " distinct events\n";

  auto opened = Ledger::open(
      dir, Partition{0},
      LedgerOptions{.durability = durability == "by-next-commit" ? Durability::kByNextCommit
                                                                 : Durability::kOnReturn,
                    .no_sync = no_sync});
  if (!opened) {
    std::cerr << opened.status().to_string() << "\n";
    return 1;
  }
  auto ledger = std::move(opened).value();
  auto t0 = Clock::now();
  std::vector<double> commit_ms;  // each batch's write, commit included (merges show up here)
  // The writing thread's CPU time in each batch, in user space and in the kernel (the copy of the
  // pages into the page cache, the file's blocks): a tenth that is slow in the kernel alone is the
  // machine's (PERFORMANCE.md §4), one slow in user space is the ledger's.
  std::vector<double> user_ms, kernel_ms;
  auto thread_cpu_ms = [] {
    rusage r{};
    getrusage(RUSAGE_THREAD, &r);
    auto ms = [](const timeval& t) {
      return static_cast<double>(t.tv_sec) * 1e3 + t.tv_usec / 1e3;
    };
    return std::pair{ms(r.ru_utime), ms(r.ru_stime)};
  };
  std::vector<EventId> ids;
  // As the ingest hands its look-ups to the shard ahead (Ledger::Batch::expect): the next
  // kExpectAhead ids, a stretch ahead of the appends.
  constexpr std::size_t kAhead = Ledger::Batch::kExpectAhead;
  auto expect = [&](Ledger::Batch& b, std::size_t from) {
    if (no_expect || from >= ids.size()) return;
    b.expect(std::span<const EventId>(ids).subspan(from, std::min(kAhead, ids.size() - from)));
  };
  for (std::uint64_t i = 0; i < entries; i += batch) {
    const auto [user0, kernel0] = thread_cpu_ms();
    const auto c0 = Clock::now();
    Status s = ledger->write([&](Ledger::Batch& b) {
      const std::uint64_t end = std::min(entries, i + batch);
      ids.clear();
      for (std::uint64_t j = i; j < end; ++j) {
        EventId& id = ids.emplace_back();
        const std::uint64_t n = sequential ? __builtin_bswap64(j) : j;  // big endian sorts by j
        std::memcpy(id.bytes.data(), &n, 8);
        std::memcpy(id.bytes.data() + 8, "benchid!", 8);
      }
      expect(b, 0);
      for (std::uint64_t j = i; j < end; ++j) {
        if ((j - i) % kAhead == 0) expect(b, j - i + kAhead);
        // The id is written into the base event in place: append() copies the event, so a later
        // use may write another id into it.
        Bytes& wire = base[j % base.size()];
        const EventId& id = ids[j - i];
        std::memcpy(wire.data() + kWireIdOffset, id.bytes.data(), 16);
        b.append(
            AppendItem{wire, id, false, Partition{0}, KafkaOffset{static_cast<std::int64_t>(j)}});
        wire_bytes += wire.size();
      }
      b.set_next_offset(KafkaOffset{static_cast<std::int64_t>(std::min(entries, i + batch))});
      return Status::ok();
    });
    commit_ms.push_back(secs(c0, Clock::now()) * 1e3);
    const auto [user1, kernel1] = thread_cpu_ms();
    user_ms.push_back(user1 - user0);
    kernel_ms.push_back(kernel1 - kernel0);
    if (!s) {
      std::cerr << s.to_string() << "\n";
      return 1;
    }
    // About a hundred progress updates, whatever the batch size.
    const std::uint64_t done = std::min(entries, i + batch);
    if (done * 100 / entries != i * 100 / entries)
      std::cerr << "\rappend " << done << " / " << entries << std::flush;
  }
  if (!no_sync) {  // the last commit on disk too (a no-op when each commit was)
    if (Status s = ledger->sync(); !s) {
      std::cerr << s.to_string() << "\n";
      return 1;
    }
    if (ledger->durable_size() != entries) {
      std::cerr << "after sync the durable size is " << ledger->durable_size() << ", not "
                << entries << "\n";
      return 1;
    }
  }
  auto t1 = Clock::now();
  double append_s = secs(t0, t1);
  std::cerr << "\rappend: " << entries / append_s << " entries/s; a batch's write p50 "
            << percentile(commit_ms, 0.5) << " / p99 " << percentile(commit_ms, 0.99) << " / max "
            << *std::max_element(commit_ms.begin(), commit_ms.end()) << " ms\n";

  auto t2 = Clock::now();
  VerifyReport r = ledger->verify();
  auto t3 = Clock::now();
  if (!r.ok) {
    std::cerr << "verify failed: " << r.problem.to_string() << "\n";
    return 1;
  }
  double verify_s = secs(t2, t3);
  std::cerr << "verify: " << entries / verify_s << " entries/s\n";

  std::vector<double> inc_us, con_us;
  std::uint64_t rng = 99, max_inc_len = 0;
  for (int k = 0; k < 20000; ++k) {
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    std::uint64_t seq = (rng >> 11) % entries;
    auto a = Clock::now();
    auto p = ledger->inclusion_proof(Seq{seq}, entries);
    auto b = Clock::now();
    if (!p) return 1;
    max_inc_len = std::max<std::uint64_t>(max_inc_len, p->path.size());
    inc_us.push_back(secs(a, b) * 1e6);
    std::uint64_t m = 1 + (rng >> 17) % (entries - 1);
    a = Clock::now();
    auto c = ledger->consistency_proof(m, entries);
    b = Clock::now();
    if (!c) return 1;
    con_us.push_back(secs(a, b) * 1e6);
  }
  std::uint64_t disk = ledger->store_bytes();

  nlohmann::json j = {
      {"entries", entries},
      {"batch", batch},
      {"durable", !no_sync},
      {"expect_ahead", !no_expect},
      {"durability", no_sync ? "none" : durability},
      {"ids", sequential ? "sequential (experiment)" : "random-looking"},
      {"append_entries_per_s", entries / append_s},
      {"batch_write_ms",
       {{"p50", percentile(commit_ms, 0.5)},
        {"p99", percentile(commit_ms, 0.99)},
        {"max", *std::max_element(commit_ms.begin(), commit_ms.end())}}},
      {"batch_write_ms_mean_by_tenth", by_tenth(commit_ms)},
      {"batch_cpu_ms_mean_by_tenth",
       {{"user", by_tenth(user_ms)}, {"kernel", by_tenth(kernel_ms)}}},
      // The five slowest batches and the entry each started at: where the stalls are (an index
      // merge, the writer's filter built again; PERFORMANCE.md §4).
      {"slowest_batches",
       [&] {
         std::vector<std::size_t> order(commit_ms.size());
         for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
         const std::size_t top = std::min<std::size_t>(5, order.size());
         std::partial_sort(
             order.begin(), order.begin() + static_cast<std::ptrdiff_t>(top), order.end(),
             [&](std::size_t a, std::size_t b) { return commit_ms[a] > commit_ms[b]; });
         nlohmann::json out = nlohmann::json::array();
         for (std::size_t k = 0; k < top; ++k)
           out.push_back({{"first_entry", order[k] * batch}, {"ms", commit_ms[order[k]]}});
         return out;
       }()},
      {"verify_entries_per_s", entries / verify_s},
      {"inclusion_proof_us",
       {{"mean",
         [&] {
           double s = 0;
           for (double x : inc_us) s += x;
           return s / static_cast<double>(inc_us.size());
         }()},
        {"p50", percentile(inc_us, 0.5)},
        {"p99", percentile(inc_us, 0.99)},
        {"max_path", max_inc_len}}},
      {"consistency_proof_us",
       {{"p50", percentile(con_us, 0.5)}, {"p99", percentile(con_us, 0.99)}}},
      {"wire_bytes_per_event", static_cast<double>(wire_bytes) / static_cast<double>(entries)},
      {"disk_bytes_per_event", static_cast<double>(disk) / static_cast<double>(entries)},
      {"disk_to_wire_ratio", static_cast<double>(disk) / static_cast<double>(wire_bytes)},
      {"peak_rss_mib", bench::peak_rss_mib()},
  };
  bench::write_result(out, j);
  ledger.reset();
  if (!keep) std::filesystem::remove_all(dir);
  return 0;
}
