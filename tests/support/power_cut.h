// Simulated power cuts: what a disk may hold had the power failed at some moment while a process
// wrote, rebuilt from the log write_log_shim.so kept of its calls (tests/ledger/power_cut_test.cc,
// tests/projections/vault_power_cut_test.cc, tests/cli/file_power_cut_test.cc).
//
// The model. A file's bytes are on the disk once a flush of the file (fsync, fdatasync) or a write
// through a descriptor opened with O_DSYNC has put them there; of every 512-byte sector written
// since, the disk may hold any one of the versions the page cache held, or none — the writes
// reach it in any order, torn at sector boundaries. A directory's entries are in its blocks, and
// the disk holds one version of them: of the changes of names in a directory (a file created,
// renamed, linked, removed) since its last flush, a first few, in order. A rename between two
// directories is two changes, an entry added to one and taken from the other, each on the disk
// with its own directory. What it leaves out: a disk that lies about its flushes or writes a
// sector other than the one asked for; writes through a memory map; a large directory whose
// blocks reach the disk apart.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "govcredit/types.h"

namespace govcredit::testing {

// One record of a write log (write_log_shim.cc says what each kind means).
struct LoggedCall {
  char kind = 0;
  int fd = 0;
  std::uint64_t offset = 0;
  Bytes data;
  std::string text() const { return std::string(data.begin(), data.end()); }
};

// The records of a write log; one that ends inside a record fails the calling test.
std::vector<LoggedCall> read_write_log(const std::string& path);

// Runs argv (its program first) under write_log_shim.so, logging to `log` (appending), with
// `env` added to its environment ("NAME=value"), and waits for it.
struct LoggedRun {
  bool started = false;
  pid_t pid = 0;
  int status = 0;  // as waitpid gives it
};
LoggedRun run_logged(const std::vector<std::string>& argv, const std::string& log,
                     const std::vector<std::string>& env = {});

// Runs check in a forked child process and returns its answer: a state that makes a library
// crash kills the child, not the test ("killed by signal N"). No gtest assertion may run in it.
std::string answer_in_child(const std::function<std::string()>& check);

class DiskModel {
 public:
  // Follows one logged call: "" when it could, otherwise what it could not follow.
  std::string apply(const LoggedCall& call);

  struct State {
    std::size_t unflushed_sectors = 0;  // sectors written since their file's last flush
    std::size_t kept_sectors = 0;       // of them, held in one of their newer versions
    std::size_t unflushed_names = 0;    // changes of names since their directory's last flush
    std::size_t kept_names = 0;         // of them, held
    std::vector<std::string> files;     // the files written, relative to the root
  };
  // Writes under `into` one state the disk may hold had the power failed after the calls applied
  // so far: each file the writer named under `root` at the same path relative to `into`.
  State write_state(std::mt19937_64& rng, const std::string& root, const std::string& into) const;

  // The writer's acknowledgements so far, one a line written to its power_cut.acks.
  const std::vector<std::string>& acks() const { return acks_; }

 private:
  // What the disk may hold of one file's bytes.
  class Contents {
   public:
    static constexpr std::uint64_t kSector = 512;
    void write(std::uint64_t offset, const Bytes& data, bool durable);
    void sync();
    std::size_t unflushed() const { return pending_.size(); }
    Bytes crash(std::mt19937_64& rng, std::size_t& kept) const;

   private:
    struct Version {
      std::uint8_t bytes[kSector];
      std::uint64_t size;  // the file's size in the cache then
    };
    void copy_sector(std::uint64_t s, std::uint8_t* out) const;
    void make_durable(std::uint64_t s);
    Bytes cache_, durable_;
    std::uint64_t durable_size_ = 0;
    std::map<std::uint64_t, std::vector<Version>> pending_;
  };
  // A change of the names in one directory.
  struct NameChange {
    enum Kind { kAdd, kRemove, kRename } kind;
    std::string from, to;  // kAdd: to; kRemove: from; kRename: both, in `dir`
    int file = 0;
    std::string dir;
  };
  static void change(std::map<std::string, int>& names, const NameChange& c);
  void add_change(NameChange c);

  std::vector<Contents> files_;
  std::map<int, int> fd_file_;
  std::map<int, std::string> fd_dir_;
  std::map<std::string, int> live_, durable_;  // path → file, as the cache and the disk hold them
  std::vector<NameChange> pending_;            // not yet on the disk, in order
  std::vector<std::string> acks_;
};

}  // namespace govcredit::testing
