// Power cuts during the key vault's puts and erases, simulated (support/power_cut.h). A writer
// process opens a new vault and follows vault_script (puts, and erases between them, each erase
// a marker file, a transaction, a compacting copy, two renames, the old file overwritten with
// zeros and removed) under write_log_shim.so, acknowledging each step once it has returned. For
// cuts after every logged call, states the disk may hold are opened as a vault in a child process,
// which must open, and then:
//   - hold every key whose put was acknowledged and whose erase had not begun, byte for byte;
//   - hold no key whose erase was acknowledged, and no file in the vault's directory may hold its
//     bytes (the open finishes what the erase left undone: SECURITY.md §6);
//   - for an erase under way at the cut, either still hold the key or hold neither it nor its
//     bytes anywhere;
//   - leave no erase marker, no old file and no half-made copy behind.
// Checked to fail without the erase marker (an erase cut after its transaction leaves the key's
// bytes in a free page), without the compact copy's flush (an acknowledged erase's new file
// torn: the vault does not open, or lost its keys) and without the flush of the directory after
// the renames.
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>

#include "projections/vault_power_cut.h"
#include "support/power_cut.h"
#include "support/support.h"

namespace govcredit {
namespace {

constexpr int kKeys = 15;    // 5 erases between the puts, 1 at the end
constexpr int kRepeats = 3;  // states drawn at each cut

bool holds(const std::string& data, const DataKey& key) {
  return std::search(data.begin(), data.end(), key.bytes.begin(), key.bytes.end(),
                     [](char a, std::uint8_t b) { return static_cast<std::uint8_t>(a) == b; }) !=
         data.end();
}

// Which keys' bytes some file under dir holds: '1' or '0' a key.
std::string bytes_on_disk(const std::string& dir) {
  std::string all;
  for (const auto& f : std::filesystem::recursive_directory_iterator(dir))
    if (f.is_regular_file()) all += testing::slurp(f.path().string()) + '\n';
  std::string out;
  for (int i = 0; i < kKeys; ++i) out += holds(all, testing::vault_key(i)) ? '1' : '0';
  return out;
}

// Opens the vault in dir in a child process (a state that crashed LMDB kills the child, not the
// test). The answer: "ok KEYS BYTES LEFT": KEYS a letter a key (P its bytes, W other bytes, -
// none), BYTES as bytes_on_disk after the vault is closed, LEFT the erase's files left behind (""
// none).
std::string open_and_look(const std::string& dir) {
  return testing::answer_in_child([&]() -> std::string {
    std::string keys;
    {
      auto v = KeyVault::open(dir);
      if (!v) return "the vault does not open: " + v.status().to_string();
      for (int i = 0; i < kKeys; ++i) {
        auto k = (*v)->get(testing::vault_complaint(i));
        if (!k) return "get fails: " + k.status().to_string();
        keys += !k->has_value() ? '-' : **k == testing::vault_key(i) ? 'P' : 'W';
      }
    }
    std::string left;
    for (const char* name : {"erasing", "data.mdb.erased", "compact"})
      if (std::filesystem::exists(dir + "/" + name))
        left += std::string(left.empty() ? "" : ",") + name;
    return "ok " + keys + " " + bytes_on_disk(dir) + " " + left;
  });
}

TEST(VaultPowerCut, NoStateLosesAKeptKeyOrKeepsTheBytesOfAnErasedOne) {
  const auto script = testing::vault_script(kKeys);
  testing::TempDir root;
  const std::string vault = root.path() + "/vault", log = root.path() + "/write.log";
  const testing::LoggedRun run =
      testing::run_logged({GOVCREDIT_VAULT_POWER_CUT_WRITER, vault, root.path() + "/power_cut.acks",
                           std::to_string(kKeys)},
                          log);
  ASSERT_TRUE(run.started);
  ASSERT_TRUE(WIFEXITED(run.status) && WEXITSTATUS(run.status) == 0)
      << "the writer failed: " << run.status;
  const std::vector<testing::LoggedCall> calls = testing::read_write_log(log);
  std::size_t renames = 0, removals = 0, syncs = 0, dir_syncs = 0;
  for (const auto& c : calls) {
    renames += c.kind == 'R';
    removals += c.kind == 'U';
    syncs += c.kind == 'S';
    dir_syncs += c.kind == 'Y';
  }
  std::cout << "write log: " << calls.size() << " calls, " << renames << " renames, " << removals
            << " removals, " << syncs << " file flushes, " << dir_syncs << " directory flushes\n";

  std::mt19937_64 rng(3);
  testing::TempDir state;
  testing::DiskModel disk;
  std::size_t checked = 0, marker = 0, old_file = 0, no_data = 0, copy = 0, undone = 0,
              in_flight_kept = 0, in_flight_gone = 0;
  for (std::size_t i = 0; i < calls.size(); ++i) {
    ASSERT_EQ(disk.apply(calls[i]), "") << "call " << i << " of the write log";
    const auto& acks = disk.acks();
    const std::size_t done = acks.size();
    ASSERT_LE(done, script.size());
    if (done > 0) {
      ASSERT_EQ(acks.back(), script[done - 1].ack());
    }
    const testing::VaultStep* in_flight = done < script.size() ? &script[done] : nullptr;
    for (int repeat = 0; repeat < kRepeats; ++repeat) {
      std::filesystem::remove_all(state.path());
      std::filesystem::create_directories(state.path());
      const testing::DiskModel::State st = disk.write_state(rng, vault, state.path());
      auto has = [&](const std::string& f) {
        return std::find(st.files.begin(), st.files.end(), f) != st.files.end();
      };
      marker += has("erasing");
      old_file += has("data.mdb.erased");
      no_data += !has("data.mdb");
      copy += has("compact/data.mdb");
      const std::string before = bytes_on_disk(state.path());
      const std::string answer = open_and_look(state.path());
      const std::string where = "power cut after call " + std::to_string(i) + " of " +
                                std::to_string(calls.size()) + " (" + std::to_string(done) +
                                " steps acknowledged, files on the disk:";
      std::string files;
      for (const auto& f : st.files) files += " " + f;
      ASSERT_EQ(answer.rfind("ok ", 0), 0u) << where << files << "): " << answer;
      const std::string keys = answer.substr(3, kKeys), after = answer.substr(4 + kKeys, kKeys),
                        left = answer.substr(5 + 2 * kKeys);
      EXPECT_EQ(left, "") << where << files << "): left behind after the open";
      for (int k = 0; k < kKeys; ++k) {
        bool put = false, erased = false;
        for (std::size_t s = 0; s < done; ++s) {
          put = put || (script[s].kind == testing::VaultStep::kPut && script[s].key == k);
          erased = erased || (script[s].kind == testing::VaultStep::kErase && script[s].key == k);
        }
        const bool erasing =
            in_flight && in_flight->kind == testing::VaultStep::kErase && in_flight->key == k;
        const bool putting =
            in_flight && in_flight->kind == testing::VaultStep::kPut && in_flight->key == k;
        const std::string what = where + files + "): key " + std::to_string(k);
        const char got = keys[static_cast<std::size_t>(k)];
        const bool on_disk = after[static_cast<std::size_t>(k)] == '1';
        ASSERT_NE(got, 'W') << what << " holds other bytes";
        if (erased) {
          ASSERT_EQ(got, '-') << what << ": its erase was acknowledged and the key is there";
          ASSERT_FALSE(on_disk) << what
                                << ": its erase was acknowledged and its bytes are on the disk";
          undone += before[static_cast<std::size_t>(k)] == '1';
        } else if (erasing) {
          ASSERT_TRUE(got == 'P' || !on_disk)
              << what << ": an erase under way took the key and left its bytes on the disk";
          (got == 'P' ? in_flight_kept : in_flight_gone) += 1;
          if (got == '-') undone += before[static_cast<std::size_t>(k)] == '1';
        } else if (put) {
          ASSERT_EQ(got, 'P') << what << ": its put was acknowledged and the key is lost";
        } else if (!putting) {
          ASSERT_EQ(got, '-') << what << " is there before its put";
        }
      }
      ++checked;
    }
  }
  std::cout << checked << " states checked: " << marker << " with an erase's marker, " << old_file
            << " with the old file, " << no_data << " without data.mdb, " << copy
            << " with a compact copy; an erase under way found done in " << in_flight_gone
            << " and not begun in " << in_flight_kept << "; " << undone
            << " erased keys whose bytes the open had to remove\n";
  // The states must have reached every step of an erase, and the open must have had work to do.
  EXPECT_GT(marker, 0u);
  EXPECT_GT(old_file, 0u);
  EXPECT_GT(no_data, 0u);
  EXPECT_GT(copy, 0u);
  EXPECT_GT(in_flight_gone, 0u);
  EXPECT_GT(in_flight_kept, 0u);
  EXPECT_GT(undone, 0u);
}

}  // namespace
}  // namespace govcredit
