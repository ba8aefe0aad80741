// Shared by the CLI subcommands: exit codes, file I/O that reports instead of throwing.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "govcredit/crypto.h"
#include "govcredit/kafka.h"
#include "govcredit/ledger.h"
#include "govcredit/status.h"

namespace govcredit::cli {

// Documented exit codes (README.md, `govcredit --help`).
enum Exit : int {
  kExitOk = 0,
  kExitRejected = 1,  // an event, a proof or the ledger failed verification
  kExitUsage = 2,     // bad flags or arguments
  kExitIo = 3,        // a file, key, store or server could not be read or written
  kExitInternal = 4,  // a bug: please report it
};

// A subcommand's body, run after parsing succeeded.
using Runner = std::function<int()>;

// Each register_* adds its subcommand(s) to app and sets *run when one is chosen.
void register_keygen(CLI::App& app, Runner& run);
void register_event(CLI::App& app, Runner& run);
void register_demo(CLI::App& app, Runner& run);
void register_dev(CLI::App& app, Runner& run);
void register_ledger_commands(CLI::App& app, Runner& run);
void register_proof_commands(CLI::App& app, Runner& run);
void register_kafka_commands(CLI::App& app, Runner& run);
void register_domain_commands(CLI::App& app, Runner& run);
void register_serve(CLI::App& app, Runner& run);
void register_report_commands(CLI::App& app, Runner& run);
void register_import(CLI::App& app, Runner& run);

// Where a shard lives: --data DIR (default ./govcredit-data), --partition P (default 0).
struct ShardArgs {
  std::string data = "govcredit-data";
  int partition = 0;
  std::string name = "local";
};
void add_shard_options(CLI::App* cmd, ShardArgs& args);
// --durability on-return|by-next-commit (LedgerOptions::durability) of the commands that run a
// ledger node fed by Kafka; durability_named reads the same names (serve's --config).
void add_durability_option(CLI::App* cmd, Durability& durability);
std::optional<Durability> durability_named(std::string_view name);
// --kafka-set name=value (repeatable): librdkafka properties (KafkaConfig::extra) of the commands
// that talk to Kafka. bootstrap.servers is refused (the brokers are --kafka); a client refuses the
// settings its guarantees rest on when it is created (src/kafka/client.h, apply_settings).
void add_kafka_set_option(CLI::App* cmd, std::map<std::string, std::string>& extra,
                          const std::string& when = "");
// --warm-heap SIZE (NodeOptions::warm_heap_bytes) of the commands that run a ledger node fed by
// Kafka: bytes, or with a unit (kb = 1000, kib = 1024, mib, gib, ...). size_named reads the same
// form (serve's --config); report_heap_warmed says on stderr what the node populated.
void add_warm_heap_option(CLI::App* cmd, std::size_t& bytes, const std::string& when = "");
std::optional<std::size_t> size_named(std::string text);
void report_heap_warmed(const LedgerNode& node);
std::string shard_dir(const ShardArgs& args);
// Opens the shard. Read-only commands pass create = false: a missing shard is then kNotFound
// (an auditor pointing at the wrong directory must not be told "ok: 0 entries").
Result<std::unique_ptr<Ledger>> open_shard(const ShardArgs& args, bool create = false);
// The partitions that have a shard under data, in order.
std::vector<int> shard_partitions(const std::string& data);
// The partition an agency's events go to among the shards under data (the Kafka partitioner's
// choice); fallback when there are none.
int agency_partition(const std::string& data, const std::string& agency, int fallback);
// --as-of: "2013-12-31T23:59:59Z" (RFC 3339), or a date "2013-12-31" meaning the end of that day
// in Shanghai; now when empty.
Result<Timestamp> as_of_time(const std::string& s);
// The ledger node's checkpoint key: DATA/ledger.key, created (with ledger.pub) on first use —
// never over a key another process made meanwhile; ledger.pub is written again when missing.
Result<PrivateKey> ledger_key(const ShardArgs& args);
// The current wall-clock time (for the CLI's own doings, never for ingest decisions).
Timestamp now();

// mkdir -p (errors show up when the directory is used).
void make_dirs(const std::string& path);

// "-" means standard input / output.
Result<std::string> read_file(const std::string& path);
// Writes data to path whole: into a temporary file next to it (PATH.tmp-PID), flushed, renamed
// into place, and the directory flushed. After a crash or a power cut the path holds its old
// contents or the new, never part of either, and once this has returned, the new
// (tests/cli/file_power_cut_test.cc). private_mode: readable by the owner only (0600).
Status write_file(const std::string& path, std::string_view data, bool private_mode = false);
// The same, but never over an existing file: false (nothing written) when path exists.
Result<bool> write_new_file(const std::string& path, std::string_view data,
                            bool private_mode = false);
Result<PrivateKey> load_private_key(const std::string& path);
Result<PublicKey> load_public_key(const std::string& path);

// A proof's path: a JSON array of 64-hex-digit hashes.
Result<std::vector<Digest>> digests(const nlohmann::json& a);

// Prints "error: <code>: <message>" to stderr and returns the exit code for the status.
int report(const Status& s);
// kExitOk for an ok status, else report(s).
inline int report_or_ok(const Status& s) {
  return s ? 0 : report(s);
}

}  // namespace govcredit::cli
