// Pre-signs requests for the HTTP benchmark (tools/http_bench.sh): every request the API accepts
// carries a fresh nonce and a current time (auth.h), so wrk cannot repeat one request; it replays
// this list instead, one entry per request, from a Lua table.
//
//   http_bench_prep --key PEM [--method M] --target /v1/agencies/X --count N --out FILE.tsv
//   http_bench_prep --key PEM --submit AGENCY --count N --out FILE.tsv   (signed record events)
//
// The output has one request per line: method TAB target TAB key TAB time TAB nonce TAB
// signature TAB body (compact JSON has no raw tabs or newlines).
#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "govcredit/auth.h"
#include "govcredit/codec.h"
#include "govcredit/encoding.h"

using namespace govcredit;

namespace {

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

int main(int argc, char** argv) {
  std::string key_path, target, submit, out_path, issuer, method_opt = "GET";
  long count = 0;
  CLI::App app{"http_bench_prep: pre-signed requests for wrk (tools/http_bench.sh)"};
  app.add_option("--key", key_path, "the signing key (PEM)")->required();
  auto* t = app.add_option("--target", target, "GET this path, signed per request");
  auto* s = app.add_option("--submit", submit, "POST events about this agency");
  t->excludes(s);
  app.add_option("--issuer", issuer, "the submitting principal (with --submit)")->needs(s);
  app.add_option("--method", method_opt, "HTTP method for --target")->capture_default_str();
  app.add_option("--count", count, "requests to prepare")
      ->required()
      ->check(CLI::Range(1L, 1L << 40));
  app.add_option("--out", out_path, "output TSV")->required();
  CLI11_PARSE(app, argc, argv);
  if (target.empty() == submit.empty() || (!submit.empty() && issuer.empty())) {
    std::cerr << "http_bench_prep: give --target PATH or --submit AGENCY --issuer P\n";
    return 2;
  }
  std::ifstream in(key_path);
  std::stringstream pem;
  pem << in.rdbuf();
  auto key = PrivateKey::from_pem(pem.str());
  if (!key) {
    std::cerr << key.status().to_string() << "\n";
    return 3;
  }
  std::ofstream out(out_path);
  const std::int64_t t0 = wall_ms();
  for (long i = 0; i < count; ++i) {
    std::string method = method_opt, path = target, body;
    if (!submit.empty()) {
      Event e;
      random_bytes(e.id.bytes);
      e.subject = AgencyId(submit);
      e.issuer = PrincipalId(issuer);
      e.issued_at = Timestamp{t0 + i};
      e.payload =
          RecordSubmitted{Category::kServiceCommitment,
                          "benchmark record " + std::to_string(i),
                          "submitted by tools/http_bench.sh",
                          Timestamp{t0 - 86400000},
                          {Evidence{sha256(std::to_string(i)), "bench://" + std::to_string(i)}},
                          std::nullopt};
      sign_event(e, *key);
      method = "POST";
      path = "/v1/events";
      body = event_to_json_text(e);
    }
    auto h = auth::sign_request(*key, method, path, body, t0);
    out << method << '\t' << path << '\t' << h["X-Govcredit-Key"] << '\t' << h["X-Govcredit-Time"]
        << '\t' << h["X-Govcredit-Nonce"] << '\t' << h["X-Govcredit-Signature"] << '\t' << body
        << '\n';
  }
  std::cerr << "signed " << count << " requests in " << (wall_ms() - t0) / 1000.0 << " s\n";
  return out ? 0 : 3;
}
