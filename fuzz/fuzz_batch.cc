// Fuzz target: the batch envelope (events/FORMAT.md §2b). A decoded batch member's Merkle path is
// walked to a root and its signature checked against a fixed key: refused, never a crash; and a
// trailer never claims an index outside its batch.
#include <cstdint>
#include <cstdlib>

#include "govcredit/codec.h"
#include "govcredit/crypto.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const govcredit::PublicKey key = [] {
    std::uint8_t seed[32] = {7};
    return govcredit::PrivateKey::from_seed(govcredit::ByteView(seed, 32)).value().public_key();
  }();
  govcredit::Bytes wire(data, data + size);
  auto e = govcredit::decode_wire(wire);
  if (!e || !e->batch) return 0;
  if (e->batch->index >= e->batch->size) std::abort();
  const std::size_t trailer = govcredit::wire_trailer_size(*e);
  if (trailer > wire.size()) std::abort();
  govcredit::ByteView signing(wire.data(), wire.size() - trailer);
  (void)govcredit::batch_root(*e, signing);
  (void)govcredit::signature_valid(*e, signing, key);
  return 0;
}
