// Rebuild, catch-up, check and the read-side queries of the projections.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "../base/heap_warmup.h"
#include "govcredit/codec.h"
#include "govcredit/encoding.h"
#include "pack.h"

namespace govcredit {
namespace {

// Entries per write transaction of a catch-up, and between progress reports of a rebuild.
constexpr std::uint64_t kChunk = std::uint64_t{1} << 20;

// The memory a rebuild warms ahead of itself (HeapWarmup), per log entry: its peak heap on the
// benchmark's data is 376-403 bytes an entry (3.5 GiB at 10M, 384 MiB at 1M; PERFORMANCE.md
// §5.20). A little less, so that the region is used up rather than left over where a log's mix of
// events needs less. (320 until 2026-12-05: at 10M the flush, on both its threads, then touched
// the last ~550 MiB of the heap for the first time; §5.39.)
constexpr std::size_t kRebuildHeapBytesPerEntry = 370;

std::uint64_t le_value(ByteView b) {
  std::uint64_t v = 0;
  for (std::size_t i = b.size(); i-- > 0;) v = v << 8 | b[i];
  return v;
}

// The states rebuilds left to the process's exit (RebuildOptions::free_state): never destroyed,
// so nothing walks them, and reachable from here, so leak checkers count them as kept.
struct LeftStates {
  std::mutex mu;
  std::vector<Projector> states;  // GUARDED_BY(mu)
};
LeftStates& left_states() {
  static auto* left = new LeftStates;
  return *left;
}

Status corrupt_entry(Seq seq, const Status& why) {
  return Status(Reason::kCorrupt, "the entry at seq " + std::to_string(seq.value) +
                                      " does not decode: " + why.to_string());
}

// Decodes the entry at seq onto the end of `into`, where it stays, and drops it again when it is
// dated after as_of; corrupt_entry when it does not decode.
Status decode_onto(std::vector<std::pair<Seq, Event>>& into, Seq seq, ByteView wire,
                   std::optional<Timestamp> as_of = std::nullopt) {
  Event& ev = into.emplace_back(seq, Event{}).second;
  if (Status d = decode_logged_wire(wire, ev); !d) return corrupt_entry(seq, d);
  if (as_of && ev.issued_at > *as_of) into.pop_back();
  return Status::ok();
}

// Applies entries [from, to) of the log to p (which must not read LMDB while the scans' read
// transactions are open: give it no backing, or one that is a MemorySide). Events dated after
// as_of are skipped. Reader threads decode slices of the log while this thread applies them in
// log order: slice k (kSlice entries) is read by reader k % kReaders, each reader handing its
// slices over in order through its own lane, so the order of application is the log's.
// Measured on 2 cores: one reader keeps up with the applying thread (a second changed nothing),
// so kReaders is 1; it is a constant to revisit on machines with more cores.
Status apply_range(const Ledger& ledger, Projector& p, Seq from, Seq to,
                   std::optional<Timestamp> as_of = std::nullopt) {
  using Chunk = std::vector<std::pair<Seq, Event>>;
  constexpr std::uint64_t kSlice = 2048;
  constexpr std::size_t kReaders = 1, kMaxQueued = 3;
  struct Lane {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<Chunk> queue;          // GUARDED_BY(mu)
    std::vector<Chunk> spent;         // GUARDED_BY(mu): applied, handed back to be freed
    bool done = false, stop = false;  // GUARDED_BY(mu)
    Status status;                    // GUARDED_BY(mu)
  };
  std::array<Lane, kReaders> lanes;
  auto read_slices = [&](std::size_t r) {
    Lane& lane = lanes[r];
    Status result;
    for (std::uint64_t start = from.value + r * kSlice; start < to.value && result;
         start += kReaders * kSlice) {
      // The events this reader decoded are freed here, by the thread that allocated them (a
      // free into another thread's malloc arena takes that arena's lock), and the vector reused.
      Chunk chunk;
      {
        std::vector<Chunk> spent;
        {
          std::lock_guard lock(lane.mu);
          spent.swap(lane.spent);
        }
        if (!spent.empty()) {
          chunk = std::move(spent.back());
          chunk.clear();
        }
      }
      chunk.reserve(kSlice);
      Status bad;
      Status s = ledger.scan_wire(Seq{start}, Seq{std::min(to.value, start + kSlice)},
                                  [&](Seq seq, ByteView wire) {
                                    bad = decode_onto(chunk, seq, wire, as_of);
                                    return bad.is_ok();
                                  });
      result = !s ? s : bad;
      if (!result) break;
      std::unique_lock lock(lane.mu);
      lane.cv.wait(lock, [&] { return lane.queue.size() < kMaxQueued || lane.stop; });
      if (lane.stop) break;
      lane.queue.push_back(std::move(chunk));  // (possibly empty: keeps the slices aligned)
      lane.cv.notify_all();
    }
    std::lock_guard lock(lane.mu);
    lane.status = result;
    lane.done = true;
    lane.cv.notify_all();
  };
  std::vector<std::thread> readers;
  for (std::size_t r = 0; r < kReaders; ++r) readers.emplace_back(read_slices, r);
  Status outcome;
  try {
    for (std::uint64_t k = 0;; ++k) {
      Lane& lane = lanes[k % kReaders];
      Chunk chunk;
      {
        std::unique_lock lock(lane.mu);
        lane.cv.wait(lock, [&] { return !lane.queue.empty() || lane.done; });
        if (lane.queue.empty()) {  // this reader is finished: past the end, or failed
          outcome = lane.status;
          break;
        }
        chunk = std::move(lane.queue.front());
        lane.queue.pop_front();
        lane.cv.notify_all();
      }
      for (const auto& [seq, ev] : chunk) p.apply(ev, seq);
      std::lock_guard lock(lane.mu);
      lane.spent.push_back(std::move(chunk));
    }
  } catch (const std::exception& e) {
    outcome = Status(Reason::kStorageError, e.what());
  }
  for (Lane& lane : lanes) {
    std::lock_guard lock(lane.mu);
    lane.stop = true;
    lane.cv.notify_all();
  }
  for (auto& t : readers) t.join();
  if (!outcome) return outcome;
  for (Lane& lane : lanes)
    if (!lane.status) return lane.status;
  return Status::ok();
}

// LMDB reuses a page freed by transaction n only from transaction n + 2 on: mdb_page_alloc skips
// the pages the last commit freed, which the snapshot before it still holds. A rebuild
// frees the old copy of every table at its commit; were the next write another rebuild, its whole
// new copy would go past the end of the file. Back to back, rebuilds of a 10M-entry shard grew it
// by ~1 GB each until it held two spare copies, and each paid for the new file space and its
// page cache (~2.6 s more in the kernel; PERFORMANCE.md §5.39). One more commit, rewriting the
// projections' version row with the bytes it holds, makes the freed pages reusable by the next.
// A failure here leaves them for a later transaction, so it is not the rebuild's failure.
void free_for_the_next_write(Ledger& ledger) {
  (void)ledger.write_side([](SideWriter& w) {
    if (auto v = w.get(Side::kMeta, as_bytes("version"))) {
      const Bytes same(v->begin(), v->end());
      w.put(Side::kMeta, as_bytes("version"), same);
    }
    return Status::ok();
  });
}

std::array<Side, kSideCount> all_sides() {
  std::array<Side, kSideCount> out;
  for (std::size_t i = 0; i < kSideCount; ++i) out[i] = static_cast<Side>(i);
  return out;
}

}  // namespace

bool overdue_at(const RecItem& r, Timestamp t) {
  if (r.issued_at > t || !(r.deadline < t)) return false;
  if (r.closed && r.closed->at <= t) return false;
  return !(r.rectified && r.rectified->first <= r.deadline);
}

Result<ProjectionMeta> projection_meta(const Ledger& ledger) {
  ProjectionMeta m;
  Status s = ledger.read_side([&](const SideReader& r) {
    // (value_or, not `a && a->size() == 8`: GCC folds that test into one branch that reads the
    // empty optional's bytes, which valgrind reports as a use of uninitialised memory.)
    const ByteView applied = r.get(Side::kMeta, as_bytes("applied")).value_or(ByteView{});
    if (applied.size() == 8) m.applied = le_value(applied);
    const ByteView version = r.get(Side::kMeta, as_bytes("version")).value_or(ByteView{});
    if (version.size() == 4) m.version = static_cast<std::uint32_t>(le_value(version));
    return Status::ok();
  });
  if (!s) return s;
  return m;
}

namespace {

// A stored value that does not decode: corrupt, or written by a build with another projection
// format (a node or the server rebuilds those when it starts; the read commands do not).
Status undecodable(const Ledger& ledger, const std::string& what) {
  auto meta = projection_meta(ledger);
  if (meta && meta->version != 0 && meta->version != kProjectionVersion)
    return Status(Reason::kUnavailable,
                  "the projections are in format " + std::to_string(meta->version) +
                      " and this build reads format " + std::to_string(kProjectionVersion) +
                      ": run govcredit rebuild (a ledger node or the server also rebuilds them "
                      "when it starts)");
  return Status(Reason::kCorrupt, what + " does not decode; run govcredit rebuild");
}

}  // namespace

Result<RebuildReport> rebuild_projections(
    Ledger& ledger, const std::function<void(std::uint64_t, std::uint64_t)>& progress,
    RebuildOptions options) {
  auto t0 = std::chrono::steady_clock::now();
  if (Status c = ledger.claim_writer(); !c) return c;
  const std::uint64_t head = ledger.head().size;
  // Until the commit is done: the flush allocates too (the encoded rows, LMDB's dirty pages).
  HeapWarmup warmup(options.warm_heap ? static_cast<std::size_t>(head) * kRebuildHeapBytesPerEntry
                                      : 0);
  // Should the commit fill LMDB's map all the same (below), the rebuild runs again from the log
  // on the map write_side grew; once is all it has ever needed.
  for (int attempt = 0;; ++attempt) {
    // The whole state is built in memory (no LMDB reads while it is), then written in one
    // transaction: each table emptied and refilled in key order (MDB_APPEND), every page written
    // once. An interrupted rebuild therefore leaves the projections as they were. Flushing each
    // 2^20-entry chunk as it was applied instead put every chunk's rows at random places into
    // tables already holding millions (4M entries: 17.3-18.6 s against 13.2-13.4 s).
    // The new copy of the tables grows the file by what the free list cannot hold; that part
    // of the file is put into the page cache while the entries are applied, when a core is
    // idle (PERFORMANCE.md §5.43). A log whose projections were never built grows by their whole
    // first copy, estimated from its length, and filled only when large (§5.47).
    const std::uint64_t first_copy = head * kRebuildFirstCopyBytesPerEntry;
    auto fill = ledger.fill_page_cache_for_side_copy(
        options.page_cache_fill_at_least,
        first_copy >= options.first_copy_fill_at_least ? first_copy : 0);
    Projector p(nullptr);
    p.reserve(head);
    for (std::uint64_t from = 0; from < head; from += kChunk) {
      std::uint64_t to = std::min(head, from + kChunk);
      if (Status a = apply_range(ledger, p, Seq{from}, Seq{to}); !a) return a;
      if (progress) progress(to, head);
    }
    const std::uint64_t fill_planned = fill ? fill->planned() : 0;
    const std::uint64_t filled = fill ? fill->finish() : 0;
    // The new tables are written before the old ones' pages are freed (at the commit), so the
    // transaction needs room for a second copy of the projections; they are smaller than the
    // whole shard. Without that room LMDB's map could fill half-way and the write run again,
    // whole (it did in some 10M-entry runs: a flush of 4.3 s took 7.0).
    if (Status room = ledger.make_room(ledger.store_bytes()); !room) return room;
    // The rows go through a DigestingWriter, which hashes them as they pass (reading the tables
    // back after the commit took 0.13 s at 1M entries), and the in-memory state is freed as soon
    // as its rows are written, by this thread. (From 2026-12-02 another thread freed it while
    // LMDB committed, which took the freeing out of the rebuild's time but not out of the
    // process's: mimalloc hands blocks freed by another thread back to the thread that allocated
    // them on that thread's next allocation, block by block, and that walk cost this thread more
    // than freeing them itself — PERFORMANCE.md §5.37.) A process that ends with the rebuild
    // leaves it to its exit instead (RebuildOptions::free_state; §5.52). Should the commit meet a
    // full map, write_side calls this function again on a larger map; the state is gone by then
    // (freed or left), so the write is abandoned and the rebuild runs again. (Until 2026-12-03 the
    // writer kept a copy of every row to write them again from, ~0.9 GiB at 10M entries: memory
    // is dear to touch on the benchmark machine, PERFORMANCE.md §5.19.)
    std::optional<Digest> digest;
    bool written = false, again = false;
    Status s = ledger.write_side([&](SideWriter& w) {
      if (written) {
        again = true;
        return Status(Reason::kStorageError, "the rebuild's commit met a full map");
      }
      DigestingWriter tee(w);
      for (Side t : all_sides()) tee.clear(t);
      p.flush(tee, head, /*empty_tables=*/true);
      digest = tee.digest();
      written = true;
      if (options.free_state) {
        Projector gone = std::move(p);
      } else {
        LeftStates& left = left_states();
        std::lock_guard lock(left.mu);
        left.states.push_back(std::move(p));
      }
      return Status::ok();
    });
    if (again && attempt < 3) continue;
    if (!s) return s;
    free_for_the_next_write(ledger);
    RebuildReport r;
    r.entries = head;
    r.heap_warm_region_bytes = warmup.region_bytes();
    r.heap_warmed_bytes = warmup.populated_bytes();
    r.heap_small_pages_bytes = warmup.region_bytes() - warmup.small_pages_from();
    r.page_cache_planned_bytes = fill_planned;
    r.page_cache_filled_bytes = filled;
    if (digest) {
      r.digest = *digest;
    } else {  // the rows written do not tell it (DigestingWriter::digest): read the tables back
      Status read = ledger.read_side([&](const SideReader& side) {
        r.digest = side_digest(side);
        return Status::ok();
      });
      if (!read) return read;
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
  }
}

std::size_t rebuild_states_left() {
  LeftStates& left = left_states();
  std::lock_guard lock(left.mu);
  return left.states.size();
}

Status catch_up_projections(Ledger& ledger) {
  if (Status c = ledger.claim_writer(); !c) return c;
  auto meta = projection_meta(ledger);
  if (!meta) return meta.status();
  const std::uint64_t head = ledger.head().size;
  if (meta->applied == head && (meta->version == kProjectionVersion || head == 0))
    return Status::ok();
  if (meta->version != kProjectionVersion || meta->applied > head || meta->applied == 0) {
    auto r = rebuild_projections(ledger);
    return r ? Status::ok() : r.status();
  }
  // A tail: apply it on top of the stored state, one chunk per transaction.
  for (std::uint64_t from = meta->applied; from < head;) {
    std::uint64_t to = std::min(head, from + kChunk);
    std::vector<std::pair<Seq, Event>> events;
    Status bad;
    Status s = ledger.scan_wire(Seq{from}, Seq{to}, [&](Seq seq, ByteView wire) {
      bad = decode_onto(events, seq, wire);
      return bad.is_ok();
    });
    if (!s) return s;
    if (!bad) return bad;
    s = ledger.write_side([&](SideWriter& w) {
      Projector p(&w);
      for (const auto& [seq, ev] : events) p.apply(ev, seq);
      p.flush(w, to);
      return Status::ok();
    });
    if (!s) return s;
    from = to;
  }
  return Status::ok();
}

Result<MemorySide> rebuild_in_memory(const Ledger& ledger, std::optional<Timestamp> as_of) {
  const std::uint64_t head = ledger.head().size;
  MemorySide out;
  if (head == 0) return out;
  Projector p(nullptr);
  if (Status s = apply_range(ledger, p, Seq{0}, Seq{head}, as_of); !s) return s;
  p.flush(out, head);
  return out;
}

Result<ProjectionCheck> check_projections(const Ledger& ledger) {
  ProjectionCheck c;
  // The same state as a rebuild's and the rows beside it: warmed as a rebuild's is.
  HeapWarmup warmup(static_cast<std::size_t>(ledger.head().size) * kRebuildHeapBytesPerEntry);
  auto mem = rebuild_in_memory(ledger);
  if (!mem) return mem.status();
  c.rebuilt = side_digest(*mem);
  Status s = ledger.read_side([&](const SideReader& r) {
    c.stored = side_digest(r);
    return Status::ok();
  });
  if (!s) return s;
  return c;
}

// ---- Queries ----

namespace {

// One object, read by load(reader, out): false when what is stored does not decode, out empty
// when nothing is.
template <class T, class Load>
Result<T> read_loaded(const Ledger& ledger, Load load, const std::string& what) {
  std::optional<T> out;
  bool corrupt = false;
  Status s = ledger.read_side([&](const SideReader& r) {
    corrupt = !load(r, out);
    return Status::ok();
  });
  if (!s) return s;
  if (corrupt) return undecodable(ledger, "the stored " + what);
  if (!out) {
    // Projections of another format may hold it under another key (format 3 keyed objects by
    // id alone): say so rather than that it does not exist.
    auto meta = projection_meta(ledger);
    if (meta && meta->version != 0 && meta->version != kProjectionVersion)
      return undecodable(ledger, "the stored " + what);
    return Status(Reason::kNotFound, "no " + what + " in this shard");
  }
  return std::move(*out);
}

// One object stored as one value, the value get(reader) finds.
template <class T, class Get, class Decode>
Result<T> read_value(const Ledger& ledger, Get get, Decode decode, const std::string& what) {
  auto load = [&](const SideReader& r, std::optional<T>& out) {
    auto v = get(r);
    if (!v) return true;
    out = decode(*v);
    return out.has_value();
  };
  return read_loaded<T>(ledger, load, what);
}

// The value under key.
template <class T, class Decode>
Result<T> read_one(const Ledger& ledger, Side t, ByteView key, Decode decode, std::string what) {
  return read_value<T>(
      ledger, [&](const SideReader& r) { return r.get(t, key); }, decode, what);
}

// The object of an object table with this id.
template <class T, class Decode>
Result<T> read_object(const Ledger& ledger, Side t, const EventId& id, Decode decode,
                      std::string what) {
  return read_value<T>(
      ledger, [&](const SideReader& r) { return r.get_object(t, id); }, decode, what);
}

}  // namespace

std::optional<AgencyState> agency_state_in(const SideReader& r, const AgencyId& id) {
  std::optional<AgencyState> a;
  if (!pack::load_agency(r, id.value, a)) return std::nullopt;
  return a;
}

Result<AgencyState> agency_state(const Ledger& ledger, const AgencyId& id) {
  auto load = [&](const SideReader& r, std::optional<AgencyState>& out) {
    return pack::load_agency(r, id.value, out);
  };
  return read_loaded<AgencyState>(ledger, load, "agency '" + id.value + "'");
}

Result<AgencyState> agency_state_as_of(const Ledger& ledger, const AgencyId& id, Timestamp t) {
  auto lines =
      trail(ledger, TrailKind::kAgency, id.value, Seq{0}, std::numeric_limits<std::size_t>::max());
  if (!lines) return lines.status();
  Projector p(nullptr);
  for (const Line& l : *lines) {
    if (l.at > t) continue;
    auto e = ledger.get(l.seq);
    if (!e) return e.status();
    auto ev = decode_logged_wire(e->wire);
    if (!ev) return corrupt_entry(l.seq, ev.status());
    p.apply(*ev, l.seq);
  }
  const AgencyState* a = p.agency(id);
  if (a == nullptr)
    return Status(Reason::kNotFound, "agency '" + id.value +
                                         "' was not registered in this shard by " + format_time(t));
  return *a;
}

Result<std::vector<AgencyState>> all_agencies(const Ledger& ledger) {
  std::vector<AgencyState> out;
  bool corrupt = false;
  Status s = ledger.read_side([&](const SideReader& r) {
    std::vector<std::string> ids;
    r.scan(Side::kAgency, {}, [&](ByteView k, ByteView) {
      ids.emplace_back(k.begin(), k.end());
      return true;
    });
    for (const std::string& id : ids) {
      std::optional<AgencyState> a;
      if (!pack::load_agency(r, id, a) || !a) {
        corrupt = true;
        break;
      }
      out.push_back(std::move(*a));
    }
    return Status::ok();
  });
  if (!s) return s;
  if (corrupt) return undecodable(ledger, "a stored agency state");
  return out;
}

Result<RecordState> record_state(const Ledger& ledger, const EventId& id) {
  return read_object<RecordState>(ledger, Side::kRecord, id, pack::decode_record,
                                  "record " + to_hex(id.view()));
}

Result<ComplaintState> complaint_state(const Ledger& ledger, const EventId& id) {
  return read_object<ComplaintState>(ledger, Side::kComplaint, id, pack::decode_complaint,
                                     "complaint " + to_hex(id.view()));
}

Result<ComplaintState> complaint_by_receipt(const Ledger& ledger, const std::string& receipt,
                                            EventId* id_out) {
  auto id = read_one<EventId>(
      ledger, Side::kReceipt, as_bytes(receipt),
      [](ByteView b) -> std::optional<EventId> {
        if (b.size() != 16) return std::nullopt;
        EventId id;
        std::copy(b.begin(), b.end(), id.bytes.begin());
        return id;
      },
      "complaint with receipt " + receipt);
  if (!id) return id.status();
  if (id_out) *id_out = *id;
  return complaint_state(ledger, *id);
}

Result<RecommendationState> recommendation_state(const Ledger& ledger, const EventId& id) {
  return read_object<RecommendationState>(ledger, Side::kRecommendation, id,
                                          pack::decode_recommendation,
                                          "recommendation " + to_hex(id.view()));
}

namespace {

// Calls fn for each object of an object table, decoded, in the order of creation, until fn
// returns false.
template <class T, class Decode>
Status for_each_object(const Ledger& ledger, Side t, Decode decode, const char* what,
                       const std::function<bool(const EventId&, const T&)>& fn) {
  bool corrupt = false;
  Status s = ledger.read_side([&](const SideReader& r) {
    r.scan(t, {}, [&](ByteView k, ByteView v) {
      auto obj = decode(v);
      if (!obj || k.size() != kObjectKeySize) {
        corrupt = true;
        return false;
      }
      EventId id;
      std::copy(k.begin() + 8, k.end(), id.bytes.begin());
      return fn(id, *obj);
    });
    return Status::ok();
  });
  if (!s) return s;
  if (corrupt) return undecodable(ledger, std::string("a stored ") + what);
  return Status::ok();
}

}  // namespace

Status for_each_record(const Ledger& ledger,
                       const std::function<bool(const EventId&, const RecordState&)>& fn) {
  return for_each_object<RecordState>(ledger, Side::kRecord, pack::decode_record, "record", fn);
}

Status for_each_complaint(const Ledger& ledger,
                          const std::function<bool(const EventId&, const ComplaintState&)>& fn) {
  return for_each_object<ComplaintState>(ledger, Side::kComplaint, pack::decode_complaint,
                                         "complaint", fn);
}

Status for_each_recommendation(
    const Ledger& ledger,
    const std::function<bool(const EventId&, const RecommendationState&)>& fn) {
  return for_each_object<RecommendationState>(ledger, Side::kRecommendation,
                                              pack::decode_recommendation, "recommendation", fn);
}

std::optional<PeriodBounds> period_bounds(std::string_view p) {
  using namespace std::chrono;
  auto digits = [&](std::size_t from, std::size_t n) {
    return p.size() >= from + n && std::all_of(p.begin() + static_cast<std::ptrdiff_t>(from),
                                               p.begin() + static_cast<std::ptrdiff_t>(from + n),
                                               [](char c) { return c >= '0' && c <= '9'; });
  };
  if (!digits(0, 4)) return std::nullopt;
  const int y = std::stoi(std::string(p.substr(0, 4)));
  unsigned first = 1, months = 12;
  if (p.size() == 4) {
  } else if (p.size() == 7 && p[4] == '-' && p[5] == 'Q' && p[6] >= '1' && p[6] <= '4') {
    first = static_cast<unsigned>(p[6] - '0') * 3 - 2;
    months = 3;
  } else if (p.size() == 7 && p[4] == '-' && digits(5, 2)) {
    first = static_cast<unsigned>(std::stoi(std::string(p.substr(5, 2))));
    if (first < 1 || first > 12) return std::nullopt;
    months = 1;
  } else {
    return std::nullopt;
  }
  auto at = [](int year_, unsigned month_) {  // 00:00 UTC+8 on the month's first day
    year_ += static_cast<int>((month_ - 1) / 12);
    month_ = (month_ - 1) % 12 + 1;
    sys_days d = year_month_day{year{year_}, month{month_}, day{1}};
    return Timestamp{duration_cast<milliseconds>(d.time_since_epoch()).count() - 8 * 3600000};
  };
  PeriodBounds b;
  b.start = at(y, first);
  b.end = at(y, first + months);
  for (unsigned m = 0; m < months; ++m) b.months.push_back(at(y, first + m));
  return b;
}

Result<std::vector<ReportState>> reports(const Ledger& ledger) {
  std::vector<ReportState> out;
  bool corrupt = false;
  Status s = ledger.read_side([&](const SideReader& r) {
    r.scan(Side::kReport, {}, [&](ByteView k, ByteView v) {
      auto rep = pack::decode_report(k, v);
      if (!rep) {
        corrupt = true;
        return false;
      }
      out.push_back(std::move(*rep));
      return true;
    });
    return Status::ok();
  });
  if (!s) return s;
  if (corrupt) return undecodable(ledger, "a stored report");
  return out;
}

Result<std::vector<Line>> trail(const Ledger& ledger, TrailKind kind, const std::string& id,
                                Seq from, std::size_t limit) {
  std::vector<Line> out;
  bool corrupt = false;
  Status s = ledger.read_side([&](const SideReader& r) {
    r.scan(Side::kTrail, pack::trail_prefix(kind, id), [&](ByteView, ByteView v) {
      auto lines = pack::decode_lines(v);
      if (!lines) {
        corrupt = true;
        return false;
      }
      for (const Line& l : *lines) {
        if (l.seq < from) continue;
        if (out.size() >= limit) return false;
        out.push_back(l);
      }
      return true;
    });
    return Status::ok();
  });
  if (!s) return s;
  if (corrupt) return undecodable(ledger, "a stored trail block");
  return out;
}

}  // namespace govcredit
