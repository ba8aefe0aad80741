#include "common.h"

namespace govcredit::cli {
void register_demo(CLI::App&, Runner&) {}
}  // namespace govcredit::cli
