#include "entry_hasher.h"

#include <exception>
#include <stdexcept>

namespace govcredit {

EntryHasher::EntryHasher() : filling_(std::make_unique<Block>()), thread_([this] { run(); }) {}

EntryHasher::~EntryHasher() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  work_.notify_one();
  thread_.join();
}

void EntryHasher::begin(const Digest& chain, merkle::CompactRange range,
                        std::uint64_t chain_legacy) {
  sync_idle();
  chain_legacy_ = chain_legacy;
  out_.chain = chain;
  out_.range = std::move(range);
  out_.nodes.clear();
  out_.chains.clear();
  filling_->clear();
  std::lock_guard lock(mu_);
  failed_.clear();
}

void EntryHasher::add(const EntryHeader& header, ByteView wire) {
  Block& b = *filling_;
  b.data.insert(b.data.end(), header.bytes, header.bytes + kEntryHeaderSize);
  b.data.insert(b.data.end(), wire.begin(), wire.end());
  b.ends.push_back(b.data.size());
  if (b.ends.size() < kBlock) return;
  {
    std::unique_lock lock(mu_);
    // A batch that appends faster than the thread hashes waits here rather than queueing its
    // whole self in copies.
    done_.wait(lock, [&] { return queued_.size() < kMaxQueued; });
    queued_.push_back(std::move(filling_));
    if (!spare_.empty()) {
      filling_ = std::move(spare_.back());
      spare_.pop_back();
    }
  }
  if (!filling_) filling_ = std::make_unique<Block>();
  work_.notify_one();
}

void EntryHasher::sync_idle() {
  std::unique_lock lock(mu_);
  done_.wait(lock, [&] { return !busy_ && queued_.empty(); });
}

const BatchHashes& EntryHasher::sync() {
  sync_idle();
  {
    std::lock_guard lock(mu_);
    if (!failed_.empty())
      throw std::runtime_error("hashing the batch's entries failed: " + failed_);
  }
  // The last entries, fewer than a block: hashed here rather than handed over and waited for.
  hash(*filling_);
  filling_->clear();
  return out_;
}

void EntryHasher::hash(const Block& b) {
  std::size_t from = 0;
  for (std::size_t end : b.ends) {
    ByteView entry(b.data.data() + from, end - from);
    from = end;
    const std::uint64_t seq = out_.range.size();
    const Digest leaf =
        entry_leaf_hash(entry.first(kEntryHeaderSize), entry.subspan(kEntryHeaderSize));
    out_.chain = chain_hash(out_.chain, leaf);
    if (stores_chain(seq, chain_legacy_)) out_.chains.emplace_back(seq, out_.chain);
    out_.range.append(leaf, [&](const merkle::CompactRange::Node& n) {
      if (n.level >= kLowestStoredLevel) out_.nodes.push_back(n);  // lower ones are not stored
    });
  }
}

void EntryHasher::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    work_.wait(lock, [&] { return stop_ || !queued_.empty(); });
    if (stop_) return;
    std::unique_ptr<Block> b = std::move(queued_.front());
    queued_.pop_front();
    busy_ = true;
    lock.unlock();
    std::string problem;
    try {
      hash(*b);
    } catch (const std::exception& e) {
      problem = *e.what() ? e.what() : "an exception without a message";
    } catch (...) {
      problem = "an exception that is no std::exception";
    }
    b->clear();
    lock.lock();
    if (!problem.empty() && failed_.empty()) failed_ = problem;
    spare_.push_back(std::move(b));
    busy_ = false;
    done_.notify_all();  // sync() may wait for the queue to empty, add() for room in it
  }
}

}  // namespace govcredit
