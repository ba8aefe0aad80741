// An LD_PRELOAD library for the power-cut test (power_cut_test.cc): it logs every write to a file
// whose name starts with data.mdb (an LMDB data file, or one being created under a temporary
// name; not a -lock file), in the order the process made them, with the calls that make earlier
// writes durable and the renames of such files, so that the test can rebuild what a disk may hold
// after the power fails at any moment. Writes to a file named power_cut.acks (the writer's
// acknowledgements) are logged in the same order. The log is GOVCREDIT_WRITE_LOG; without it the
// library does nothing.
//
// Record: kind (1 byte) ‖ file (1 byte) ‖ offset (u64 LE) ‖ length (u32 LE) ‖ bytes.
//   'O' a tracked path was opened (or renamed to): file is its number, the bytes its path
//   'W' bytes written at offset; 'D' the same through a descriptor opened with O_DSYNC or O_SYNC
//       (on the disk when the call returns)
//   'S' fsync or fdatasync of the file: everything written to it before is on the disk
//   'R' the file was renamed: the bytes are its new path
//   'Y' fsync of a directory (opened with O_DIRECTORY): the renames before it are on the disk
//   'A' bytes written to the acknowledgements file
// Only what the C library's entry points below see is logged: LMDB (without MDB_WRITEMAP, as
// the ledger opens it) writes its data file through open, pwrite, write and writev after lseek,
// and makes it durable with fdatasync and its O_DSYNC descriptor; a call this library does not
// know would be missing from the log, and the test's checks would then fail, not pass.
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

template <class F>
F real(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

enum Tracked : unsigned char { kNo = 0, kData, kDataSync, kAcks, kDirectory };
constexpr int kMaxFd = 4096;
constexpr int kMaxFiles = 16;
unsigned char tracked[kMaxFd];
unsigned char file_of[kMaxFd];
char paths[kMaxFiles][512];
int files = 0;
pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
int log_fd = -2;  // -2: not opened yet; -1: no log

bool ends_with(const char* s, const char* tail) {
  const size_t n = strlen(s), t = strlen(tail);
  return n >= t && strcmp(s + n - t, tail) == 0;
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

void record(char kind, int file, std::uint64_t offset, const void* data, std::uint32_t len) {
  unsigned char head[14];
  head[0] = static_cast<unsigned char>(kind);
  head[1] = static_cast<unsigned char>(file);
  for (int i = 0; i < 8; ++i) head[2 + i] = static_cast<unsigned char>(offset >> (8 * i));
  for (int i = 0; i < 4; ++i) head[10 + i] = static_cast<unsigned char>(len >> (8 * i));
  put_all(head, sizeof head);
  if (len > 0) put_all(data, len);
}

bool is_data(const char* path) {
  const char* base = strrchr(path, '/');
  base = base ? base + 1 : path;
  return strncmp(base, "data.mdb", 8) == 0 && !ends_with(base, "-lock");
}

// The number of a tracked path, registered (and logged) when new; -1 when the table is full.
// Called with mu held and the log open.
int file_number(const char* path) {
  int f = 0;
  while (f < files && strcmp(paths[f], path) != 0) ++f;
  if (f == files) {
    if (files == kMaxFiles || strlen(path) >= sizeof paths[0]) return -1;
    strcpy(paths[files++], path);
    record('O', f, 0, path, static_cast<std::uint32_t>(strlen(path)));
  }
  return f;
}

void opened(int fd, const char* path, int flags) {
  if (fd < 0 || fd >= kMaxFd) return;
  const bool data = is_data(path), acks = ends_with(path, "/power_cut.acks");
  pthread_mutex_lock(&mu);
  tracked[fd] = kNo;
  if ((flags & O_DIRECTORY) && log_open()) tracked[fd] = kDirectory;
  if ((data || acks) && log_open()) {
    const int f = file_number(path);
    if (f >= 0) {
      if (flags & O_APPEND) abort();  // offsets would not be known
      tracked[fd] = acks ? kAcks : (flags & (O_DSYNC | O_SYNC)) != 0 ? kDataSync : kData;
      file_of[fd] = static_cast<unsigned char>(f);
    }
  }
  pthread_mutex_unlock(&mu);
}

unsigned char kind_of(int fd) {
  if (fd < 0 || fd >= kMaxFd) return kNo;
  return tracked[fd];
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
    record(kind, file_of[fd], at, iov[i].iov_base, static_cast<std::uint32_t>(len));
    at += len;
    left -= len;
  }
  pthread_mutex_unlock(&mu);
}

void synced(int fd, int rc) {
  if (rc != 0 || kind_of(fd) == kNo || kind_of(fd) == kAcks) return;
  pthread_mutex_lock(&mu);
  if (kind_of(fd) == kDirectory)
    record('Y', 0, 0, nullptr, 0);
  else
    record('S', file_of[fd], 0, nullptr, 0);
  pthread_mutex_unlock(&mu);
}

void renamed(const char* from, const char* to, int rc) {
  if (rc != 0 || !is_data(from)) return;
  if (from[0] != '/' || to[0] != '/') abort();  // relative paths: the test could not follow them
  pthread_mutex_lock(&mu);
  if (log_open()) {
    int f = 0;
    while (f < files && strcmp(paths[f], from) != 0) ++f;
    if (f < files) {
      if (file_number(to) < 0) abort();
      record('R', f, 0, to, static_cast<std::uint32_t>(strlen(to)));
    }
  }
  pthread_mutex_unlock(&mu);
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
  const int fd = o(path, flags, mode);
  opened(fd, path, flags);
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
  const int fd = o(dir, path, flags, mode);
  if (dir != AT_FDCWD && path[0] != '/' && fd >= 0 && fd < kMaxFd &&
      (is_data(path) || ends_with(path, "power_cut.acks")))
    abort();  // a relative path under another directory: not resolved here
  opened(fd, path, flags);
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
  using RenameFn = int (*)(const char*, const char*);
  static const RenameFn r = real<RenameFn>("rename");
  const int rc = r(from, to);
  renamed(from, to, rc);
  return rc;
}

int renameat(int from_dir, const char* from, int to_dir, const char* to) noexcept {
  using RenameAtFn = int (*)(int, const char*, int, const char*);
  static const RenameAtFn r = real<RenameAtFn>("renameat");
  const int rc = r(from_dir, from, to_dir, to);
  if ((from_dir != AT_FDCWD && from[0] != '/') || (to_dir != AT_FDCWD && to[0] != '/')) {
    if (rc == 0 && is_data(from)) abort();  // relative to another directory: not followed
    return rc;
  }
  renamed(from, to, rc);
  return rc;
}

int renameat2(int from_dir, const char* from, int to_dir, const char* to, unsigned flags) noexcept {
  using RenameAt2Fn = int (*)(int, const char*, int, const char*, unsigned);
  static const RenameAt2Fn r = real<RenameAt2Fn>("renameat2");
  const int rc = r(from_dir, from, to_dir, to, flags);
  if ((from_dir != AT_FDCWD && from[0] != '/') || (to_dir != AT_FDCWD && to[0] != '/')) {
    if (rc == 0 && is_data(from)) abort();
    return rc;
  }
  renamed(from, to, rc);
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
