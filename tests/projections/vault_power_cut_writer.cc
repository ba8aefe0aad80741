// The writer of vault_power_cut_test.cc, run under write_log_shim.so: opens (creating) a key vault
// and follows vault_script(KEYS), appending each step's acknowledgement to ACKS (a file named
// power_cut.acks) once the step has returned.
// Usage: vault_power_cut_writer VAULT_DIR ACKS KEYS
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "projections/vault_power_cut.h"

int main(int argc, char** argv) {
  using namespace govcredit;
  if (argc != 4 || std::atoi(argv[3]) < 1) {
    std::fprintf(stderr, "usage: %s VAULT_DIR ACKS KEYS\n", argv[0]);
    return 2;
  }
  auto vault = KeyVault::open(argv[1]);
  if (!vault) {
    std::fprintf(stderr, "%s\n", vault.status().to_string().c_str());
    return 3;
  }
  const int ack = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (ack < 0) {
    std::perror(argv[2]);
    return 3;
  }
  for (const auto& step : testing::vault_script(std::atoi(argv[3]))) {
    const EventId id = testing::vault_complaint(step.key);
    const Status s = step.kind == testing::VaultStep::kPut
                         ? (*vault)->put(id, testing::vault_key(step.key))
                         : (*vault)->erase(id);
    if (!s.is_ok()) {
      std::fprintf(stderr, "%s: %s\n", step.ack().c_str(), s.to_string().c_str());
      return 3;
    }
    const std::string line = step.ack() + "\n";
    if (write(ack, line.data(), line.size()) != static_cast<ssize_t>(line.size())) return 3;
  }
  close(ack);
  return 0;
}
