// Text encodings used by the JSON representation and the CLI: hex, base64, RFC 3339 times,
// UTF-8 and identifier checks. Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "govcredit/types.h"

namespace govcredit {

// Lowercase hex.
std::string to_hex(ByteView bytes);
// Accepts only lowercase or uppercase hex of even length; nullopt otherwise.
std::optional<Bytes> from_hex(std::string_view hex);
// Parses exactly N bytes of hex into a fixed type; nullopt on any other length or character.
template <class Fixed>
std::optional<Fixed> fixed_from_hex(std::string_view hex) {
  auto b = from_hex(hex);
  if (!b || b->size() != Fixed::kSize) return std::nullopt;
  Fixed f;
  std::copy(b->begin(), b->end(), f.bytes.begin());
  return f;
}
template <std::size_t N, class Tag>
std::string to_hex(const FixedBytes<N, Tag>& f) {
  return to_hex(f.view());
}

// Standard base64 with padding (RFC 4648 §4).
std::string to_base64(ByteView bytes);
std::optional<Bytes> from_base64(std::string_view text);

// RFC 3339 UTC: "YYYY-MM-DDTHH:MM:SSZ", or with ".fff" when milliseconds are non-zero.
std::string format_time(Timestamp t);
// Accepts "YYYY-MM-DDTHH:MM:SS[.f{1,3}]Z", years 1970-9999, a real calendar date; nullopt
// otherwise. Other offsets than Z are rejected on purpose: one instant, one text.
std::optional<Timestamp> parse_time(std::string_view text);
// For people's input (flags, config files): RFC 3339 with "Z" or a "+08:00"-style offset.
std::optional<Timestamp> parse_time_with_offset(std::string_view s);

// True when the bytes are well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool is_valid_utf8(std::string_view s);
// True for "^[a-z0-9][a-z0-9._-]{0,63}$".
bool is_identifier(std::string_view s);

}  // namespace govcredit
