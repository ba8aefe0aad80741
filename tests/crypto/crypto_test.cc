#include "govcredit/crypto.h"

#include <gtest/gtest.h>

#include "govcredit/encoding.h"

namespace govcredit {
namespace {

TEST(Sha256, MatchesFips180Vector) {
  EXPECT_EQ(to_hex(sha256(std::string_view("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256 h;
  h.update(std::string_view("a")).update(std::string_view("bc"));
  EXPECT_EQ(h.finish(), sha256(std::string_view("abc")));
  EXPECT_EQ(h.update(std::string_view("abc")).finish(),
            sha256(std::string_view("abc")));  // reusable
}

// RFC 8032 §7.1, TEST 1 and TEST 2.
TEST(Ed25519, MatchesRfc8032Vectors) {
  auto seed = *from_hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  auto key = PrivateKey::from_seed(seed);
  ASSERT_TRUE(key);
  EXPECT_EQ(to_hex(key->public_key().bytes()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  Signature sig = key->sign({});
  EXPECT_EQ(to_hex(sig),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
            "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
  EXPECT_TRUE(key->public_key().verify({}, sig));

  auto key2 = PrivateKey::from_seed(
      *from_hex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"));
  Bytes msg{0x72};
  EXPECT_EQ(to_hex(key2->sign(msg)),
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
            "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00");
}

TEST(Ed25519, RejectsChangedMessageOrSignature) {
  auto key = PrivateKey::generate();
  ASSERT_TRUE(key);
  Bytes msg{1, 2, 3};
  Signature sig = key->sign(msg);
  EXPECT_TRUE(key->public_key().verify(msg, sig));
  Bytes other{1, 2, 4};
  EXPECT_FALSE(key->public_key().verify(other, sig));
  sig.bytes[0] ^= 1;
  EXPECT_FALSE(key->public_key().verify(msg, sig));
}

// A signature is not malleable: S + L (L the group order) satisfies the same equation, and is
// refused because S must be below L (RFC 8032 §5.1.7), so one event has one valid signature.
TEST(Ed25519, RefusesTheSignatureWithTheGroupOrderAddedToS) {
  auto key = PrivateKey::generate();
  ASSERT_TRUE(key);
  Bytes msg{1, 2, 3};
  Signature sig = key->sign(msg);
  ASSERT_TRUE(key->public_key().verify(msg, sig));
  // L = 2^252 + 27742317777372353535851937790883648493, little-endian.
  auto order = *from_hex("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");
  unsigned carry = 0;
  for (std::size_t i = 0; i < 32; ++i) {
    unsigned sum = sig.bytes[32 + i] + order[i] + carry;
    sig.bytes[32 + i] = static_cast<std::uint8_t>(sum);
    carry = sum >> 8;
  }
  ASSERT_EQ(carry, 0u);  // S < L, so S + L < 2^256
  EXPECT_FALSE(key->public_key().verify(msg, sig));
}

// A public key of small order verifies forged signatures: under the neutral point (encoded 01 00
// ... 00) the signature R = that point, S = 0 holds for every message, and OpenSSL 3.0's Ed25519
// accepts it. Such keys, non-canonical encodings and points outside the prime-order group are not
// keys at all.
TEST(Ed25519, RefusesKeysOfSmallOrderAndNonCanonicalEncodings) {
  for (const char* hex : {
           "0100000000000000000000000000000000000000000000000000000000000000",  // neutral
           "0000000000000000000000000000000000000000000000000000000000000080",  // order 4
           "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",  // order 8
           "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  // y = p
       }) {
    PublicKeyBytes raw;
    auto bytes = *from_hex(hex);
    std::copy(bytes.begin(), bytes.end(), raw.bytes.begin());
    auto key = PublicKey::from_bytes(raw);
    ASSERT_FALSE(key) << hex;
    EXPECT_EQ(key.status().reason(), Reason::kFieldInvalid) << hex;
  }
  auto honest = PrivateKey::generate();
  ASSERT_TRUE(honest);
  EXPECT_TRUE(PublicKey::from_bytes(honest->public_key().bytes()));
}

TEST(Ed25519, PemRoundTripKeepsKeyAndId) {
  auto key = PrivateKey::generate();
  auto back = PrivateKey::from_pem(key->to_pem());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->public_key().bytes(), key->public_key().bytes());
  auto pub = PublicKey::from_pem(key->public_key().to_pem());
  ASSERT_TRUE(pub);
  EXPECT_EQ(pub->key_id(), key->key_id());
  EXPECT_EQ(key->key_id().value.size(), 32u);
  EXPECT_EQ(key->key_id().value,
            to_hex(ByteView(sha256(key->public_key().bytes().view()).bytes.data(), 16)));
}

TEST(Ed25519, RejectsNonEd25519AndGarbagePem) {
  EXPECT_FALSE(PublicKey::from_pem("not a pem"));
  EXPECT_FALSE(
      PrivateKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"));
  // An EC P-256 public key is well-formed PEM but not Ed25519.
  const char* ec =
      "-----BEGIN PUBLIC KEY-----\n"
      "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEVs/o5+uQbTjL3chynL4wXgUg2R9\n"
      "q9UU8I5mEovUf86QZ7kOBIjJwqnzD1omageEHWwHdBO6B+dFabmdT9POxg==\n"
      "-----END PUBLIC KEY-----\n";
  auto r = PublicKey::from_pem(ec);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.status().reason(), Reason::kInvalidArgument);
}

}  // namespace
}  // namespace govcredit
