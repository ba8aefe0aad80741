// Authenticated HTTP requests (docs/API.md §2): every request that is not public carries an
// Ed25519 signature by a key the registry knows, over the method, the target, the time, a nonce
// and the body's SHA-256. The server checks the key (registered, not revoked, already valid), the
// time (within a window of the server's clock) and the nonce (never seen with that key inside
// the window: a captured request cannot be replayed), then the signature.
//
//   X-Govcredit-Key:       the key id (32 lowercase hex digits, as registered)
//   X-Govcredit-Time:      milliseconds since the Unix epoch, decimal
//   X-Govcredit-Nonce:     16 to 64 characters of [A-Za-z0-9_-]
//   X-Govcredit-Signature: base64 of the 64-byte signature of
//
//   "govcredit-request-v1" LF method LF target LF time LF nonce LF lowercase-hex(SHA-256(body))
//
// (target = the request line's path and query exactly as sent).
//
// Thread-safety: NonceCache and RequestVerifier are safe to use from several threads at once.
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>

#include "govcredit/crypto.h"
#include "govcredit/http.h"
#include "govcredit/registry.h"

namespace govcredit::auth {

inline constexpr std::int64_t kWindowMs = 5 * 60 * 1000;  // ± this much clock difference

std::string signing_string(std::string_view method, std::string_view target, std::int64_t time_ms,
                           std::string_view nonce, std::string_view body);

// The four headers for a request signed with key (for clients and tests).
std::map<std::string, std::string> sign_request(const PrivateKey& key, std::string_view method,
                                                std::string_view target, std::string_view body,
                                                std::int64_t time_ms, std::string nonce = "");

// Nonces seen per key, forgotten once older than the window.
class NonceCache {
 public:
  explicit NonceCache(std::size_t capacity = 1'000'000) : capacity_(capacity) {}
  // False when (key, nonce) was seen inside the window, or the cache is full of live nonces.
  bool first_use(const std::string& key, const std::string& nonce, std::int64_t time_ms,
                 std::int64_t now_ms);

 private:
  std::mutex mu_;
  std::size_t capacity_;
  std::set<std::pair<std::string, std::string>> seen_;
  std::multimap<std::int64_t, std::pair<std::string, std::string>> by_expiry_;
};

struct Caller {
  bool authenticated = false;  // false: the public
  PrincipalInfo principal;
  KeyId key;
};

// Checks a request against the registry at now_ms. A request without any X-Govcredit-* header is
// the public (ok, not authenticated); one with some but not all, or a bad one, is an error:
// kUnauthenticated, kRequestExpired or kRequestReplayed.
Result<Caller> authenticate(const http::Request& r, const Registry& registry, NonceCache& nonces,
                            std::int64_t now_ms);

}  // namespace govcredit::auth
