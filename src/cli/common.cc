#include "common.h"

#include "govcredit/encoding.h"
#include "govcredit/kafka.h"

#include <dirent.h>

#include <algorithm>
#include <filesystem>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

namespace govcredit::cli {

Result<std::string> read_file(const std::string& path) {
  if (path == "-") {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    return ss.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(Reason::kIoError, "cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

namespace {

Status cannot_write(const std::string& path, int err) {
  return Status(Reason::kIoError, "cannot write " + path + ": " + std::strerror(err));
}

Status cannot_flush_directory(const std::string& path, int err) {
  return Status(
      Reason::kIoError,
      "wrote " + path + " but cannot flush its directory to the disk: " + std::strerror(err));
}

// Flushes the directory that holds path, so that a name given to a file in it is on the disk.
bool sync_directory_of(const std::string& path) {
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : path.substr(0, slash);
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  errno = err;
  return ok;
}

// Writes data to a new file next to path (PATH.tmp-PID) and flushes it: its name, or why not.
Result<std::string> write_temporary(const std::string& path, std::string_view data,
                                    bool private_mode) {
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  const int fd =
      ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, private_mode ? 0600 : 0644);
  if (fd < 0) return cannot_write(path, errno);
  std::size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return cannot_write(path, err);
    }
    off += static_cast<std::size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  int err = errno;
  const bool closed = ::close(fd) == 0;
  if (synced) err = errno;
  if (!synced || !closed) {
    ::unlink(tmp.c_str());
    return cannot_write(path, err);
  }
  return tmp;
}

}  // namespace

Status write_file(const std::string& path, std::string_view data, bool private_mode) {
  if (path == "-") {
    std::cout.write(data.data(), static_cast<std::streamsize>(data.size()));
    std::cout.flush();
    return Status::ok();
  }
  auto tmp = write_temporary(path, data, private_mode);
  if (!tmp) return tmp.status();
  if (::rename(tmp->c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp->c_str());
    return cannot_write(path, err);
  }
  if (!sync_directory_of(path)) return cannot_flush_directory(path, errno);
  return Status::ok();
}

Result<bool> write_new_file(const std::string& path, std::string_view data, bool private_mode) {
  auto tmp = write_temporary(path, data, private_mode);
  if (!tmp) return tmp.status();
  // (A file system without RENAME_NOREPLACE gets a hard link, which refuses an existing name too.)
  int moved = ::renameat2(AT_FDCWD, tmp->c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE);
  if (moved != 0 && errno == EINVAL) moved = ::link(tmp->c_str(), path.c_str());
  const int err = errno;
  ::unlink(tmp->c_str());  // gone after a rename; the second name after a link
  if (moved != 0 && err == EEXIST) return false;
  if (moved != 0) return cannot_write(path, err);
  if (!sync_directory_of(path)) return cannot_flush_directory(path, errno);
  return true;
}

Result<PrivateKey> load_private_key(const std::string& path) {
  auto text = read_file(path);
  if (!text) return text.status();
  auto k = PrivateKey::from_pem(*text);
  if (!k) return Status(Reason::kIoError, path + ": " + k.status().message());
  return k;
}

Result<PublicKey> load_public_key(const std::string& path) {
  auto text = read_file(path);
  if (!text) return text.status();
  auto k = PublicKey::from_pem(*text);
  if (!k) return Status(Reason::kIoError, path + ": " + k.status().message());
  return k;
}

void add_shard_options(CLI::App* cmd, ShardArgs& args) {
  cmd->add_option("--data", args.data, "data directory (one shard-P folder per partition)")
      ->capture_default_str();
  cmd->add_option("--partition", args.partition, "which shard")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--name", args.name, "ledger name, used in checkpoint origins")
      ->capture_default_str();
}

std::optional<Durability> durability_named(std::string_view name) {
  if (name == "on-return") return Durability::kOnReturn;
  if (name == "by-next-commit") return Durability::kByNextCommit;
  return std::nullopt;
}

void add_kafka_set_option(CLI::App* cmd, std::map<std::string, std::string>& extra,
                          const std::string& when) {
  cmd->add_option_function<std::vector<std::string>>(
      "--kafka-set",
      [&extra](const std::vector<std::string>& kv) {
        for (const auto& s : kv) {
          if (s.starts_with("bootstrap.servers="))
            throw CLI::ValidationError("--kafka-set", "give the brokers with --kafka");
          if (Status added = add_kafka_setting(extra, s); !added)
            throw CLI::ValidationError("--kafka-set", added.message());
        }
      },
      "a librdkafka property, name=value (repeatable" + when +
          "), e.g. security.protocol=ssl or debug=feature (the brokers are --kafka); the settings "
          "a command's guarantees rest on are refused (the node's group.id, enable.auto.commit, "
          "enable.auto.offset.store, auto.offset.reset, enable.partition.eof; the producer's "
          "enable.idempotence, acks, partitioner), its other settings (fetch.wait.max.ms, "
          "queued.min.messages, linger.ms, ...) are defaults this overrides");
}

void add_durability_option(CLI::App* cmd, Durability& durability) {
  cmd->add_option_function<std::string>(
         "--durability",
         [&durability](const std::string& d) {
           durability = durability_named(d).value_or(Durability::kOnReturn);
         },
         "on-return (default): each LMDB commit on disk before it is reported (two device "
         "flushes). by-next-commit: its pages on disk, its meta page with the next commit or when "
         "its partition has been quiet for 100 ms or the node stops (one flush a commit); a "
         "machine crash may undo the last commit, which the node then consumes again from Kafka "
         "and appends identically")
      ->check(CLI::IsMember({"on-return", "by-next-commit"}));
}

namespace {

// A size's text: refused when negative (CLI11's unit parser would wrap it), then bytes.
const CLI::Validator kNotNegative(
    [](std::string& v) {
      return v.find('-') == std::string::npos ? std::string{} : "a size cannot be negative: " + v;
    },
    "", "not negative");

}  // namespace

void add_warm_heap_option(CLI::App* cmd, std::size_t& bytes, const std::string& when) {
  cmd->add_option("--warm-heap", bytes,
                  "memory to populate for the ledger node's heap before it joins its group, and "
                  "keep for its life (e.g. 1536MiB; 0: none; at most half of the memory "
                  "available" +
                      when +
                      "): a backlog's drain then does not pay for pages touched the first time, "
                      "~20% of a batch-signed drain's CPU per event on a virtual machine "
                      "(docs/PERFORMANCE.md §5.40); populating takes ~1.5-3 s per GiB there")
      ->transform(CLI::AsSizeValue(true))
      ->transform(kNotNegative)  // (a transform goes first: before the unit parser wraps it)
      ->capture_default_str();
}

std::optional<std::size_t> size_named(std::string text) {
  // (CLI11's validators may throw as well as return their complaint.)
  try {
    if (!kNotNegative(text).empty() || !CLI::AsSizeValue(true)(text).empty()) return std::nullopt;
    std::size_t used = 0;
    const unsigned long long n = std::stoull(text, &used);
    if (used != text.size()) return std::nullopt;
    return static_cast<std::size_t>(n);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

void report_heap_warmed(const LedgerNode& node) {
  if (const std::size_t warmed = node.heap_warmed_bytes(); warmed > 0) {
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%.1f", node.heap_warm_seconds());
    std::cerr << "heap: " << (warmed >> 20) << " MiB populated in " << seconds
              << " s (--warm-heap)\n";
  } else {
    std::cerr << "heap: nothing populated for --warm-heap (under 64 MiB, a build without "
                 "mimalloc, GOVCREDIT_HEAP_WARMUP=0, or a kernel before Linux 5.14)\n";
  }
}

std::string shard_dir(const ShardArgs& a) {
  return a.data + "/shard-" + std::to_string(a.partition);
}

Result<std::unique_ptr<Ledger>> open_shard(const ShardArgs& a, bool create) {
  struct stat st;
  if (!create && ::stat((shard_dir(a) + "/data.mdb").c_str(), &st) != 0)
    return Status(Reason::kNotFound,
                  "there is no shard at " + shard_dir(a) + " (check --data and --partition)");
  ::mkdir(a.data.c_str(), 0755);
  return Ledger::open(shard_dir(a), Partition{a.partition}, LedgerOptions{.name = a.name});
}

void make_dirs(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
}

std::vector<int> shard_partitions(const std::string& data) {
  std::vector<int> out;
  if (DIR* d = ::opendir(data.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n.rfind("shard-", 0) == 0 && n.size() > 6 &&
          n.find_first_not_of("0123456789", 6) == std::string::npos)
        out.push_back(std::stoi(n.substr(6)));
    }
    ::closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<PrivateKey> ledger_key(const ShardArgs& a) {
  const std::string path = a.data + "/ledger.key", pub_path = a.data + "/ledger.pub";
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    ::mkdir(a.data.c_str(), 0755);
    auto key = PrivateKey::generate();
    if (!key) return key.status();
    // Never over another key: a process that made one meanwhile keeps it, and this one uses it.
    if (auto made = write_new_file(path, key->to_pem(), true); !made) return made.status();
  }
  auto key = load_private_key(path);
  if (!key) return key;
  // ledger.pub follows the key: written when missing (a crash between the two) or different.
  const std::string pub = key->public_key().to_pem();
  if (auto on_disk = read_file(pub_path); !on_disk || *on_disk != pub)
    if (Status s = write_file(pub_path, pub); !s) return s;
  return key;
}

Timestamp now() {
  return Timestamp{std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count()};
}

int report(const Status& s) {
  std::cerr << "error: " << s.to_string() << "\n";
  switch (s.reason()) {
    case Reason::kOk:
      return kExitOk;
    case Reason::kIoError:
    case Reason::kNotFound:
    case Reason::kStorageError:
    case Reason::kUnavailable:  // a server or broker that cannot be reached
      return kExitIo;
    case Reason::kInvalidArgument:
      return kExitUsage;
    case Reason::kInternal:
      return kExitInternal;
    default:
      return kExitRejected;
  }
}

Result<std::vector<Digest>> digests(const nlohmann::json& a) {
  std::vector<Digest> out;
  if (!a.is_array()) return Status(Reason::kFieldType, "path must be an array of hex hashes");
  for (const auto& h : a) {
    auto d = h.is_string() ? fixed_from_hex<Digest>(h.get<std::string>()) : std::nullopt;
    if (!d) return Status(Reason::kFieldInvalid, "a path hash is not 64 hex digits");
    out.push_back(*d);
  }
  return out;
}

// "2013-12-31T23:59:59Z" (RFC 3339), or a date "2013-12-31": the end of that day in Shanghai.
Result<Timestamp> as_of_time(const std::string& s) {
  if (s.empty()) return now();
  if (auto t = parse_time_with_offset(s)) return *t;
  if (s.size() == 10)
    if (auto t = parse_time_with_offset(s + "T23:59:59.999+08:00")) return *t;
  return Status(Reason::kInvalidArgument,
                "--as-of '" + s + "' is neither an RFC 3339 time nor a date like 2013-12-31");
}

int agency_partition(const std::string& data, const std::string& agency, int fallback) {
  auto parts = shard_partitions(data);
  return parts.empty() ? fallback : partition_for_key(agency, static_cast<int>(parts.size()));
}

}  // namespace govcredit::cli
