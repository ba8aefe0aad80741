// Checks every committed vector in events/testvectors against the code.
#include <gtest/gtest.h>

#include <filesystem>

#include "govcredit/codec.h"
#include "support/support.h"

namespace govcredit {
namespace {

TEST(TestVectors, EveryVectorMatchesItsExpectation) {
  std::set<std::string> valid_types;
  int invalid = 0;
  for (const auto& dir :
       std::filesystem::directory_iterator(testing::source_dir() + "/events/testvectors")) {
    std::string name = dir.path().filename().string();
    SCOPED_TRACE(name);
    std::string expect = testing::vector_file(name, "expect");
    auto e = event_from_json(testing::vector_file(name, "event.json"));
    ASSERT_TRUE(e) << e.status().to_string();
    Bytes input = signing_input(*e);
    EXPECT_EQ(std::string(as_chars(input)), testing::vector_file(name, "signing-input.bin"));
    EXPECT_EQ(std::string(as_chars(e->signature.view())),
              testing::vector_file(name, "signature.bin"));
    auto pub = PublicKey::from_pem(testing::vector_file(name, "public.pem"));
    ASSERT_TRUE(pub);
    Status s = verify_event_signature(*e, *pub);
    if (expect == "valid\n") {
      EXPECT_TRUE(s) << s.to_string();
      valid_types.insert(std::string(e->type_name()));
      // The private key is the one that signed.
      auto priv = PrivateKey::from_pem(testing::vector_file(name, "private.pem"));
      ASSERT_TRUE(priv);
      EXPECT_EQ(priv->sign(input), e->signature);
    } else {
      ++invalid;
      ASSERT_EQ(expect.rfind("invalid ", 0), 0u) << expect;
      std::string code = expect.substr(8, expect.size() - 9);
      EXPECT_EQ(s.code(), code);
    }
  }
  EXPECT_EQ(valid_types.size(), kEventTypeCount) << "every event type needs a vector";
  EXPECT_GE(invalid, 4);
}

}  // namespace
}  // namespace govcredit
