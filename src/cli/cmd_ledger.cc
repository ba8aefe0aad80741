#include "common.h"

namespace govcredit::cli {
void register_ledger_commands(CLI::App&, Runner&) {}
}  // namespace govcredit::cli
