// Fuzz target: HTTP request handling. Raw bytes go through the server's own parsing (Beast, the
// server's limits) and the API's router over a small demo shard (http::handle_raw): every input
// gets an answer with a status and, for errors, a JSON {code, message}; never a crash.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string_view>

#include "govcredit/api.h"
#include "govcredit/bus.h"
#include "govcredit/demo.h"
#include "govcredit/http.h"
#include "govcredit/privacy.h"

namespace {

struct World {
  std::unique_ptr<govcredit::EmbeddedBus> bus;
  std::unique_ptr<govcredit::KeyVault> vault;
  std::optional<govcredit::PrivateKey> ledger_key, complaint_key;
  govcredit::Api api;
};

World& world() {
  static World* w = [] {
    auto* w = new World;
    char tmpl[] = "/tmp/govcredit-fuzz-http-XXXXXX";
    static const std::string dir = mkdtemp(tmpl);
    std::atexit([] { std::filesystem::remove_all(dir); });  // libFuzzer ends with exit()
    auto bus = govcredit::EmbeddedBus::open(
        govcredit::EmbeddedOptions{.data_dir = dir + "/data", .partitions = 2});
    if (!bus) std::abort();
    w->bus = std::move(*bus);
    auto demo = govcredit::demo::generate(govcredit::demo::Options{.seed = 5, .records = 40});
    for (const auto& r : w->bus->publish_all_with_results(demo.events))
      if (!r) std::abort();
    auto vault = govcredit::KeyVault::open(dir + "/data/vault");
    if (!vault) std::abort();
    w->vault = std::move(*vault);
    w->ledger_key.emplace(govcredit::PrivateKey::generate().value());
    w->complaint_key.emplace(govcredit::demo::key_for(govcredit::PrincipalId("complaints")));
    govcredit::ApiContext ctx;
    ctx.partitions = 2;
    ctx.shard = [b = w->bus.get()](govcredit::Partition p) { return &b->shard(p); };
    ctx.bus = w->bus.get();
    ctx.embedded = w->bus.get();
    ctx.rules = &govcredit::ScoringRules::builtin();
    ctx.ledger_key = &*w->ledger_key;
    ctx.complaint_key = &*w->complaint_key;
    ctx.vault = w->vault.get();
    ctx.web_dir = GOVCREDIT_SOURCE_DIR "/web";
    w->api = govcredit::make_api(ctx);
    return w;
  }();
  return *w;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  World& w = world();
  govcredit::http::Response r = govcredit::http::handle_raw(
      std::string_view(reinterpret_cast<const char*>(data), size), w.api.router);
  if (r.status < 100 || r.status > 599) std::abort();
  if (r.status >= 400 && r.content_type.rfind("application/json", 0) == 0) {
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (!j.is_object() || !j.contains("code") || !j.contains("message")) std::abort();
  }
  return 0;
}
