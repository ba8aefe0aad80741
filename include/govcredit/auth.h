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

#include <array>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <unordered_set>

#include "govcredit/crypto.h"
#include "govcredit/http.h"
#include "govcredit/registry.h"
#include "govcredit/seeded_hash.h"

namespace govcredit::auth {

inline constexpr std::int64_t kWindowMs = 5 * 60 * 1000;  // ± this much clock difference

std::string signing_string(std::string_view method, std::string_view target, std::int64_t time_ms,
                           std::string_view nonce, std::string_view body);

// The four headers for a request signed with key (for clients and tests).
std::map<std::string, std::string> sign_request(const PrivateKey& key, std::string_view method,
                                                std::string_view target, std::string_view body,
                                                std::int64_t time_ms, std::string nonce = "");

// Nonces seen per key inside the replay window, as 16-byte digests of (key, nonce) in one bucket
// per minute of their signed time; a bucket is dropped once every time in it is too old to be
// accepted. About 60 bytes per remembered nonce.
class NonceCache {
 public:
  enum class Use { kFirst, kReplayed, kFull };
  explicit NonceCache(std::size_t capacity = 4'000'000) : capacity_(capacity) {}
  Use use(const std::string& key, const std::string& nonce, std::int64_t time_ms,
          std::int64_t now_ms);
  std::size_t size() const;

 private:
  // Seeded: a client picks its nonces, so it could pick ones whose digests share a bucket of an
  // unseeded hash. The sets are only searched, never iterated.
  struct Hash {
    std::size_t operator()(const std::array<std::uint8_t, 16>& d) const {
      return seeded_hash16(d.data());
    }
  };
  mutable std::mutex mu_;
  std::size_t capacity_;
  std::size_t size_ = 0;
  std::map<std::int64_t, std::unordered_set<std::array<std::uint8_t, 16>, Hash>> buckets_;
};

struct Caller {
  bool authenticated = false;  // false: the public
  PrincipalInfo principal;
  KeyId key;
};

// Checks a request against the registry at now_ms. A request without any X-Govcredit-* header is
// the public (ok, not authenticated); one with some but not all, or a bad one, is an error:
// kUnauthenticated, kRequestExpired, kRequestReplayed, or kRateLimited when the replay window
// holds more nonces than the cache may keep.
Result<Caller> authenticate(const http::Request& r, const Registry& registry, NonceCache& nonces,
                            std::int64_t now_ms);

}  // namespace govcredit::auth
