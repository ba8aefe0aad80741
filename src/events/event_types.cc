#include <array>

#include "govcredit/event.h"

#include "govcredit/encoding.h"

namespace govcredit {
namespace {

template <std::size_t... I>
constexpr auto type_names(std::index_sequence<I...>) {
  return std::array<std::string_view, sizeof...(I)>{
      std::variant_alternative_t<I, Payload>::kType...};
}
constexpr auto kTypeNames = type_names(std::make_index_sequence<kEventTypeCount>{});

template <std::size_t... I>
void emplace_payload(std::size_t index, Payload& p, std::index_sequence<I...>) {
  ((index == I ? (p.emplace<I>(), 0) : 0), ...);
}

}  // namespace

std::string complaint_receipt(Timestamp filed, std::uint32_t number) {
  const std::string day = format_time(filed);  // YYYY-MM-DDT...
  const std::string digits = std::to_string(number % 100000000);
  return "TS" + day.substr(0, 4) + day.substr(5, 2) + day.substr(8, 2) + "-" +
         std::string(8 - digits.size(), '0') + digits;
}

std::string_view event_type_name(EventType t) {
  return kTypeNames.at(t);
}
std::string_view event_type_name(const Payload& p) {
  return kTypeNames[p.index()];
}

const std::vector<std::string_view>& all_event_type_names() {
  static const std::vector<std::string_view> v(kTypeNames.begin(), kTypeNames.end());
  return v;
}

bool emplace_payload_for_type(std::string_view name, Payload& p) {
  for (std::size_t i = 0; i < kTypeNames.size(); ++i)
    if (kTypeNames[i] == name) {
      emplace_payload(i, p, std::make_index_sequence<kEventTypeCount>{});
      return true;
    }
  return false;
}

std::optional<Payload> payload_for_type(std::string_view name) {
  Payload p;
  if (!emplace_payload_for_type(name, p)) return std::nullopt;
  return p;
}

}  // namespace govcredit
