// govcredit proof inclusion|consistency, govcredit checkpoint create|show|list.
#include <iostream>
#include <nlohmann/json.hpp>

#include "common.h"
#include "govcredit/encoding.h"
#include "govcredit/merkle.h"

namespace govcredit::cli {
namespace {

struct ProofArgs {
  ShardArgs shard;
  std::optional<std::uint64_t> seq, size, from, to;
  std::string event;
};

nlohmann::json hashes(const std::vector<Digest>& v) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& d : v) a.push_back(to_hex(d));
  return a;
}

int inclusion(const ProofArgs& a) {
  auto ledger = open_shard(a.shard);
  if (!ledger) return report(ledger.status());
  Seq seq{0};
  if (!a.event.empty()) {
    auto id = fixed_from_hex<EventId>(a.event);
    if (!id)
      return report(Status(Reason::kInvalidArgument, "--event takes a 32-hex-character event id"));
    auto e = (*ledger)->get_by_event(*id);
    if (!e) return report(e.status());
    seq = e->seq;
  } else if (a.seq) {
    seq = Seq{*a.seq};
  } else {
    return report(Status(Reason::kInvalidArgument, "give --seq N or --event ID"));
  }
  std::uint64_t size = a.size ? *a.size : (*ledger)->head().size;
  auto p = (*ledger)->inclusion_proof(seq, size);
  if (!p) return report(p.status());
  nlohmann::json j = {{"origin", (*ledger)->origin()},
                      {"seq", p->seq.value},
                      {"tree_size", p->tree_size},
                      {"leaf_data", to_base64(p->leaf_data)},
                      {"leaf_hash", to_hex(merkle::leaf_hash(p->leaf_data))},
                      {"path", hashes(p->path)},
                      {"root", to_hex(p->root)}};
  std::cout << j.dump(2) << "\n";
  return kExitOk;
}

int consistency(const ProofArgs& a) {
  auto ledger = open_shard(a.shard);
  if (!ledger) return report(ledger.status());
  std::uint64_t to = a.to ? *a.to : (*ledger)->head().size;
  auto p = (*ledger)->consistency_proof(*a.from, to);
  if (!p) return report(p.status());
  auto r1 = (*ledger)->root_at(*a.from);
  auto r2 = (*ledger)->root_at(to);
  if (!r1 || !r2) return report(!r1 ? r1.status() : r2.status());
  nlohmann::json j = {
      {"origin", (*ledger)->origin()}, {"size1", *a.from},     {"size2", to},
      {"root1", to_hex(*r1)},          {"root2", to_hex(*r2)}, {"path", hashes(*p)}};
  std::cout << j.dump(2) << "\n";
  return kExitOk;
}

struct CheckpointArgs {
  ShardArgs shard;
  std::optional<std::uint64_t> size;
  std::string out = "-";
};

int checkpoint_create(const CheckpointArgs& a) {
  auto ledger = open_shard(a.shard);  // signing an empty, mistyped shard would mislead
  if (!ledger) return report(ledger.status());
  auto key = ledger_key(a.shard);
  if (!key) return report(key.status());
  auto c = (*ledger)->make_checkpoint(*key, now());
  if (!c) return report(c.status());
  return report_or_ok(write_file(a.out, c->text));
}

int checkpoint_show(const CheckpointArgs& a) {
  auto ledger = open_shard(a.shard);
  if (!ledger) return report(ledger.status());
  std::optional<Checkpoint> c;
  if (a.size) {
    auto at = (*ledger)->checkpoint_at(*a.size);
    if (!at) return report(at.status());
    c = *at;
  } else {
    auto all = (*ledger)->checkpoints();
    if (!all) return report(all.status());
    if (!all->empty()) c = all->back();
  }
  if (!c)
    return report(Status(Reason::kNotFound,
                         "no such checkpoint; create one with `govcredit checkpoint create`"));
  return report_or_ok(write_file(a.out, c->text));
}

int checkpoint_list(const CheckpointArgs& a) {
  auto ledger = open_shard(a.shard);
  if (!ledger) return report(ledger.status());
  auto all = (*ledger)->checkpoints();
  if (!all) return report(all.status());
  for (const auto& c : *all)
    std::cout << c.size << "\t" << to_hex(c.root) << "\t" << format_time(c.time) << "\n";
  return kExitOk;
}

}  // namespace

void register_proof_commands(CLI::App& app, Runner& run) {
  auto* proof = app.add_subcommand("proof", "Print RFC 9162 Merkle proofs as JSON.");
  proof->require_subcommand(1);
  auto pa = std::make_shared<ProofArgs>();
  auto* inc = proof->add_subcommand("inclusion",
                                    "Inclusion proof of one entry in the tree of a given size.");
  add_shard_options(inc, pa->shard);
  inc->add_option("--seq", pa->seq, "the entry's sequence number");
  inc->add_option("--event", pa->event, "or the event id (32 hex)");
  inc->add_option("--size", pa->size, "tree size (default: the current size)");
  inc->callback([&run, pa] { run = [pa] { return inclusion(*pa); }; });
  auto* con = proof->add_subcommand("consistency", "Consistency proof between two tree sizes.");
  add_shard_options(con, pa->shard);
  con->add_option("--from", pa->from, "the older tree size")->required();
  con->add_option("--to", pa->to, "the newer tree size (default: the current size)");
  con->callback([&run, pa] { run = [pa] { return consistency(*pa); }; });

  auto* cp = app.add_subcommand("checkpoint", "Signed checkpoints of a shard (C2SP signed notes).");
  cp->require_subcommand(1);
  auto ca = std::make_shared<CheckpointArgs>();
  auto* create = cp->add_subcommand("create",
                                    "Sign the current head with the ledger key (DATA/ledger.key, "
                                    "created on first use) and store it.");
  add_shard_options(create, ca->shard);
  create->add_option("--out", ca->out, "where to write the note, - for stdout")
      ->capture_default_str();
  create->callback([&run, ca] { run = [ca] { return checkpoint_create(*ca); }; });
  auto* show = cp->add_subcommand("show", "Print a stored checkpoint (default: the latest).");
  add_shard_options(show, ca->shard);
  show->add_option("--size", ca->size, "the checkpoint at this tree size");
  show->add_option("--out", ca->out, "where to write the note, - for stdout")
      ->capture_default_str();
  show->callback([&run, ca] { run = [ca] { return checkpoint_show(*ca); }; });
  auto* list = cp->add_subcommand("list", "List stored checkpoints: size, root, time.");
  add_shard_options(list, ca->shard);
  list->callback([&run, ca] { run = [ca] { return checkpoint_list(*ca); }; });
}

}  // namespace govcredit::cli
