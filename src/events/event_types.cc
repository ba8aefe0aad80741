#include <array>

#include "govcredit/event.h"

namespace govcredit {
namespace {

template <std::size_t... I>
constexpr auto type_names(std::index_sequence<I...>) {
  return std::array<std::string_view, sizeof...(I)>{
      std::variant_alternative_t<I, Payload>::kType...};
}
constexpr auto kTypeNames = type_names(std::make_index_sequence<kEventTypeCount>{});

template <std::size_t... I>
Payload make_payload(std::size_t index, std::index_sequence<I...>) {
  Payload p;
  ((index == I ? (p = std::variant_alternative_t<I, Payload>{}, 0) : 0), ...);
  return p;
}

}  // namespace

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

std::optional<Payload> payload_for_type(std::string_view name) {
  for (std::size_t i = 0; i < kTypeNames.size(); ++i)
    if (kTypeNames[i] == name) return make_payload(i, std::make_index_sequence<kEventTypeCount>{});
  return std::nullopt;
}

}  // namespace govcredit
