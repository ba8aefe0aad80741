// projection_bench: projection rebuild rate and agency status look-up latency, results as JSON.
//
//   projection_bench [--entries N] [--agencies A] [--rounds R] [--dir D] [--out FILE] [--keep]
//
// The log holds N generated lifecycle events over A agencies (default 40) (records submitted and
// verified, recommendations issued, rectified and closed, complaints filed, triaged and closed),
// appended straight to the ledger: rebuilding projections never checks signatures, so the events
// are not signed (their 64 signature bytes are zero) — their shape and size are what matter.
//
// Scenarios: rebuild_projections (from the LMDB log into the LMDB side tables, durable commit),
// rebuild in memory (no side-table writes), agency_state look-up (one read transaction + decode)
// and look-up + score, agency_state_as_of for one agency at the middle of the history.
//
// The rebuild into LMDB runs R times (default 3) on the same log, each replacing the projections
// of the one before, as `govcredit rebuild` does on a shard that has them; rebuild_events_per_s
// is the median (of an even R, the lower middle one), every round's rate is in
// rebuild_rounds_events_per_s. One round at 100k events is ~0.1 s, most of it the durable commit,
// whose time on this disk varies two-fold from one run to the next (docs/PERFORMANCE.md §3.3).
//
// Each round runs in a process of its own (this program started again with --rebuild-round), as
// `govcredit rebuild` and a node rebuilding at start do: every page of the rebuild's memory
// (~0.35 KB per event at 10M entries) is then new to the process, and on the benchmark machine, a
// virtual one, the first touch of a page costs ~1.5-2.6 s per GiB (0.5-0.7 s when the host still
// backs pages another process just freed; docs/PERFORMANCE.md §5.19). A rebuild in this process,
// after the generator has freed gigabytes the allocator reuses, does not pay that: it is reported
// beside, as rebuild_warm_heap_events_per_s (the only figure before 2026-12-03). Each round's page
// faults and system time are in rebuild_rounds, with process_seconds, the round's process from
// its start to its exit (since 2026-12-05).
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <nlohmann/json.hpp>

#include "govcredit/codec.h"
#include "govcredit/projections.h"
#include "govcredit/scoring.h"
#include "govcredit/status_cache.h"

#include "bench_util.h"

#ifdef GOVCREDIT_MIMALLOC
#include <mimalloc.h>
#endif

using namespace govcredit;
using bench::Clock;
using bench::percentile;
using bench::secs;

namespace {

struct Gen {
  std::uint64_t counter = 0;
  std::int64_t t = 1293840000000;  // 2011-01-01
  std::vector<Bytes> out;

  EventId id() {
    EventId e;
    std::uint64_t c = ++counter * 0x9e3779b97f4a7c15ULL;
    std::memcpy(e.bytes.data(), &c, 8);
    std::memcpy(e.bytes.data() + 8, &counter, 8);
    return e;
  }
  EventId emit(const std::string& agency, const char* issuer, Payload p) {
    Event e;
    e.id = id();
    e.subject = AgencyId(agency);
    e.issuer = PrincipalId(issuer);
    e.key_id = KeyId(std::string(32, 'a'));
    t += 60000;
    e.issued_at = Timestamp{t};
    e.payload = std::move(p);
    out.push_back(encode_wire(e));
    return e.id;
  }
};

// Appends the generated events to the log in batches of 10,000.
Status write_log(Ledger& ledger, const std::vector<Bytes>& events) {
  const std::size_t kBatch = 10000;
  for (std::size_t i = 0; i < events.size(); i += kBatch) {
    Status s = ledger.write([&](Ledger::Batch& b) {
      for (std::size_t j = i; j < std::min(events.size(), i + kBatch); ++j) {
        EventId id;
        std::memcpy(id.bytes.data(), events[j].data() + kWireIdOffset, 16);
        b.append(AppendItem{events[j], id, false, Partition{0},
                            KafkaOffset{static_cast<std::int64_t>(j)}});
      }
      b.set_next_offset(
          KafkaOffset{static_cast<std::int64_t>(std::min(events.size(), i + kBatch))});
      return Status::ok();
    });
    if (!s) return s;
  }
  return Status::ok();
}

// The rebuild's options: the page-cache fill (§5.43) off when asked.
RebuildOptions rebuild_options(bool fill_page_cache, bool warm_heap) {
  RebuildOptions options{.warm_heap = warm_heap};
  if (!fill_page_cache)
    options.page_cache_fill_at_least = std::numeric_limits<std::uint64_t>::max();
  return options;
}

// One round: opens the shard as `govcredit rebuild` does and rebuilds its projections; prints
// one JSON line (rate, seconds, this process's page faults, CPU times, peak resident memory and,
// under mimalloc, peak heap).
int rebuild_round(const std::string& dir, bool fill_page_cache) {
  auto l = Ledger::open(dir, Partition{0});
  if (!l) {
    std::cerr << l.status().to_string() << "\n";
    return 1;
  }
  const auto r0 = Clock::now();
  // As `govcredit rebuild` of a shard: the process ends with the rebuild, so the state is left
  // to its exit (RebuildOptions::free_state).
  RebuildOptions options = rebuild_options(fill_page_cache, /*warm_heap=*/true);
  options.free_state = false;
  auto r = rebuild_projections(**l, {}, options);
  const auto r1 = Clock::now();
  if (!r) {
    std::cerr << r.status().to_string() << "\n";
    return 1;
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  auto tv = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  nlohmann::json j{
      {"events_per_s", static_cast<double>(r->entries) / secs(r0, r1)},
      {"seconds", secs(r0, r1)},
      {"minor_faults", ru.ru_minflt},
      {"heap_warm_region_mib", static_cast<double>(r->heap_warm_region_bytes) / (1 << 20)},
      {"heap_warmed_mib", static_cast<double>(r->heap_warmed_bytes) / (1 << 20)},
      {"heap_small_pages_mib", static_cast<double>(r->heap_small_pages_bytes) / (1 << 20)},
      {"page_cache_planned_mib", static_cast<double>(r->page_cache_planned_bytes) / (1 << 20)},
      {"page_cache_filled_mib", static_cast<double>(r->page_cache_filled_bytes) / (1 << 20)},
      {"user_s", tv(ru.ru_utime)},
      {"sys_s", tv(ru.ru_stime)}};
  // This process's peak resident memory, the log's mapped pages included: VmHWM, not
  // getrusage's ru_maxrss, which a process started by posix_spawn inherits from its parent's
  // memory (the generator's gigabytes).
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmHWM:", 0) == 0) j["peak_rss_mib"] = std::stod(line.substr(6)) / 1024.0;
#ifdef GOVCREDIT_MIMALLOC
  // The most heap memory committed at once, plus the region of the rebuild's heap warm-up
  // (memory given to mimalloc, mi_manage_os_memory, is not in its figures): about what the
  // rebuild itself touched.
  std::size_t elapsed, user, sys, rss, peak_rss, commit, peak_commit, faults;
  mi_process_info(&elapsed, &user, &sys, &rss, &peak_rss, &commit, &peak_commit, &faults);
  j["heap_peak_mib"] = static_cast<double>(peak_commit + r->heap_warm_region_bytes) / (1 << 20);
#endif
  std::cout << j.dump() << std::endl;
  return 0;
}

// Runs rebuild_round in a new process of this program; its JSON line, or nullopt (said on
// stderr) when it failed.
std::optional<nlohmann::json> rebuild_in_new_process(const std::string& dir, bool fill_page_cache) {
  const std::string self = std::filesystem::read_symlink("/proc/self/exe");
  int fds[2];
  if (::pipe(fds) != 0) return std::nullopt;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  std::vector<std::string> args{self, "--rebuild-round", "--dir", dir};
  if (!fill_page_cache) args.push_back("--no-page-cache-fill");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  const auto spawned = Clock::now();
  const int rc = posix_spawn(&pid, self.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(fds[1]);
  std::string out;
  char buf[4096];
  for (ssize_t n; rc == 0 && (n = ::read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, n);
  ::close(fds[0]);
  int status = 0;
  if (rc != 0 || ::waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    std::cerr << "the rebuild round in a new process failed\n";
    return std::nullopt;
  }
  const auto ended = Clock::now();
  auto j = nlohmann::json::parse(out, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.contains("events_per_s")) {
    std::cerr << "the rebuild round in a new process printed no result: " << out << "\n";
    return std::nullopt;
  }
  // The process from its start to its exit: the rebuild's own time ("seconds") plus opening the
  // shard and whatever the process still does after the rebuild returns — work the rebuild may
  // leave behind (PERFORMANCE.md §5.37) shows here.
  j["process_seconds"] = secs(spawned, ended);
  return j;
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t entries = 1000000, agency_count = 40;
  std::string dir = "/tmp/govcredit-projection-bench", out = "bench-results/projections.json";
  bool keep = false;
  int rounds = 3;
  CLI::App app{
      "projection_bench: generates a log, then rebuilds its projections (docs/PERFORMANCE.md)"};
  app.add_option("--entries", entries, "log entries")
      ->capture_default_str()
      ->check(CLI::Range(1L, 1L << 40));
  app.add_option("--agencies", agency_count, "agencies the records are about")
      ->capture_default_str()
      ->check(CLI::Range(1L, 1L << 40));
  app.add_option("--rounds", rounds,
                 "rebuilds into LMDB, each replacing the last one's projections (the median is "
                 "reported)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  app.add_option("--dir", dir, "shard directory (emptied first)")->capture_default_str();
  app.add_option("--out", out, "result JSON")->capture_default_str();
  app.add_flag("--keep", keep, "keep the shard afterwards");
  bool no_fill = false;
  app.add_flag("--no-page-cache-fill", no_fill,
               "rounds without the page cache filled ahead of the rebuild's commit "
               "(RebuildOptions::page_cache_fill_at_least; docs/PERFORMANCE.md §5.43)");
  bool round_only = false;  // (internal: one round, in the process the program starts for it)
  app.add_flag("--rebuild-round", round_only)->group("");
  CLI11_PARSE(app, argc, argv);
  if (round_only) return rebuild_round(dir, !no_fill);
  std::filesystem::remove_all(dir);
  Gen g;
  std::vector<std::string> agencies;
  for (std::uint64_t i = 0; i < agency_count; ++i) {
    agencies.push_back("sh.bench." + std::to_string(i));
    g.emit(agencies.back(), "authority",
           AgencyRegistered{"机关" + std::to_string(i), "Agency " + std::to_string(i), Level::kCity,
                            std::nullopt, std::nullopt});
  }
  for (std::uint64_t i = 0; g.out.size() < entries; ++i) {
    const std::string& a = agencies[i % agencies.size()];
    EventId rec = g.emit(a, "src.audit",
                         RecordSubmitted{static_cast<Category>(i % 8),
                                         "专项资金虚列支出",
                                         "审计发现专项资金虚列支出，详见审计报告。",
                                         Timestamp{g.t - 86400000},
                                         {},
                                         std::string("案-") + std::to_string(i)});
    bool confirmed = i % 4 != 0;
    g.emit(a, "authority",
           RecordVerified{
               rec, confirmed ? VerificationOutcome::kConfirmed : VerificationOutcome::kUnfounded,
               confirmed ? std::optional<Severity>(static_cast<Severity>(i % 3)) : std::nullopt,
               "经核实"});
    if (confirmed && i % 5 == 1) {
      EventId m = g.emit(
          a, "authority",
          RecommendationIssued{
              "沪监建" + std::to_string(i), {rec}, {"整改"}, Timestamp{g.t + 30 * 86400000LL}});
      g.emit(a, ("ag." + a).c_str(), RectificationReported{m, "已整改", {}});
      g.emit(a, "authority",
             RecommendationClosed{m, RecommendationOutcome::kSatisfied, "整改到位"});
    }
    if (i % 3 == 0) {
      EventId c = g.emit(a, "complaints",
                         ComplaintFiled{"TS" + std::to_string(i), std::nullopt, "市民投诉",
                                        Bytes(60, 7), Digest{}});
      g.emit(a, "authority", ComplaintTriaged{c, TriageOutcome::kAccepted, {}, {}, {}, "受理"});
      g.emit(a, "authority", ComplaintClosed{c, ComplaintResolution::kResolved, "已答复"});
    }
  }
  g.out.resize(entries);
  // The log is written without fsync (it is the input, not what is measured); then the
  // generated events are freed, the ledger closed and everything synced, so that the rebuild —
  // on a ledger opened durably, as `govcredit rebuild` opens it — neither shares the disk with
  // the kernel writing back this log nor the memory with the generator (before, at 10M the
  // rebuild ran beside ~5 GB of dirty pages and 4 GB of generated events, and its commit did not
  // fsync).
  {
    auto w = Ledger::open(dir, Partition{0}, LedgerOptions{.no_sync = true});
    if (!w) {
      std::cerr << w.status().to_string() << "\n";
      return 1;
    }
    if (Status s = write_log(**w, g.out); !s) {
      std::cerr << s.to_string() << "\n";
      return 1;
    }
  }
  std::vector<Bytes>().swap(g.out);
  ::sync();
  std::cerr << "log of " << entries << " entries written; rebuilding\n";
  nlohmann::json j;
  j["entries"] = entries;
  j["agencies"] = agency_count;
  {  // The floor under any rebuild: reading and decoding every entry. (The ledger is closed
     // again before the rounds, which may grow its map.)
    auto l = Ledger::open(dir, Partition{0});
    if (!l) {
      std::cerr << l.status().to_string() << "\n";
      return 1;
    }
    auto d0 = Clock::now();
    std::size_t n = 0;
    (void)(*l)->scan(Seq{0}, Seq{entries}, [&](const Entry& e) {
      n += decode_wire(e.wire).ok();
      return true;
    });
    j["scan_and_decode_events_per_s"] = n / secs(d0, Clock::now());
  }
  std::vector<double> rates;
  nlohmann::json round_figures = nlohmann::json::array();
  for (int round = 1; round <= rounds; ++round) {
    auto r = rebuild_in_new_process(dir, !no_fill);
    if (!r) return 1;
    rates.push_back((*r)["events_per_s"].get<double>());
    round_figures.push_back(*r);
    std::cerr << "rebuild " << round << " of " << rounds << " (a new process): " << rates.back()
              << " events/s, " << (*r)["minor_faults"] << " page faults, "
              << (*r)["sys_s"].get<double>() << " s in the kernel\n";
  }
  const double median = percentile(rates, 0.5);
  j["page_cache_fill"] = !no_fill;
  j["rebuild_rounds_events_per_s"] = rates;
  j["rebuild_rounds"] = round_figures;
  j["rebuild_seconds"] = static_cast<double>(entries) / median;
  j["rebuild_events_per_s"] = median;
  auto l = Ledger::open(dir, Partition{0});
  if (!l) {
    std::cerr << l.status().to_string() << "\n";
    return 1;
  }
  Ledger& ledger = **l;
  {  // The same in this process, whose allocator holds the memory the generator freed (so
     // without the heap warm-up, which would populate memory the rebuild does not need).
    const auto r0 = Clock::now();
    auto r = rebuild_projections(ledger, {}, rebuild_options(!no_fill, /*warm_heap=*/false));
    const auto r1 = Clock::now();
    if (!r) {
      std::cerr << r.status().to_string() << "\n";
      return 1;
    }
    j["rebuild_warm_heap_events_per_s"] = static_cast<double>(entries) / secs(r0, r1);
  }
  auto t0 = Clock::now();
  auto mem = rebuild_in_memory(ledger);
  auto t1 = Clock::now();
  j["rebuild_in_memory_events_per_s"] = entries / secs(t0, t1);
  std::cerr << "rebuild: " << j["rebuild_events_per_s"] << " events/s, the median of " << rounds
            << " (in this process " << j["rebuild_warm_heap_events_per_s"] << ", in memory "
            << j["rebuild_in_memory_events_per_s"] << ")\n";

  std::vector<double> lookup, scored;
  const ScoringRules& rules = ScoringRules::builtin();
  std::size_t items = 0;
  for (int i = 0; i < 20000; ++i) {
    AgencyId id(agencies[static_cast<std::size_t>(i) % agencies.size()]);
    auto a0 = Clock::now();
    auto st = agency_state(ledger, id);
    auto a1 = Clock::now();
    Score s = score(*st, Timestamp{g.t}, rules, false);
    auto a2 = Clock::now();
    lookup.push_back(secs(a0, a1) * 1e6);
    scored.push_back(secs(a0, a2) * 1e6);
    items = st->items.size();
  }
  j["status_lookup_us"] = {{"p50", percentile(lookup, 0.5)}, {"p99", percentile(lookup, 0.99)}};
  j["status_lookup_and_score_us"] = {{"p50", percentile(scored, 0.5)},
                                     {"p99", percentile(scored, 0.99)}};
  j["confirmed_records_per_agency"] = items;
  // The in-process path a server uses: StatusCache (decoded state + ScoreIndex per agency).
  StatusCache cache(ledger);
  std::vector<double> cached;
  for (int i = 0; i < 200000; ++i) {
    AgencyId id(agencies[static_cast<std::size_t>(i) % agencies.size()]);
    auto a0 = Clock::now();
    auto st = cache.get(id, Timestamp{g.t}, rules);
    auto a1 = Clock::now();
    if (!st) return 1;
    if (i >= static_cast<int>(agencies.size())) cached.push_back(secs(a0, a1) * 1e6);
  }
  j["status_cached_lookup_and_score_us"] = {{"p50", percentile(cached, 0.5)},
                                            {"p99", percentile(cached, 0.99)},
                                            {"p999", percentile(cached, 0.999)}};
  t0 = Clock::now();
  auto past = agency_state_as_of(ledger, AgencyId(agencies[0]),
                                 Timestamp{1293840000000 + (g.t - 1293840000000) / 2});
  t1 = Clock::now();
  j["as_of_one_agency_mid_history_ms"] = secs(t0, t1) * 1e3;
  j["store_bytes"] = ledger.store_bytes();
  j["peak_rss_mib"] = bench::peak_rss_mib();
  bench::write_result(out, j);
  if (!keep) std::filesystem::remove_all(dir);
  return past ? 0 : 1;
}
