// SHA-256 through OpenSSL 3 (its SHA256_* functions, see Sha256); Ed25519 keys read and written
// as PEM through OpenSSL, Ed25519 signatures made and checked by libsodium, which verifies 2.2 ×
// as fast as OpenSSL 3.0 on the benchmark machine (19.8k against 8.9k per second and core) and
// rejects what OpenSSL accepts from keys of small order (docs/PERFORMANCE.md §5.28).
//
// Thread-safety: PublicKey::verify and PrivateKey::sign are const and safe to call from several
// threads at once on one object. Sha256 is one hashing session: one thread at a time.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "govcredit/status.h"
#include "govcredit/types.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace govcredit {

Digest sha256(ByteView data);
inline Digest sha256(std::string_view data) {
  return sha256(as_bytes(data));
}

// Incremental SHA-256 over several parts.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  Sha256& update(ByteView data);
  Sha256& update(std::string_view data) { return update(as_bytes(data)); }
  // Returns the digest and resets the session for reuse.
  Digest finish();

 private:
  // OpenSSL's SHA256_CTX (112 bytes; checked where it is used). The ledger hashes short inputs
  // (a chain link or a Merkle node is 65 bytes) millions of times, and OpenSSL 3's EVP layer
  // costs about as much per call as the hash itself (226 vs 115 ns for 65 bytes on the
  // benchmark machine), so Sha256 calls the SHA256_* functions directly: the same
  // implementation (SHA-NI where the CPU has it) without the provider dispatch.
  alignas(8) unsigned char state_[112];
};

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const;
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

// The key id of a public key: lowercase hex of the first 16 bytes of SHA-256(raw key).
KeyId key_id_of(const PublicKeyBytes& key);

class PublicKey {
 public:
  // Rejects (kFieldInvalid) 32 bytes that are not the canonical encoding of a point of the
  // prime-order group (libsodium's crypto_core_ed25519_is_valid_point): a key of small order
  // would verify forged signatures, and no honestly generated key is one.
  static Result<PublicKey> from_bytes(const PublicKeyBytes& raw);
  // PEM SubjectPublicKeyInfo ("-----BEGIN PUBLIC KEY-----"). Rejects keys other than Ed25519.
  static Result<PublicKey> from_pem(std::string_view pem);

  const PublicKeyBytes& bytes() const { return raw_; }
  const KeyId& key_id() const { return key_id_; }
  std::string to_pem() const;
  // True when sig is a valid Ed25519 signature of message under this key, as libsodium's
  // crypto_sign_verify_detached decides (events/FORMAT.md §2: S below the group order, R not of
  // small order, the equation without the cofactor).
  bool verify(ByteView message, const Signature& sig) const;

 private:
  PublicKey() = default;
  std::shared_ptr<EVP_PKEY> pkey_;  // for to_pem; shared: PublicKey is copied freely
  PublicKeyBytes raw_;
  KeyId key_id_;
};

class PrivateKey {
 public:
  // A fresh key from the OpenSSL CSPRNG.
  static Result<PrivateKey> generate();
  // The key with this RFC 8032 32-byte seed. For test vectors and deterministic demos only.
  static Result<PrivateKey> from_seed(ByteView seed32);
  // PEM PKCS#8 ("-----BEGIN PRIVATE KEY-----"). Rejects keys other than Ed25519.
  static Result<PrivateKey> from_pem(std::string_view pem);

  std::string to_pem() const;
  const PublicKey& public_key() const { return public_; }
  const KeyId& key_id() const { return public_.key_id(); }
  Signature sign(ByteView message) const;

 private:
  struct Secret;  // libsodium's signing key: the seed, then the public key; wiped when freed
  PrivateKey(PkeyPtr pkey, std::shared_ptr<const Secret> secret, PublicKey pub)
      : pkey_(std::move(pkey)), secret_(std::move(secret)), public_(std::move(pub)) {}
  static Result<PrivateKey> from_pkey(PkeyPtr pkey);
  std::shared_ptr<EVP_PKEY> pkey_;  // for to_pem
  std::shared_ptr<const Secret> secret_;
  PublicKey public_;
};

// Fills buf with cryptographically random bytes (OpenSSL RAND_bytes).
void random_bytes(std::span<std::uint8_t> buf);

}  // namespace govcredit
