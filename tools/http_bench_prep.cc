// Pre-signs requests for the HTTP benchmark (tools/http_bench.sh): every request the API accepts
// carries a fresh nonce and a current time (auth.h), so wrk cannot repeat one request; it replays
// this list instead, one entry per request, from a Lua table.
//
//   http_bench_prep --key PEM [--method M] --target /v1/agencies/X --count N --out FILE.tsv
//   http_bench_prep --key PEM --submit AGENCY --count N --out FILE.tsv   (signed record events)
//
// The output has one request per line: method TAB target TAB key TAB time TAB nonce TAB
// signature TAB body (compact JSON has no raw tabs or newlines).
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
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i], v = argv[i + 1];
    if (a == "--key")
      key_path = v;
    else if (a == "--target")
      target = v;
    else if (a == "--submit")
      submit = v;
    else if (a == "--issuer")
      issuer = v;
    else if (a == "--method")
      method_opt = v;
    else if (a == "--count")
      count = std::stol(v);
    else if (a == "--out")
      out_path = v;
    else {
      std::cerr << "unknown option " << a << "\n";
      return 2;
    }
  }
  if (key_path.empty() || out_path.empty() || count <= 0 || (target.empty() == submit.empty()) ||
      (!submit.empty() && issuer.empty())) {
    std::cerr << "usage: http_bench_prep --key PEM (--target PATH | --submit AGENCY --issuer P) "
                 "--count N --out FILE.tsv\n";
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
