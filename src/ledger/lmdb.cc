#include "lmdb.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>

namespace govcredit::lmdb {

Txn::Txn(MDB_env* env, bool write) {
  int rc = mdb_txn_begin(env, nullptr, write ? 0 : MDB_RDONLY, &txn_);
  if (rc == MDB_MAP_RESIZED) {  // another process grew the map: adopt its size and retry
    check(mdb_env_set_mapsize(env, 0), "mdb_env_set_mapsize");
    rc = mdb_txn_begin(env, nullptr, write ? 0 : MDB_RDONLY, &txn_);
  }
  check(rc, "mdb_txn_begin");
}

Txn::~Txn() {
  if (txn_ != nullptr) mdb_txn_abort(txn_);
}

std::optional<ByteView> Txn::find(MDB_dbi dbi, MDB_val key) const {
  MDB_val v;
  int rc = mdb_get(txn_, dbi, &key, &v);
  if (rc == MDB_NOTFOUND) return std::nullopt;
  check(rc, "mdb_get");
  return view(v);
}

void Txn::put(MDB_dbi dbi, MDB_val key, MDB_val data, unsigned flags) {
  check(mdb_put(txn_, dbi, &key, &data, flags), "mdb_put");
}

bool Txn::erase(MDB_dbi dbi, MDB_val key) {
  int rc = mdb_del(txn_, dbi, &key, nullptr);
  if (rc == MDB_NOTFOUND) return false;
  check(rc, "mdb_del");
  return true;
}

void Txn::clear(MDB_dbi dbi) {
  check(mdb_drop(txn_, dbi, 0), "mdb_drop");
}

std::size_t Txn::count(MDB_dbi dbi) const {
  MDB_stat st;
  check(mdb_stat(txn_, dbi, &st), "mdb_stat");
  return st.ms_entries;
}

std::uint64_t Txn::bytes(MDB_dbi dbi) const {
  MDB_stat st;
  check(mdb_stat(txn_, dbi, &st), "mdb_stat");
  return static_cast<std::uint64_t>(st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages) *
         st.ms_psize;
}

void Txn::commit() {
  int rc = mdb_txn_commit(txn_);
  txn_ = nullptr;  // freed by LMDB whether or not the commit succeeded
  check(rc, "mdb_txn_commit");
}

Cursor::Cursor(const Txn& txn, MDB_dbi dbi) {
  check(mdb_cursor_open(txn.get(), dbi, &cur_), "mdb_cursor_open");
}
Cursor::~Cursor() {
  mdb_cursor_close(cur_);
}

void Cursor::put(MDB_val key, MDB_val data, unsigned flags) {
  check(mdb_cursor_put(cur_, &key, &data, flags), "mdb_cursor_put");
}

std::uint8_t* Cursor::reserve(MDB_val key, std::size_t size, unsigned flags) {
  MDB_val data{size, nullptr};
  check(mdb_cursor_put(cur_, &key, &data, MDB_RESERVE | flags), "mdb_cursor_put(reserve)");
  return static_cast<std::uint8_t*>(data.mv_data);
}

bool Cursor::op(MDB_cursor_op o, const MDB_val* key) {
  if (key) key_ = *key;
  int rc = mdb_cursor_get(cur_, &key_, &val_, o);
  if (rc == MDB_NOTFOUND) return false;
  check(rc, "mdb_cursor_get");
  return true;
}
bool Cursor::seek(const MDB_val* key) {
  return key ? op(MDB_SET_RANGE, key) : op(MDB_FIRST);
}
bool Cursor::next() {
  return op(MDB_NEXT);
}
bool Cursor::last() {
  return op(MDB_LAST);
}
bool Cursor::prev() {
  return op(MDB_PREV);
}

namespace {

void check_errno(bool ok, const std::string& what) {
  if (!ok) throw LmdbError(errno, what);  // LmdbError adds strerror's text
}

// A new environment's data file is made under a temporary name, put on disk, and renamed into
// place (the directory then flushed): LMDB writes a new file's two meta pages without flushing
// them, and a file holding only some of them — the machine's power cut while a shard was being
// created — would never open again (MDB_INVALID). So after a crash there is either no data file,
// and the next open makes it again, or a whole empty environment (power_cut_test.cc). An empty
// data file holds nothing and is made again the same way. Temporary files left by a crash are
// removed once the process that made them is gone.
void create_data_file(const std::string& dir, const EnvOptions& o) {
  namespace fs = std::filesystem;
  const std::string path = dir + "/data.mdb";
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (!ec && size > 0) return;
  if (!ec) check_errno(::unlink(path.c_str()) == 0 || errno == ENOENT, "unlink " + path);
  const std::string prefix = "data.mdb.creating-";
  for (const auto& f : fs::directory_iterator(dir, ec)) {
    const std::string name = f.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    const long pid = std::strtol(name.c_str() + prefix.size(), nullptr, 10);
    if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)
      fs::remove(f.path(), ec);
  }
  const std::string tmp = dir + "/" + prefix + std::to_string(::getpid());
  fs::remove(tmp, ec);
  fs::remove(tmp + "-lock", ec);
  MDB_env* env = nullptr;
  check(mdb_env_create(&env), "mdb_env_create");
  int rc = mdb_env_set_mapsize(env, o.initial_map_size);
  if (rc == 0) rc = mdb_env_open(env, tmp.c_str(), MDB_NOSUBDIR | MDB_NOTLS, 0644);
  if (rc == 0 && !o.no_sync) rc = mdb_env_sync(env, 1);
  mdb_env_close(env);
  fs::remove(tmp + "-lock", ec);
  check(rc, ("creating " + path).c_str());
  // No-replace: another process may have made it meanwhile; then its file is the one. (A file
  // system without RENAME_NOREPLACE gets a hard link and an unlink, which fail the same way.)
  int moved = ::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE);
  if (moved != 0 && errno == EINVAL && (moved = ::link(tmp.c_str(), path.c_str())) == 0)
    fs::remove(tmp, ec);
  if (moved != 0) {
    const int err = errno;
    fs::remove(tmp, ec);
    errno = err;
    check_errno(err == EEXIST, "rename " + tmp);
    return;
  }
  if (o.no_sync) return;
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  check_errno(fd >= 0, "open " + dir);
  const bool synced = ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  errno = err;
  check_errno(synced, "fsync " + dir);
}

}  // namespace

Env::Env(const std::string& dir, const EnvOptions& o) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw LmdbError(ec.value(), "cannot create " + dir);
  create_data_file(dir, o);
  check(mdb_env_create(&env_), "mdb_env_create");
  try {
    check(mdb_env_set_maxdbs(env_, o.max_dbs), "mdb_env_set_maxdbs");
    check(mdb_env_set_mapsize(env_, o.initial_map_size), "mdb_env_set_mapsize");
    no_sync_ = o.no_sync;
    defer_meta_sync_ = o.defer_meta_sync && !o.no_sync;
    unsigned flags =
        MDB_NOTLS | (no_sync_ ? MDB_NOSYNC : 0) | (defer_meta_sync_ ? MDB_NOMETASYNC : 0);
    check(mdb_env_open(env_, dir.c_str(), flags, 0644), ("mdb_env_open " + dir).c_str());
    // An existing environment may already be larger than initial_map_size: adopt the larger.
    MDB_envinfo info;
    check(mdb_env_info(env_, &info), "mdb_env_info");
    if (info.me_mapsize < o.initial_map_size)
      check(mdb_env_set_mapsize(env_, o.initial_map_size), "mdb_env_set_mapsize");
    synced_txnid_ = info.me_last_txnid;
  } catch (...) {
    mdb_env_close(env_);
    throw;
  }
}

Env::~Env() {
  mdb_env_close(env_);
}

MDB_dbi Env::open_db(const char* name) {
  return open_dbs({name}).front();
}

std::vector<MDB_dbi> Env::open_dbs(const std::vector<std::string>& names) {
  std::shared_lock lock(resize_mu_);
  Txn txn(env_, true);
  std::vector<MDB_dbi> out(names.size());
  for (std::size_t i = 0; i < names.size(); ++i)
    check(mdb_dbi_open(txn.get(), names[i].c_str(), MDB_CREATE, &out[i]), "mdb_dbi_open");
  txn.commit();
  return out;
}

std::uint64_t Env::write(const std::function<void(Txn&)>& fn) {
  for (int attempt = 0;; ++attempt) {
    try {
      std::shared_lock lock(resize_mu_);
      Txn txn(env_, true);
      fn(txn);
      if (failing_commits_.load() > 0) {
        --failing_commits_;
        throw LmdbError(failing_code_.load(), "mdb_txn_commit (simulated for a test)");
      }
      const std::uint64_t id = mdb_txn_id(txn.get());
      txn.commit();
      // A commit that wrote nothing leaves the last txnid as it was and flushed nothing.
      if (last_txnid() != id) return 0;
      if (defer_meta_sync_) {  // its flush of its pages carried the meta page before it
        std::uint64_t before = id - 1, seen = synced_txnid_.load();
        while (seen < before && !synced_txnid_.compare_exchange_weak(seen, before)) {
        }
      } else if (!no_sync_) {
        synced_txnid_ = id;
      }
      return id;
    } catch (const LmdbError& e) {
      if (e.code != MDB_MAP_FULL || attempt >= 40) throw;
    }
    grow();
  }
}

void Env::read(const std::function<void(const Txn&)>& fn) const {
  std::shared_lock lock(resize_mu_);
  Txn txn(env_, false);
  fn(txn);
}

void Env::grow() {
  reserve(map_size() * 2);  // (a no-op when another thread has just grown it)
}

void Env::reserve(std::size_t bytes) {
  std::unique_lock lock(resize_mu_);  // no transaction of ours is open now
  MDB_envinfo info;
  check(mdb_env_info(env_, &info), "mdb_env_info");
  std::size_t size = info.me_mapsize;
  while (size < bytes && size <= std::numeric_limits<std::size_t>::max() / 2) size *= 2;
  if (size != info.me_mapsize) check(mdb_env_set_mapsize(env_, size), "mdb_env_set_mapsize");
}

std::size_t Env::map_size() const {
  MDB_envinfo info;
  check(mdb_env_info(env_, &info), "mdb_env_info");
  return info.me_mapsize;
}

std::uint64_t Env::used_bytes() const {
  MDB_envinfo info;
  MDB_stat st;
  check(mdb_env_info(env_, &info), "mdb_env_info");
  check(mdb_env_stat(env_, &st), "mdb_env_stat");
  return static_cast<std::uint64_t>(info.me_last_pgno + 1) * st.ms_psize;
}

std::uint64_t Env::free_bytes() const {
  MDB_stat st;
  check(mdb_env_stat(env_, &st), "mdb_env_stat");
  std::uint64_t pages = 0;
  read([&](const Txn& txn) {
    // The free list is database 0: per freeing transaction, an ID list whose first element is
    // its length (LMDB's MDB_IDL). A read-only transaction may open a cursor on it.
    Cursor c(txn, 0);
    for (bool more = c.seek(nullptr); more; more = c.next())
      if (c.value().mv_size >= sizeof(std::size_t)) {  // MDB_ID is a size_t (midl.h)
        std::size_t n;
        std::memcpy(&n, c.value().mv_data, sizeof n);
        pages += n;
      }
  });
  return pages * st.ms_psize;
}

std::uint64_t Env::last_txnid() const noexcept {
  MDB_envinfo info;
  return mdb_env_info(env_, &info) == MDB_SUCCESS ? info.me_last_txnid : 0;
}

void Env::sync() {
  std::lock_guard lock(sync_mu_);
  std::uint64_t last = last_txnid();  // committed before the flush, so on disk after it
  if (synced_txnid_.load() >= last) return;
  check(mdb_env_sync(env_, 1), "mdb_env_sync");
  std::uint64_t seen = synced_txnid_.load();
  while (seen < last && !synced_txnid_.compare_exchange_weak(seen, last)) {
  }
}

PageCacheFill::PageCacheFill(const Env& env, std::uint64_t bytes) {
  if (bytes == 0) return;
  mdb_filehandle_t fd;
  if (mdb_env_get_fd(env.get(), &fd) != MDB_SUCCESS) return;
  std::uint64_t from = 0;
  try {
    from = env.used_bytes();
  } catch (const std::exception&) {
    return;
  }
  thread_ = std::thread([this, fd, from, bytes] {
    // Only a core's idle time: at 1M entries, filling at the normal priority beside the
    // rebuild's reading thread cost it ~4% (PERFORMANCE.md §5.43). Failing leaves it normal.
    const sched_param none{};
    (void)pthread_setschedparam(pthread_self(), SCHED_IDLE, &none);
    constexpr std::uint64_t kChunk = std::uint64_t{8} << 20;
    std::vector<char> buf(std::size_t{1} << 20);
    for (std::uint64_t off = from; off < from + bytes && !stop_.load(); off += kChunk) {
      const std::uint64_t len = std::min(kChunk, from + bytes - off);
      if (::fallocate(fd, 0, static_cast<off_t>(off), static_cast<off_t>(len)) != 0) return;
      for (std::uint64_t at = off; at < off + len;) {
        const ssize_t n =
            ::pread(fd, buf.data(), std::min<std::uint64_t>(buf.size(), off + len - at),
                    static_cast<off_t>(at));
        if (n <= 0) return;
        at += static_cast<std::uint64_t>(n);
      }
      filled_.fetch_add(len);
    }
  });
}

std::uint64_t PageCacheFill::finish() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  return filled_.load();
}

}  // namespace govcredit::lmdb
