#include "govcredit/registry.h"

#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "generations.h"
#include "govcredit/codec.h"
#include "govcredit/encoding.h"
#include "govcredit/merkle.h"
#include "govcredit/seeded_hash.h"

namespace govcredit {

namespace {

// Seeded: the signatures come with the publishers' events. The maps keyed by them are never
// iterated.
struct SignatureHash {
  std::size_t operator()(const Signature& s) const {
    return seeded_hash(s.bytes.data(), s.bytes.size());
  }
};

// Ed25519 verdicts of batch signatures, per (key id, size, root, signature): looked up by the
// signature, a hit only when the rest is the same too (a signature sent with another root is
// verified again, and its verdict replaces the one kept). The last 65,536 are always kept: when
// all were dropped at once, as before, a node verified again the batches whose members other
// partitions had still to deliver (a 10M drain: 1.20-1.22 checks per distinct signature, with
// two generations 1.02-1.04; PERFORMANCE.md §5.57).
class BatchVerdicts {
 public:
  bool check(const KeyInfo& k, const Event& ev, const Digest& root) {
    const std::uint32_t size = ev.batch->size;
    {
      std::lock_guard lock(mu_);
      const Verdict* v = seen_.find(ev.signature);
      if (v && v->size == size && v->root == root && v->key_id == ev.key_id.value) return v->valid;
    }
    bool valid = k.key.verify(batch_signing_input(size, root), ev.signature);
    std::lock_guard lock(mu_);
    seen_.insert_or_assign(ev.signature, Verdict{ev.key_id.value, size, root, valid});
    return valid;
  }
  void forget() {
    std::lock_guard lock(mu_);
    seen_.clear();
  }

 private:
  struct Verdict {
    std::string key_id;
    std::uint32_t size;
    Digest root;
    bool valid;
  };
  std::mutex mu_;
  TwoGenerations<Signature, Verdict, SignatureHash> seen_{1 << 16};
};

// The nodes of a batch tree whose signature verified: every node a member's walk computed or
// was given, by position (level, index at that level; level 0 the leaves, the last node of a
// level promoted unchanged when it has no sibling, as RFC 9162's tree does). A node is only
// stored from a walk that reached the signed root, so each is authenticated.
struct BatchTree {
  std::mutex mu;
  std::string key_id;
  std::uint32_t size = 0;
  Digest root;
  std::vector<std::size_t> level_at;  // where each level's nodes start in `nodes`
  std::vector<Digest> nodes;
  std::vector<bool> known;

  BatchTree(std::string key, std::uint32_t n, const Digest& r)
      : key_id(std::move(key)), size(n), root(r) {
    std::size_t total = 0;
    for (std::uint64_t width = n;; width = (width + 1) / 2) {
      level_at.push_back(total);
      total += width;
      if (width == 1) break;
    }
    nodes.resize(total);
    known.resize(total);
    put(static_cast<std::uint32_t>(level_at.size() - 1), 0, r);
  }
  std::optional<std::size_t> slot(std::uint32_t level, std::uint64_t index) const {
    if (level >= level_at.size()) return std::nullopt;
    const std::size_t end = level + 1 < level_at.size() ? level_at[level + 1] : nodes.size();
    if (level_at[level] + index >= end) return std::nullopt;
    return level_at[level] + index;
  }
  const Digest* find(std::uint32_t level, std::uint64_t index) const {
    auto s = slot(level, index);
    return s && known[*s] ? &nodes[*s] : nullptr;
  }
  void put(std::uint32_t level, std::uint64_t index, const Digest& d) {
    if (auto s = slot(level, index)) {
      nodes[*s] = d;
      known[*s] = true;
    }
  }
};

struct NodeAt {
  std::uint32_t level;
  std::uint64_t index;
  Digest value;
};

// A member's walk from its leaf to the root it implies (merkle::root_from_path), noting in `seen`
// each node it holds or is given that the tree does not hold yet. With a tree (locked by the
// caller), a parent whose two children are known and equal to the walk's is taken from the tree
// instead of hashed; a known node that differs from the walk's stops the use of the tree
// (`consistent` false) and the walk goes on hashing, so the root it returns is always the one
// the plain walk would return. nullopt: the path does not fit the size and index.
std::optional<Digest> walk(const BatchProof& b, const Digest& leaf, const BatchTree* tree,
                           bool& consistent, std::vector<NodeAt>& seen) {
  return merkle::root_from_path(
      leaf, b.index, b.size, b.path, [&](const merkle::WalkStep& s) -> const Digest* {
        const std::uint64_t sibling = s.sibling_left ? s.index - 1 : s.index + 1;
        const Digest* known_r = nullptr;
        const Digest* known_p = nullptr;
        if (tree && consistent) {
          known_r = tree->find(s.level, s.index);
          known_p = tree->find(s.level, sibling);
          if ((known_r && *known_r != s.node) || (known_p && *known_p != s.sibling)) {
            consistent = false;
            known_r = known_p = nullptr;
          }
        }
        if (!known_r) seen.push_back({s.level, s.index, s.node});
        if (!known_p) seen.push_back({s.level, sibling, s.sibling});
        return known_r && known_p ? tree->find(s.level + 1, s.index >> 1) : nullptr;
      });
}

// Batch members' verdicts: through the verified trees' known nodes when the member's batch has
// one (a batch of 1024 walked member by member hashes ~10 nodes each, ~10,240 in all; through
// the known nodes ~1,023), else by the plain walk and the batch signature's verdict. Every
// member's path is still checked node by node against the signed tree, so a verdict is the one
// the plain walk gives (PERFORMANCE.md §5.24).
class BatchTrees {
 public:
  bool check(const KeyInfo& k, const Event& ev, ByteView signing) {
    const BatchProof& b = *ev.batch;
    const Digest leaf = merkle::leaf_hash(signing);
    thread_local std::vector<NodeAt> seen;  // kept: a member's walk allocates nothing
    seen.clear();
    std::shared_ptr<BatchTree> tree = find(ev);
    if (tree) {
      std::lock_guard lock(tree->mu);
      bool consistent = true;
      auto root = walk(b, leaf, tree.get(), consistent, seen);
      if (!root) return false;
      if (consistent && *root == tree->root) {
        remember(*tree, seen);
        return true;
      }
      seen.clear();
    }
    bool unused = true;
    auto root = walk(b, leaf, nullptr, unused, seen);
    if (!root || !verdicts_.check(k, ev, *root)) return false;
    if (b.size <= kMaxSize) {
      if (!tree) tree = add(ev, *root);
      if (tree && tree->root == *root) {
        std::lock_guard lock(tree->mu);
        remember(*tree, seen);
      }
    }
    return true;
  }

  void forget() {
    {
      std::lock_guard lock(mu_);
      trees_.clear();  // trees in use stay alive with their users
      nodes_ = 0;
    }
    verdicts_.forget();
  }

 private:
  // Larger batches take the plain walk. The trees kept are bounded by their nodes (~17 MB)
  // and their number; past either, they start over.
  static constexpr std::uint32_t kMaxSize = 4096;
  static constexpr std::size_t kMaxNodes = 1 << 19, kMaxTrees = 1 << 16;

  std::shared_ptr<BatchTree> find(const Event& ev) {
    std::lock_guard lock(mu_);
    auto it = trees_.find(ev.signature);
    if (it == trees_.end() || it->second->size != ev.batch->size ||
        it->second->key_id != ev.key_id.value)
      return nullptr;
    return it->second;
  }
  std::shared_ptr<BatchTree> add(const Event& ev, const Digest& root) {
    std::lock_guard lock(mu_);
    auto it = trees_.find(ev.signature);
    if (it != trees_.end())
      return it->second->size == ev.batch->size && it->second->key_id == ev.key_id.value
                 ? it->second
                 : nullptr;
    auto tree = std::make_shared<BatchTree>(ev.key_id.value, ev.batch->size, root);
    if (nodes_ + tree->nodes.size() > kMaxNodes || trees_.size() >= kMaxTrees) {
      trees_.clear();  // trees in use stay alive with their users
      nodes_ = 0;
    }
    nodes_ += tree->nodes.size();
    trees_.emplace(ev.signature, tree);
    return tree;
  }
  static void remember(BatchTree& tree, const std::vector<NodeAt>& seen) {
    for (const NodeAt& n : seen) tree.put(n.level, n.index, n.value);
  }

  BatchVerdicts verdicts_;
  std::mutex mu_;
  std::unordered_map<Signature, std::shared_ptr<BatchTree>, SignatureHash> trees_;
  std::size_t nodes_ = 0;
};

BatchTrees& batch_trees() {
  static BatchTrees trees;
  return trees;
}

}  // namespace

void forget_batch_verdicts() {
  batch_trees().forget();
}

SignatureVerdict signature_verdict(const Event& ev, ByteView signing, const KeyInfo& k) {
  if (!ev.batch) return SignatureVerdict{ev.key_id, k.key.verify(signing, ev.signature)};
  return SignatureVerdict{ev.key_id, batch_trees().check(k, ev, signing)};
}
namespace {

ByteView or_recomputed(const Event& e, ByteView given, Bytes& scratch) {
  if (!given.empty()) return given;
  scratch = signing_input(e);
  return scratch;
}

std::string role_text(const PrincipalInfo& p) {
  std::string r(enum_name(p.role));
  if (p.source_kind) r += " (" + std::string(enum_name(*p.source_kind)) + ")";
  if (p.agency) r += " of " + p.agency->value;
  return r;
}

}  // namespace

const AgencyInfo* Registry::agency(const AgencyId& id) const {
  auto it = agencies_.find(id);
  return it == agencies_.end() ? nullptr : &it->second;
}
const PrincipalInfo* Registry::principal(const PrincipalId& id) const {
  auto it = principals_.find(id);
  return it == principals_.end() ? nullptr : &it->second;
}
const KeyInfo* Registry::key(const KeyId& id) const {
  auto it = keys_.find(id);
  return it == keys_.end() ? nullptr : &it->second;
}

bool Registry::is_registry_event(const Event& e) {
  return e.as<AgencyRegistered>() || e.as<PrincipalRegistered>() || e.as<KeyAuthorised>() ||
         e.as<KeyRevoked>();
}

AgencyId Registry::subject_for_principal(const PrincipalInfo& p) const {
  return p.role == Role::kAgency && p.agency ? *p.agency : system_subject();
}

Status Registry::check(const Event& e, ByteView signing_input,
                       const SignatureVerdict* verdict) const {
  if (Status s = authenticate(e, signing_input, verdict); !s) return s;
  if (Status s = authorise(e); !s) return s;
  return check_consistency(e);
}

Status Registry::authenticate(const Event& e, ByteView given,
                              const SignatureVerdict* verdict) const {
  Bytes scratch;
  if (!has_authority_) {
    const auto* p = e.as<PrincipalRegistered>();
    if (p == nullptr || p->role != Role::kAuthority || p->principal != e.issuer)
      return Status(Reason::kGenesisRequired,
                    "this shard has no authority yet: its first event must be the authority "
                    "registering itself (principal.registered, role authority, self-signed)");
    auto key = PublicKey::from_bytes(p->public_key);
    if (!key) return Status(Reason::kFieldInvalid, "payload.public_key is not an Ed25519 key");
    if (key->key_id() != e.key_id)
      return Status(
          Reason::kKeyIdMismatch,
          "the genesis event must be signed by the key it registers (" + key->key_id().value + ")");
    if (e.issued_at < p->valid_from)
      return Status(Reason::kKeyNotYetValid, "the genesis key's valid_from is after issued_at");
    if (!key->verify(or_recomputed(e, given, scratch), e.signature))
      return Status(Reason::kSignatureInvalid, "the genesis event's self-signature is invalid");
    return Status::ok();
  }
  const PrincipalInfo* issuer = principal(e.issuer);
  if (issuer == nullptr)
    return Status(Reason::kPrincipalUnknown,
                  "the issuer '" + e.issuer.value + "' is not registered");
  const KeyInfo* k = key(e.key_id);
  if (k == nullptr)
    return Status(Reason::kKeyUnknown, "the key " + e.key_id.value + " is not registered");
  if (k->principal != e.issuer)
    return Status(Reason::kKeyPrincipalMismatch, "the key " + e.key_id.value + " belongs to '" +
                                                     k->principal.value + "', not to '" +
                                                     e.issuer.value + "'");
  if (e.issued_at < k->valid_from)
    return Status(Reason::kKeyNotYetValid, "the key " + e.key_id.value + " is valid from " +
                                               format_time(k->valid_from) +
                                               ", after the event's issued_at");
  if (k->revoked_at && e.issued_at >= *k->revoked_at)
    return Status(Reason::kKeyRevoked,
                  "the key " + e.key_id.value + " was revoked at " + format_time(*k->revoked_at));
  bool valid = verdict && verdict->key == e.key_id
                   ? verdict->valid
                   : signature_valid(e, or_recomputed(e, given, scratch), k->key);
  if (!valid)
    return Status(
        Reason::kSignatureInvalid,
        "the signature does not match the event's canonical bytes under key " + e.key_id.value);
  return Status::ok();
}

Status Registry::authorise(const Event& e) const {
  if (!has_authority_) {  // genesis: authenticate() pinned down type, role and signer
    if (e.subject == system_subject()) return Status::ok();
    return Status(Reason::kSubjectMismatch,
                  "the authority's registration is about _system, not '" + e.subject.value + "'");
  }
  const PrincipalInfo& who = *principal(e.issuer);
  auto deny = [&](std::string_view allowed) {
    return Status(Reason::kRoleNotAllowed, "'" + e.issuer.value + "' is " + role_text(who) +
                                               "; only " + std::string(allowed) + " may issue " +
                                               std::string(e.type_name()));
  };
  auto need_subject = [&](const AgencyId& want) {
    if (e.subject == want) return Status::ok();
    return Status(Reason::kSubjectMismatch, "the subject of this " + std::string(e.type_name()) +
                                                " must be '" + want.value + "', not '" +
                                                e.subject.value + "'");
  };
  auto agency_subject = [&]() {
    if (e.subject == system_subject())
      return Status(Reason::kSubjectMismatch,
                    std::string(e.type_name()) + " must be about an agency, not _system");
    return Status::ok();
  };
  const Role r = who.role;
  const bool authority = r == Role::kAuthority;

  if (e.as<AgencyRegistered>()) {
    if (!authority) return deny("the authority");
    return agency_subject();
  }
  if (const auto* p = e.as<PrincipalRegistered>()) {
    if (!authority) return deny("the authority");
    return need_subject(p->role == Role::kAgency && p->agency ? *p->agency : system_subject());
  }
  if (const auto* p = e.as<KeyAuthorised>()) {
    if (!authority) return deny("the authority");
    const PrincipalInfo* target = principal(p->principal);
    return target ? need_subject(subject_for_principal(*target)) : Status::ok();
  }
  if (const auto* p = e.as<KeyRevoked>()) {
    if (!authority && p->principal != e.issuer)
      return deny("the authority or the key's own principal");
    const PrincipalInfo* target = principal(p->principal);
    return target ? need_subject(subject_for_principal(*target)) : Status::ok();
  }
  if (e.as<RecordSubmitted>()) {
    if (r != Role::kSource) return deny("a source");
    return agency_subject();
  }
  if (e.as<RecordCorrected>()) {
    if (!authority && r != Role::kSource) return deny("the authority or the submitting source");
    return agency_subject();
  }
  if (e.as<ObjectionRaised>() || e.as<RectificationReported>()) {
    if (r != Role::kAgency) return deny("the subject agency");
    return need_subject(*who.agency);
  }
  if (e.as<ComplaintFiled>()) {
    if (r != Role::kComplaintChannel) return deny("the complaint channel");
    return agency_subject();
  }
  if (!authority) return deny("the authority");
  if (e.as<ReportPublished>()) return need_subject(system_subject());
  return agency_subject();
}

Status Registry::check_consistency(const Event& e) const {
  auto known_agency = [&](const AgencyId& id, const char* what) {
    if (agency(id)) return Status::ok();
    return Status(Reason::kAgencyUnknown,
                  std::string(what) + " '" + id.value + "' is not registered");
  };
  auto fresh_key = [&](const PublicKeyBytes& raw) {
    KeyId id = key_id_of(raw);
    if (key(id))
      return Status(Reason::kKeyExists, "the key " + id.value + " is already registered");
    if (!PublicKey::from_bytes(raw))
      return Status(Reason::kFieldInvalid, "payload.public_key is not an Ed25519 key");
    return Status::ok();
  };
  if (const auto* p = e.as<AgencyRegistered>()) {
    if (agency(e.subject))
      return Status(Reason::kAgencyExists,
                    "the agency '" + e.subject.value + "' is already registered");
    if (p->parent) return known_agency(*p->parent, "the parent agency");
    return Status::ok();
  }
  if (const auto* p = e.as<PrincipalRegistered>()) {
    if (principal(p->principal))
      return Status(Reason::kPrincipalExists,
                    "the principal '" + p->principal.value + "' is already registered");
    if (p->agency)
      if (Status s = known_agency(*p->agency, "the principal's agency"); !s) return s;
    return fresh_key(p->public_key);
  }
  if (const auto* p = e.as<KeyAuthorised>()) {
    if (!principal(p->principal))
      return Status(Reason::kPrincipalUnknown,
                    "the principal '" + p->principal.value + "' is not registered");
    return fresh_key(p->public_key);
  }
  if (const auto* p = e.as<KeyRevoked>()) {
    const KeyInfo* k = key(p->key_id);
    if (k == nullptr || k->principal != p->principal)
      return Status(Reason::kKeyUnknown,
                    "'" + p->principal.value + "' has no key " + p->key_id.value);
    if (k->revoked_at)
      return Status(Reason::kKeyRevoked, "the key " + p->key_id.value + " is already revoked");
    return Status::ok();
  }
  if (e.subject != system_subject()) return known_agency(e.subject, "the subject agency");
  return Status::ok();
}

void Registry::apply(const Event& e) {
  if (const auto* p = e.as<AgencyRegistered>()) {
    agencies_[e.subject] =
        AgencyInfo{e.subject, p->name_zh, p->name_en, p->level, p->district, p->parent};
  } else if (const auto* p = e.as<PrincipalRegistered>()) {
    principals_[p->principal] =
        PrincipalInfo{p->principal, p->role, p->source_kind, p->agency, p->display_name};
    auto key = PublicKey::from_bytes(p->public_key);
    if (key) keys_.emplace(key->key_id(), KeyInfo{*key, p->principal, p->valid_from, std::nullopt});
    if (p->role == Role::kAuthority) has_authority_ = true;
  } else if (const auto* p = e.as<KeyAuthorised>()) {
    auto key = PublicKey::from_bytes(p->public_key);
    if (key) keys_.emplace(key->key_id(), KeyInfo{*key, p->principal, p->valid_from, std::nullopt});
  } else if (const auto* p = e.as<KeyRevoked>()) {
    auto it = keys_.find(p->key_id);
    if (it != keys_.end()) it->second.revoked_at = p->revoked_at;
  }
}

}  // namespace govcredit
