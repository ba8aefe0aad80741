// Internal to src/events: decoders throw DecodeError deep inside a field walk and convert it to
// a Status at the public function's edge, so no exception leaves the module.
#pragma once

#include <stdexcept>
#include <string>

#include "govcredit/status.h"

namespace govcredit::events_internal {

struct DecodeError {
  Status status;
};

[[noreturn]] inline void fail(Reason r, std::string message) {
  throw DecodeError{Status(r, std::move(message))};
}

}  // namespace govcredit::events_internal
