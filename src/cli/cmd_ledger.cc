// govcredit append | replay | verify: the ledger in embedded mode, for operators and auditors.
#include <unistd.h>

#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common.h"
#include "govcredit/codec.h"
#include "govcredit/encoding.h"
#include "govcredit/ingest.h"
#include "govcredit/projections.h"

namespace govcredit::cli {
namespace {

struct AppendArgs {
  ShardArgs shard;
  std::string file;
  std::size_t batch = 1000;
};

int append(const AppendArgs& a) {
  auto text = read_file(a.file);
  if (!text) return report(text.status());
  auto ledger = open_shard(a.shard, /*create=*/true);
  if (!ledger) return report(ledger.status());
  auto ingestor = Ingestor::create(**ledger);
  if (!ingestor) return report(ingestor.status());

  std::vector<Message> batch;
  std::vector<std::size_t> lines;  // input line of each message
  std::size_t accepted = 0, duplicates = 0, rejected = 0, line_no = 0;
  KafkaOffset offset = (*ledger)->next_offset();
  const Timestamp received = now();
  auto flush = [&]() -> int {
    auto results = (*ingestor)->ingest(batch);
    if (!results) return report(results.status());
    for (std::size_t i = 0; i < results->size(); ++i) {
      const IngestResult& r = (*results)[i];
      if (r.outcome == IngestOutcome::kAccepted)
        ++accepted;
      else if (r.outcome == IngestOutcome::kDuplicate)
        ++duplicates;
      else if (r.outcome == IngestOutcome::kRejected) {
        ++rejected;
        std::cerr << a.file << ":" << lines[i] << ": rejected: " << r.status.to_string() << "\n";
      }
    }
    batch.clear();
    lines.clear();
    return kExitOk;
  };
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    batch.push_back(Message{Bytes(line.begin(), line.end()), Partition{a.shard.partition}, offset,
                            received, true});
    lines.push_back(line_no);
    offset.value++;
    if (batch.size() >= a.batch)
      if (int rc = flush(); rc != kExitOk) return rc;
  }
  if (!batch.empty())
    if (int rc = flush(); rc != kExitOk) return rc;
  Head h = (*ledger)->head();
  std::cout << "appended " << accepted << ", already present " << duplicates << ", rejected "
            << rejected << "; shard " << a.shard.partition << " now holds " << h.size
            << " entries, root " << to_hex(h.root) << "\n";
  return rejected ? kExitRejected : kExitOk;
}

struct ReplayArgs {
  ShardArgs shard;
  std::string agency, type, since, until, format = "jsonl";
  std::uint64_t from = 0, to = UINT64_MAX;
};

int replay(const ReplayArgs& a) {
  auto ledger = open_shard(a.shard);
  if (!ledger) return report(ledger.status());
  std::optional<Timestamp> since, until;
  if (!a.since.empty() && !(since = parse_time(a.since)))
    return report(
        Status(Reason::kInvalidArgument, "--since must be a UTC time like 2013-07-01T00:00:00Z"));
  if (!a.until.empty() && !(until = parse_time(a.until)))
    return report(
        Status(Reason::kInvalidArgument, "--until must be a UTC time like 2013-10-01T00:00:00Z"));
  if (!a.type.empty() && !payload_for_type(a.type))
    return report(Status(Reason::kInvalidArgument, "--type '" + a.type + "' is not an event type"));
  bool table = a.format == "table";
  if (table)
    std::cout << std::left << std::setw(8) << "seq" << std::setw(22) << "issued_at" << std::setw(24)
              << "type" << std::setw(24) << "subject" << std::setw(20) << "issuer"
              << "id\n";
  Status bad;
  std::size_t shown = 0;
  Status s = (*ledger)->scan(Seq{a.from}, Seq{a.to}, [&](const Entry& entry) {
    auto e = decode_wire(entry.wire);
    if (!e) {
      bad = Status(Reason::kCorrupt, "seq " + std::to_string(entry.seq.value) +
                                         " does not decode: " + e.status().to_string());
      return false;
    }
    if (!a.agency.empty() && e->subject.value != a.agency) return true;
    if (!a.type.empty() && e->type_name() != a.type) return true;
    if (since && e->issued_at < *since) return true;
    if (until && !(e->issued_at < *until)) return true;
    ++shown;
    if (table) {
      std::cout << std::left << std::setw(8) << entry.seq.value << std::setw(22)
                << format_time(e->issued_at) << std::setw(24) << e->type_name() << std::setw(24)
                << e->subject.value << std::setw(20) << e->issuer.value << to_hex(e->id) << "\n";
    } else {
      nlohmann::json j = {{"seq", entry.seq.value},
                          {"partition", entry.partition.value},
                          {"offset", entry.offset.value},
                          {"entry_hash", to_hex(entry.entry_hash)},
                          {"event", event_to_json(*e)}};
      std::cout << j.dump() << "\n";
    }
    return true;
  });
  if (!s) return report(s);
  if (!bad) return report(bad);
  if (table) std::cout << shown << " event(s)\n";
  return kExitOk;
}

struct VerifyArgs {
  ShardArgs shard;
  bool signatures = false;
  std::string checkpoint, ledger_pub;
  bool quiet = false;
  bool projections = false;
};

int verify(const VerifyArgs& a) {
  auto ledger = open_shard(a.shard);
  if (!ledger) return report(ledger.status());
  VerifyOptions opt;
  opt.signatures = a.signatures;
  std::optional<PublicKey> pub;
  if (!a.checkpoint.empty()) {
    auto text = read_file(a.checkpoint);
    if (!text) return report(text.status());
    auto c = parse_checkpoint(*text);
    if (!c) return report(c.status());
    opt.checkpoint = *c;
    std::string pub_path = a.ledger_pub.empty() ? a.shard.data + "/ledger.pub" : a.ledger_pub;
    auto k = load_public_key(pub_path);
    if (!k) return report(k.status());
    pub = *k;
    opt.checkpoint_key = &*pub;
  }
  if (!a.quiet && isatty(2))
    opt.progress = [](std::uint64_t done, std::uint64_t total) {
      std::cerr << "\rverified " << done << " / " << total << std::flush;
      if (done == total) std::cerr << "\n";
    };
  VerifyReport r = (*ledger)->verify(opt);
  if (!r.ok) {
    std::cout << "FAILED: " << r.problem.to_string() << "\n";
    if (r.first_bad) std::cout << "first bad entry: seq " << r.first_bad->value << "\n";
    return kExitRejected;
  }
  std::string projections;
  if (a.projections) {
    auto c = check_projections(**ledger);
    if (!c) return report(c.status());
    if (!c->ok()) {
      std::cout << "FAILED: the stored projections (digest " << to_hex(c->stored)
                << ") differ from a rebuild from the log (" << to_hex(c->rebuilt)
                << "); run govcredit rebuild\n";
      return kExitRejected;
    }
    projections = "; projections equal a rebuild (digest " + to_hex(c->rebuilt) + ")";
  }
  std::cout << "ok: " << r.entries << " entries; chain head " << to_hex(r.head.chain)
            << "; Merkle root " << to_hex(r.head.root)
            << (a.signatures ? "; every signature and authorisation re-checked" : "")
            << (opt.checkpoint
                    ? "; matches checkpoint at size " + std::to_string(opt.checkpoint->size)
                    : "")
            << projections << "\n";
  return kExitOk;
}

struct RejectionsArgs {
  ShardArgs shard;
  std::uint64_t from = 0;
  std::size_t limit = 100;
};

int rejections(const RejectionsArgs& a) {
  auto ledger = open_shard(a.shard);
  if (!ledger) return report(ledger.status());
  auto journal = (*ledger)->rejections(a.from, a.limit);
  if (!journal) return report(journal.status());
  for (const Rejection& r : *journal) std::cout << to_json(r) << "\n";
  return kExitOk;
}

}  // namespace

void register_ledger_commands(CLI::App& app, Runner& run) {
  auto jp = std::make_shared<RejectionsArgs>();
  auto* j = app.add_subcommand(
      "rejections",
      "Print a shard's rejection journal (JSON lines): every rejected message with its reason "
      "code, source offset, time received and SHA-256. Rejections never enter the log.");
  add_shard_options(j, jp->shard);
  j->add_option("--from", jp->from, "first rejection number")->capture_default_str();
  j->add_option("--limit", jp->limit, "at most this many")->capture_default_str();
  j->callback([&run, jp] { run = [jp] { return rejections(*jp); }; });

  auto ap = std::make_shared<AppendArgs>();
  auto* c = app.add_subcommand(
      "append",
      "Append signed events (JSON lines, one event per line) to a shard in embedded mode. Every "
      "event is validated; rejected lines are reported with their line number and reason code "
      "and journaled. Exit 1 when any line was rejected.");
  c->add_option("file", ap->file, "JSON-lines file, - for stdin")->required();
  c->add_option("--batch", ap->batch, "events per write transaction")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  add_shard_options(c, ap->shard);
  c->callback([&run, ap] { run = [ap] { return append(*ap); }; });

  auto rp = std::make_shared<ReplayArgs>();
  auto* r = app.add_subcommand("replay",
                               "Print a shard's events in log order, filtered (auditor's view).");
  add_shard_options(r, rp->shard);
  r->add_option("--agency", rp->agency, "only events about this agency");
  r->add_option("--type", rp->type, "only events of this type, e.g. record.verified");
  r->add_option("--from", rp->from, "first seq");
  r->add_option("--to", rp->to, "stop before this seq");
  r->add_option("--since", rp->since, "only events issued at or after this UTC time");
  r->add_option("--until", rp->until, "only events issued before this UTC time");
  r->add_option("--format", rp->format, "jsonl or table")
      ->check(CLI::IsMember({"jsonl", "table"}))
      ->capture_default_str();
  r->callback([&run, rp] { run = [rp] { return replay(*rp); }; });

  auto vp = std::make_shared<VerifyArgs>();
  auto* v = app.add_subcommand(
      "verify",
      "Recompute a shard's hash chain, Merkle tree and event index from its entries and compare "
      "them with what is stored; optionally re-check every signature and a checkpoint. Names the "
      "first bad entry. Exit 1 on any fault.");
  add_shard_options(v, vp->shard);
  v->add_flag("--signatures", vp->signatures,
              "also re-verify every event against the registry as of that event");
  v->add_option("--checkpoint", vp->checkpoint,
                "a checkpoint file the log must be consistent with");
  v->add_option("--ledger-pub", vp->ledger_pub,
                "the ledger's public key for the checkpoint (default DATA/ledger.pub)");
  v->add_flag("--quiet", vp->quiet, "no progress output");
  v->add_flag("--projections", vp->projections,
              "also rebuild the projections in memory and compare them with the stored ones");
  v->callback([&run, vp] { run = [vp] { return verify(*vp); }; });
}

}  // namespace govcredit::cli
