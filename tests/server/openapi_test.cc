// web/openapi.yaml against the router: every route the server has is documented, and every
// documented path and method is a route (no more, no fewer).
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>

#include "fixture.h"

namespace govcredit {
namespace {

// "METHOD /path" for each operation under `paths:` (two-space indented paths, four-space methods).
std::set<std::string> documented(const std::string& file) {
  std::ifstream in(file);
  std::set<std::string> out;
  std::string line, path;
  bool in_paths = false;
  const std::regex path_re(R"(^  (/[^:]*):\s*$)");
  const std::regex method_re(R"(^    (get|post|put|patch|delete|head|options):)");
  std::smatch m;
  while (std::getline(in, line)) {
    if (line == "paths:") {
      in_paths = true;
      continue;
    }
    if (!in_paths) continue;
    if (!line.empty() && line[0] != ' ') break;  // the next top-level key
    if (std::regex_match(line, m, path_re)) {
      path = m[1];
    } else if (std::regex_search(line, m, method_re) && !path.empty()) {
      std::string method = m[1];
      for (char& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      out.insert(method + " " + path);
    }
  }
  return out;
}

TEST(OpenApi, DocumentsExactlyTheRoutesTheServerHas) {
  const auto doc = documented(GOVCREDIT_SOURCE_DIR "/web/openapi.yaml");
  ASSERT_GT(doc.size(), 20u) << "the document did not parse";
  testing::TempDir dir;
  auto bus = EmbeddedBus::open(EmbeddedOptions{.data_dir = dir.path()});
  ASSERT_TRUE(bus);
  ApiContext ctx;
  ctx.shard = [b = bus->get()](Partition p) { return &b->shard(p); };
  ctx.bus = bus->get();
  ::govcredit::Api api = make_api(ctx);  // qualified: api_test.cc has a fixture named Api
  std::set<std::string> served;
  for (const std::string& r : api.router.routes()) served.insert(r);
  for (const std::string& r : served) EXPECT_TRUE(doc.count(r)) << r << " is not in openapi.yaml";
  for (const std::string& r : doc)
    EXPECT_TRUE(served.count(r)) << r << " is documented but not served";
}

}  // namespace
}  // namespace govcredit
