// govcredit append | replay | verify: the ledger in embedded mode, for operators and auditors.
#include <unistd.h>

#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common.h"
#include "govcredit/codec.h"
#include "govcredit/encoding.h"
#include "govcredit/http_client.h"
#include "govcredit/ingest.h"
#include "govcredit/merkle.h"
#include "govcredit/projections.h"
#include "govcredit/scoring.h"
#include "govcredit/views.h"

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
  bool partition_given = false;
  std::string agency, type, since, until, as_of, format = "jsonl";
  std::uint64_t from = 0, to = UINT64_MAX;
};

// What the system showed at --as-of about the agency: its status then (rebuilt from the events
// issued up to that time) and the newest signed checkpoint made by then.
int replay_state(const ReplayArgs& a, const Ledger& ledger, Timestamp t, bool table) {
  auto st = agency_state_as_of(ledger, AgencyId(a.agency), t);
  if (!st) return report(st.status());
  Score s = score(*st, t, ScoringRules::builtin(), false);
  nlohmann::json status = agency_status_json(*st, s, t);
  auto cps = ledger.checkpoints();
  if (!cps) return report(cps.status());
  const Checkpoint* then = nullptr;
  for (const Checkpoint& c : *cps)
    if (!(t < c.time) && (then == nullptr || then->size < c.size)) then = &c;
  nlohmann::json checkpoint = nullptr;
  if (then)
    checkpoint = {
        {"size", then->size}, {"root", to_hex(then->root)}, {"time", format_time(then->time)}};
  if (!table) {
    std::cout << nlohmann::json{{"as_of", format_time(t)},
                                {"agency", a.agency},
                                {"status", status},
                                {"checkpoint", checkpoint}}
                     .dump()
              << "\n";
    return kExitOk;
  }
  std::cout << "\n"
            << st->info.name_zh << " (" << a.agency << ") as of " << format_time(t) << ": score "
            << status["score"] << ", band " << status["band"].get<std::string>() << "\n  records:";
  for (auto& [phase, n] : status["records"].items()) std::cout << " " << phase << " " << n;
  std::cout << "\n  complaints:";
  for (auto& [phase, n] : status["complaints"].items()) std::cout << " " << phase << " " << n;
  std::cout << "\n  recommendations: " << status["recommendations"]["open"] << " open, "
            << status["overdue"].size() << " overdue\n";
  if (then)
    std::cout << "  the ledger's newest checkpoint then: size " << then->size << ", root "
              << to_hex(then->root) << ", signed " << format_time(then->time) << "\n";
  else
    std::cout << "  no checkpoint had been signed by then\n";
  return kExitOk;
}

int replay(const ReplayArgs& ra) {
  ReplayArgs a = ra;
  if (!a.partition_given && !a.agency.empty())
    a.shard.partition = agency_partition(a.shard.data, a.agency, a.shard.partition);
  auto ledger = open_shard(a.shard);
  if (!ledger) return report(ledger.status());
  std::optional<Timestamp> since, until, as_of;
  if (!a.as_of.empty()) {
    auto t = as_of_time(a.as_of);
    if (!t) return report(t.status());
    as_of = *t;
  }
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
  // The chain hash through each entry, hashed on from the one before the first (JSON only).
  Digest chain{};
  if (!table && a.from > 0 && a.from <= (*ledger)->head().size) {
    auto before = (*ledger)->entry_hash(Seq{a.from - 1});
    if (!before) return report(before.status());
    chain = *before;
  }
  Status s = (*ledger)->scan(Seq{a.from}, Seq{a.to}, [&](const Entry& entry) {
    if (!table) chain = next_entry_hash(chain, entry);
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
    if (as_of && *as_of < e->issued_at) return true;
    ++shown;
    if (table) {
      std::cout << std::left << std::setw(8) << entry.seq.value << std::setw(22)
                << format_time(e->issued_at) << std::setw(24) << e->type_name() << std::setw(24)
                << e->subject.value << std::setw(20) << e->issuer.value << to_hex(e->id) << "\n";
    } else {
      nlohmann::json j = {{"seq", entry.seq.value},
                          {"partition", entry.partition.value},
                          {"offset", entry.offset.value},
                          {"entry_hash", to_hex(chain)},
                          {"event", event_to_json(*e)}};
      std::cout << j.dump() << "\n";
    }
    return true;
  });
  if (!s) return report(s);
  if (!bad) return report(bad);
  if (table) std::cout << shown << " event(s)\n";
  if (as_of && !a.agency.empty()) return replay_state(a, **ledger, *as_of, table);
  return kExitOk;
}

struct VerifyArgs {
  ShardArgs shard;
  bool signatures = false;
  std::string checkpoint, ledger_pub, key, ca_file;
  bool quiet = false;
  bool projections = false;
};

// Anything with a scheme is taken for a URL (and refused unless http or https).
bool is_url(const std::string& s) {
  return s.find("://") != std::string::npos;
}

// GET url (signed with --key when given) and parse the JSON answer; a refusal becomes the
// server's own {code, message}.
Result<nlohmann::json> get_json(const http::Url& url, const VerifyArgs& a,
                                const std::optional<PrivateKey>& key) {
  http::FetchOptions o;
  o.key = key ? &*key : nullptr;
  o.ca_file = a.ca_file;
  auto r = http::fetch(url, o);
  if (!r) return r.status();
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (r->status != 200) {
    std::string why = j.is_object() && j.contains("message") && j["message"].is_string()
                          ? j["message"].get<std::string>()
                          : r->body.substr(0, 200);
    if (r->status == 401 && !key) why += " (sign the request with --key)";
    return Status(Reason::kUnavailable, url.host + " answered " + std::to_string(r->status) +
                                            " for " + url.target + ": " + why);
  }
  if (!j.is_object())
    return Status(Reason::kCorrupt, url.host + " did not answer JSON for " + url.target);
  return j;
}

// The checkpoint --checkpoint names: a file, or a server's latest (a base URL means
// /v1/checkpoints/latest for this partition).
struct FetchedCheckpoint {
  Checkpoint checkpoint;
  std::optional<http::Url> server;  // where it came from, to ask for a consistency proof
};

Result<FetchedCheckpoint> load_checkpoint(const VerifyArgs& a,
                                          const std::optional<PrivateKey>& key) {
  if (!is_url(a.checkpoint)) {
    auto text = read_file(a.checkpoint);
    if (!text) return text.status();
    auto c = parse_checkpoint(*text);
    if (!c) return c.status();
    return FetchedCheckpoint{*c, std::nullopt};
  }
  auto url = http::parse_url(a.checkpoint);
  if (!url) return url.status();
  if (url->target == "/")
    url->target = "/v1/checkpoints/latest?partition=" + std::to_string(a.shard.partition);
  auto j = get_json(*url, a, key);
  if (!j) return j.status();
  if (!j->contains("note") || !(*j)["note"].is_string())
    return Status(Reason::kCorrupt, "the server's answer carries no checkpoint note");
  // Only the note counts: the server's other fields (its public key included) are not trusted.
  auto c = parse_checkpoint((*j)["note"].get<std::string>());
  if (!c) return c.status();
  return FetchedCheckpoint{*c, *url};
}

int verify(const VerifyArgs& a) {
  auto ledger = open_shard(a.shard);
  if (!ledger) return report(ledger.status());
  VerifyOptions opt;
  opt.signatures = a.signatures;
  std::optional<PrivateKey> key;
  std::optional<FetchedCheckpoint> fetched;
  if (!a.key.empty()) {
    auto k = load_private_key(a.key);
    if (!k) return report(k.status());
    key = std::move(*k);
  }
  if (!a.checkpoint.empty()) {
    std::string pub_path = a.ledger_pub.empty() ? a.shard.data + "/ledger.pub" : a.ledger_pub;
    auto pub = load_public_key(pub_path);
    if (!pub) return report(pub.status());
    auto c = load_checkpoint(a, key);
    if (!c) return report(c.status());
    fetched = std::move(*c);
    // The signature is checked here, once, before any work on the log.
    if (Status s = verify_checkpoint(fetched->checkpoint, *pub); !s) {
      std::cout << "FAILED: " << s.to_string() << "\n";
      return kExitRejected;
    }
    // A checkpoint beyond the local log is checked below with the server's consistency proof.
    if (fetched->checkpoint.size <= (*ledger)->head().size || !fetched->server) {
      opt.checkpoint = fetched->checkpoint;
    }
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
  std::string against;
  if (opt.checkpoint) {
    against = "; matches the checkpoint at size " + std::to_string(opt.checkpoint->size) +
              (fetched->server ? " from " + fetched->server->host : "");
  } else if (fetched) {
    // The server is ahead: its tree must extend this log's (RFC 9162 §2.1.4).
    const Checkpoint& c = fetched->checkpoint;
    http::Url u = *fetched->server;
    u.target = "/v1/proofs/consistency?partition=" + std::to_string(a.shard.partition) +
               "&from=" + std::to_string(r.entries) + "&to=" + std::to_string(c.size);
    auto j = get_json(u, a, key);
    if (!j) return report(j.status());
    auto path = j->contains("path") ? digests((*j)["path"])
                                    : Result<std::vector<Digest>>(Status(
                                          Reason::kCorrupt, "the consistency proof has no path"));
    if (!path) return report(path.status());
    if (!merkle::verify_consistency(r.entries, c.size, r.head.root, c.root, *path)) {
      std::cout << "FAILED: the server's signed tree of size " << c.size
                << " does not extend this log of " << r.entries
                << " entries: one of the two histories was rewritten\n";
      return kExitRejected;
    }
    against = "; a prefix of the checkpoint at size " + std::to_string(c.size) + " from " + u.host +
              " (consistency proof verified)";
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
            << (a.signatures ? "; every signature and authorisation re-checked" : "") << against
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
  auto* r = app.add_subcommand(
      "replay",
      "Print a shard's events in log order, filtered (auditor's view). With --agency the shard "
      "is the agency's unless --partition says otherwise.");
  add_shard_options(r, rp->shard);
  r->add_option("--agency", rp->agency, "only events about this agency");
  r->add_option("--type", rp->type, "only events of this type, e.g. record.verified");
  r->add_option("--from", rp->from, "first seq");
  r->add_option("--to", rp->to, "stop before this seq");
  r->add_option("--since", rp->since, "only events issued at or after this UTC time");
  r->add_option("--until", rp->until, "only events issued before this UTC time");
  r->add_option("--as-of", rp->as_of,
                "what the system showed at this time (RFC 3339, or a date = the end of that day, "
                "Shanghai time): the events issued by then, and with --agency a last line with "
                "the agency's status then and the newest checkpoint signed by then");
  r->add_option("--format", rp->format, "jsonl or table")
      ->check(CLI::IsMember({"jsonl", "table"}))
      ->capture_default_str();
  r->callback([&run, rp, r] {
    rp->partition_given = r->count("--partition") > 0;
    run = [rp] { return replay(*rp); };
  });

  auto vp = std::make_shared<VerifyArgs>();
  auto* v = app.add_subcommand(
      "verify",
      "Recompute a shard's hash chain, Merkle tree and event index from its entries and compare "
      "them with what is stored; optionally re-check every signature and a checkpoint. Names the "
      "first bad entry (an entry whose bytes changed by its group of eight, whose Merkle node no "
      "longer matches; with --signatures by its own failing signature). Exit 1 on any fault.");
  add_shard_options(v, vp->shard);
  v->add_flag("--signatures", vp->signatures,
              "also re-verify every event against the registry as of that event");
  v->add_option("--checkpoint", vp->checkpoint,
                "a checkpoint the log must agree with: a file, or a server's URL "
                "(https://host:port fetches its latest checkpoint for --partition; when the "
                "server is ahead, its consistency proof must show it extends this log)");
  v->add_option("--ledger-pub", vp->ledger_pub,
                "the ledger's public key for the checkpoint (default DATA/ledger.pub); the key a "
                "server sends along is never used");
  v->add_option("--key", vp->key,
                "sign the requests to the server with this principal's key (PEM), e.g. an "
                "auditor's");
  v->add_option("--ca-file", vp->ca_file,
                "trust this certificate (PEM) for an https:// server (default: the system's)");
  v->add_flag("--quiet", vp->quiet, "no progress output");
  v->add_flag("--projections", vp->projections,
              "also rebuild the projections in memory and compare them with the stored ones");
  v->callback([&run, vp] { run = [vp] { return verify(*vp); }; });
}

}  // namespace govcredit::cli
