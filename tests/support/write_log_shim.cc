// An LD_PRELOAD library for the power-cut tests (tests/support/power_cut.h): it logs, in the order
// the process made them, every write to a tracked file, every call that makes earlier writes or
// changes of names durable, and every change of a tracked file's names, so that a test can rebuild
// what a disk may hold after the power fails at any moment. Tracked files: LMDB data files and
// those being made under a temporary name (a name starting with data.mdb, not ending with -lock:
// data.mdb, data.mdb.creating-PID, the key vault's data.mdb.erased), the key vault's erase marker
// (erasing), files whose names start with one of GOVCREDIT_WRITE_LOG_TRACK's colon-separated
// prefixes, and the writer's acknowledgements (a file named power_cut.acks). The log is
// GOVCREDIT_WRITE_LOG; without it the library does nothing.
//
// Record: kind (1 byte) ‖ descriptor (u16 LE) ‖ offset (u64 LE) ‖ length (u32 LE) ‖ bytes.
//   'O' a tracked file was opened as the descriptor; the bytes are its path; offset bit 0: this
//       open created it, bit 1: writes through it are on the disk when they return (O_DSYNC,
//       O_SYNC)
//   'd' a directory was opened as the descriptor (O_DIRECTORY); the bytes are its path
//   'W' bytes written at offset through the descriptor ('D' when it was opened with bit 1)
//   'S' fsync or fdatasync of a tracked file: everything written to it before is on the disk
//   'Y' fsync of a directory: the changes of names in it before are on the disk
//   'R' a tracked file was renamed: the bytes are the old path, a zero byte, the new path
//   'L' a tracked file got another name (link): the same bytes
//   'U' a tracked name was removed (unlink, remove): the bytes are its path
//   'A' bytes written to the acknowledgements file
// Paths are as the process gave them, those relative to a directory's descriptor made absolute
// through /proc/self/fd; a data file opened with O_APPEND aborts the process (the test could not
// follow its offsets). Only what the C library's entry points below see is logged: LMDB (without
// MDB_WRITEMAP, as the ledger opens it) writes through open, pwrite, write and writev, copies an
// environment (mdb_env_copy2) through open and write, and makes its files durable with fdatasync
// and an O_DSYNC descriptor; a call this library does not know would be missing from the log, and
// the test's checks would then fail, not pass.
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

using OpenFn = int (*)(const char*, int, ...);
using OpenAtFn = int (*)(int, const char*, int, ...);
using CloseFn = int (*)(int);
using WriteFn = ssize_t (*)(int, const void*, size_t);
using PwriteFn = ssize_t (*)(int, const void*, size_t, off_t);
using WritevFn = ssize_t (*)(int, const struct iovec*, int);
using PwritevFn = ssize_t (*)(int, const struct iovec*, int, off_t);
using SyncFn = int (*)(int);
using LseekFn = off_t (*)(int, off_t, int);
using PathFn = int (*)(const char*);
using TwoPathsFn = int (*)(const char*, const char*);

template <class F>
F real(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

enum Tracked : unsigned char { kNo = 0, kData, kDataSync, kAcks, kDirectory };
constexpr int kMaxFd = 4096;
unsigned char tracked[kMaxFd];
pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
int log_fd = -2;  // -2: not opened yet; -1: no log

bool ends_with(const char* s, const char* tail) {
  const size_t n = strlen(s), t = strlen(tail);
  return n >= t && strcmp(s + n - t, tail) == 0;
}

const char* base_name(const char* path) {
  const char* b = strrchr(path, '/');
  return b ? b + 1 : path;
}

bool is_acks(const char* path) {
  return strcmp(base_name(path), "power_cut.acks") == 0;
}

// The names GOVCREDIT_WRITE_LOG_TRACK adds: basename prefixes, separated by colons.
bool tracked_by_request(const char* base) {
  static const char* const list = getenv("GOVCREDIT_WRITE_LOG_TRACK");
  for (const char* p = list; p && *p;) {
    const char* end = strchr(p, ':');
    const size_t n = end ? static_cast<size_t>(end - p) : strlen(p);
    if (n > 0 && strncmp(base, p, n) == 0) return true;
    p = end ? end + 1 : p + n;
  }
  return false;
}

// A data file (or one on its way to being one), the vault's erase marker, or a requested name.
bool is_data(const char* path) {
  const char* base = base_name(path);
  return (strncmp(base, "data.mdb", 8) == 0 && !ends_with(base, "-lock")) ||
         strcmp(base, "erasing") == 0 || tracked_by_request(base);
}

void put_all(const void* p, size_t n) {
  static const WriteFn w = real<WriteFn>("write");
  const char* c = static_cast<const char*>(p);
  while (n > 0) {
    ssize_t k = w(log_fd, c, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) abort();  // a log with a hole would mislead the test
    c += k;
    n -= static_cast<size_t>(k);
  }
}

// Called with mu held.
bool log_open() {
  if (log_fd == -2) {
    static const OpenFn o = real<OpenFn>("open");
    const char* path = getenv("GOVCREDIT_WRITE_LOG");
    log_fd = path ? o(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644) : -1;
  }
  return log_fd >= 0;
}

// Called with mu held and the log open.
void record(char kind, int fd, std::uint64_t offset, const void* data, std::uint32_t len) {
  unsigned char head[15];
  head[0] = static_cast<unsigned char>(kind);
  head[1] = static_cast<unsigned char>(fd);
  head[2] = static_cast<unsigned char>(fd >> 8);
  for (int i = 0; i < 8; ++i) head[3 + i] = static_cast<unsigned char>(offset >> (8 * i));
  for (int i = 0; i < 4; ++i) head[11 + i] = static_cast<unsigned char>(len >> (8 * i));
  put_all(head, sizeof head);
  if (len > 0) put_all(data, len);
}

void log_path(char kind, int fd, std::uint64_t flags, const char* path) {
  pthread_mutex_lock(&mu);
  if (log_open()) record(kind, fd, flags, path, static_cast<std::uint32_t>(strlen(path)));
  pthread_mutex_unlock(&mu);
}

// A path given relative to a directory descriptor, made absolute through /proc (as the C++
// library's remove_all unlinks a directory's entries); other paths as given.
struct Resolved {
  char buf[4096];
  const char* path;
};
void resolve(int dir, const char* path, Resolved& out) {
  out.path = path;
  if (dir == AT_FDCWD || path[0] == '/') return;
  char link[64];
  snprintf(link, sizeof link, "/proc/self/fd/%d", dir);
  const ssize_t n = readlink(link, out.buf, sizeof out.buf - 1);
  if (n <= 0 || static_cast<size_t>(n) + 1 + strlen(path) + 1 > sizeof out.buf) {
    if (is_data(path) || is_acks(path)) abort();  // the test could not place it
    return;
  }
  out.buf[n] = '/';
  strcpy(out.buf + n + 1, path);
  out.path = out.buf;
}

void opened(int fd, const char* path, int flags, bool existed) {
  if (fd < 0 || fd >= kMaxFd) return;
  tracked[fd] = kNo;
  if (flags & O_DIRECTORY) {
    pthread_mutex_lock(&mu);
    if (log_open()) {
      tracked[fd] = kDirectory;
      record('d', fd, 0, path, static_cast<std::uint32_t>(strlen(path)));
    }
    pthread_mutex_unlock(&mu);
    return;
  }
  const bool acks = is_acks(path);
  if (!acks && !is_data(path)) return;
  if (flags & O_APPEND) abort();  // offsets would not be known
  const bool sync = (flags & (O_DSYNC | O_SYNC)) != 0;
  pthread_mutex_lock(&mu);
  if (log_open()) {
    tracked[fd] = acks ? kAcks : sync ? kDataSync : kData;
    const std::uint64_t bits = (existed ? 0u : 1u) | (sync ? 2u : 0u);
    record('O', fd, bits, path, static_cast<std::uint32_t>(strlen(path)));
  }
  pthread_mutex_unlock(&mu);
}

unsigned char kind_of(int fd) {
  if (fd < 0 || fd >= kMaxFd) return kNo;
  return tracked[fd];
}

// Whether a tracked path exists before an open that may create it.
bool exists_before(const char* path, int flags) {
  if (!(flags & O_CREAT) || !(is_data(path) || is_acks(path))) return true;
  return access(path, F_OK) == 0;
}

// Logs what a write of `done` bytes at `offset` put there (the first `done` bytes of the iovecs).
void wrote(int fd, const struct iovec* iov, int n, off_t offset, ssize_t done) {
  if (done <= 0) return;
  const unsigned char k = kind_of(fd);
  const char kind = k == kAcks ? 'A' : k == kDataSync ? 'D' : 'W';
  pthread_mutex_lock(&mu);
  size_t left = static_cast<size_t>(done);
  std::uint64_t at = static_cast<std::uint64_t>(offset);
  for (int i = 0; i < n && left > 0; ++i) {
    const size_t len = iov[i].iov_len < left ? iov[i].iov_len : left;
    record(kind, fd, at, iov[i].iov_base, static_cast<std::uint32_t>(len));
    at += len;
    left -= len;
  }
  pthread_mutex_unlock(&mu);
}

void synced(int fd, int rc) {
  const unsigned char k = kind_of(fd);
  if (rc != 0 || k == kNo || k == kAcks) return;
  pthread_mutex_lock(&mu);
  record(k == kDirectory ? 'Y' : 'S', fd, 0, nullptr, 0);
  pthread_mutex_unlock(&mu);
}

// A rename or link of a tracked file.
void named(char kind, const char* from, const char* to, int rc) {
  if (rc != 0 || !(is_data(from) || is_data(to))) return;
  pthread_mutex_lock(&mu);
  if (log_open()) {
    const size_t a = strlen(from), b = strlen(to);
    char buf[2048];
    if (a + 1 + b > sizeof buf) abort();
    memcpy(buf, from, a);
    buf[a] = '\0';
    memcpy(buf + a + 1, to, b);
    record(kind, 0, 0, buf, static_cast<std::uint32_t>(a + 1 + b));
  }
  pthread_mutex_unlock(&mu);
}

void removed(const char* path, int rc) {
  if (rc == 0 && is_data(path)) log_path('U', 0, 0, path);
}

// open's third argument, given only with O_CREAT or O_TMPFILE.
mode_t mode_of(int flags, va_list ap) {
  return flags & (O_CREAT | O_TMPFILE) ? static_cast<mode_t>(va_arg(ap, int)) : 0;
}

off_t position(int fd) {
  static const LseekFn l = real<LseekFn>("lseek");
  return l(fd, 0, SEEK_CUR);
}

}  // namespace

extern "C" {

int open(const char* path, int flags, ...) {
  static const OpenFn o = real<OpenFn>("open");
  va_list ap;
  va_start(ap, flags);
  const mode_t mode = mode_of(flags, ap);
  va_end(ap);
  const bool existed = exists_before(path, flags);
  const int fd = o(path, flags, mode);
  opened(fd, path, flags, existed);
  return fd;
}

// open64 is open on a 64-bit system (O_LARGEFILE is implied).
int open64(const char* path, int flags, ...) __attribute__((alias("open")));

int openat(int dir, const char* path, int flags, ...) {
  static const OpenAtFn o = real<OpenAtFn>("openat");
  va_list ap;
  va_start(ap, flags);
  const mode_t mode = mode_of(flags, ap);
  va_end(ap);
  Resolved r;
  resolve(dir, path, r);
  const bool existed = exists_before(r.path, flags);
  const int fd = o(dir, path, flags, mode);
  opened(fd, r.path, flags, existed);
  return fd;
}

int close(int fd) {
  static const CloseFn c = real<CloseFn>("close");
  if (fd >= 0 && fd < kMaxFd) tracked[fd] = kNo;
  return c(fd);
}

ssize_t write(int fd, const void* buf, size_t n) {
  static const WriteFn w = real<WriteFn>("write");
  if (kind_of(fd) == kNo) return w(fd, buf, n);
  const off_t at = position(fd);
  const ssize_t done = w(fd, buf, n);
  const struct iovec v { const_cast<void*>(buf), n };
  wrote(fd, &v, 1, at, done);
  return done;
}

ssize_t pwrite(int fd, const void* buf, size_t n, off_t offset) {
  static const PwriteFn w = real<PwriteFn>("pwrite");
  const ssize_t done = w(fd, buf, n, offset);
  if (kind_of(fd) != kNo) {
    const struct iovec v { const_cast<void*>(buf), n };
    wrote(fd, &v, 1, offset, done);
  }
  return done;
}

ssize_t pwrite64(int fd, const void* buf, size_t n, off_t offset) {
  return pwrite(fd, buf, n, offset);
}

ssize_t writev(int fd, const struct iovec* iov, int n) {
  static const WritevFn w = real<WritevFn>("writev");
  if (kind_of(fd) == kNo) return w(fd, iov, n);
  const off_t at = position(fd);
  const ssize_t done = w(fd, iov, n);
  wrote(fd, iov, n, at, done);
  return done;
}

ssize_t pwritev(int fd, const struct iovec* iov, int n, off_t offset) {
  static const PwritevFn w = real<PwritevFn>("pwritev");
  const ssize_t done = w(fd, iov, n, offset);
  if (kind_of(fd) != kNo) wrote(fd, iov, n, offset, done);
  return done;
}

ssize_t pwritev64(int fd, const struct iovec* iov, int n, off_t offset) {
  return pwritev(fd, iov, n, offset);
}

int rename(const char* from, const char* to) noexcept {
  static const TwoPathsFn r = real<TwoPathsFn>("rename");
  const int rc = r(from, to);
  named('R', from, to, rc);
  return rc;
}

int renameat(int from_dir, const char* from, int to_dir, const char* to) noexcept {
  using RenameAtFn = int (*)(int, const char*, int, const char*);
  static const RenameAtFn r = real<RenameAtFn>("renameat");
  Resolved a, b;
  resolve(from_dir, from, a);
  resolve(to_dir, to, b);
  const int rc = r(from_dir, from, to_dir, to);
  named('R', a.path, b.path, rc);
  return rc;
}

int renameat2(int from_dir, const char* from, int to_dir, const char* to, unsigned flags) noexcept {
  using RenameAt2Fn = int (*)(int, const char*, int, const char*, unsigned);
  static const RenameAt2Fn r = real<RenameAt2Fn>("renameat2");
  Resolved a, b;
  resolve(from_dir, from, a);
  resolve(to_dir, to, b);
  const int rc = r(from_dir, from, to_dir, to, flags);
  named('R', a.path, b.path, rc);
  return rc;
}

int link(const char* from, const char* to) noexcept {
  static const TwoPathsFn l = real<TwoPathsFn>("link");
  const int rc = l(from, to);
  named('L', from, to, rc);
  return rc;
}

int unlink(const char* path) noexcept {
  static const PathFn u = real<PathFn>("unlink");
  const int rc = u(path);
  removed(path, rc);
  return rc;
}

int unlinkat(int dir, const char* path, int flags) noexcept {
  using UnlinkAtFn = int (*)(int, const char*, int);
  static const UnlinkAtFn u = real<UnlinkAtFn>("unlinkat");
  Resolved r;
  resolve(dir, path, r);
  const int rc = u(dir, path, flags);
  removed(r.path, rc);
  return rc;
}

// The C library's remove() unlinks through an internal call this library does not see.
int remove(const char* path) noexcept {
  static const PathFn r = real<PathFn>("remove");
  const int rc = r(path);
  removed(path, rc);
  return rc;
}

int fsync(int fd) {
  static const SyncFn s = real<SyncFn>("fsync");
  const int rc = s(fd);
  synced(fd, rc);
  return rc;
}

int fdatasync(int fd) {
  static const SyncFn s = real<SyncFn>("fdatasync");
  const int rc = s(fd);
  synced(fd, rc);
  return rc;
}

}  // extern "C"
