// ed25519_bench: the ledger's own Ed25519 rates on one core (PublicKey::verify and
// PrivateKey::sign, through libsodium), as JSON, beside `openssl speed ed25519` (which
// tools/bench runs too): the reference of the single-signed ingest target is the faster verifier.
//
//   ed25519_bench [--seconds S] [--out FILE]
#include <CLI/CLI.hpp>

#include "bench_util.h"

int main(int argc, char** argv) {
  using namespace govcredit;
  CLI::App app{"The ledger's Ed25519 verification and signing rates on one core, as JSON."};
  double seconds = 2;
  std::string out = "bench-results/ed25519.json";
  app.add_option("--seconds", seconds, "seconds per measurement")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 60.0));
  app.add_option("--out", out, "result JSON")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  const double verify = bench::ledger_verify_rate(seconds);
  if (verify <= 0) {
    std::cerr << "ed25519_bench: a signature of the ledger's own key did not verify\n";
    return 1;
  }
  auto key = bench::rate_key();
  if (!key) {
    std::cerr << "ed25519_bench: " << key.status().to_string() << "\n";
    return 1;
  }
  const Bytes message = bench::rate_message();
  const double sign = bench::calls_per_second(seconds, [&] { key->sign(message); });
  bench::write_result(out, {{"library", "libsodium"},
                            {"message_bytes", message.size()},
                            {"verify_per_s_per_core", verify},
                            {"sign_per_s_per_core", sign}});
  return 0;
}
