// Fuzz target: the event decoder (events/FORMAT.md §2). Any bytes either decode or are refused
// with a status; what decodes re-encodes to exactly the same bytes (one encoding per event, so
// an event id names one byte string).
#include <cstdint>
#include <cstdlib>

#include "govcredit/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  govcredit::Bytes wire(data, data + size);
  auto e = govcredit::decode_wire(wire);
  if (!e) return 0;
  if (govcredit::encode_wire(*e) != wire) std::abort();
  return 0;
}
