// Signed HTTP requests (include/govcredit/auth.h, docs/API.md §2).
#include "govcredit/auth.h"

#include <algorithm>

#include "govcredit/encoding.h"

namespace govcredit::auth {

std::string signing_string(std::string_view method, std::string_view target, std::int64_t time_ms,
                           std::string_view nonce, std::string_view body) {
  std::string s = "govcredit-request-v1\n";
  s.append(method).append("\n").append(target).append("\n");
  s.append(std::to_string(time_ms)).append("\n").append(nonce).append("\n");
  s.append(to_hex(sha256(body)));
  return s;
}

std::map<std::string, std::string> sign_request(const PrivateKey& key, std::string_view method,
                                                std::string_view target, std::string_view body,
                                                std::int64_t time_ms, std::string nonce) {
  if (nonce.empty()) {
    std::array<std::uint8_t, 16> b{};
    random_bytes(b);
    nonce = to_hex(ByteView(b.data(), b.size()));
  }
  Signature sig = key.sign(as_bytes(signing_string(method, target, time_ms, nonce, body)));
  return {{"X-Govcredit-Key", key.key_id().value},
          {"X-Govcredit-Time", std::to_string(time_ms)},
          {"X-Govcredit-Nonce", nonce},
          {"X-Govcredit-Signature", to_base64(sig.view())}};
}

NonceCache::Use NonceCache::use(const std::string& key, const std::string& nonce,
                                std::int64_t time_ms, std::int64_t now_ms) {
  Digest d = Sha256().update(key).update(std::string_view("\n")).update(nonce).finish();
  std::array<std::uint8_t, 16> h{};
  std::copy_n(d.bytes.begin(), 16, h.begin());
  const std::int64_t minute = time_ms / 60000;
  std::lock_guard lock(mu_);
  // A bucket's times are all below (minute + 1) * 60000: once that is older than the window,
  // none of them can be accepted again, so none can be replayed.
  while (!buckets_.empty() && (buckets_.begin()->first + 1) * 60000 + kWindowMs < now_ms) {
    size_ -= buckets_.begin()->second.size();
    buckets_.erase(buckets_.begin());
  }
  for (const auto& [m, set] : buckets_)
    if (set.count(h)) return Use::kReplayed;
  if (size_ >= capacity_) return Use::kFull;
  buckets_[minute].insert(h);
  ++size_;
  return Use::kFirst;
}

std::size_t NonceCache::size() const {
  std::lock_guard lock(mu_);
  return size_;
}

namespace {

Status unauthenticated(std::string why) {
  return Status(Reason::kUnauthenticated, std::move(why));
}

bool nonce_ok(const std::string& n) {
  return n.size() >= 16 && n.size() <= 64 && std::all_of(n.begin(), n.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
         });
}

}  // namespace

Result<Caller> authenticate(const http::Request& r, const Registry& registry, NonceCache& nonces,
                            std::int64_t now_ms) {
  const std::string& key = r.header("x-govcredit-key");
  const std::string& time = r.header("x-govcredit-time");
  const std::string& nonce = r.header("x-govcredit-nonce");
  const std::string& sig = r.header("x-govcredit-signature");
  int present = !key.empty() + !time.empty() + !nonce.empty() + !sig.empty();
  if (present == 0) return Caller{};
  if (present < 4)
    return unauthenticated(
        "a signed request needs all four headers X-Govcredit-Key, X-Govcredit-Time, "
        "X-Govcredit-Nonce and X-Govcredit-Signature");
  if (time.size() > 15 || time.find_first_not_of("0123456789") != std::string::npos)
    return unauthenticated("X-Govcredit-Time must be milliseconds since the Unix epoch");
  std::int64_t t = std::stoll(time);
  if (t < now_ms - kWindowMs || t > now_ms + kWindowMs)
    return Status(Reason::kRequestExpired,
                  "the request was signed for a time more than 5 minutes from the server's clock; "
                  "check the client's clock and sign again");
  if (!nonce_ok(nonce))
    return unauthenticated("X-Govcredit-Nonce must be 16 to 64 characters of A-Z a-z 0-9 _ -");
  auto sig_bytes = from_base64(sig);
  if (!sig_bytes || sig_bytes->size() != 64)
    return unauthenticated("X-Govcredit-Signature must be the base64 of a 64-byte signature");
  const KeyInfo* k = registry.key(KeyId(key));
  if (!k) return unauthenticated("the key " + key.substr(0, 64) + " is not registered");
  if (k->revoked_at && *k->revoked_at <= Timestamp{now_ms})
    return unauthenticated("the key " + key + " was revoked");
  if (k->valid_from > Timestamp{now_ms})
    return unauthenticated("the key " + key + " is not valid yet");
  const PrincipalInfo* p = registry.principal(k->principal);
  if (!p) return unauthenticated("the key's principal is not registered");
  Signature s;
  std::copy(sig_bytes->begin(), sig_bytes->end(), s.bytes.begin());
  if (!k->key.verify(as_bytes(signing_string(r.method, r.target, t, nonce, r.body)), s))
    return unauthenticated(
        "the signature does not verify: sign \"govcredit-request-v1\", the method, the target, "
        "the time, the nonce and the body's SHA-256 (docs/API.md)");
  // Only a request that verifies may use up a nonce (or an attacker could burn nonces).
  switch (nonces.use(key, nonce, t, now_ms)) {
    case NonceCache::Use::kFirst:
      break;
    case NonceCache::Use::kReplayed:
      return Status(Reason::kRequestReplayed,
                    "this nonce was already used with this key: every request needs a fresh one");
    case NonceCache::Use::kFull:
      return Status(Reason::kRateLimited,
                    "too many signed requests inside the replay window; retry shortly, or open a "
                    "session (POST /v1/sessions) for many requests");
  }
  return Caller{true, *p, KeyId(key)};
}

}  // namespace govcredit::auth
