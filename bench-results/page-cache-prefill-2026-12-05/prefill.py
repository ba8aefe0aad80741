#!/usr/bin/env python3
# Keeps the page cache populated ahead of LMDB's writer: extends data.mdb with fallocate past the
# last page LMDB uses (read from its meta pages) and reads the new, unwritten blocks so that the
# kernel puts zeroed pages for them in the page cache before LMDB's pwrite copies into them.
import os, struct, sys, time
path, ahead_mb = sys.argv[1], int(sys.argv[2])
AHEAD = ahead_mb << 20
CHUNK = 16 << 20
while not os.path.exists(path):
    time.sleep(0.01)
fd = os.open(path, os.O_RDWR)
filled = 0
buf = bytearray(1 << 20)
def used():
    best = (0, 0)
    for m in (0, 1):
        page = os.pread(fd, 160, m * 4096)
        if len(page) < 152: return 0
        last_pg, txnid = struct.unpack_from('<QQ', page, 136)
        if txnid >= best[0]: best = (txnid, last_pg)
    return (best[1] + 1) * 4096
stop_at = time.time() + 600
while time.time() < stop_at:
    try:
        u = used()
    except OSError:
        break
    if filled < u: filled = u
    if filled < u + AHEAD:
        end = filled + CHUNK
        try:
            st = os.fstat(fd)
            if st.st_nlink == 0: break
            os.posix_fallocate(fd, filled, CHUNK)
            off = filled
            while off < end:
                os.preadv(fd, [buf], off)
                off += len(buf)
        except OSError:
            break
        filled = end
        continue
    time.sleep(0.005)
