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

bool NonceCache::first_use(const std::string& key, const std::string& nonce, std::int64_t time_ms,
                           std::int64_t now_ms) {
  std::lock_guard lock(mu_);
  // A nonce can only be replayed while its time is inside the window; forget older ones.
  while (!by_expiry_.empty() && by_expiry_.begin()->first < now_ms) {
    seen_.erase(by_expiry_.begin()->second);
    by_expiry_.erase(by_expiry_.begin());
  }
  auto k = std::make_pair(key, nonce);
  if (seen_.count(k)) return false;
  if (seen_.size() >= capacity_) return false;  // fail closed under a flood
  seen_.insert(k);
  by_expiry_.emplace(time_ms + kWindowMs, std::move(k));
  return true;
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
  if (!nonces.first_use(key, nonce, t, now_ms))
    return Status(Reason::kRequestReplayed,
                  "this nonce was already used with this key: every request needs a fresh one");
  return Caller{true, *p, KeyId(key)};
}

}  // namespace govcredit::auth
