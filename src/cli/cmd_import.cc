// govcredit import: a source's bulk upload. Reads every line first and reports every bad one
// with its line number and reason code (nothing is published then); then signs the events in
// batches — one Ed25519 signature per batch over the Merkle root of its events (events/FORMAT.md
// §2b) — and publishes them through the embedded bus or Kafka, with a progress bar and ETA on a
// terminal and plain progress lines otherwise.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>

#include "common.h"
#include "govcredit/bus.h"
#include "govcredit/codec.h"
#include "govcredit/encoding.h"

namespace govcredit::cli {
namespace {

struct ImportArgs {
  ShardArgs shard;
  std::string file, key, issuer, kafka;
  std::map<std::string, std::string> kafka_set;  // --kafka-set
  std::size_t batch = 256;
  bool dry_run = false;
};

// RFC 4180 fields of one CSV line (quotes, doubled quotes; no embedded newlines).
std::optional<std::vector<std::string>> csv_fields(const std::string& line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        out.back().push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        out.back().push_back(c);
      }
    } else if (c == '"' && out.back().empty()) {
      quoted = true;
    } else if (c == ',') {
      out.emplace_back();
    } else {
      out.back().push_back(c);
    }
  }
  if (quoted) return std::nullopt;
  return out;
}

Result<Timestamp> day_or_time(const std::string& s, const char* what) {
  if (auto t = parse_time_with_offset(s)) return *t;
  if (s.size() == 10)
    if (auto t = parse_time_with_offset(s + "T00:00:00+08:00")) return *t;
  return Status(Reason::kFieldInvalid,
                std::string(what) + " must be a date (2013-05-17) or an RFC 3339 time");
}

const std::vector<std::string> kCsvColumns = {"agency",       "category",   "title",
                                              "summary",      "conduct_at", "evidence_sha256",
                                              "evidence_uri", "source_ref"};

// One CSV record line → a record.submitted event (unsigned).
Result<Event> event_from_csv(const std::vector<std::string>& f, const PrincipalId& issuer,
                             const KeyId& key, Timestamp at) {
  if (f.size() != kCsvColumns.size() && f.size() != kCsvColumns.size() - 1)
    return Status(Reason::kFieldMissing, "expected " + std::to_string(kCsvColumns.size() - 1) +
                                             " or " + std::to_string(kCsvColumns.size()) +
                                             " columns, found " + std::to_string(f.size()));
  auto cat = enum_from_name<Category>(f[1]);
  if (!cat) return Status(Reason::kFieldInvalid, "unknown category '" + f[1].substr(0, 40) + "'");
  auto conduct = day_or_time(f[4], "conduct_at");
  if (!conduct) return conduct.status();
  auto digest = fixed_from_hex<Digest>(f[5]);
  if (!digest)
    return Status(Reason::kFieldInvalid, "evidence_sha256 must be 64 hexadecimal digits");
  Event e;
  e.subject = AgencyId(f[0]);
  e.issuer = issuer;
  e.key_id = key;
  e.issued_at = at;
  e.payload = RecordSubmitted{*cat,
                              f[2],
                              f[3],
                              *conduct,
                              {Evidence{*digest, f[6]}},
                              f.size() > 7 && !f[7].empty() ? std::optional(f[7]) : std::nullopt};
  if (Status s = validate_event(e); !s) return s;
  return e;
}

// The id of an imported line's event: derived from the issuer and the line, so that importing a
// file again (after an interruption, say) cannot record anything twice — the lines already in
// the ledger are refused as event_id_conflict (they were issued at another time), the others go
// in. Of two identical lines in one file, the second is refused the same way.
EventId import_id(const PrincipalId& issuer, const std::string& line) {
  Digest d = Sha256()
                 .update(std::string_view("govcredit import v1\0", 20))
                 .update(issuer.value)
                 .update(std::string_view("\0", 1))
                 .update(line)
                 .finish();
  EventId id;
  std::copy_n(d.bytes.begin(), 16, id.bytes.begin());
  return id;
}

// Progress on stderr: a redrawn bar on a terminal, a line per tenth otherwise.
class Progress {
 public:
  explicit Progress(std::size_t total)
      : total_(total), tty_(::isatty(2) == 1), start_(std::chrono::steady_clock::now()) {}
  void update(std::size_t done) {
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double rate = secs > 0 ? static_cast<double>(done) / secs : 0;
    const double eta = rate > 0 ? static_cast<double>(total_ - done) / rate : 0;
    const int pct = total_ ? static_cast<int>(done * 100 / total_) : 100;
    char line[160];
    if (tty_) {
      std::string bar(static_cast<std::size_t>(pct / 4), '#');
      bar.resize(25, '.');
      std::snprintf(line, sizeof line, "\r[%s] %3d%% %zu/%zu  %.0f events/s  ETA %.0f s ",
                    bar.c_str(), pct, done, total_, rate, eta);
      std::cerr << line << (done == total_ ? "\n" : "") << std::flush;
    } else if (pct / 10 > last_tenth_ || done == total_) {
      last_tenth_ = pct / 10;
      std::snprintf(line, sizeof line, "imported %zu/%zu (%d%%), %.0f events/s, ETA %.0f s\n", done,
                    total_, pct, rate, eta);
      std::cerr << line;
    }
  }

 private:
  std::size_t total_;
  bool tty_;
  int last_tenth_ = -1;
  std::chrono::steady_clock::time_point start_;
};

int import_cmd(const ImportArgs& a) {
  if (a.kafka.empty() && !a.kafka_set.empty())
    return report(Status(Reason::kInvalidArgument,
                         "--kafka-set needs --kafka: the embedded bus takes no Kafka settings"));
  auto key = load_private_key(a.key);
  if (!key) return report(key.status());
  auto text = read_file(a.file);
  if (!text) return report(text.status());
  const bool csv = a.file.size() >= 4 && a.file.compare(a.file.size() - 4, 4, ".csv") == 0;

  // The transport first: the embedded bus also tells who the key belongs to.
  std::unique_ptr<EmbeddedBus> embedded;
  std::unique_ptr<KafkaBus> kafka;
  PrincipalId issuer(a.issuer);
  if (a.kafka.empty()) {
    auto parts = shard_partitions(a.shard.data);
    auto bus = EmbeddedBus::open(
        EmbeddedOptions{.data_dir = a.shard.data,
                        .partitions = parts.empty() ? 1 : static_cast<int>(parts.size()),
                        .ledger = LedgerOptions{.name = a.shard.name}});
    if (!bus) return report(bus.status());
    embedded = std::move(*bus);
    auto reg = embedded->shard(Partition{0}).load_registry();
    if (!reg) return report(reg.status());
    const KeyInfo* k = reg->key(key->key_id());
    if (!k)
      return report(Status(Reason::kKeyUnknown,
                           "the key " + key->key_id().value + " is not registered in the ledger"));
    if (!a.issuer.empty() && a.issuer != k->principal.value)
      return report(Status(
          Reason::kKeyPrincipalMismatch,
          "--issuer " + a.issuer + " does not own this key (" + k->principal.value + " does)"));
    issuer = k->principal;
  } else {
    if (issuer.value.empty())
      return report(Status(Reason::kInvalidArgument, "with --kafka, give --issuer"));
    KafkaConfig config;
    config.brokers = a.kafka;
    config.extra = a.kafka_set;
    auto bus = KafkaBus::create(config);
    if (!bus) return report(bus.status());
    kafka = std::move(*bus);
  }

  // 1. Every line, validated; every bad one reported.
  std::vector<Event> events;
  std::vector<std::size_t> line_of;
  std::size_t bad = 0, lineno = 0;
  const Timestamp at = now();
  std::istringstream in(*text);
  std::string line;
  bool header_seen = !csv;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    Result<Event> e = Status(Reason::kInternal, "");
    if (csv) {
      auto f = csv_fields(line);
      if (!header_seen) {
        header_seen = true;
        if (f && !f->empty() && (*f)[0] == "agency") continue;  // the header line
      }
      e = f ? event_from_csv(*f, issuer, key->key_id(),
                             Timestamp{at.ms + static_cast<std::int64_t>(events.size())})
            : Result<Event>(Status(Reason::kFieldInvalid, "an unterminated quoted field"));
      if (e) e->id = import_id(issuer, line);
    } else {
      e = event_from_json(line, JsonReadOptions{.for_signing = true});
      if (e && line.find("\"id\"") == std::string::npos) e->id = import_id(issuer, line);
      if (e && e->issuer != issuer)
        e = Status(Reason::kKeyPrincipalMismatch, "the event's issuer is " + e->issuer.value +
                                                      ", the key is " + issuer.value + "'s");
    }
    if (!e) {
      ++bad;
      std::cerr << a.file << ":" << lineno << ": " << e.status().to_string() << "\n";
      continue;
    }
    events.push_back(std::move(*e));
    line_of.push_back(lineno);
  }
  if (bad) {
    std::cerr << bad << " bad line(s); nothing was published. Fix them and run again.\n";
    return kExitRejected;
  }
  if (events.empty()) return report(Status(Reason::kInvalidArgument, a.file + " holds no events"));
  std::cerr << events.size() << " events valid; signing in batches of " << a.batch << "\n";
  if (a.dry_run) return kExitOk;

  // 2. Signed and published batch by batch. Into embedded shards each batch is queued before the
  // one before it is waited for, so the shards ingest one batch while the next is signed and
  // their writers find it queued (transactions of many batches, not of part of one).
  Progress progress(events.size());
  std::size_t accepted = 0, rejected = 0, duplicates = 0;
  struct Queued {
    EmbeddedBus::Pending pending;
    std::size_t from = 0, to = 0;
  };
  // Waits for a queued batch and reports its lines; the first failure of the bus, if any.
  auto settle = [&](Queued& q) {
    Status failed;
    auto results = q.pending.wait();
    for (std::size_t i = 0; i < results.size(); ++i) {
      if (!results[i]) {
        if (failed.is_ok()) failed = results[i].status();
        continue;
      }
      for (const IngestResult& r : *results[i]) {
        if (r.outcome == IngestOutcome::kRejected) {
          ++rejected;
          std::cerr << a.file << ":" << line_of[q.from + i]
                    << ": rejected: " << r.status.to_string() << "\n";
        }
        accepted += r.outcome == IngestOutcome::kAccepted;
        duplicates += r.outcome == IngestOutcome::kDuplicate;
      }
    }
    progress.update(q.to);
    return failed;
  };
  std::optional<Queued> in_flight;
  for (std::size_t from = 0; from < events.size(); from += a.batch) {
    std::size_t to = std::min(events.size(), from + a.batch);
    std::span<Event> chunk(events.data() + from, to - from);
    sign_batch(chunk, *key);
    std::vector<Event> batch(chunk.begin(), chunk.end());
    if (embedded) {
      Queued next{embedded->enqueue_all(batch), from, to};
      if (in_flight) {
        if (Status s = settle(*in_flight); !s) {
          // Queued already: its lines are reported too (a second failure adds nothing).
          (void)settle(next);
          return report(s);
        }
      }
      in_flight = std::move(next);
    } else {
      for (auto& r : kafka->publish_all(batch))
        if (!r) return report(r.status());
      accepted += batch.size();
      progress.update(to);
    }
  }
  if (in_flight)
    if (Status s = settle(*in_flight); !s) return report(s);
  if (embedded)
    std::cout << "imported " << events.size() << " events from " << a.file << ": " << accepted
              << " accepted, " << duplicates << " already there, " << rejected << " rejected\n";
  else
    std::cout << "published " << events.size() << " events to Kafka " << a.kafka
              << " (the ledger nodes decide; see their rejection journals)\n";
  return rejected ? kExitRejected : kExitOk;
}

}  // namespace

void register_import(CLI::App& app, Runner& run) {
  auto a = std::make_shared<ImportArgs>();
  auto* c = app.add_subcommand(
      "import",
      "A source's bulk upload of a CSV of records (columns: agency, category, title, summary, "
      "conduct_at, evidence_sha256, evidence_uri[, source_ref]) or JSON lines of events: every "
      "line is validated first and every bad one reported with its line number (nothing is "
      "published then); then the events are signed in batches, one signature per batch "
      "(events/FORMAT.md §2b), and published, with progress and ETA.");
  add_shard_options(c, a->shard);
  c->add_option("file", a->file, "FILE.csv or FILE.jsonl")->required();
  c->add_option("--key", a->key, "the source's private key (PEM)")->required();
  c->add_option("--issuer", a->issuer, "the key's principal (required with --kafka)");
  c->add_option("--kafka", a->kafka, "publish to these brokers instead of the embedded bus");
  add_kafka_set_option(c, a->kafka_set, "; with --kafka");
  c->add_option("--batch-size", a->batch, "events per batch signature")
      ->capture_default_str()
      ->check(CLI::Range(1, 65536));
  c->add_flag("--dry-run", a->dry_run, "validate only");
  c->callback([&run, a] { run = [a] { return import_cmd(*a); }; });
}

}  // namespace govcredit::cli
