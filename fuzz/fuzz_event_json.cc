// Fuzz target: the JSON mapping (events/FORMAT.md §1). Any text either maps to an event or is
// refused with a status; what maps prints back to JSON that maps to the same event, and its wire
// form decodes to it too.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "govcredit/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto e = govcredit::event_from_json(text);
  if (!e) return 0;
  auto again = govcredit::event_from_json(govcredit::event_to_json_text(*e));
  if (!again || !(*again == *e)) std::abort();
  auto decoded = govcredit::decode_wire(govcredit::encode_wire(*e));
  if (!decoded || !(*decoded == *e)) std::abort();
  return 0;
}
