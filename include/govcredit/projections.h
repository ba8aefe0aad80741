// Projections: the domain state derived from a shard's log (docs/LEDGER_FORMAT.md §10) — each
// agency's credit status, the record, complaint and recommendation lifecycles with their
// histories, and audit trails per agency and per principal — and the domain rules that ingest
// enforces against that state (events/FORMAT.md §5b).
//
// A Projector holds the state it has touched in memory (loading on demand from a SideReader,
// usually the current LMDB transaction) and writes what changed back with flush(). The same
// apply() builds the projections incrementally in ingest, from scratch in `govcredit rebuild`, and
// for one agency as of a past time, so the three cannot disagree.
//
// Every rule and every apply() is a pure function of the event and the shard's own state: no
// clock, no other partition (DESIGN.md §2).
//
// Thread-safety: a Projector is used by one thread. The query functions take a Ledger and read
// in their own read transaction; they may run on any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "govcredit/enums.h"
#include "govcredit/event.h"
#include "govcredit/ledger.h"
#include "govcredit/registry.h"
#include "govcredit/side.h"
#include "govcredit/status.h"

namespace govcredit {

enum class RecordPhase : std::uint8_t {
  kPending,
  kConfirmed,
  kUnfounded,
  kOverturned,
  kRepaired,
  kExpired
};
enum class ComplaintPhase : std::uint8_t {
  kAwaitingTriage,
  kInHandling,
  kRejected,
  kDuplicate,
  kTransferred,
  kClosed
};
enum class RecommendationPhase : std::uint8_t { kOpen, kRectificationReported, kClosed };
enum class ItemEnd : std::uint8_t { kCounting, kRepaired, kExpired, kOverturned };

template <>
struct EnumNames<RecordPhase> {
  static constexpr std::array names = {
      std::string_view("pending"),    std::string_view("confirmed"), std::string_view("unfounded"),
      std::string_view("overturned"), std::string_view("repaired"),  std::string_view("expired")};
  static constexpr std::string_view what = "RecordPhase";
};
template <>
struct EnumNames<ComplaintPhase> {
  static constexpr std::array names = {
      std::string_view("awaiting_triage"), std::string_view("in_handling"),
      std::string_view("rejected"),        std::string_view("duplicate"),
      std::string_view("transferred"),     std::string_view("closed")};
  static constexpr std::string_view what = "ComplaintPhase";
};
template <>
struct EnumNames<RecommendationPhase> {
  static constexpr std::array names = {std::string_view("open"),
                                       std::string_view("rectification_reported"),
                                       std::string_view("closed")};
  static constexpr std::string_view what = "RecommendationPhase";
};
template <>
struct EnumNames<ItemEnd> {
  static constexpr std::array names = {std::string_view("counting"), std::string_view("repaired"),
                                       std::string_view("expired"), std::string_view("overturned")};
  static constexpr std::string_view what = "ItemEnd";
};

inline constexpr std::size_t kCategoryCount = 8;
inline constexpr std::size_t kRecordPhaseCount = 6;
inline constexpr std::size_t kComplaintPhaseCount = 6;

// The stable event type code of LEDGER_FORMAT.md §10.1, and back.
std::uint8_t event_type_code(const Event& e);
std::string_view event_type_from_code(std::uint8_t code);

// One step of a history or audit trail: points at the ledger entry.
struct Line {
  Seq seq;
  Timestamp at;
  std::uint8_t type = 0;
  bool operator==(const Line&) const = default;
};

// A confirmed record as it counts towards its agency's score.
struct RecordItem {
  EventId record;
  Seq confirmed_seq;
  Timestamp confirmed_at;
  Category category = Category::kOther;
  Severity severity = Severity::kMinor;
  std::optional<Seq> amended;  // the last correction that changed category or severity
  ItemEnd end = ItemEnd::kCounting;
  Timestamp ended_at;
  Seq ended_seq;
  bool operator==(const RecordItem&) const = default;
};

struct RecItem {
  EventId id;
  Seq issued_seq;
  Timestamp issued_at;
  Timestamp deadline;
  std::optional<std::pair<Timestamp, Seq>> rectified;  // the first rectification report
  struct Closed {
    RecommendationOutcome outcome = RecommendationOutcome::kSatisfied;
    Timestamp at;
    Seq seq;
    bool operator==(const Closed&) const = default;
  };
  std::optional<Closed> closed;
  bool operator==(const RecItem&) const = default;
};

struct AgencyState {
  AgencyInfo info;  // as registered
  Seq registered;
  std::array<std::array<std::uint32_t, kRecordPhaseCount>, kCategoryCount> records{};
  std::array<std::uint32_t, kComplaintPhaseCount> complaints{};
  std::vector<RecordItem> items;
  std::vector<RecItem> recommendations;
  std::uint32_t compensations = 0;
  std::int64_t compensation_fen = 0;
  std::uint64_t events = 0;
  Timestamp last_at;
  bool operator==(const AgencyState&) const = default;

  std::uint32_t records_in(RecordPhase p) const;
};

struct RecordState {
  AgencyId agency;
  PrincipalId source;
  Category category = Category::kOther;
  std::optional<Severity> severity;
  RecordPhase phase = RecordPhase::kPending;
  Seq submitted;
  Timestamp submitted_at;
  Timestamp conduct_at;
  std::optional<Timestamp> confirmed_at;
  Timestamp last_at;
  std::optional<EventId> open_objection;
  std::uint32_t corrections = 0;
  std::vector<Line> history;
  bool operator==(const RecordState&) const = default;
};

struct ObjectionState {
  EventId record;
  Seq raised;
  Timestamp raised_at;
  std::uint8_t state = 0;  // 0 open, 1 upheld, 2 dismissed
  Seq resolved;
  bool operator==(const ObjectionState&) const = default;
};

struct ComplaintState {
  AgencyId agency;
  std::string receipt;
  std::optional<Category> category;
  Digest secret_digest;
  ComplaintPhase phase = ComplaintPhase::kAwaitingTriage;
  std::optional<TriageOutcome> triage;
  std::optional<ComplaintResolution> resolution;
  std::optional<EventId> record;
  Seq filed;
  Timestamp filed_at;
  Timestamp last_at;
  std::uint32_t triages = 0;
  std::uint32_t reopens = 0;
  std::vector<Line> history;
  bool operator==(const ComplaintState&) const = default;
};

struct Rectification {
  EventId id;
  Seq seq;
  Timestamp at;
  bool operator==(const Rectification&) const = default;
};

struct RecommendationState {
  AgencyId agency;
  std::string reference;
  std::vector<EventId> records;
  Seq issued;
  Timestamp issued_at;
  Timestamp deadline;
  RecommendationPhase phase = RecommendationPhase::kOpen;
  std::vector<Rectification> rectifications;
  std::optional<RecommendationOutcome> outcome;
  Timestamp closed_at;
  Seq closed;
  Timestamp last_at;
  std::vector<Line> history;
  bool operator==(const RecommendationState&) const = default;
};

struct RectificationState {
  EventId recommendation;
  Timestamp at;
  Seq seq;
};

struct ReportState {
  std::string period;
  Seq seq;
  Digest content_sha256;
  std::int64_t content_bytes = 0;
  Timestamp at;
  std::string title;
};

// The fixed parameters of the domain rules (events/FORMAT.md §5b). They decide what ingest
// accepts, so they are part of the format: changing one changes which histories replay.
struct DomainRules {
  // Credit repair (信用修复) no earlier than this many days after the rectification it rests on.
  std::int64_t repair_min_days = 180;
  // A confirmed record may be marked expired this many days after its confirmation.
  std::int64_t expiry_days = 730;
};

// Agency, record, complaint and recommendation states as a shard's last committed write
// transaction left them, kept by the shard's one writer (Ingestor) between its transactions.
// Loading an agency reads every one of its item blocks, a number that grows with the shard, and
// each ingest batch loaded every agency it touched; an object is found through the event index (a
// search of each index run) and then read. At 1M entries agencies and records were ~20% of the
// sequential pass, complaints and recommendations ~8% after that (docs/PERFORMANCE.md §5.13). A
// Projector takes a state out (use_cache) and gives it back only after its transaction committed
// (keep_states), so a failed or retried transaction loads from LMDB again. The states are kept
// with the log size they reflect; at any other size (another writer came between) all are
// dropped.
class StateCache {
 public:
  // At most this many record and recommendation items of agencies are kept (~80 bytes each);
  // agencies past it are loaded from the backing each time.
  static constexpr std::size_t kDefaultMaxItems = std::size_t{1} << 20;
  // At most this many records, and as many complaints and recommendations (a few hundred bytes
  // each): of each kind the most recently used, in two generations of half as many.
  static constexpr std::size_t kDefaultMaxObjects = std::size_t{1} << 17;
  explicit StateCache(std::size_t max_items = kDefaultMaxItems,
                      std::size_t max_objects = kDefaultMaxObjects);
  ~StateCache();
  StateCache(StateCache&&) noexcept;
  StateCache& operator=(StateCache&&) noexcept;

  // Drops every state unless they reflect exactly `applied` log entries.
  void expect_applied(std::uint64_t applied);
  std::size_t agencies() const;
  std::size_t items() const;
  std::size_t records() const;
  std::size_t complaints() const;
  std::size_t recommendations() const;
  // The state held for an agency or an object; nullptr when none is.
  const AgencyState* find(std::string_view agency) const;
  const RecordState* find_record(const EventId& id) const;
  const ComplaintState* find_complaint(const EventId& id) const;
  const RecommendationState* find_recommendation(const EventId& id) const;

  struct Impl;

 private:
  friend class Projector;
  std::unique_ptr<Impl> impl_;
};

class Projector {
 public:
  // backing: where objects not yet in memory are loaded from; nullptr for an empty start. It
  // must stay valid (its transaction open) while this Projector checks or applies events.
  explicit Projector(const SideReader* backing = nullptr, DomainRules rules = {});
  ~Projector();
  Projector(Projector&&) noexcept;
  Projector& operator=(Projector&&) noexcept;

  // The domain rules: whether e may follow the state so far. Assumes the event already passed
  // validation, authentication and authorisation (Registry::check); issuer_role is the issuer's
  // registered role.
  Status check(const Event& e, Role issuer_role);
  // Applies an accepted event (the entry at seq). Never fails: an event the rules would have
  // refused changes nothing it cannot account for.
  void apply(const Event& e, Seq seq);

  // Writes every object this projector changed, the trails' new lines and `applied`, in key
  // order. Writing may be retried (LMDB map growth): it writes the same again.
  // With empty_tables, every table was empty before: the writes use SideWriter::append.
  void flush(SideWriter& w, std::uint64_t applied, bool empty_tables = false);
  // Sizes the in-memory tables for about this many events (a rebuild knows the log's size).
  void reserve(std::uint64_t events);

  // Agencies and records not yet in memory are taken out of `cache` when it holds them, else
  // loaded from the backing, whose log holds `applied` entries (the cache's states are dropped
  // unless they reflect that many). The cache must outlive this projector's look-ups.
  void use_cache(StateCache& cache, std::uint64_t applied);
  // Once the transaction this projector was flushed in has committed, leaving `applied` entries
  // in the log: moves every agency and record state it holds into `cache` (up to the cache's
  // limits). The projector holds no agency or record afterwards. Not called after a failed
  // transaction, whose states are simply dropped.
  void keep_states(StateCache& cache, std::uint64_t applied);

  // Look-ups (from memory, else the backing). nullptr when absent.
  const AgencyState* agency(const AgencyId& id);
  const RecordState* record(const EventId& id);
  const ComplaintState* complaint(const EventId& id);
  const RecommendationState* recommendation(const EventId& id);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// ---- Maintenance ----

struct RebuildReport {
  std::uint64_t entries = 0;
  double seconds = 0;
  Digest digest;
  // The region of memory the allocator was given for this rebuild, and how much of it a thread
  // populated ahead of use when a core was idle (both 0 under the C library's malloc, for a log
  // too small to be worth it, or when an earlier rebuild in the process left enough behind;
  // docs/PERFORMANCE.md §5.20).
  std::uint64_t heap_warm_region_bytes = 0;
  std::uint64_t heap_warmed_bytes = 0;
  // How much of that region was given 4 KiB pages instead of 2 MiB ones, because the thread found
  // the larger dear (docs/PERFORMANCE.md §5.45).
  std::uint64_t heap_small_pages_bytes = 0;
  // The part of the data file the new copy of the tables was expected to grow into (their old
  // copy's pages less LMDB's free list), and how much of it a thread put into the page cache
  // before the write (Ledger::fill_page_cache_for_side_copy; both 0 below
  // RebuildOptions::page_cache_fill_at_least, and for the first rebuild of a log without
  // projections below RebuildOptions::first_copy_fill_at_least; docs/PERFORMANCE.md §5.43,
  // §5.47).
  std::uint64_t page_cache_planned_bytes = 0;
  std::uint64_t page_cache_filled_bytes = 0;
};
// The number of entries the stored projections reflect, and their format version (0 if none).
struct ProjectionMeta {
  std::uint64_t applied = 0;
  std::uint32_t version = 0;
};
Result<ProjectionMeta> projection_meta(const Ledger& ledger);
inline constexpr std::uint32_t kProjectionVersion = 4;

// The bytes a first copy of the projections takes in the data file, per log entry, as a rebuild
// estimates it for a log whose projections were never built (Ledger::fill_page_cache_for_side_copy
// has no copy to size it from then): on the benchmark's data 96-103 (9.2 MiB at 100k, 981 MiB at
// 10M). A little less, so that a log whose mix of events needs less is not grown past what it
// uses.
inline constexpr std::uint64_t kRebuildFirstCopyBytesPerEntry = 90;

struct RebuildOptions {
  // Have the memory the rebuild will allocate populated ahead of it by a thread that runs when a
  // core is idle (src/base/heap_warmup.h; docs/PERFORMANCE.md §5.20): for a process whose
  // allocator holds little free memory, as one just started. A process that has just freed
  // gigabytes (a benchmark after its generator) would populate memory it does not need.
  bool warm_heap = true;
  // Have the part of the data file the new copy of the tables will grow into put into the page
  // cache while the entries are applied, by a thread that runs when a core is idle
  // (Ledger::fill_page_cache_for_side_copy; docs/PERFORMANCE.md §5.43), when that part is at
  // least this many bytes. At 10M entries it is ~1 GB, which this benchmark machine's kernel
  // otherwise takes page by page on the committing thread; at 100k ~9 MiB, whose filling still
  // kept a rebuild's second round from its slow moments (64 MiB until 2026-12-06; §5.46).
  std::uint64_t page_cache_fill_at_least = std::uint64_t{4} << 20;
  // A log whose projections were never built has no copy of them to size that part from: it
  // grows by a whole first copy, estimated from the log's length (kRebuildFirstCopyBytesPerEntry
  // an entry), which is filled only when at least this many bytes (~3M entries). At 10M entries
  // the first rebuild ran at 761-857k against 617-641k events/s with it; at 100k and 1M, where the
  // first copy's page cache costs little, it ran ~5% slower (docs/PERFORMANCE.md §5.47).
  std::uint64_t first_copy_fill_at_least = std::uint64_t{256} << 20;
  // Free the in-memory state once its rows are written (true), or leave it to the process's exit
  // (false): for a process that ends with the rebuild, as `govcredit rebuild` of its last shard.
  // Freeing walks every block of the state, on the writing thread, with the transaction open and
  // the other core idle: ~1.1 s of a 10M-entry rebuild's ~11 s on the benchmark machine, ~0.08 s
  // of ~1 s at 1M (docs/PERFORMANCE.md §5.52). A state left stays reachable, from a list that is
  // never destroyed (rebuild_states_left), so leak checkers count it as kept.
  bool free_state = true;
};
// How many rebuilds of this process left their state to its exit (RebuildOptions::free_state).
std::size_t rebuild_states_left();
// Drops every projection and rebuilds it from the log. progress(done, total) is called as the
// entries are applied in memory, done == total last, just before the one write transaction that
// replaces the tables. Claims the shard for writing first (Ledger::claim_writer): never under a
// running ingest.
Result<RebuildReport> rebuild_projections(
    Ledger& ledger, const std::function<void(std::uint64_t, std::uint64_t)>& progress = {},
    RebuildOptions options = {});
// Applies the entries the projections have not seen yet (after a crash in a rebuild, or when
// the projection format changed: then everything is rebuilt). Ingestor::create calls it.
Status catch_up_projections(Ledger& ledger);
// Rebuilds into memory and returns that digest, next to the stored projections' digest. Warms
// its heap as a rebuild does (RebuildOptions::warm_heap): meant for a process of its own, as
// `govcredit verify --projections`.
struct ProjectionCheck {
  Digest stored;
  Digest rebuilt;
  bool ok() const { return stored == rebuilt; }
};
Result<ProjectionCheck> check_projections(const Ledger& ledger);
// Projections of the log's entries whose event issued_at <= as_of (every entry when nullopt),
// built in memory: what a rebuild of the log truncated at as_of holds.
Result<MemorySide> rebuild_in_memory(const Ledger& ledger,
                                     std::optional<Timestamp> as_of = std::nullopt);

// ---- Queries (each in one read transaction) ----

// The agency's current state, or kNotFound.
Result<AgencyState> agency_state(const Ledger& ledger, const AgencyId& id);
// The agency's state as of time t (LEDGER_FORMAT.md §10.3), or kNotFound if it was not
// registered by then.
Result<AgencyState> agency_state_as_of(const Ledger& ledger, const AgencyId& id, Timestamp t);
// The agency's state in a side reader (e.g. a MemorySide), or nullopt.
std::optional<AgencyState> agency_state_in(const SideReader& r, const AgencyId& id);
// Every agency of the shard, by id.
Result<std::vector<AgencyState>> all_agencies(const Ledger& ledger);
Result<RecordState> record_state(const Ledger& ledger, const EventId& id);
Result<ComplaintState> complaint_state(const Ledger& ledger, const EventId& id);
Result<ComplaintState> complaint_by_receipt(const Ledger& ledger, const std::string& receipt,
                                            EventId* id = nullptr);
Result<RecommendationState> recommendation_state(const Ledger& ledger, const EventId& id);
Result<std::vector<ReportState>> reports(const Ledger& ledger);

// A report period ("2013", "2013-Q3", "2013-08"): [start, end), each bound at 00:00 China
// Standard Time (UTC+8) on a month's first day, and the start of every month in it. nullopt for
// text that is no period.
struct PeriodBounds {
  Timestamp start;
  Timestamp end;
  std::vector<Timestamp> months;
};
std::optional<PeriodBounds> period_bounds(std::string_view period);
// Every record / complaint / recommendation of the shard in id order, until fn returns false.
Status for_each_record(const Ledger& ledger,
                       const std::function<bool(const EventId&, const RecordState&)>& fn);
Status for_each_complaint(const Ledger& ledger,
                          const std::function<bool(const EventId&, const ComplaintState&)>& fn);
Status for_each_recommendation(
    const Ledger& ledger,
    const std::function<bool(const EventId&, const RecommendationState&)>& fn);

enum class TrailKind : char { kAgency = 'a', kPrincipal = 'p' };
// Up to limit lines of a trail with seq >= from, in seq order.
Result<std::vector<Line>> trail(const Ledger& ledger, TrailKind kind, const std::string& id,
                                Seq from = Seq{0}, std::size_t limit = 1000);

// Overdue as of t: issued by t, deadline before t, not rectified by the deadline, not closed by t.
bool overdue_at(const RecItem& r, Timestamp t);

}  // namespace govcredit
