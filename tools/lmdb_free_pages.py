#!/usr/bin/env python3
"""Where an LMDB file's free pages came from (docs/PERFORMANCE.md §5.10).

    tools/lmdb_free_pages.py SHARD_DIR

Reads SHARD_DIR/data.mdb directly (LMDB 0.9's on-disk layout, 64-bit, 4 KiB pages; no writer may
be running) and prints, for every record of the free list (the id of the transaction that freed
the pages, and how many), which named database each freed page belonged to. A freed page still
holds the keys it held when it was freed; each is looked up among the keys of the current trees,
and the page is given to the database most of its keys belong to ("?" when none is found, e.g. a
run of the event index merged away). Also prints how many pages the newest transaction freed,
found by walking the trees of both meta pages, and how the file's pages add up (compare
`mdb_stat -ef SHARD_DIR`: "Number of pages used" and "Free pages").
"""
import mmap
import struct
import sys
from collections import Counter

PAGE = 4096
P_BRANCH, P_LEAF, P_META = 0x01, 0x02, 0x08
F_BIGDATA, F_SUBDATA = 0x01, 0x02
NO_ROOT = 0xFFFFFFFFFFFFFFFF


def main():
    if len(sys.argv) != 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(sys.argv) == 2 else 2
    with open(sys.argv[1] + "/data.mdb", "rb") as f:
        data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)  # a 10M shard is gigabytes

    def page(n):
        return data[n * PAGE:(n + 1) * PAGE]

    def flags(p):
        return struct.unpack_from("<H", p, 10)[0]

    def nodes(p):
        lower = struct.unpack_from("<H", p, 12)[0]
        for i in range((lower - 16) // 2):
            off = struct.unpack_from("<H", p, 16 + 2 * i)[0]
            lo, hi, fl, ksize = struct.unpack_from("<HHHH", p, off)
            key = p[off + 8:off + 8 + ksize]
            # In a branch node the child's page number is in lo, hi and fl (48 bits).
            yield lo | hi << 16 | fl << 32, lo | hi << 16, fl, key, off + 8 + ksize

    def metas():
        out = []
        for n in (0, 1):
            p = page(n)
            base = 16 + 4 + 4 + 8 + 8  # page header, magic, version, address, map size
            roots = [struct.unpack_from("<IHHQQQQQ", p, base + 48 * i)[7] for i in range(2)]
            _, txnid = struct.unpack_from("<QQ", p, base + 96)
            out.append((txnid, roots[0], roots[1]))
        return sorted(out)  # older first

    def walk(root, on_leaf_node):
        """Pages of the tree at root (overflow pages included)."""
        pages, stack = set(), [root]
        while stack:
            n = stack.pop()
            pages.add(n)
            p = page(n)
            if flags(p) & P_BRANCH:
                stack.extend(child for child, _, _, _, _ in nodes(p))
            elif flags(p) & P_LEAF:
                for _, size, fl, key, value in nodes(p):
                    if fl & F_BIGDATA:
                        first = struct.unpack_from("<Q", p, value)[0]
                        count = struct.unpack_from("<I", page(first), 12)[0]
                        pages.update(range(first, first + count))
                    on_leaf_node(p, size, fl, key, value)
        return pages

    def named_trees(main_root):
        trees = {"(main)": main_root}

        def add(p, size, fl, key, value):
            if fl & F_SUBDATA:
                trees[key.decode(errors="replace")] = struct.unpack_from("<IHHQQQQQ", p, value)[7]

        walk(main_root, add)
        return trees

    def owners(main_root):
        owner = {}
        for name, root in named_trees(main_root).items():
            if root != NO_ROOT:
                for n in walk(root, lambda *a: None):
                    owner[n] = name
        return owner

    (old_txn, _, old_main), (new_txn, free_root, new_main) = metas()
    old, new = owners(old_main), owners(new_main)
    freed_last = Counter(name for n, name in old.items() if n not in new)
    print(f"transactions {old_txn} and {new_txn}: {len(new)} pages in use; transaction "
          f"{new_txn} freed {sum(freed_last.values())}: " +
          ", ".join(f"{k} {v}" for k, v in freed_last.most_common()))

    key_owner = {}
    for name, root in named_trees(new_main).items():
        if root == NO_ROOT:
            continue

        def remember(p, size, fl, key, value, name=name):
            key_owner[key] = name

        walk(root, remember)

    records = {}

    def free_record(p, size, fl, key, value):
        body = page(struct.unpack_from("<Q", p, value)[0])[16:] if fl & F_BIGDATA else \
            p[value:value + size]
        count = struct.unpack_from("<Q", body)[0]
        records[struct.unpack_from("<Q", key)[0]] = struct.unpack_from(f"<{count}Q", body, 8)

    free_list_pages = walk(free_root, free_record) if free_root != NO_ROOT else set()
    total = 0
    for txn, pages in sorted(records.items()):
        by = Counter()
        for n in pages:
            p = page(n)
            if flags(p) & (P_BRANCH | P_LEAF) and not flags(p) & P_META:
                names = Counter(key_owner.get(key, "?") for _, _, _, key, _ in nodes(p))
                name = names.most_common(1)[0][0] if names else "?"
                by[name + (" (branch)" if flags(p) & P_BRANCH else "")] += 1
            else:
                by["other"] += 1
        total += len(pages)
        print(f"freed by transaction {txn}: {len(pages)} pages: " +
              ", ".join(f"{k} {v}" for k, v in by.most_common()))
    print(f"free pages: {total}")
    # Every page of the file is in a tree, in the free list's own tree, free, or a meta page.
    print(f"pages: {len(new)} in the trees + {len(free_list_pages)} of the free list + {total} "
          f"free + 2 meta = {len(new) + len(free_list_pages) + total + 2}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
