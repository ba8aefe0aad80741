// Power cuts while the CLI writes a file (write_file, src/cli/common.h), simulated
// (support/power_cut.h): `govcredit keygen` makes a key pair, then a second run replaces it
// (--force), under write_log_shim.so. In every state a disk may hold after a cut, each of the two
// files holds one of the versions written, whole, or — before the first run returned — nothing;
// once a run has returned, its own. Checked to fail without the directory's flush after the
// rename (a key the command reported made, gone after the cut) and without the temporary file's
// flush (a key file holding part of a key, or none).
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "support/power_cut.h"
#include "support/support.h"

namespace govcredit {
namespace {

TEST(PowerCut, AFileTheCliWroteIsWholeAndThereOnceTheCommandReturned) {
  testing::TempDir root;
  const std::string keys = root.path() + "/keys", prefix = keys + "/k",
                    log = root.path() + "/write.log";
  std::filesystem::create_directories(keys);
  const std::vector<std::string> track = {"GOVCREDIT_WRITE_LOG_TRACK=k.key:k.pub"};
  const auto first = testing::run_logged({GOVCREDIT_BINARY, "keygen", "--out", prefix}, log, track);
  ASSERT_TRUE(first.started && WIFEXITED(first.status) && WEXITSTATUS(first.status) == 0);
  const std::string key1 = testing::slurp(prefix + ".key"), pub1 = testing::slurp(prefix + ".pub");
  const std::size_t first_calls = testing::read_write_log(log).size();
  const auto second =
      testing::run_logged({GOVCREDIT_BINARY, "keygen", "--out", prefix, "--force"}, log, track);
  ASSERT_TRUE(second.started && WIFEXITED(second.status) && WEXITSTATUS(second.status) == 0);
  const std::string key2 = testing::slurp(prefix + ".key"), pub2 = testing::slurp(prefix + ".pub");
  ASSERT_NE(key1, key2);
  ASSERT_FALSE(key1.empty() || pub1.empty() || pub2.empty());

  const std::vector<testing::LoggedCall> calls = testing::read_write_log(log);
  std::size_t renames = 0, dir_syncs = 0;
  for (const auto& c : calls) {
    renames += c.kind == 'R';
    dir_syncs += c.kind == 'Y';
  }
  EXPECT_EQ(renames, 4u);  // two files a run, each written under a temporary name
  std::cout << "write log: " << calls.size() << " calls (" << first_calls << " in the first run), "
            << renames << " renames, " << dir_syncs << " directory flushes\n";

  std::mt19937_64 rng(5);
  testing::TempDir state;
  testing::DiskModel disk;
  std::size_t checked = 0, absent = 0, old_version = 0, new_version = 0, temporaries = 0;
  for (std::size_t i = 0; i < calls.size(); ++i) {
    ASSERT_EQ(disk.apply(calls[i]), "") << "call " << i << " of the write log";
    const bool first_done = i + 1 >= first_calls, second_done = i + 1 == calls.size();
    for (int repeat = 0; repeat < 4; ++repeat) {
      std::filesystem::remove_all(state.path());
      std::filesystem::create_directories(state.path());
      const auto st = disk.write_state(rng, keys, state.path());
      const std::string where = "power cut after call " + std::to_string(i) + " of " +
                                std::to_string(calls.size()) + ": ";
      for (const auto& [name, v1, v2] :
           {std::tuple{"k.key", key1, key2}, std::tuple{"k.pub", pub1, pub2}}) {
        const std::string path = state.path() + "/" + name;
        if (!std::filesystem::exists(path)) {
          ASSERT_FALSE(first_done) << where << name << " is gone after keygen returned";
          ++absent;
          continue;
        }
        const std::string got = testing::slurp(path);
        if (second_done) {
          ASSERT_EQ(got, v2) << where << name << " is not what the second run wrote";
        } else if (first_done) {
          ASSERT_TRUE(got == v1 || got == v2) << where << name << " holds neither version whole";
          (got == v1 ? old_version : new_version) += 1;
        } else {
          ASSERT_EQ(got, v1) << where << name << " holds part of what the first run wrote";
        }
      }
      for (const auto& f : st.files) temporaries += f.find(".tmp-") != std::string::npos;
      ++checked;
    }
  }
  std::cout << checked << " states checked: " << absent << " files not there yet, " << old_version
            << " old and " << new_version << " new versions while the second run replaced them, "
            << temporaries << " temporary files\n";
  EXPECT_GT(absent, 0u);
  EXPECT_GT(old_version, 0u);
  EXPECT_GT(new_version, 0u);
  EXPECT_GT(temporaries, 0u);
}

}  // namespace
}  // namespace govcredit
