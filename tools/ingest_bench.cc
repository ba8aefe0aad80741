// ingest_bench: signed events ingested on the embedded bus (no Kafka), then verified, as JSON.
//
//   ingest_bench [--events N] [--years Y] [--partitions P] [--batch-signed N] [--batch-window W]
//                [--max-batch M] [--reference-seconds S] [--dir D] [--out FILE] [--keep]
//
// 1. Measures this machine's Ed25519 verification rate with `openssl speed ed25519` and with the
//    ledger's own verifier (libsodium) in the same run (the single-signed ingest target is 0.7 x
//    cores x that rate), before the ingest and again after it; the ratio is taken against the
//    fastest of the four (bench::VerifyReference; --reference-seconds, default 3, is how long
//    openssl runs each test). A batch-signed run has no target against it and measures only the
//    ledger's verifier, once, for signature_bound_events_per_s.
// 2. Generates the demo data set scaled to about N events over Y years (default 3, as the demo:
//    more events are then denser in time, not a longer history; every one signed; with
//    --batch-signed N each issuer's events are re-signed in batches of up to N within each
//    window of N events of the stream, or of W with --batch-window W, 0 for the whole stream as
//    `govcredit import` signs a source's file) -- signing is not timed.
// 3. Ingest: publishes everything on the embedded bus over P shards (group commit, durable
//    LMDB commits, every signature and every domain rule checked, the same Ingestor a Kafka
//    ledger node runs) and times it from the first publish to the last commit. A transaction
//    takes up to M messages (--max-batch, the embedded bus's default 5000). The events are
//    queued 20,000 at a time, each part queued before the last one is waited for, so that the
//    shards' queues never run dry (until 2026-12-05 each part was waited for before the next was
//    queued: the writers' transactions averaged ~1,150 events, not 5,000; PERFORMANCE.md §5.36).
// 4. Verify: `Ledger::verify` of every shard without and with signatures (with: every event
//    decoded and checked against the registry as of its position).
// 5. Disk: the shards' LMDB bytes per stored event and against the signed events' wire bytes.
#include <unistd.h>
#include <CLI/CLI.hpp>
#include <optional>

#include <iostream>
#include <thread>

#include "govcredit/bus.h"
#include "govcredit/codec.h"

#include "bench_util.h"

using namespace govcredit;
using bench::Clock;
using bench::secs;

int main(int argc, char** argv) {
  std::uint64_t events = 100000;
  int years = demo::Options{}.years;
  int partitions = 4;
  std::size_t batch_signed = 0, max_batch = EmbeddedOptions{}.max_batch;
  std::optional<std::size_t> batch_window;
  std::string dir = "/tmp/govcredit-ingest-bench-" + std::to_string(getpid()),
              out = "bench-results/ingest.json";
  bool keep = false;
  int reference_seconds = 3;
  CLI::App app{
      "ingest_bench: embedded ingest of signed events, then verify and disk (docs/PERFORMANCE.md)"};
  app.add_option("--events", events, "events to ingest (about)")
      ->capture_default_str()
      ->check(CLI::Range(1L, 1L << 40));
  app.add_option("--years", years,
                 "years the data set spans (the same events spread over a longer history)")
      ->capture_default_str()
      ->check(CLI::Range(1, 200));
  app.add_option("--partitions", partitions, "partitions (one shard each)")
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
  app.add_option("--max-batch", max_batch, "messages per LMDB transaction at most (group commit)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20));
  bench::add_reference_option(app, reference_seconds);
  app.add_option("--dir", dir, "data directory")->capture_default_str();
  app.add_option("--out", out, "result JSON")->capture_default_str();
  app.add_flag("--keep", keep, "keep the shards afterwards");
  CLI11_PARSE(app, argc, argv);
  const std::size_t window = batch_window.value_or(batch_signed);
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  auto reference = bench::VerifyReference::measure_before("ingest_bench", cores, batch_signed != 0,
                                                          reference_seconds);

  std::cerr << "ingest_bench: generating and signing about " << events << " events ...\n";
  demo::World w = demo::generate(
      demo::Options{.seed = 3, .records = bench::records_for(events), .years = years});
  const std::size_t signatures =
      batch_signed ? bench::resign_in_batches(w.events, batch_signed, window) : w.events.size();
  std::uint64_t messages = 0, wire_bytes = 0;
  for (const Event& e : w.events) {
    std::uint64_t copies =
        Registry::is_registry_event(e) ? static_cast<std::uint64_t>(partitions) : 1;
    messages += copies;
    wire_bytes += copies * encode_wire(e).size();
  }
  std::cerr << "  " << w.events.size() << " events (" << messages << " messages over " << partitions
            << " shards), "
            << (batch_signed ? "batch-signed (" + bench::batch_signing_text(batch_signed, window) +
                                   "): " + std::to_string(signatures) + " distinct signatures"
                             : std::string("one signature each"))
            << "\n";

  std::filesystem::remove_all(dir);
  auto bus = EmbeddedBus::open(
      EmbeddedOptions{.data_dir = dir, .partitions = partitions, .max_batch = max_batch});
  if (!bus) {
    std::cerr << bus.status().to_string() << "\n";
    return 1;
  }
  std::uint64_t accepted = 0, other = 0;
  const std::size_t kChunk = 20000;
  auto t0 = Clock::now();
  // One part queued ahead of the one waited for.
  std::optional<EmbeddedBus::Pending> in_flight;
  std::size_t queued = 0, done = 0;
  auto finish = [&](EmbeddedBus::Pending& pending) {
    for (const auto& r : pending.wait()) {
      if (!r) {
        std::cerr << "\n" << r.status().to_string() << "\n";
        return false;
      }
      for (const IngestResult& x : *r) ++(x.outcome == IngestOutcome::kAccepted ? accepted : other);
      ++done;
    }
    std::cerr << "\r  ingest " << done << " / " << w.events.size() << std::flush;
    return true;
  };
  for (; queued < w.events.size(); queued = std::min(w.events.size(), queued + kChunk)) {
    std::vector<Event> part(
        w.events.begin() + static_cast<std::ptrdiff_t>(queued),
        w.events.begin() + static_cast<std::ptrdiff_t>(std::min(w.events.size(), queued + kChunk)));
    EmbeddedBus::Pending next = (*bus)->enqueue_all(part);
    if (in_flight && !finish(*in_flight)) return 1;
    in_flight = std::move(next);
  }
  if (in_flight && !finish(*in_flight)) return 1;
  const double ingest_s = secs(t0, Clock::now());
  const double eps = static_cast<double>(w.events.size()) / ingest_s;
  std::cerr << "\r  ingest: " << eps << " events/s (" << accepted << " messages accepted, " << other
            << " not)\n";
  if (other != 0) {
    std::cerr << "ingest_bench: every generated event should be accepted\n";
    return 1;
  }
  reference.measure_after("ingest_bench", eps, cores);

  double verify_plain_s = 0, verify_sig_s = 0;
  std::uint64_t entries = 0, store = 0;
  for (int p = 0; p < partitions; ++p) {
    Ledger& l = (*bus)->shard(Partition{p});
    auto a = Clock::now();
    VerifyReport plain = l.verify();
    forget_batch_verdicts();  // as `govcredit verify --signatures` of this shard would start
    auto b = Clock::now();
    VerifyReport sig = l.verify(VerifyOptions{.signatures = true});
    auto c = Clock::now();
    if (!plain.ok || !sig.ok) {
      std::cerr << "verify failed: " << (plain.ok ? sig : plain).problem.to_string() << "\n";
      return 1;
    }
    verify_plain_s += secs(a, b);
    verify_sig_s += secs(b, c);
    entries += plain.entries;
    store += l.store_bytes();
  }
  std::cerr << "  verify: " << entries / verify_plain_s << " entries/s without signatures, "
            << entries / verify_sig_s << " with\n";
  nlohmann::json j = bench::ingest_result(w.events.size(), messages, partitions, cores,
                                          batch_signed, window, signatures, reference, eps);
  j["ingest_events_per_s"] = eps;
  j["ingest_seconds"] = ingest_s;
  j["verify_entries_per_s"] = static_cast<double>(entries) / verify_plain_s;
  j["verify_signatures_entries_per_s"] = static_cast<double>(entries) / verify_sig_s;
  j["wire_bytes_per_event"] = static_cast<double>(wire_bytes) / static_cast<double>(messages);
  j["disk_bytes_per_event"] = static_cast<double>(store) / static_cast<double>(entries);
  j["disk_to_wire_ratio"] = static_cast<double>(store) / static_cast<double>(wire_bytes);
  j["max_batch"] = max_batch;
  j["years"] = years;
  j["note"] = "embedded bus, durable group commits (up to " + std::to_string(max_batch) +
              " messages per transaction), every signature and domain rule checked by the "
              "Ingestor on one thread per core; queued 20,000 events at a time, each part before "
              "the last one is waited for (since 2026-12-05)";
  bench::write_result(out, j);
  bus->reset();
  if (!keep) std::filesystem::remove_all(dir);
  return 0;
}
