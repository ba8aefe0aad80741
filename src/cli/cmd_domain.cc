// The bureau's views of the projections: status, explain, trail, lifecycle, ranking, rollup;
// and their upkeep: rebuild; and the complaint channel's privacy tools: contact, erase.
#include <dirent.h>
#include <unistd.h>

#include <iomanip>
#include <iostream>
#include <tuple>

#include "common.h"
#include "govcredit/codec.h"
#include "govcredit/encoding.h"
#include "govcredit/kafka.h"
#include "govcredit/privacy.h"
#include "govcredit/projections.h"
#include "govcredit/scoring.h"
#include "govcredit/views.h"

namespace govcredit::cli {
namespace {

using nlohmann::json;

struct DomainArgs {
  ShardArgs shard;
  bool partition_given = false;
  std::string agency, as_of, scoring, format = "text";
};

Result<ScoringRules> scoring_rules(const std::string& path) {
  if (path.empty()) return ScoringRules::builtin();
  return ScoringRules::load(path);
}

// The shard holding the agency: --partition when given, else where the Kafka partitioner puts it
// among the shards present.
Result<std::unique_ptr<Ledger>> agency_shard(DomainArgs a) {
  if (!a.partition_given && !a.agency.empty())
    a.shard.partition = agency_partition(a.shard.data, a.agency, a.shard.partition);
  return open_shard(a.shard);
}

void add_common(CLI::App* cmd, DomainArgs& a, bool agency_required) {
  add_shard_options(cmd, a.shard);
  auto* ag = cmd->add_option("--agency", a.agency, "agency id, e.g. sh.city.finance");
  if (agency_required) ag->required();
  cmd->add_option("--as-of", a.as_of,
                  "a time (RFC 3339) or a date (2013-12-31 = end of that day, Shanghai time); "
                  "default now");
  cmd->add_option("--scoring", a.scoring,
                  "scoring rules (TOML); default config/scoring.toml as built in");
  cmd->add_option("--format", a.format, "text or json")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json"}));
}

Result<std::pair<AgencyState, Timestamp>> load_status(const DomainArgs& a) {
  auto t = as_of_time(a.as_of);
  if (!t) return t.status();
  auto ledger = agency_shard(a);
  if (!ledger) return ledger.status();
  auto st = a.as_of.empty() ? agency_state(**ledger, AgencyId(a.agency))
                            : agency_state_as_of(**ledger, AgencyId(a.agency), *t);
  if (!st) return st.status();
  return std::make_pair(std::move(*st), *t);
}

int status_cmd(const DomainArgs& a) {
  auto rules = scoring_rules(a.scoring);
  if (!rules) return report(rules.status());
  auto st = load_status(a);
  if (!st) return report(st.status());
  const auto& [agency, t] = *st;
  Score s = score(agency, t, *rules, false);
  json j = agency_status_json(agency, s, t);
  if (a.format == "json") {
    std::cout << j.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << agency.info.name_zh << "（" << agency.info.id.value << "，" << agency.info.name_en
            << "）\n"
            << "  as of " << format_time(t) << ": score " << std::fixed << std::setprecision(2)
            << s.value << ", band " << s.band << " (rules " << s.version << ")\n"
            << "  records: ";
  for (auto& [phase, n] : j["records"].items()) std::cout << phase << " " << n << "  ";
  std::cout << "\n  complaints: ";
  for (auto& [phase, n] : j["complaints"].items()) std::cout << phase << " " << n << "  ";
  std::cout << "\n  recommendations: " << j["recommendations"]["issued"] << " issued, "
            << j["recommendations"]["open"] << " open, " << j["overdue"].size() << " overdue\n";
  for (const auto& o : j["overdue"])
    std::cout << "    overdue " << o["recommendation"].get<std::string>() << " (seq " << o["seq"]
              << "), deadline " << o["deadline"].get<std::string>() << ", " << o["days_overdue"]
              << " days\n";
  std::cout << "  compensation: " << agency.compensations << " payments, "
            << agency.compensation_fen / 100 << "." << std::setw(2) << std::setfill('0')
            << agency.compensation_fen % 100 << std::setfill(' ') << " yuan\n";
  return kExitOk;
}

int explain_cmd(const DomainArgs& a) {
  auto rules = scoring_rules(a.scoring);
  if (!rules) return report(rules.status());
  auto st = load_status(a);
  if (!st) return report(st.status());
  Score s = score(st->first, st->second, *rules);
  if (a.format == "json") {
    std::cout << score_json(s).dump(2) << "\n";
    return kExitOk;
  }
  std::cout << st->first.info.name_zh << " (" << a.agency << ") as of " << format_time(s.as_of)
            << ", rules " << s.version << ":\n";
  for (const auto& c : s.lines)
    std::cout << "  " << std::setw(8) << std::fixed << std::setprecision(2) << std::showpos
              << c.points << std::noshowpos << "  "
              << (c.seq ? "seq " + std::to_string(c.seq->value) : std::string("       ")) << "  "
              << c.what << "\n";
  std::cout << "  = " << std::fixed << std::setprecision(2) << s.value << " (band " << s.band
            << ")\n  (fetch any line's proof: govcredit proof inclusion --seq N)\n";
  return kExitOk;
}

// Every agency of every shard (each agency lives in exactly one), scored as of t.
Result<std::vector<Scored>> everyone(const DomainArgs& a, Timestamp t, const ScoringRules& rules) {
  std::vector<Scored> out;
  auto parts = shard_partitions(a.shard.data);
  if (parts.empty())
    return Status(Reason::kNotFound, "no shards under " + a.shard.data + " (check --data)");
  for (int p : parts) {
    ShardArgs sa = a.shard;
    sa.partition = p;
    auto ledger = open_shard(sa);
    if (!ledger) return ledger.status();
    auto all = all_agencies(**ledger);
    if (!all) return all.status();
    for (auto& ag : *all) {
      // Registry events reach every shard; an agency's own events only its partition's.
      if (partition_for_key(ag.info.id.value, static_cast<int>(parts.size())) != p) continue;
      if (!a.as_of.empty()) {
        auto past = agency_state_as_of(**ledger, ag.info.id, t);
        if (!past) continue;  // not registered yet at t
        ag = std::move(*past);
      }
      Score s = score(ag, t, rules, false);
      out.push_back(Scored{std::move(ag), std::move(s)});
    }
  }
  return out;
}

int ranking_cmd(const DomainArgs& a, const std::string& level) {
  auto t = as_of_time(a.as_of);
  if (!t) return report(t.status());
  auto rules = scoring_rules(a.scoring);
  if (!rules) return report(rules.status());
  auto all = everyone(a, *t, *rules);
  if (!all) return report(all.status());
  std::vector<Scored> picked;
  for (auto& s : *all)
    if (level.empty() || enum_name(s.agency.info.level) == level) picked.push_back(std::move(s));
  auto r = ranked(std::move(picked));
  if (a.format == "json") {
    json out = json::array();
    int rank = 0;
    for (const auto& s : r)
      out.push_back({{"rank", ++rank},
                     {"agency", s.agency.info.id.value},
                     {"name_zh", s.agency.info.name_zh},
                     {"score", s.score.value},
                     {"band", s.score.band}});
    std::cout << json{{"as_of", format_time(*t)}, {"ranking", out}}.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << "ranking as of " << format_time(*t) << " (rules " << rules->at(*t).id << ")\n";
  int rank = 0;
  for (const auto& s : r)
    std::cout << std::setw(4) << ++rank << "  " << std::fixed << std::setprecision(2)
              << std::setw(6) << s.score.value << "  " << s.score.band << "  "
              << s.agency.info.name_zh << " (" << s.agency.info.id.value << ")\n";
  return kExitOk;
}

int rollup_cmd(const DomainArgs& a) {
  auto t = as_of_time(a.as_of);
  if (!t) return report(t.status());
  auto rules = scoring_rules(a.scoring);
  if (!rules) return report(rules.status());
  auto all = everyone(a, *t, *rules);
  if (!all) return report(all.status());
  json j = rollup_json(*all, *t);
  if (a.format == "json") {
    std::cout << j.dump(2) << "\n";
    return kExitOk;
  }
  auto row = [](const std::string& name, const json& x) {
    std::cout << "  " << name << ": " << x["agencies"] << " agencies, average score "
              << x["average_score"] << ", confirmed records " << x["records"]["confirmed"]
              << ", complaints " << x["complaints"] << ", overdue recommendations "
              << x["overdue_recommendations"] << "\n";
  };
  std::cout << "as of " << j["as_of"].get<std::string>() << "\n";
  row("全市 city", j["city"]);
  for (auto& [name, x] : j["districts"].items()) row(name, x);
  return kExitOk;
}

struct TrailArgs {
  DomainArgs d;
  std::string principal;
  std::uint64_t from = 0;
  std::size_t limit = 100;
};

int trail_cmd(const TrailArgs& a) {
  if (a.d.agency.empty() == a.principal.empty())
    return report(Status(Reason::kInvalidArgument, "give exactly one of --agency and --principal"));
  auto ledger = a.principal.empty() ? agency_shard(a.d) : open_shard(a.d.shard);
  if (!ledger) return report(ledger.status());
  auto lines = a.principal.empty()
                   ? trail(**ledger, TrailKind::kAgency, a.d.agency, Seq{a.from}, a.limit)
                   : trail(**ledger, TrailKind::kPrincipal, a.principal, Seq{a.from}, a.limit);
  if (!lines) return report(lines.status());
  for (const Line& l : *lines) {
    if (a.d.format == "json") {
      std::cout << line_json(l).dump() << "\n";
      continue;
    }
    std::cout << std::setw(8) << l.seq.value << "  " << format_time(l.at) << "  "
              << event_type_from_code(l.type) << "\n";
  }
  return kExitOk;
}

struct LifecycleArgs {
  DomainArgs d;
  std::string record, complaint, receipt, recommendation;
};

int lifecycle_cmd(const LifecycleArgs& a) {
  int given =
      !a.record.empty() + !a.complaint.empty() + !a.receipt.empty() + !a.recommendation.empty();
  if (given != 1)
    return report(Status(Reason::kInvalidArgument,
                         "give exactly one of --record, --complaint, --receipt, --recommendation"));
  auto t = as_of_time(a.d.as_of);
  if (!t) return report(t.status());
  auto ledger = agency_shard(a.d);
  if (!ledger) return report(ledger.status());
  json j;
  if (!a.record.empty()) {
    auto id = event_id_from_hex(a.record, "--record");
    if (!id) return report(id.status());
    auto r = record_view(**ledger, *id);
    if (!r) return report(r.status());
    j = std::move(*r);
  } else if (!a.recommendation.empty()) {
    auto id = event_id_from_hex(a.recommendation, "--recommendation");
    if (!id) return report(id.status());
    auto r = recommendation_view(**ledger, *id, *t);
    if (!r) return report(r.status());
    j = std::move(*r);
  } else {
    EventId id;
    if (!a.receipt.empty()) {
      auto c = complaint_by_receipt(**ledger, a.receipt, &id);
      if (!c) return report(c.status());
    } else {
      auto parsed = event_id_from_hex(a.complaint, "--complaint");
      if (!parsed) return report(parsed.status());
      id = *parsed;
    }
    auto c = complaint_view(**ledger, id);
    if (!c) return report(c.status());
    j = std::move(*c);
  }
  std::cout << j.dump(a.d.format == "json" ? 2 : 1) << "\n";
  return kExitOk;
}

int rebuild_cmd(const DomainArgs& a) {
  std::vector<int> parts;
  if (a.partition_given)
    parts.push_back(a.shard.partition);
  else
    parts = shard_partitions(a.shard.data);
  if (parts.empty()) return report(Status(Reason::kNotFound, "no shards under " + a.shard.data));
  for (int p : parts) {
    ShardArgs sa = a.shard;
    sa.partition = p;
    auto ledger = open_shard(sa);
    if (!ledger) return report(ledger.status());
    // The last shard's state is left to the process's exit, which comes right after: freeing
    // it would walk every block (RebuildOptions::free_state).
    const RebuildOptions options{.free_state = p != parts.back()};
    auto r = rebuild_projections(
        **ledger,
        [](std::uint64_t done, std::uint64_t total) {
          // The last call comes before the single write transaction, which takes a while too.
          if (isatty(2))
            std::cerr << "\rapplied " << done << " / " << total
                      << (done == total ? "; writing the tables ..." : "") << std::flush;
        },
        options);
    if (isatty(2)) std::cerr << "\n";
    if (!r) return report(r.status());
    std::cout << "shard " << p << ": rebuilt the projections from " << r->entries << " entries in "
              << std::fixed << std::setprecision(3) << r->seconds << " s (" << std::setprecision(0)
              << (r->seconds > 0 ? r->entries / r->seconds : 0) << " entries/s); digest "
              << to_hex(r->digest) << "\n";
  }
  return kExitOk;
}

struct PrivacyArgs {
  ShardArgs shard;
  std::string complaint, vault;
  bool yes = false;
};

std::string vault_dir(const PrivacyArgs& a) {
  return a.vault.empty() ? a.shard.data + "/vault" : a.vault;
}

// The complaint's sealed contact, from whichever shard holds it.
Result<std::pair<EventId, Bytes>> sealed_contact(const PrivacyArgs& a) {
  auto id = event_id_from_hex(a.complaint, "--complaint");
  if (!id) return id.status();
  auto parts = shard_partitions(a.shard.data);
  for (int p : parts) {
    ShardArgs sa = a.shard;
    sa.partition = p;
    auto ledger = open_shard(sa);
    if (!ledger) return ledger.status();
    auto e = (*ledger)->get_by_event(*id);
    if (!e) continue;
    auto ev = decode_wire(e->wire);
    if (!ev) return ev.status();
    const auto* c = ev->as<ComplaintFiled>();
    if (c == nullptr)
      return Status(
          Reason::kInvalidArgument,
          "event " + a.complaint + " is a " + std::string(ev->type_name()) + ", not a complaint");
    return std::make_pair(*id, c->contact_sealed);
  }
  return Status(Reason::kNotFound, "no complaint " + a.complaint + " under " + a.shard.data);
}

int contact_cmd(const PrivacyArgs& a) {
  auto sealed = sealed_contact(a);
  if (!sealed) return report(sealed.status());
  if (sealed->second.empty()) {
    std::cout << "the complainant left no contact details\n";
    return kExitOk;
  }
  auto vault = KeyVault::open(vault_dir(a));
  if (!vault) return report(vault.status());
  auto key = (*vault)->get(sealed->first);
  if (!key) return report(key.status());
  if (!*key)
    return report(Status(Reason::kNotFound,
                         "the vault holds no key for this complaint: its contact details were "
                         "erased (or never sealed here) and cannot be recovered"));
  auto text = open_contact(**key, sealed->first, sealed->second);
  if (!text) return report(text.status());
  std::cout << *text << "\n";
  return kExitOk;
}

int erase_cmd(const PrivacyArgs& a) {
  auto sealed = sealed_contact(a);
  if (!sealed) return report(sealed.status());
  if (!a.yes && isatty(0)) {
    std::cerr << "This destroys the key of complaint " << a.complaint
              << "'s contact details for ever. Type 'erase' to go on: ";
    std::string answer;
    std::getline(std::cin, answer);
    if (answer != "erase")
      return report(Status(Reason::kInvalidArgument, "not confirmed; nothing erased"));
  }
  auto vault = KeyVault::open(vault_dir(a));
  if (!vault) return report(vault.status());
  if (Status s = (*vault)->erase(sealed->first); !s) return report(s);
  std::cout << "erased the data key of complaint " << a.complaint
            << ": its contact details can no longer be opened. The log is unchanged; every "
               "proof and verify still pass.\n";
  return kExitOk;
}

}  // namespace

void register_domain_commands(CLI::App& app, Runner& run) {
  // Whether --partition was given (otherwise an agency's shard is found by the partitioner).
  auto given = [](CLI::App* cmd) { return cmd->count("--partition") > 0; };
  // status and explain: one agency, now or as of a time.
  for (auto [name, help, body] :
       {std::tuple<const char*, const char*, int (*)(const DomainArgs&)>{
            "status",
            "An agency's credit status: records by phase and category, complaints, open and "
            "overdue recommendations, compensation, score and band — now or --as-of a past time "
            "(rebuilt from the log up to then).",
            status_cmd},
        {"explain",
         "Explain an agency's score line by line: each contribution with the ledger seq that "
         "caused it, under the rules version in force at --as-of.",
         explain_cmd}}) {
    auto a = std::make_shared<DomainArgs>();
    auto* c = app.add_subcommand(name, help);
    add_common(c, *a, true);
    c->callback([&run, a, c, given, body = body] {
      a->partition_given = given(c);
      run = [a, body] { return body(*a); };
    });
  }
  {
    auto a = std::make_shared<DomainArgs>();
    auto level = std::make_shared<std::string>();
    auto* c = app.add_subcommand(
        "ranking", "Rank every agency by score (the annual evaluation), as of --as-of.");
    add_common(c, *a, false);
    c->add_option("--level", *level, "only city or district agencies")
        ->check(CLI::IsMember({"city", "district"}));
    c->callback([&run, a, level] { run = [a, level] { return ranking_cmd(*a, *level); }; });
  }
  {
    auto a = std::make_shared<DomainArgs>();
    auto* c = app.add_subcommand(
        "rollup",
        "District and city totals: agencies, average score, records, complaints, "
        "overdue recommendations, bands.");
    add_common(c, *a, false);
    c->callback([&run, a] { run = [a] { return rollup_cmd(*a); }; });
  }
  {
    auto a = std::make_shared<TrailArgs>();
    auto* c = app.add_subcommand(
        "trail",
        "An audit trail: every ledger entry about an agency (--agency) or signed by a "
        "principal (--principal), with its seq for `proof inclusion`.");
    add_common(c, a->d, false);
    c->add_option("--principal", a->principal, "principal id, e.g. src.audit");
    c->add_option("--from", a->from, "first seq")->capture_default_str();
    c->add_option("--limit", a->limit, "at most this many lines")->capture_default_str();
    c->callback([&run, a, c, given] {
      a->d.partition_given = given(c);
      run = [a] { return trail_cmd(*a); };
    });
  }
  {
    auto a = std::make_shared<LifecycleArgs>();
    auto* c =
        app.add_subcommand("lifecycle",
                           "One record, complaint or recommendation: its current state and full "
                           "history (each step's seq). Give --agency to find its shard.");
    add_common(c, a->d, false);
    c->add_option("--record", a->record, "record id (the record.submitted event id)");
    c->add_option("--complaint", a->complaint, "complaint id (the complaint.filed event id)");
    c->add_option("--receipt", a->receipt, "complaint receipt number");
    c->add_option("--recommendation", a->recommendation, "recommendation id");
    c->callback([&run, a, c, given] {
      a->d.partition_given = given(c);
      run = [a] { return lifecycle_cmd(*a); };
    });
  }
  {
    auto a = std::make_shared<DomainArgs>();
    auto* c = app.add_subcommand(
        "rebuild",
        "Drop every projection of a shard (all shards unless --partition) and rebuild "
        "it from the log; prints the rate and the projection digest. With mimalloc (the default "
        "build) the memory it will need (~370 bytes an entry) is populated ahead of it by a "
        "thread that runs when a core is idle, in 4 KiB pages once 2 MiB ones cost that thread "
        "more than 2 ms per MiB (GOVCREDIT_HEAP_SMALL_PAGES_ABOVE=MS moves that); "
        "GOVCREDIT_HEAP_WARMUP=0 turns it off.");
    add_shard_options(c, a->shard);
    c->callback([&run, a, c, given] {
      a->partition_given = given(c);
      run = [a] { return rebuild_cmd(*a); };
    });
  }
  {
    auto a = std::make_shared<PrivacyArgs>();
    auto* c =
        app.add_subcommand("contact",
                           "Open a complaint's sealed contact details with its key from the vault "
                           "(bureau staff only; the vault is DATA/vault).");
    add_shard_options(c, a->shard);
    c->add_option("--complaint", a->complaint, "complaint id")->required();
    c->add_option("--vault", a->vault, "key vault directory (default DATA/vault)");
    c->callback([&run, a] { run = [a] { return contact_cmd(*a); }; });
  }
  {
    auto a = std::make_shared<PrivacyArgs>();
    auto* c = app.add_subcommand(
        "erase",
        "Destroy a complaint's data key so its contact details can never be opened "
        "again; the log, its proofs and verify are untouched. Needs the vault to itself "
        "(stop the service first).");
    add_shard_options(c, a->shard);
    c->add_option("--complaint", a->complaint, "complaint id")->required();
    c->add_option("--vault", a->vault, "key vault directory (default DATA/vault)");
    c->add_flag("--yes", a->yes, "do not ask for confirmation on a terminal");
    c->callback([&run, a] { run = [a] { return erase_cmd(*a); }; });
  }
}

}  // namespace govcredit::cli
