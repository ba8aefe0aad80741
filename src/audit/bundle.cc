// The auditor's bundle (include/govcredit/bundle.h, docs/AUDIT.md).
#include "govcredit/bundle.h"

#include "govcredit/codec.h"
#include "govcredit/encoding.h"
#include "govcredit/merkle.h"
#include "govcredit/registry.h"

namespace govcredit {

using nlohmann::json;

Result<json> export_bundle(Ledger& ledger, const AgencyId& agency, const PrivateKey& ledger_key,
                           Timestamp now) {
  auto cp = ledger.make_checkpoint(ledger_key, now);
  if (!cp) return cp.status();
  const std::uint64_t size = cp->size;
  json entries = json::array();
  bool known = false;
  Status failed = Status::ok();
  Status s = ledger.scan(Seq{0}, Seq{size}, [&](const Entry& en) {
    auto e = decode_logged_wire(en.wire);
    if (!e) {
      failed = e.status();
      return false;
    }
    const bool registry = Registry::is_registry_event(*e);
    if (!registry && e->subject != agency) return true;
    if (e->subject == agency) known = true;
    auto proof = ledger.inclusion_proof(en.seq, size);
    if (!proof) {
      failed = proof.status();
      return false;
    }
    json path = json::array();
    for (const Digest& d : proof->path) path.push_back(to_hex(d));
    entries.push_back({{"seq", en.seq.value},
                       {"leaf_data", to_base64(proof->leaf_data)},
                       {"path", std::move(path)}});
    return true;
  });
  if (!s) return s;
  if (!failed) return failed;
  if (!known)
    return Status(Reason::kNotFound, "no entry about agency '" + agency.value + "' in this shard");
  return json{{"format", std::string(kBundleFormat)},
              {"agency", agency.value},
              {"origin", cp->origin},
              {"partition", ledger.partition().value},
              {"checkpoint", cp->text},
              {"ledger_public_key", ledger_key.public_key().to_pem()},
              {"exported_at", format_time(now)},
              {"entries", std::move(entries)}};
}

namespace {

BundleCheck fail(BundleCheck c, Status s, std::optional<std::uint64_t> seq = std::nullopt) {
  c.ok = false;
  c.problem = std::move(s);
  c.bad_seq = seq;
  return c;
}

}  // namespace

BundleCheck verify_bundle(const json& b, const PublicKey* trusted) {
  BundleCheck c;
  const Status malformed(
      Reason::kInvalidArgument,
      "not a govcredit bundle (format, agency, checkpoint, ledger_public_key and "
      "entries are required)");
  if (!b.is_object() || b.value("format", "") != kBundleFormat || !b.contains("agency") ||
      !b["agency"].is_string() || !b.contains("checkpoint") || !b["checkpoint"].is_string() ||
      !b.contains("ledger_public_key") || !b["ledger_public_key"].is_string() ||
      !b.contains("entries") || !b["entries"].is_array())
    return fail(c, malformed);
  c.agency = b["agency"].get<std::string>();
  auto cp = parse_checkpoint(b["checkpoint"].get<std::string>());
  if (!cp) return fail(c, cp.status());
  std::optional<PublicKey> own;
  if (!trusted) {
    auto k = PublicKey::from_pem(b["ledger_public_key"].get<std::string>());
    if (!k) return fail(c, k.status());
    own = std::move(*k);
  }
  c.key_trusted = trusted != nullptr;
  if (Status s = verify_checkpoint(*cp, trusted ? *trusted : *own); !s) return fail(c, s);
  c.tree_size = cp->size;

  Registry registry;
  std::optional<std::uint64_t> last;
  for (const json& x : b["entries"]) {
    if (!x.is_object() || !x.contains("seq") || !x["seq"].is_number_unsigned() ||
        !x.contains("leaf_data") || !x["leaf_data"].is_string() || !x.contains("path") ||
        !x["path"].is_array())
      return fail(c, malformed);
    const std::uint64_t seq = x["seq"].get<std::uint64_t>();
    if (last && seq <= *last)
      return fail(c, Status(Reason::kInvalidArgument, "the entries are not in log order"), seq);
    last = seq;
    auto leaf = from_base64(x["leaf_data"].get<std::string>());
    if (!leaf) return fail(c, Status(Reason::kInvalidArgument, "leaf_data is not base64"), seq);
    std::vector<Digest> path;
    for (const json& h : x["path"]) {
      auto d = h.is_string() ? fixed_from_hex<Digest>(h.get<std::string>()) : std::nullopt;
      if (!d) return fail(c, Status(Reason::kInvalidArgument, "a path hash is not hex"), seq);
      path.push_back(*d);
    }
    if (!merkle::verify_inclusion(merkle::leaf_hash(*leaf), seq, cp->size, path, cp->root))
      return fail(c,
                  Status(Reason::kCorrupt, "the inclusion proof of entry " + std::to_string(seq) +
                                               " does not lead to the checkpoint's root"),
                  seq);
    auto entry = entry_from_leaf_data(*leaf);
    if (!entry) return fail(c, entry.status(), seq);
    if (entry->seq.value != seq)
      return fail(c, Status(Reason::kCorrupt, "the leaf names another seq"), seq);
    auto e = decode_wire(entry->wire);
    if (!e) return fail(c, e.status(), seq);
    if (Registry::is_registry_event(*e)) {
      // The registry as ingest built it: every registry entry, in order, from the genesis on.
      if (Status s = registry.check(*e); !s) return fail(c, s, seq);
      registry.apply(*e);
      ++c.registry_entries;
      continue;
    }
    if (e->subject.value != c.agency)
      return fail(c, Status(Reason::kSubjectMismatch, "an entry about another agency"), seq);
    if (Status s = registry.authenticate(*e); !s) return fail(c, s, seq);
    if (Status s = registry.authorise(*e); !s) return fail(c, s, seq);
    ++c.agency_entries;
  }
  if (c.agency_entries == 0)
    return fail(c, Status(Reason::kNotFound, "the bundle holds no entry about " + c.agency));
  c.ok = true;
  return c;
}

}  // namespace govcredit
