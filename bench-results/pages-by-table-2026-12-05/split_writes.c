#define _GNU_SOURCE
#include <dlfcn.h>
#include <sys/uio.h>
#include <unistd.h>
#include <sys/types.h>
#include <errno.h>
static ssize_t (*real_pwrite)(int, const void*, size_t, off_t);
static ssize_t split_pwrite(int fd, const char* p, size_t n, off_t off) {
  if (!real_pwrite) real_pwrite = dlsym(RTLD_NEXT, "pwrite64");
  size_t done = 0;
  while (done < n) {
    size_t chunk = 4096 - ((off + done) & 4095);
    if (chunk > n - done) chunk = n - done;
    ssize_t w = real_pwrite(fd, p + done, chunk, off + (off_t)done);
    if (w < 0) return done ? (ssize_t)done : w;
    done += (size_t)w;
  }
  return (ssize_t)done;
}
ssize_t pwrite64(int fd, const void* buf, size_t n, off_t off) { return split_pwrite(fd, buf, n, off); }
ssize_t pwrite(int fd, const void* buf, size_t n, off_t off) { return split_pwrite(fd, buf, n, off); }
ssize_t pwritev(int fd, const struct iovec* iov, int cnt, off_t off) {
  ssize_t total = 0;
  for (int i = 0; i < cnt; ++i) {
    ssize_t w = split_pwrite(fd, iov[i].iov_base, iov[i].iov_len, off + total);
    if (w < 0) return total ? total : w;
    total += w;
    if ((size_t)w < iov[i].iov_len) break;
  }
  return total;
}
ssize_t pwritev64(int fd, const struct iovec* iov, int cnt, off_t off) { return pwritev(fd, iov, cnt, off); }
ssize_t writev(int fd, const struct iovec* iov, int cnt) {
  off_t off = lseek(fd, 0, SEEK_CUR);
  if (off < 0) { static ssize_t (*rw)(int, const struct iovec*, int); if (!rw) rw = dlsym(RTLD_NEXT, "writev"); return rw(fd, iov, cnt); }
  ssize_t t = pwritev(fd, iov, cnt, off);
  if (t > 0) lseek(fd, off + t, SEEK_SET);
  return t;
}
