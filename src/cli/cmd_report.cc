// govcredit report / verify-report: the periodic special report (include/govcredit/report.h),
// anchored in the ledger by a report.published event, and the proof that a file is exactly an
// anchored report.
#include <sys/stat.h>

#include <iostream>

#include "common.h"
#include "govcredit/bus.h"
#include "govcredit/codec.h"
#include "govcredit/encoding.h"
#include "govcredit/merkle.h"
#include "govcredit/report.h"

namespace govcredit::cli {
namespace {

struct ReportArgs {
  ShardArgs shard;
  std::string period, lang = "zh", out = ".", key;
  bool publish = false;
};

// Every shard under --data: through the embedded bus when it will publish (one process must not
// open an LMDB environment twice), else read-only.
struct Shards {
  std::unique_ptr<EmbeddedBus> bus;
  std::vector<std::unique_ptr<Ledger>> owned;
  std::vector<const Ledger*> list;
};

Result<Shards> open_shards(const ShardArgs& a, bool for_publishing) {
  auto parts = shard_partitions(a.data);
  if (parts.empty())
    return Status(Reason::kNotFound, "there is no shard under " + a.data + " (check --data)");
  for (std::size_t i = 0; i < parts.size(); ++i)
    if (parts[i] != static_cast<int>(i))
      return Status(Reason::kInvalidArgument,
                    "the shards under " + a.data + " are not partitions 0.." +
                        std::to_string(parts.size() - 1) + ": a report needs every partition");
  Shards s;
  if (for_publishing) {
    auto bus = EmbeddedBus::open(EmbeddedOptions{.data_dir = a.data,
                                                 .partitions = static_cast<int>(parts.size()),
                                                 .ledger = LedgerOptions{.name = a.name}});
    if (!bus) return bus.status();
    s.bus = std::move(*bus);
    for (int p : parts) s.list.push_back(&s.bus->shard(Partition{p}));
    return s;
  }
  for (int p : parts) {
    ShardArgs one = a;
    one.partition = p;
    auto l = open_shard(one);
    if (!l) return l.status();
    s.list.push_back(l->get());
    s.owned.push_back(std::move(*l));
  }
  return s;
}

int report_cmd(const ReportArgs& a) {
  auto shards = open_shards(a.shard, a.publish);
  if (!shards) return report(shards.status());
  auto rep = make_report(shards->list, ScoringRules::builtin(),
                         ReportOptions{.period = a.period, .lang = a.lang}, now());
  if (!rep) return report(rep.status());
  make_dirs(a.out);
  for (const ReportFile* f : [&] {
         std::vector<const ReportFile*> all{&rep->html};
         for (const auto& c : rep->csv) all.push_back(&c);
         return all;
       }())
    if (Status s = write_file(a.out + "/" + f->name, f->content); !s) return report(s);
  const Digest digest = sha256(rep->html.content);
  std::cout << rep->title << "\n  " << a.out << "/" << rep->html.name << "  ("
            << rep->html.content.size() << " bytes, SHA-256 " << to_hex(digest) << ")\n";
  for (const auto& c : rep->csv) std::cout << "  " << a.out << "/" << c.name << "\n";
  if (!a.publish) {
    std::cout << "not anchored (add --publish --key AUTHORITY.key to publish its hash to the "
                 "ledger)\n";
    return kExitOk;
  }
  auto key = load_private_key(a.key);
  if (!key) return report(key.status());
  auto reg = shards->list[0]->load_registry();
  if (!reg) return report(reg.status());
  const KeyInfo* k = reg->key(key->key_id());
  if (!k)
    return report(Status(Reason::kKeyUnknown, "the key " + a.key + " (" + key->key_id().value +
                                                  ") is not registered in the ledger"));
  Event e;
  random_bytes(e.id.bytes);
  e.subject = system_subject();
  e.issuer = k->principal;
  e.issued_at = now();
  e.payload = ReportPublished{rep->period, rep->title, digest,
                              static_cast<std::int64_t>(rep->html.content.size()), rep->html.name};
  sign_event(e, *key);
  auto results = shards->bus->publish_all_with_results({e});
  if (results.empty() || !results[0]) return report(results[0].status());
  for (const IngestResult& r : *results[0]) {
    if (r.outcome == IngestOutcome::kRejected) return report(r.status);
    std::cout << "anchored: report.published " << to_hex(e.id.view()) << " at seq " << r.seq.value
              << "\n";
  }
  return kExitOk;
}

struct VerifyReportArgs {
  ShardArgs shard;
  std::string file;
};

int verify_report_cmd(const VerifyReportArgs& a) {
  auto content = read_file(a.file);
  if (!content) return report(content.status());
  auto shards = open_shards(a.shard, false);
  if (!shards) return report(shards.status());
  const Digest digest = sha256(*content);
  auto found = find_anchored_reports(shards->list, digest);
  if (!found) return report(found.status());
  if (found->empty()) {
    std::cout << "NOT ANCHORED: no report.published event in the ledger has SHA-256 "
              << to_hex(digest) << " (" << content->size() << " bytes): the file is not an "
              << "anchored report, or it was changed\n";
    return kExitRejected;
  }
  for (const AnchoredReport& r : *found) {
    const Ledger& l = *shards->list[static_cast<std::size_t>(r.partition)];
    // The anchoring entry is in the log: its inclusion proof against the current root.
    const std::uint64_t size = l.head().size;
    auto proof = l.inclusion_proof(r.seq, size);
    if (!proof) return report(proof.status());
    auto root = l.root_at(size);
    if (!root) return report(root.status());
    bool included = merkle::verify_inclusion(merkle::leaf_hash(proof->leaf_data), r.seq.value, size,
                                             proof->path, *root);
    if (!included) {
      std::cout << "FAILED: the anchoring entry's inclusion proof does not verify\n";
      return kExitRejected;
    }
    // And the content is what the ledger says: regenerate it and compare.
    bool reproduced = false;
    for (const char* lang : {"zh", "en"}) {
      auto again = make_report(shards->list, ScoringRules::builtin(),
                               ReportOptions{.period = r.period, .lang = lang}, now());
      if (again && again->html.content == *content) reproduced = true;
    }
    std::cout << (reproduced ? ""
                             : "warning: regenerating the report from this ledger does not "
                               "give the same bytes (events issued in the period arrived "
                               "after it was published, or other scoring rules)\n");
    std::cout << "ok: " << a.file << " is the report " << r.period << " (" << r.title
              << "), anchored at partition " << r.partition << " seq " << r.seq.value << " on "
              << format_time(r.published_at) << "; inclusion proof verified against tree size "
              << size << " root " << to_hex(*root)
              << (reproduced ? "; regenerated from the ledger byte for byte" : "") << "\n";
  }
  return kExitOk;
}

}  // namespace

void register_report_commands(CLI::App& app, Runner& run) {
  auto a = std::make_shared<ReportArgs>();
  auto* c = app.add_subcommand(
      "report",
      "Write the periodic special report (信用信息专报) for a year, quarter or month: one "
      "self-contained HTML file with SVG charts plus CSV tables; --publish anchors the HTML's "
      "SHA-256 in the ledger with a report.published event.");
  add_shard_options(c, a->shard);
  c->add_option("--period", a->period, "2013, 2013-Q3 or 2013-08 (ended periods only)")->required();
  c->add_option("--lang", a->lang, "zh or en")
      ->capture_default_str()
      ->check(CLI::IsMember({"zh", "en"}));
  c->add_option("--out", a->out, "directory to write into")->capture_default_str();
  c->add_flag("--publish", a->publish, "anchor the report in the ledger (needs --key)");
  c->add_option("--key", a->key, "the authority's private key (PEM) that signs the anchor");
  c->callback([&run, a, c] {
    if (a->publish && a->key.empty())
      throw CLI::ValidationError("--publish", "needs --key (the authority's private key)");
    (void)c;
    run = [a] { return report_cmd(*a); };
  });

  auto v = std::make_shared<VerifyReportArgs>();
  auto* vc = app.add_subcommand(
      "verify-report",
      "Prove that FILE is exactly a report anchored in the ledger: its SHA-256 is in a "
      "report.published event, whose entry's inclusion proof verifies. Exit 1 if not.");
  add_shard_options(vc, v->shard);
  vc->add_option("file", v->file, "the report's HTML file")->required();
  vc->callback([&run, v] { run = [v] { return verify_report_cmd(*v); }; });
}

}  // namespace govcredit::cli
