// SHA256_Init/Update/Final are deprecated in OpenSSL 3 in favour of EVP, but remain supported;
// they are used for speed (see Sha256 in crypto.h).
#define OPENSSL_SUPPRESS_DEPRECATED
#include "govcredit/crypto.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <sodium.h>

#include <array>
#include <cstring>
#include <stdexcept>

#include "govcredit/encoding.h"

namespace govcredit {
namespace {

std::string openssl_error() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};

// libsodium picks its implementations for this CPU in sodium_init(), which must run before any
// other of its functions; it is thread-safe and runs once here.
bool sodium_ready() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

// A non-null pointer for an empty message (libsodium hashes it with memcpy).
const std::uint8_t* message_data(ByteView message) {
  static const std::uint8_t empty = 0;
  return message.empty() ? &empty : message.data();
}

std::string bio_to_string(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

}  // namespace

struct PrivateKey::Secret {
  std::array<std::uint8_t, crypto_sign_SECRETKEYBYTES> bytes{};
  ~Secret() { sodium_memzero(bytes.data(), bytes.size()); }
};

void PkeyDeleter::operator()(EVP_PKEY* p) const {
  EVP_PKEY_free(p);
}

Digest sha256(ByteView data) {
  Digest d;
  SHA256(data.data(), data.size(), d.bytes.data());
  return d;
}

Sha256::Sha256() {
  static_assert(sizeof(SHA256_CTX) == 112 && alignof(SHA256_CTX) <= 8);
  SHA256_Init(reinterpret_cast<SHA256_CTX*>(state_));
}
Sha256::~Sha256() = default;
Sha256& Sha256::update(ByteView data) {
  SHA256_Update(reinterpret_cast<SHA256_CTX*>(state_), data.data(), data.size());
  return *this;
}
Digest Sha256::finish() {
  Digest d;
  auto* ctx = reinterpret_cast<SHA256_CTX*>(state_);
  SHA256_Final(d.bytes.data(), ctx);
  SHA256_Init(ctx);
  return d;
}

KeyId key_id_of(const PublicKeyBytes& key) {
  Digest d = sha256(key.view());
  return KeyId(to_hex(ByteView(d.bytes.data(), 16)));
}

Result<PublicKey> PublicKey::from_bytes(const PublicKeyBytes& raw) {
  if (!sodium_ready()) return Status(Reason::kInternal, "libsodium failed to initialise");
  if (crypto_core_ed25519_is_valid_point(raw.bytes.data()) != 1)
    return Status(Reason::kFieldInvalid,
                  "not an Ed25519 public key: not the canonical encoding of a point of the "
                  "prime-order group");
  EVP_PKEY* p = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw.bytes.data(), 32);
  if (p == nullptr)
    return Status(Reason::kFieldInvalid, "not an Ed25519 public key: " + openssl_error());
  PublicKey k;
  k.pkey_.reset(p, PkeyDeleter{});
  k.raw_ = raw;
  k.key_id_ = key_id_of(raw);
  return k;
}

Result<PublicKey> PublicKey::from_pem(std::string_view pem) {
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PkeyPtr p(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!p) return Status(Reason::kInvalidArgument, "not a PEM public key: " + openssl_error());
  if (EVP_PKEY_get_id(p.get()) != EVP_PKEY_ED25519)
    return Status(Reason::kInvalidArgument, "the public key is not an Ed25519 key");
  PublicKeyBytes raw;
  std::size_t len = 32;
  if (EVP_PKEY_get_raw_public_key(p.get(), raw.bytes.data(), &len) != 1 || len != 32)
    return Status(Reason::kInvalidArgument, "cannot read the raw Ed25519 public key");
  return from_bytes(raw);
}

std::string PublicKey::to_pem() const {
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(bio.get(), pkey_.get());
  return bio_to_string(bio.get());
}

bool PublicKey::verify(ByteView message, const Signature& sig) const {
  // from_bytes initialised libsodium before this key existed.
  return crypto_sign_verify_detached(sig.bytes.data(), message_data(message), message.size(),
                                     raw_.bytes.data()) == 0;
}

Result<PrivateKey> PrivateKey::from_pkey(PkeyPtr pkey) {
  PublicKeyBytes raw;
  std::size_t len = 32;
  if (EVP_PKEY_get_raw_public_key(pkey.get(), raw.bytes.data(), &len) != 1 || len != 32)
    return Status(Reason::kInternal, "cannot derive the public key: " + openssl_error());
  auto pub = PublicKey::from_bytes(raw);
  if (!pub) return pub.status();
  // libsodium's signing key from the same RFC 8032 seed; its public half must be OpenSSL's.
  auto secret = std::make_shared<Secret>();
  std::array<std::uint8_t, crypto_sign_SEEDBYTES> seed{};
  len = seed.size();
  const bool read =
      EVP_PKEY_get_raw_private_key(pkey.get(), seed.data(), &len) == 1 && len == seed.size();
  std::array<std::uint8_t, crypto_sign_PUBLICKEYBYTES> derived{};
  const bool derived_ok =
      read && crypto_sign_seed_keypair(derived.data(), secret->bytes.data(), seed.data()) == 0;
  sodium_memzero(seed.data(), seed.size());
  if (!read) return Status(Reason::kInternal, "cannot read the private key: " + openssl_error());
  if (!derived_ok || std::memcmp(derived.data(), raw.bytes.data(), derived.size()) != 0)
    return Status(Reason::kInternal, "libsodium derived another public key from the seed");
  return PrivateKey(std::move(pkey), std::move(secret), std::move(pub).value());
}

Result<PrivateKey> PrivateKey::generate() {
  EVP_PKEY* p = nullptr;
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
      EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr), &EVP_PKEY_CTX_free);
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_keygen(ctx.get(), &p) != 1)
    return Status(Reason::kInternal, "key generation failed: " + openssl_error());
  return from_pkey(PkeyPtr(p));
}

Result<PrivateKey> PrivateKey::from_seed(ByteView seed32) {
  if (seed32.size() != 32) return Status(Reason::kInvalidArgument, "an Ed25519 seed is 32 bytes");
  PkeyPtr p(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed32.data(), 32));
  if (!p) return Status(Reason::kInternal, "cannot load the seed: " + openssl_error());
  return from_pkey(std::move(p));
}

Result<PrivateKey> PrivateKey::from_pem(std::string_view pem) {
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PkeyPtr p(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!p) return Status(Reason::kInvalidArgument, "not a PEM private key: " + openssl_error());
  if (EVP_PKEY_get_id(p.get()) != EVP_PKEY_ED25519)
    return Status(Reason::kInvalidArgument, "the private key is not an Ed25519 key");
  return from_pkey(std::move(p));
}

std::string PrivateKey::to_pem() const {
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), pkey_.get(), nullptr, nullptr, 0, nullptr, nullptr);
  return bio_to_string(bio.get());
}

Signature PrivateKey::sign(ByteView message) const {
  Signature sig;
  crypto_sign_detached(sig.bytes.data(), nullptr, message_data(message), message.size(),
                       secret_->bytes.data());
  return sig;
}

void random_bytes(std::span<std::uint8_t> buf) {
  if (RAND_bytes(buf.data(), static_cast<int>(buf.size())) != 1)
    throw std::runtime_error("the OpenSSL random generator failed");
}

}  // namespace govcredit
