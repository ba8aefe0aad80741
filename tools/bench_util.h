// Shared by the benchmark tools: elapsed seconds, percentiles, this machine's Ed25519
// verification rate, peak resident memory, result files, and re-signing demo events in batches.
#pragma once

#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "govcredit/codec.h"
#include "govcredit/demo.h"
#include "govcredit/registry.h"

namespace govcredit::bench {

using Clock = std::chrono::steady_clock;

inline double secs(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// The p-quantile (0..1) of v, nearest rank below; 0 for no samples.
inline double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

// Ed25519 verifications per second on one core, as `openssl speed ed25519` measures them here
// (the reference the single-signed ingest target is set against); 0 when openssl is missing.
inline double openssl_verify_rate(int seconds = 3) {
  std::string cmd = "openssl speed -seconds " + std::to_string(seconds) + " ed25519 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
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
    try {
      return std::stod(words.back());  // ... sign/s verify/s
    } catch (const std::exception&) {
      return 0;
    }
  }
  return 0;
}

// How many times per second `call` runs on this thread, run for `seconds` (in rounds of 256).
template <class Call>
double calls_per_second(double seconds, Call&& call) {
  std::uint64_t n = 0;
  const auto start = Clock::now();
  double elapsed = 0;
  do {
    for (int i = 0; i < 256; ++i, ++n) call();
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  } while (elapsed < seconds);
  return static_cast<double>(n) / elapsed;
}

// What the ledger's Ed25519 rates are measured on: a fixed key, and a 370-byte message (the size
// of a single-signed demo event's signing input).
inline Result<PrivateKey> rate_key() {
  return PrivateKey::from_seed(Bytes(32, 7));
}
inline Bytes rate_message() {
  return Bytes(370, 0x5a);
}

// Ed25519 verifications per second on one core through the ledger's own verifier
// (PublicKey::verify, libsodium), of rate_message() for `seconds`, as `openssl speed` counts
// them; 0 if a verification fails.
inline double ledger_verify_rate(double seconds = 2) {
  auto key = rate_key();
  if (!key) return 0;
  const Bytes message = rate_message();
  const Signature sig = key->sign(message);
  const PublicKey& pub = key->public_key();
  bool all_valid = true;
  const double rate =
      calls_per_second(seconds, [&] { all_valid = pub.verify(message, sig) && all_valid; });
  return all_valid ? rate : 0;
}

// The reference of the single-signed ingest target: this machine's Ed25519 verification rate per
// core, measured before the ingest and again right after it, both with `openssl speed` (the
// issue's reference) and with the ledger's own verifier (libsodium since 2026-12-04, 2.2 × as
// fast here). This VM's CPU speed moves by a quarter within minutes, and a reference measured in
// a slow minute flatters the ratio (0.95 × against 6.5k verifications/s per core in one full run,
// where 9k was usual): each rate is the faster of its two measurements, and the target's ratio
// is taken against the faster verifier, so a faster library does not flatter it either.
//
// `seconds` is how long `openssl speed` runs each of its two tests (signing, then verifying), the
// ledger's verifier running for two thirds of it: 3 (~8 s a measurement, ~16 s a run) unless the
// program is asked for less (--reference-seconds; tools/bench --quick asks for 1).
//
// A batch-signed run has no target against this rate. It only says how much of the cores its
// data set's signatures would take (signature_bound_events_per_s), at the rate of the verifier
// that checks them: that one verifier is measured, once, before the run (2 s where both verifiers
// twice took ~16 s); `openssl speed` is not run and its fields are 0.
struct VerifyReference {
  double before = 0, after = 0;                // openssl speed
  double ledger_before = 0, ledger_after = 0;  // PublicKey::verify
  int seconds = 3;
  // A batch-signed run's reference: the ledger's verifier only, and measure_after does nothing.
  bool once = false;
  static VerifyReference measure_before(const char* program, unsigned cores, bool batch_signed,
                                        int seconds = 3) {
    VerifyReference r;
    r.seconds = std::max(1, seconds);
    r.once = batch_signed;
    if (r.once) {
      std::cerr << program << ": Ed25519 verification rate of the ledger's verifier ...\n";
      r.ledger_before = ledger_verify_rate(r.ledger_seconds());
      std::cerr << "  per core: " << r.ledger_before << " (libsodium); " << cores << " cores\n";
      return r;
    }
    std::cerr << program << ": Ed25519 verification rate: openssl speed ed25519 ...\n";
    r.before = openssl_verify_rate(r.seconds);
    r.ledger_before = ledger_verify_rate(r.ledger_seconds());
    std::cerr << "  per core: openssl " << r.before << ", the ledger's verifier (libsodium) "
              << r.ledger_before << "; " << cores << " cores\n";
    return r;
  }
  double ledger_seconds() const { return seconds * 2.0 / 3.0; }
  double openssl_rate() const { return std::max(before, after); }
  double ledger_rate() const { return std::max(ledger_before, ledger_after); }
  double rate() const { return std::max(openssl_rate(), ledger_rate()); }
  // The second measurement, after the run, and the ratios it makes, on stderr.
  void measure_after(const char* program, double events_per_s, unsigned cores) {
    if (once) return;
    std::cerr << program << ": Ed25519 verification rate again ...\n";
    after = openssl_verify_rate(seconds);
    ledger_after = ledger_verify_rate(ledger_seconds());
    std::cerr << "  per core: openssl " << after << " (" << before << " before), the ledger's "
              << ledger_after << " (" << ledger_before
              << " before): " << events_per_s / (rate() * cores) << " x cores x the fastest ("
              << events_per_s / (openssl_rate() * cores) << " x against openssl's)\n";
  }
  // How it was measured, for the result JSON.
  std::string how() const {
    return once ? "the ledger's verifier once, before the run (a batch-signed run)"
                : "openssl speed and the ledger's verifier, before and after the run, " +
                      std::to_string(seconds) + " s each";
  }
};

// --reference-seconds, as ingest_bench and kafka_bench take it (VerifyReference's `seconds`).
inline void add_reference_option(CLI::App& app, int& seconds) {
  app.add_option("--reference-seconds", seconds,
                 "seconds `openssl speed` runs each of its tests for the Ed25519 reference "
                 "(the ledger's verifier runs two thirds of it); batch-signed runs measure only "
                 "the ledger's verifier, once")
      ->capture_default_str()
      ->check(CLI::Range(1, 60));
}

inline double peak_rss_mib() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;
}

// Writes j to `out` (creating its directory) and to stdout.
inline void write_result(const std::string& out, const nlohmann::json& j) {
  std::filesystem::path dir = std::filesystem::path(out).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir);
  std::ofstream(out) << j.dump(2) << "\n";
  std::printf("%s\n", j.dump(2).c_str());
}

// The demo key an event was signed with (the first or, after a rotation, the second).
inline PrivateKey signing_key(const Event& e) {
  return demo::key_for(e.issuer, demo::key_for(e.issuer).key_id() == e.key_id ? 0 : 1);
}

// Re-signs the events in batches (events/FORMAT.md §2b): within each window of `window` events
// (0: the whole stream), each issuer's events under one key in batches of up to `size`, in
// stream order. The events stay where they are in the stream (a batch's members need not be
// adjacent). Registry events keep their own signatures. With `window` equal to `size` (the
// suite's batch-signed scenarios) an issuer signs what it issued while the whole system issued
// 1024 events: the demo world's many issuers make that one signature per ~22 events. With the
// whole stream, each issuer signs all its events in full batches, as `govcredit import` signs a
// source's file (one key, consecutive batches of --batch-size). Returns how many distinct
// signatures the events now carry (batches plus registry events).
inline std::size_t resign_in_batches(std::vector<Event>& events, std::size_t size,
                                     std::size_t window) {
  if (window == 0) window = events.size();
  std::size_t signatures = 0;
  // The batches (their members' places in the stream) and each one's key, then signed on every
  // core: the signatures are deterministic, so the order they are made in changes nothing.
  std::vector<std::vector<std::size_t>> batches;
  std::vector<const PrivateKey*> key_of;
  std::map<std::pair<std::string, std::string>, PrivateKey> keys;  // by issuer and key id
  for (std::size_t from = 0; from < events.size(); from += window) {
    std::size_t to = std::min(events.size(), from + window);
    std::map<std::pair<std::string, std::string>, std::vector<std::size_t>> by_issuer;
    for (std::size_t i = from; i < to; ++i)
      if (!Registry::is_registry_event(events[i]))
        by_issuer[{events[i].issuer.value, events[i].key_id.value}].push_back(i);
      else
        ++signatures;
    for (const auto& [who, all] : by_issuer) {
      auto key = keys.find(who);
      if (key == keys.end()) key = keys.emplace(who, signing_key(events[all.front()])).first;
      for (std::size_t k = 0; k < all.size(); k += size) {
        batches.emplace_back(
            all.begin() + static_cast<std::ptrdiff_t>(k),
            all.begin() + static_cast<std::ptrdiff_t>(std::min(all.size(), k + size)));
        key_of.push_back(&key->second);
        ++signatures;
      }
    }
  }
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    std::vector<Event> batch;
    for (std::size_t b; (b = next.fetch_add(1)) < batches.size();) {
      batch.clear();
      for (std::size_t i : batches[b]) batch.push_back(events[i]);
      sign_batch(batch, *key_of[b]);
      for (std::size_t j = 0; j < batch.size(); ++j) events[batches[b][j]] = std::move(batch[j]);
    }
  };
  std::vector<std::thread> helpers(std::max(1u, std::thread::hardware_concurrency()) - 1);
  for (auto& t : helpers) t = std::thread(work);
  work();
  for (auto& t : helpers) t.join();
  return signatures;
}

// How resign_in_batches signed: "batches of up to N per issuer within each window of W events"
// (or "over the whole stream"), for the programs' progress lines and their JSON.
inline std::string batch_signing_text(std::size_t size, std::size_t window) {
  return "batches of up to " + std::to_string(size) + " per issuer " +
         (window ? "within each window of " + std::to_string(window) + " events"
                 : std::string("over the whole stream"));
}

// The fields the ingest benchmarks (ingest_bench, kafka_bench) share: what was ingested and how
// it was signed, and this machine's Ed25519 rate the ratio is taken against. `signatures` is how
// many distinct signatures the events carry; with it, `signature_bound_events_per_s` is the rate
// at which checking them alone would keep every core busy (each distinct signature is checked
// once; a batch's other members only hash their Merkle path).
inline nlohmann::json ingest_result(std::uint64_t events, std::uint64_t messages, int partitions,
                                    unsigned cores, std::size_t batch_signed,
                                    std::size_t batch_window, std::uint64_t signatures,
                                    const VerifyReference& reference, double events_per_s) {
  const double verify_rate = reference.rate();
  const double per_signature =
      signatures > 0 ? static_cast<double>(events) / static_cast<double>(signatures) : 0.0;
  return {
      {"events", events},
      {"messages", messages},
      {"partitions", partitions},
      {"cores", cores},
      {"signatures",
       batch_signed ? batch_signing_text(batch_signed, batch_window) + " (registry events single)"
                    : std::string("one per event")},
      {"batch_window", batch_signed ? batch_window : 0},
      {"distinct_signatures", signatures},
      {"events_per_signature", per_signature},
      {"signature_bound_events_per_s", verify_rate * cores * per_signature},
      {"ed25519_verify_per_s_per_core", verify_rate},
      {"openssl_ed25519_verify_per_s_per_core", reference.openssl_rate()},
      {"openssl_ed25519_verify_per_s_per_core_before", reference.before},
      {"openssl_ed25519_verify_per_s_per_core_after", reference.after},
      {"ledger_ed25519_verify_per_s_per_core", reference.ledger_rate()},
      {"ledger_ed25519_verify_per_s_per_core_before", reference.ledger_before},
      {"ledger_ed25519_verify_per_s_per_core_after", reference.ledger_after},
      {"ed25519_reference_measured", reference.how()},
      {"ratio_to_cores_times_verify_rate",
       verify_rate > 0 ? events_per_s / (verify_rate * cores) : 0.0},
      {"ratio_to_cores_times_openssl_verify_rate",
       reference.openssl_rate() > 0 ? events_per_s / (reference.openssl_rate() * cores) : 0.0},
      {"peak_rss_mib", peak_rss_mib()},
  };
}

// Demo records for about `events` events (the demo data set has ~4.4 events per record).
inline int records_for(std::uint64_t events) {
  return static_cast<int>(std::max<std::uint64_t>(50, events * 10 / 44));
}

}  // namespace govcredit::bench
