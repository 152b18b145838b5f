#!/usr/bin/env python3
"""Independent, minimal reader of a MariaDB 10.11 ib_logfile0 (format "Phys" / 10.8).

Used by make_fixture.sh to *check* its fixtures (log wrapped? nothing overwritten? where did
the crash end? undo truncated?); the LSNs it finds go into fixture.env, against which
replay_test.sh checks `pagectl logdump`.  It deliberately shares no code with the C++
implementation, so a bug there cannot hide a bug here.
It only frames mini-transactions (spec sections 1.2-1.6, 2.1-2.3); it does not apply them.

Usage:
  redo_scan.py info LOG            header + best checkpoint, as KEY=value lines (also of an
                                   encrypted log, whose mtrs the other commands cannot frame)
  redo_scan.py scan LOG [--from LSN] [--pages]
                                   walk mtrs from LSN (default: checkpoint) to the end of
                                   valid log; --pages also counts record kinds and lists
                                   the pages touched (PAGE=space:page:kinds)
  redo_scan.py same LOG1 LOG2 FROM TO
                                   exit 0 iff both logs hold identical bytes for [FROM, TO)
  redo_scan.py follow-check LOG FROM ACKS WAL_DIR
                                   for a page server that followed this log from FROM: exit 0
                                   iff every LSN in the file ACKS (one per line) is FROM or the
                                   end of an mtr walked from FROM, and the server's WAL
                                   segments (WAL_DIR/<start LSN>.wal) hold the log's bytes
Output is KEY=value lines (no spaces in values) so shell scripts can grep them.
"""
import ctypes
import ctypes.util
import struct
import sys

START_OFFSET = 12288
FORMAT_10_8 = 0x50687973
FORMAT_ENC_10_8 = 0xF09F979D  # innodb_encrypt_log=ON since 10.11.15 (before: FORMAT_10_8)
MTR_SIZE_MAX = 1 << 20


def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc32c_table()


def _crc32c_py(data):
    crc = 0xFFFFFFFF
    t = _TABLE
    for b in data:
        crc = t[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _crc32c_fast():
    """The pure-Python CRC does ~10 MB/s, too slow for 250 MB logs; libext2fs (package
    libext2fs2, on practically every Debian system) exports a fast CRC-32C.  It is
    verified against the pure version before use."""
    try:
        lib = ctypes.CDLL(ctypes.util.find_library("ext2fs") or "libext2fs.so.2")
        fn = lib.ext2fs_crc32c_le
    except (OSError, AttributeError):
        return None
    fn.restype = ctypes.c_uint32
    fn.argtypes = [ctypes.c_uint32, ctypes.c_char_p, ctypes.c_size_t]

    def crc(data):
        data = bytes(data)
        return fn(0xFFFFFFFF, data, len(data)) ^ 0xFFFFFFFF
    probe = bytes(range(256)) * 3
    return crc if crc(probe) == _crc32c_py(probe) and crc(b"123456789") == 0xE3069283 else None


crc32c = _crc32c_fast() or _crc32c_py


class Log:
    def __init__(self, path):
        with open(path, "rb") as f:
            self.buf = f.read()
        self.size = len(self.buf)
        if self.size < START_OFFSET + 16:
            raise SystemExit(f"{path}: too small ({self.size} bytes)")
        hdr = self.buf[:512]
        self.format, zero, self.first_lsn = struct.unpack(">IIQ", hdr[:16])
        if self.format not in (FORMAT_10_8, FORMAT_ENC_10_8) or zero != 0:
            raise SystemExit(f"{path}: unsupported log format {self.format:#x}/{zero:#x}")
        if crc32c(hdr[:508]) != struct.unpack(">I", hdr[508:512])[0]:
            raise SystemExit(f"{path}: header checksum mismatch")
        self.creator = hdr[16:48].rstrip(b"\0").decode("ascii", "replace")
        self.encrypted = struct.unpack(">I", hdr[48:52])[0] != 0
        self.capacity = self.size - START_OFFSET
        best = None
        for off in (4096, 8192):  # 8192 wins a tie, as in recv_sys_t::find_checkpoint
            blk = self.buf[off:off + 64]
            ck, end = struct.unpack(">QQ", blk[:16])
            if (crc32c(blk[:60]) == struct.unpack(">I", blk[60:64])[0]
                    and blk[16:60] == bytes(44) and ck >= self.first_lsn and end >= ck
                    and (best is None or ck >= best[0])):
                best = (ck, end, off)
        if best is None:
            raise SystemExit(f"{path}: no valid checkpoint")
        self.checkpoint_lsn, self.checkpoint_end_lsn, self.checkpoint_block = best
        # The ring body followed by a copy of its start: any read of up to one mtr from any
        # position is then a plain slice, even across the wrap point.
        body = self.buf[START_OFFSET:]
        self.ring = body + body[:MTR_SIZE_MAX + 64]

    def offset(self, lsn):
        return START_OFFSET + (lsn - self.first_lsn) % self.capacity

    def seq_bit(self, lsn):
        return 1 if ((lsn - self.first_lsn) // self.capacity) % 2 == 0 else 0

    def pos(self, lsn):
        """Index of lsn in self.ring."""
        return (lsn - self.first_lsn) % self.capacity


def varint(data, pos):
    """Decode an InnoDB redo varint; returns (value, new_pos) or raises ValueError."""
    b = data[pos]
    if b < 0x80:
        return b, pos + 1
    if b < 0xC0:
        return 0x80 + (((b & 0x3F) << 8) | data[pos + 1]), pos + 2
    if b < 0xE0:
        return 0x4080 + (((b & 0x1F) << 16) | (data[pos + 1] << 8) | data[pos + 2]), pos + 3
    if b < 0xF0:
        return 0x204080 + (((b & 0x0F) << 24) | int.from_bytes(data[pos + 1:pos + 4], "big")), pos + 4
    if b == 0xF0:
        return 0x10204080 + int.from_bytes(data[pos + 1:pos + 5], "big"), pos + 5
    raise ValueError("bad varint")


def scan(log, lsn, want_pages=False, ends=None):
    """Walk mtrs from lsn (spec 1.6).  Returns (end_lsn, n_mtrs, pages dict, counts dict,
    start LSNs of the mtrs that are split by the end of the file).  Adds each mtr's end LSN
    to the set `ends` when given."""
    ring = log.ring
    n_mtrs = 0
    split = []
    pages = {}
    counts = {}
    limit = lsn + log.capacity  # never read more than one lap
    while True:
        start = lsn
        base = log.pos(start)   # ring index of start; i = base + (l - start) for l in the mtr
        p = base
        if ring[p] <= 1:
            break
        recs = []
        ok = True
        while True:
            b = ring[p]
            if b <= 1:
                break
            n = b & 0x0F
            if n:
                rl = 1 + n
            else:
                if ring[p + 1] >= 0xE0:
                    ok = False
                    break
                rl = 1 + varint(ring, p + 1)[0] + 15
            if p + rl - base >= MTR_SIZE_MAX or start + (p + rl - base) > limit:
                ok = False
                break
            recs.append((p, rl))
            p += rl
        t_lsn = start + (p - base)
        if not ok or t_lsn + 5 > limit:
            break
        if ring[p] != log.seq_bit(t_lsn):
            break
        if crc32c(ring[base:p]) != struct.unpack(">I", ring[p + 1:p + 5])[0]:
            break
        lsn = t_lsn + 5
        n_mtrs += 1
        if ends is not None:
            ends.add(lsn)
        if base + (lsn - start) > log.capacity:
            split.append(start)
        if want_pages:
            _classify(ring, recs, pages, counts)
    return lsn, n_mtrs, pages, counts, split


_NAMES = {0x00: "FREE_PAGE", 0x10: "INIT_PAGE", 0x20: "EXTENDED", 0x30: "WRITE",
          0x40: "MEMSET", 0x50: "MEMMOVE", 0x60: "RESERVED", 0x70: "OPTION"}
_FILE = {0x80: "FILE_CREATE", 0x90: "FILE_DELETE", 0xA0: "FILE_RENAME",
         0xB0: "FILE_MODIFY", 0xF0: "FILE_CHECKPOINT"}


_EXT = ["INIT_ROW_FORMAT_REDUNDANT", "INIT_ROW_FORMAT_DYNAMIC", "UNDO_INIT", "UNDO_APPEND",
        "INSERT_HEAP_REDUNDANT", "INSERT_REUSE_REDUNDANT", "INSERT_HEAP_DYNAMIC",
        "INSERT_REUSE_DYNAMIC", "DELETE_ROW_FORMAT_REDUNDANT", "DELETE_ROW_FORMAT_DYNAMIC",
        "TRIM_PAGES"]


def _classify(ring, recs, pages, counts):
    """Counts record kinds (EXTENDED by subtype) and collects the pages they touch."""
    got_page = False
    cur = None
    for p, rl in recs:
        r = ring[p:p + rl]
        b = r[0]
        pos = 1 if b & 0x0F else varint(r, 1)[1]
        if b & 0x80 and got_page:
            name = _NAMES[b & 0x70]
        else:
            space, pos = varint(r, pos)
            page, pos = varint(r, pos)
            got_page = not (b & 0x80)
            cur = (space, page)
            name = _NAMES[b & 0x70] if got_page else _FILE.get(b & 0xF0, "FILE_?")
        if got_page and name == "EXTENDED":
            name = _EXT[r[pos]] if r[pos] < len(_EXT) else f"EXTENDED_{r[pos]}"
        if name == "TRIM_PAGES":  # the page number is the new size of the undo tablespace
            name = f"TRIM_PAGES(space {cur[0]} to {cur[1]} pages)"
        counts[name] = counts.get(name, 0) + 1
        if got_page:
            pages.setdefault(cur, set()).add(name)


def follow_check(log, start, acks_path, wal_dir):
    """Every acknowledged LSN must be an mtr boundary of the log, and the stored WAL its bytes."""
    import os
    ends = {start}
    end = scan(log, start, ends=ends)[0]
    print(f"WALK_FROM_LSN={start}")
    print(f"WALK_END_LSN={end}")
    print(f"BOUNDARIES={len(ends)}")
    with open(acks_path) as f:
        acks = sorted({int(x) for x in f.read().split()})
    bad = [a for a in acks if a not in ends]
    print(f"ACKS={len(acks)}")
    print(f"ACKS_NOT_ON_A_BOUNDARY={len(bad)}")
    for a in bad[:10]:
        below = max((e for e in ends if e < a), default=start)
        above = min((e for e in ends if e > a), default=end)
        print(f"NOT_A_BOUNDARY={a}:inside_{below}..{above}")
    segments = sorted(n for n in os.listdir(wal_dir) if n.endswith(".wal"))
    compared = 0
    different = None
    if segments:
        lsn = int(segments[0][:-4])
        for name in segments:
            if int(name[:-4]) != lsn:
                print(f"WAL_GAP_AT={lsn}")
                return 1
            with open(os.path.join(wal_dir, name), "rb") as f:
                data = f.read()
            lo, hi = max(lsn, start), min(lsn + len(data), end)
            for at in range(lo, hi, MTR_SIZE_MAX):  # ring slices are valid up to MTR_SIZE_MAX
                n = min(MTR_SIZE_MAX, hi - at)
                x, y = data[at - lsn:at - lsn + n], log.ring[log.pos(at):log.pos(at) + n]
                if x != y and different is None:
                    different = at + next(i for i in range(n) if x[i] != y[i])
                compared += n
            lsn += len(data)
        print(f"WAL_STORED_TO_LSN={lsn}")
    print(f"WAL_BYTES_COMPARED={compared}")
    if different is not None:
        print(f"WAL_FIRST_DIFFERENT_LSN={different}")
    return 0 if not bad and different is None else 1


def main(argv):
    if len(argv) < 3 or argv[1] not in ("info", "scan", "same", "follow-check"):
        print(__doc__, file=sys.stderr)
        return 2
    if argv[1] == "follow-check":
        return follow_check(Log(argv[2]), int(argv[3]), argv[4], argv[5])
    if argv[1] == "same":
        a, b = Log(argv[2]), Log(argv[3])
        lo, hi = int(argv[4]), int(argv[5])
        for lsn in range(lo, hi, MTR_SIZE_MAX):  # ring slices are valid up to MTR_SIZE_MAX
            n = min(MTR_SIZE_MAX, hi - lsn)
            x, y = a.ring[a.pos(lsn):a.pos(lsn) + n], b.ring[b.pos(lsn):b.pos(lsn) + n]
            if x != y:
                first = next(i for i in range(n) if x[i] != y[i])
                print(f"FIRST_DIFFERENT_LSN={lsn + first}")
                return 1
        print("SAME=1")
        return 0
    log = Log(argv[2])
    if argv[1] == "scan" and (log.encrypted or log.format == FORMAT_ENC_10_8):
        # Encrypted record payloads and an 8-byte nonce before each mtr's checksum.
        raise SystemExit(f"{argv[2]}: encrypted log: its mtrs cannot be framed here")
    print(f"FILE_SIZE={log.size}")
    print(f"CAPACITY={log.capacity}")
    print(f"FIRST_LSN={log.first_lsn}")
    print(f"CREATOR={log.creator.replace(' ', '_')}")
    print(f"ENCRYPTED={int(log.encrypted)}")
    print(f"CHECKPOINT_LSN={log.checkpoint_lsn}")
    print(f"CHECKPOINT_END_LSN={log.checkpoint_end_lsn}")
    print(f"CHECKPOINT_OFFSET={log.offset(log.checkpoint_lsn)}")
    if argv[1] == "scan":
        start = log.checkpoint_lsn
        want_pages = "--pages" in argv
        if "--from" in argv:
            start = int(argv[argv.index("--from") + 1])
        end, n, pages, counts, split = scan(log, start, want_pages)
        print(f"SCAN_FROM_LSN={start}")
        print(f"END_LSN={end}")
        print(f"END_OFFSET={log.offset(end)}")
        print(f"END_PASS={(end - log.first_lsn) // log.capacity}")
        print(f"MTRS={n}")
        print(f"BYTES={end - start}")
        print("SPLIT_MTRS=" + ",".join(str(x) for x in split))  # mtrs cut by the file end
        if want_pages:
            print("RECORD_COUNTS=" + ",".join(f"{k}:{v}" for k, v in sorted(counts.items())).replace(" ", "_"))
            print(f"PAGES={len(pages)}")
            for (space, page), kinds in sorted(pages.items()):
                print(f"PAGE={space}:{page}:{'+'.join(sorted(kinds))}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
