// govcredit proof inclusion|consistency, govcredit checkpoint create|show|list.
#include <iostream>
#include <nlohmann/json.hpp>

#include "common.h"
#include "govcredit/bundle.h"
#include "govcredit/checkpoint.h"
#include "govcredit/encoding.h"
#include "govcredit/kafka.h"
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

// ---- The auditor's offline checks ----

struct CheckArgs {
  ShardArgs shard;
  std::string file, checkpoint, ledger_pub, old_cp, new_cp, proof;
};

Result<nlohmann::json> read_json(const std::string& path) {
  auto text = read_file(path);
  if (!text) return text.status();
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded()) return Status(Reason::kJsonMalformed, path + " is not JSON");
  return j;
}

// A checkpoint file, with its signature checked against --ledger-pub.
Result<Checkpoint> trusted_checkpoint(const std::string& path, const std::string& pub_path) {
  auto text = read_file(path);
  if (!text) return text.status();
  auto c = parse_checkpoint(*text);
  if (!c) return c.status();
  auto pub = load_public_key(pub_path);
  if (!pub) return pub.status();
  if (Status s = verify_checkpoint(*c, *pub); !s) return s;
  return c;
}

// `proof check FILE`: an inclusion or consistency proof as `proof inclusion|consistency` prints
// it, verified offline; with --checkpoint, its root and size must also be the checkpoint's.
int proof_check(const CheckArgs& a) {
  auto j = read_json(a.file);
  if (!j) return report(j.status());
  std::optional<Checkpoint> cp;
  if (!a.checkpoint.empty()) {
    auto c = trusted_checkpoint(a.checkpoint, a.ledger_pub);
    if (!c) return report(c.status());
    cp = *c;
  }
  try {
    if (j->contains("leaf_data")) {
      auto leaf = from_base64((*j)["leaf_data"].get<std::string>());
      auto path = digests((*j)["path"]);
      auto root = fixed_from_hex<Digest>((*j)["root"].get<std::string>());
      if (!leaf || !path || !root)
        return report(Status(Reason::kFieldInvalid, "the proof's fields do not parse"));
      const std::uint64_t seq = (*j)["seq"], size = (*j)["tree_size"];
      if (cp && (cp->size != size || cp->root != *root)) {
        std::cout << "FAILED: the proof is for tree size " << size << " root " << to_hex(*root)
                  << ", the checkpoint is size " << cp->size << " root " << to_hex(cp->root)
                  << "\n";
        return kExitRejected;
      }
      if (!merkle::verify_inclusion(merkle::leaf_hash(*leaf), seq, size, *path, *root)) {
        std::cout << "FAILED: entry " << seq << " is not in the tree of size " << size << "\n";
        return kExitRejected;
      }
      std::cout << "ok: entry " << seq << " is included in the tree of size " << size << " (root "
                << to_hex(*root) << (cp ? ", the signed checkpoint's" : "") << ")\n";
      return kExitOk;
    }
    if (j->contains("size1")) {
      auto path = digests((*j)["path"]);
      auto r1 = fixed_from_hex<Digest>((*j)["root1"].get<std::string>());
      auto r2 = fixed_from_hex<Digest>((*j)["root2"].get<std::string>());
      if (!path || !r1 || !r2)
        return report(Status(Reason::kFieldInvalid, "the proof's fields do not parse"));
      const std::uint64_t s1 = (*j)["size1"], s2 = (*j)["size2"];
      if (!merkle::verify_consistency(s1, s2, *r1, *r2, *path)) {
        std::cout << "FAILED: the tree of size " << s2 << " does not extend the tree of size " << s1
                  << "\n";
        return kExitRejected;
      }
      std::cout << "ok: the tree of size " << s2 << " extends the tree of size " << s1 << "\n";
      return kExitOk;
    }
  } catch (const nlohmann::json::exception&) {
  }
  return report(Status(Reason::kInvalidArgument,
                       a.file + " is neither an inclusion nor a consistency proof"));
}

// `checkpoint consistent OLD NEW`: both signed by the ledger key, and NEW's tree extends OLD's
// (a consistency proof from --proof FILE, or computed by the shard under --data). A rewritten
// history fails here.
int checkpoint_consistent(const CheckArgs& a) {
  auto c1 = trusted_checkpoint(a.old_cp, a.ledger_pub);
  if (!c1) return report(c1.status());
  auto c2 = trusted_checkpoint(a.new_cp, a.ledger_pub);
  if (!c2) return report(c2.status());
  if (c1->origin != c2->origin)
    return report(Status(Reason::kInvalidArgument, "the checkpoints are of different logs: " +
                                                       c1->origin + ", " + c2->origin));
  if (c1->size > c2->size)
    return report(Status(Reason::kInvalidArgument, "OLD is the larger tree: swap them"));
  std::vector<Digest> path;
  if (!a.proof.empty()) {
    auto j = read_json(a.proof);
    if (!j) return report(j.status());
    if (!j->contains("path") || (*j)["size1"] != c1->size || (*j)["size2"] != c2->size)
      return report(Status(Reason::kInvalidArgument,
                           "the proof file is not a consistency proof between these sizes"));
    auto p = digests((*j)["path"]);
    if (!p) return report(p.status());
    path = *p;
  } else {
    auto ledger = open_shard(a.shard);
    if (!ledger) return report(ledger.status());
    auto p = (*ledger)->consistency_proof(c1->size, c2->size);
    if (!p) return report(p.status());
    path = *p;
  }
  if (!merkle::verify_consistency(c1->size, c2->size, c1->root, c2->root, path)) {
    std::cout << "FAILED: the log of size " << c2->size << " does not extend the log of size "
              << c1->size << ": history was rewritten (or the proof is not for these trees)\n";
    return kExitRejected;
  }
  std::cout << "ok: both checkpoints are signed by the ledger key and the log of size " << c2->size
            << " extends the log of size " << c1->size << "\n";
  return kExitOk;
}

struct ExportArgs {
  ShardArgs shard;
  std::string agency, out = "-";
};

int export_cmd(const ExportArgs& a) {
  ShardArgs s = a.shard;
  auto parts = shard_partitions(s.data);
  if (!parts.empty()) s.partition = partition_for_key(a.agency, static_cast<int>(parts.size()));
  auto ledger = open_shard(s);
  if (!ledger) return report(ledger.status());
  auto key = ledger_key(s);
  if (!key) return report(key.status());
  auto b = export_bundle(**ledger, AgencyId(a.agency), *key, now());
  if (!b) return report(b.status());
  if (Status st = write_file(a.out, b->dump(1) + "\n"); !st) return report(st);
  if (a.out != "-")
    std::cerr << "wrote " << a.out << ": " << (*b)["entries"].size()
              << " entries with proofs against a checkpoint of size "
              << parse_checkpoint((*b)["checkpoint"].get<std::string>())->size << "\n";
  return kExitOk;
}

int bundle_verify(const CheckArgs& a) {
  auto j = read_json(a.file);
  if (!j) return report(j.status());
  std::optional<PublicKey> pub;
  if (!a.ledger_pub.empty()) {
    auto k = load_public_key(a.ledger_pub);
    if (!k) return report(k.status());
    pub = std::move(*k);
  }
  BundleCheck c = verify_bundle(*j, pub ? &*pub : nullptr);
  if (!c.ok) {
    std::cout << "FAILED: " << c.problem.to_string();
    if (c.bad_seq) std::cout << " (entry " << *c.bad_seq << ")";
    std::cout << "\n";
    return kExitRejected;
  }
  std::cout << "ok: " << c.agency_entries << " entries about " << c.agency << " and "
            << c.registry_entries << " registry entries are in the log of size " << c.tree_size
            << ", every signature checked against the registry rebuilt from the log\n";
  if (!c.key_trusted)
    std::cout << "note: the checkpoint was checked against the key inside the bundle; pass "
                 "--ledger-pub with the ledger key you hold to trust it\n";
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
  auto ck = std::make_shared<CheckArgs>();
  auto* chk = proof->add_subcommand(
      "check",
      "Verify a proof file offline (as `proof inclusion|consistency` print it); with "
      "--checkpoint and --ledger-pub, also that it is for that signed checkpoint. Exit 1 if not.");
  chk->add_option("file", ck->file, "the proof (JSON)")->required();
  chk->add_option("--checkpoint", ck->checkpoint, "a checkpoint note the proof must match");
  chk->add_option("--ledger-pub", ck->ledger_pub, "the ledger's public key (PEM)");
  chk->callback([&run, ck] {
    if (!ck->checkpoint.empty() && ck->ledger_pub.empty())
      throw CLI::ValidationError("--checkpoint", "needs --ledger-pub");
    run = [ck] { return proof_check(*ck); };
  });

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
  auto* cons = cp->add_subcommand(
      "consistent",
      "Check that two saved checkpoints are both signed by the ledger key and that NEW's log "
      "extends OLD's (a rewritten history fails); the consistency proof comes from --proof or "
      "from the shard under --data. Exit 1 if not.");
  add_shard_options(cons, ck->shard);
  cons->add_option("old", ck->old_cp, "the older checkpoint note")->required();
  cons->add_option("new", ck->new_cp, "the newer checkpoint note")->required();
  cons->add_option("--ledger-pub", ck->ledger_pub, "the ledger's public key (PEM)")->required();
  cons->add_option("--proof", ck->proof, "a consistency proof file (`proof consistency`)");
  cons->callback([&run, ck] { run = [ck] { return checkpoint_consistent(*ck); }; });

  auto ea = std::make_shared<ExportArgs>();
  auto* ex = app.add_subcommand(
      "export",
      "Write an agency's audit bundle: a signed checkpoint, every registry entry and every entry "
      "about the agency, each with its inclusion proof (docs/AUDIT.md). A third party checks it "
      "with `govcredit bundle verify` and the ledger's public key alone.");
  add_shard_options(ex, ea->shard);
  ex->add_option("--agency", ea->agency, "the agency")->required();
  ex->add_option("--out", ea->out, "the bundle file, - for stdout")->capture_default_str();
  ex->callback([&run, ea] { run = [ea] { return export_cmd(*ea); }; });
  auto* bundle = app.add_subcommand("bundle", "Audit bundles.");
  bundle->require_subcommand(1);
  auto* bv = bundle->add_subcommand(
      "verify",
      "Verify an audit bundle with nothing else: the checkpoint's signature (against "
      "--ledger-pub), every inclusion proof, the registry rebuilt from the log, every event's "
      "signature and role. Exit 1 naming the first bad entry.");
  bv->add_option("file", ck->file, "the bundle (JSON)")->required();
  bv->add_option("--ledger-pub", ck->ledger_pub, "the ledger's public key you hold (PEM)");
  bv->callback([&run, ck] { run = [ck] { return bundle_verify(*ck); }; });
}

}  // namespace govcredit::cli
