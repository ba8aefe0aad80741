// govcredit: one binary, many subcommands. See `govcredit --help`.
#include <cstdlib>
#include <iostream>
#include <string>

#include "common.h"
#if defined(GOVCREDIT_MIMALLOC)
#include <mimalloc.h>
#endif

namespace {

// The allocator malloc reaches, asked at run time: a build linked with mimalloc says so only if
// a block from malloc really lies in mimalloc's heap (the override took).
std::string allocator_in_use() {
#if defined(GOVCREDIT_MIMALLOC)
  void* p = std::malloc(64);
  const bool ours = mi_is_in_heap_region(p);
  std::free(p);
  const int v = mi_version();
  if (ours)
    return "mimalloc " + std::to_string(v / 100) + "." + std::to_string(v / 10 % 10) + "." +
           std::to_string(v % 10) +
           (mi_option_is_enabled(mi_option_large_os_pages) ? " (large OS pages)" : "");
  return "the C library's malloc (mimalloc is linked but did not take over malloc)";
#else
  return "the C library's malloc";
#endif
}

}  // namespace

int main(int argc, char** argv) {
  using namespace govcredit::cli;
  CLI::App app{
      "govcredit — a tamper-evident ledger of government credit (integrity) records.\n\n"
      "Exit codes: 0 ok; 1 an event, proof or ledger failed verification; 2 usage error;\n"
      "3 a file, key or store could not be read or written; 4 internal error.",
      "govcredit"};
  app.require_subcommand(1);
  app.set_version_flag("--version",
                       "govcredit 0.1.0 (event format v1); allocator: " + allocator_in_use());
  Runner run;
  register_keygen(app, run);
  register_event(app, run);
  register_demo(app, run);
  register_ledger_commands(app, run);
  register_proof_commands(app, run);
  register_kafka_commands(app, run);
  register_domain_commands(app, run);
  register_serve(app, run);
  register_report_commands(app, run);
  register_import(app, run);
  register_dev(app, run);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  try {
    return run ? run() : kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << "error: internal: " << e.what() << "\n";
    return kExitInternal;
  }
}
