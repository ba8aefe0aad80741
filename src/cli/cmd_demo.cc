// govcredit demo: builds the synthetic data set, ingests it into an embedded shard, signs a
// checkpoint and verifies everything, printing a summary.
#include <sys/stat.h>

#include <chrono>
#include <iomanip>
#include <iostream>
#include <map>

#include <nlohmann/json.hpp>

#include "common.h"
#include "govcredit/bus.h"
#include "govcredit/codec.h"
#include "govcredit/demo.h"
#include "govcredit/encoding.h"
#include "govcredit/kafka.h"
#include "govcredit/privacy.h"
#include "govcredit/projections.h"
#include "govcredit/scoring.h"
#include "govcredit/views.h"

namespace govcredit::cli {
namespace {

struct DemoArgs {
  ShardArgs shard;
  int records = 300;
  int partitions = 1;
  std::uint64_t seed = 2013;
};

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

int run_demo(const DemoArgs& a) {
  auto t0 = std::chrono::steady_clock::now();
  demo::World world = demo::generate(demo::Options{.seed = a.seed, .records = a.records});
  std::cout << "generated " << world.events.size() << " signed events (seed " << a.seed << ", "
            << a.records << " records) in " << std::fixed << std::setprecision(2)
            << seconds_since(t0) << " s\n";

  make_dirs(a.shard.data);
  make_dirs((a.shard.data + "/keys"));
  std::string jsonl;
  for (const auto& e : world.events) jsonl += event_to_json_text(e) + "\n";
  if (Status s = write_file(a.shard.data + "/demo-events.jsonl", jsonl); !s) return report(s);
  for (const auto& [principal, key] : world.keys)
    if (Status s = write_file(a.shard.data + "/keys/" + principal.value + ".pub",
                              key.public_key().to_pem());
        !s)
      return report(s);

  // The demo's sign-in identities and the complaint channel's key, for `govcredit serve`. These
  // are the demo's public test keys (derived from fixed seeds in the source): demo data only.
  {
    // The key a principal signs with now (a rotated key replaced the first one in world.keys).
    auto current_key = [&](const PrincipalId& p) {
      auto it = world.keys.find(p);
      return it != world.keys.end() ? it->second : demo::key_for(p);
    };
    nlohmann::json ids = nlohmann::json::array();
    auto add = [&](const std::string& principal, const std::string& role, const std::string& zh,
                   const std::string& en) {
      ids.push_back({{"principal", principal},
                     {"role", role},
                     {"name_zh", zh},
                     {"name_en", en},
                     {"private_key_pem", current_key(PrincipalId(principal)).to_pem()}});
    };
    add("auditor", "auditor", "外部审计员", "External auditor");
    add("authority", "authority", "市监察局", "Supervision bureau");
    add("ag.sh.city.housing", "agency", "市住房保障和房屋管理局", "City housing bureau");
    add("src.audit", "source", "市审计局", "City audit office");
    if (Status s = write_file(a.shard.data + "/demo-identities.json", ids.dump(2) + "\n", true); !s)
      return report(s);
    if (Status s = write_file(a.shard.data + "/keys/complaints.key",
                              current_key(demo::kComplaintChannel).to_pem(), true);
        !s)
      return report(s);
  }

  auto bus = EmbeddedBus::open(EmbeddedOptions{.data_dir = a.shard.data,
                                               .partitions = a.partitions,
                                               .ledger = LedgerOptions{.name = a.shard.name}});
  if (!bus) return report(bus.status());
  auto t1 = std::chrono::steady_clock::now();
  std::size_t accepted = 0, duplicates = 0, rejected = 0;
  for (const auto& r : (*bus)->publish_all_with_results(world.events)) {
    if (!r) return report(r.status());
    for (const auto& x : *r) {
      accepted += x.outcome == IngestOutcome::kAccepted;
      duplicates += x.outcome == IngestOutcome::kDuplicate;
      if (x.outcome == IngestOutcome::kRejected) {
        ++rejected;
        std::cerr << "rejected at offset " << x.offset.value << ": " << x.status.to_string()
                  << "\n";
      }
    }
  }
  double ingest_s = seconds_since(t1);
  std::cout << "ingested through the embedded bus into " << a.partitions << " shard(s) under "
            << a.shard.data << ": " << accepted << " appended, " << duplicates
            << " already present (the demo is idempotent: a rerun appends nothing), " << rejected
            << " rejected, in " << ingest_s << " s\n";

  {
    // The complaint channel keeps each complaint's data key in its vault, outside the log.
    auto vault = KeyVault::open(a.shard.data + "/vault");
    if (!vault) return report(vault.status());
    for (const auto& [id, key] : world.contact_keys)
      if (Status s = (*vault)->put(id, key); !s) return report(s);
    std::cout << "sealed the contact details of " << world.contact_keys.size()
              << " complaints (AES-256-GCM); their data keys are in " << a.shard.data
              << "/vault, outside the log\n";
  }

  std::map<std::string_view, int> by_type;
  for (const auto& e : world.events) by_type[e.type_name()]++;
  std::cout << "\nevents by type:\n";
  for (const auto& [type, n] : by_type)
    std::cout << "  " << std::left << std::setw(24) << type << n << "\n";
  auto reg = (*bus)->shard(Partition{0}).load_registry();
  if (!reg) return report(reg.status());
  std::cout << "registry: " << reg->agencies().size() << " agencies, " << reg->principals().size()
            << " principals, " << reg->keys().size() << " keys\n\n";

  auto key = ledger_key(a.shard);
  if (!key) return report(key.status());
  auto pub = key->public_key();
  for (int p = 0; p < a.partitions; ++p) {
    Ledger& ledger = (*bus)->shard(Partition{p});
    auto cp = ledger.make_checkpoint(*key, now());
    if (!cp) return report(cp.status());
    std::cout << "checkpoint of shard " << p << " (signed by " << a.shard.data << "/ledger.key):\n"
              << cp->text << "\n";
    auto t2 = std::chrono::steady_clock::now();
    VerifyOptions vo;
    vo.signatures = true;
    vo.checkpoint = *cp;
    vo.checkpoint_key = &pub;
    VerifyReport v = ledger.verify(vo);
    if (!v.ok) {
      std::cout << "verification FAILED: " << v.problem.to_string() << "\n";
      return kExitRejected;
    }
    std::cout
        << "verified shard " << p << ": " << v.entries << " entries from scratch in "
        << seconds_since(t2)
        << " s: hash chain, Merkle tree, event index, every signature and authorisation, and the "
           "checkpoint all hold.\n"
        << "chain head  " << to_hex(v.head.chain) << "\nMerkle root " << to_hex(v.head.root)
        << "\n\n";
  }
  // The bureau's view: the best and worst agencies at the end of the data set.
  std::vector<Scored> scored;
  for (int p = 0; p < a.partitions; ++p) {
    auto all = all_agencies((*bus)->shard(Partition{p}));
    if (!all) return report(all.status());
    for (auto& ag : *all)
      if (partition_for_key(ag.info.id.value, a.partitions) == p) {
        Score sc = score(ag, world.events.back().issued_at, ScoringRules::builtin(), false);
        scored.push_back(Scored{std::move(ag), std::move(sc)});
      }
  }
  auto r = ranked(std::move(scored));
  std::cout << "annual evaluation as of " << format_time(world.events.back().issued_at) << " ("
            << r.size() << " agencies):\n";
  for (std::size_t i = 0; i < r.size(); ++i) {
    if (i == 3 && r.size() > 6) {
      std::cout << "   …\n";
      i = r.size() - 3;
    }
    std::cout << "  " << std::right << std::setw(3) << i + 1 << ". " << std::fixed
              << std::setprecision(2) << r[i].score.value << " " << r[i].score.band << "  "
              << r[i].agency.info.name_zh << " (" << r[i].agency.info.id.value << ")\n";
  }
  std::cout << "\n";
  std::cout << "next: govcredit replay --data " << a.shard.data << " --format table | head\n"
            << "      govcredit status --data " << a.shard.data << " --agency "
            << r.back().agency.info.id.value << "\n"
            << "      govcredit explain --data " << a.shard.data << " --agency "
            << r.back().agency.info.id.value << " --as-of 2012-12-31\n"
            << "      govcredit ranking --data " << a.shard.data << "; govcredit rollup --data "
            << a.shard.data << "\n"
            << "      govcredit proof inclusion --data " << a.shard.data << " --seq 0\n"
            << "      govcredit verify --data " << a.shard.data << " --signatures\n";
  return rejected ? kExitRejected : kExitOk;
}

}  // namespace

void register_demo(CLI::App& app, Runner& run) {
  auto a = std::make_shared<DemoArgs>();
  auto* cmd = app.add_subcommand(
      "demo",
      "Generate the synthetic Shanghai data set (fixed seed: same events on every machine), "
      "ingest it into an embedded shard, sign a checkpoint and verify everything.");
  add_shard_options(cmd, a->shard);
  cmd->add_option("--records", a->records, "records the sources submit")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000000));
  cmd->add_option("--seed", a->seed, "generator seed")->capture_default_str();
  cmd->add_option("--partitions", a->partitions, "embedded bus partitions (one shard each)")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  cmd->callback([&run, a] { run = [a] { return run_demo(*a); }; });
}

}  // namespace govcredit::cli
