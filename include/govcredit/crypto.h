// SHA-256 and Ed25519 through OpenSSL 3 (Ed25519 through EVP; SHA-256 through OpenSSL's
// SHA256_* functions, see Sha256).
//
// Thread-safety: PublicKey::verify and PrivateKey::sign are const and safe to call from several
// threads at once on one object (verify uses a context per thread and key, sign one per call).
// Sha256 is one hashing session: one thread at a time.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "govcredit/status.h"
#include "govcredit/types.h"

typedef struct evp_pkey_st EVP_PKEY;
typedef struct evp_md_ctx_st EVP_MD_CTX;

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
  static Result<PublicKey> from_bytes(const PublicKeyBytes& raw);
  // PEM SubjectPublicKeyInfo ("-----BEGIN PUBLIC KEY-----"). Rejects keys other than Ed25519.
  static Result<PublicKey> from_pem(std::string_view pem);

  const PublicKeyBytes& bytes() const { return raw_; }
  const KeyId& key_id() const { return key_id_; }
  std::string to_pem() const;
  // True when sig is a valid Ed25519 signature of message under this key.
  bool verify(ByteView message, const Signature& sig) const;

 private:
  PublicKey() = default;
  std::shared_ptr<EVP_PKEY> pkey_;  // shared: PublicKey is copied into registries freely
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
  PrivateKey(PkeyPtr pkey, PublicKey pub) : pkey_(std::move(pkey)), public_(std::move(pub)) {}
  static Result<PrivateKey> from_pkey(PkeyPtr pkey);
  std::shared_ptr<EVP_PKEY> pkey_;
  PublicKey public_;
};

// Fills buf with cryptographically random bytes (OpenSSL RAND_bytes).
void random_bytes(std::span<std::uint8_t> buf);

}  // namespace govcredit
