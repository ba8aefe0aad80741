// The writer of power_cut_test.cc, run under write_log_shim.so: ingests the demo world (seed 77)
// into a new shard in batches, and after each batch's ingest has returned appends the shard's
// size to ACKS (a file named power_cut.acks: the shim logs those writes in order with the shard's).
// Usage: power_cut_writer SHARD_DIR ACKS on-return|by-next-commit RECORDS BATCH
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "govcredit/codec.h"
#include "govcredit/demo.h"
#include "govcredit/ingest.h"

int main(int argc, char** argv) {
  using namespace govcredit;
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s SHARD_DIR ACKS on-return|by-next-commit RECORDS BATCH\n",
                 argv[0]);
    return 2;
  }
  const std::string dir = argv[1], acks = argv[2], durability = argv[3];
  const int records = std::atoi(argv[4]);
  const long batch = std::atol(argv[5]);
  if ((durability != "on-return" && durability != "by-next-commit") || records < 1 || batch < 1) {
    std::fprintf(stderr, "bad arguments\n");
    return 2;
  }
  std::vector<Bytes> wires;
  for (const auto& e : demo::generate(demo::Options{.seed = 77, .records = records}).events)
    wires.push_back(encode_wire(e));
  auto l = Ledger::open(
      dir, Partition{0},
      LedgerOptions{.durability = durability == "on-return" ? Durability::kOnReturn
                                                            : Durability::kByNextCommit});
  if (!l) {
    std::fprintf(stderr, "%s\n", l.status().to_string().c_str());
    return 3;
  }
  auto ing = Ingestor::create(**l);
  if (!ing) {
    std::fprintf(stderr, "%s\n", ing.status().to_string().c_str());
    return 3;
  }
  const int ack = open(acks.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (ack < 0) {
    std::perror(acks.c_str());
    return 3;
  }
  const auto n = static_cast<long>(wires.size());
  for (long i = 0; i < n; i += batch) {
    std::vector<Message> m;
    for (long j = i; j < i + batch && j < n; ++j)
      m.push_back(
          Message{wires[static_cast<std::size_t>(j)], Partition{0}, KafkaOffset{j}, Timestamp{0}});
    auto r = (*ing)->ingest(m);
    if (!r) {
      std::fprintf(stderr, "ingest: %s\n", r.status().to_string().c_str());
      return 3;
    }
    const std::string line = std::to_string((*l)->head().size) + "\n";
    if (write(ack, line.data(), line.size()) != static_cast<ssize_t>(line.size())) return 3;
  }
  close(ack);
  return 0;
}
