# Store-and-forward on flash. Every reading is appended to a segment file before it is
# published, and leaves only when the broker has acknowledged it. Designed for littlefs: file
# data is committed at close and rename/remove are atomic (see ../shared/reference), so each
# append is one open-write-close, and the acknowledged position is kept in a small file
# replaced by rename. Every record carries a CRC and its sequence number: a torn write can cost
# at most the record being written, never an older one. A cut between a PUBACK and the position
# update only means the reading is sent again -- consumers drop duplicates by sequence number.
#
# Segment file q/NNNNNNNN.seg: a names record (seq 0, JSON [[name, unit], ...]) then readings.
# Record: magic 0xA5, payload length u16, seq u32, crc32(seq bytes + payload) u32, payload.
import json
import os
import struct
from binascii import crc32

from micropython import const

import store

_MAGIC = const(0xA5)
_HDR = const(11)
_MAX_PAYLOAD = const(1024)


class SpoolError(Exception):
    pass


def _seg_name(n):
    return "%08d.seg" % n


class Spool:
    def __init__(self, folder="q", capacity=4320, segment_records=64):
        self.dir = folder
        self.capacity = capacity
        self.segment_records = segment_records
        self._hdr = bytearray(_HDR)
        self.written_bytes = 0  # flash bytes written (records and the position file): wear
        self.dropped = 0  # oldest readings given up when full (persisted)
        self.corrupt = 0  # records found damaged (a torn write on a file system without
        # littlefs's guarantees); reported, never published
        self._open()

    # -- start-up: rebuild the state from what the flash kept
    def _open(self):
        try:
            os.mkdir(self.dir)
        except OSError:
            pass  # exists
        segs = []
        for name in os.listdir(self.dir):
            if name.endswith(".seg") and name[:-4].isdigit():
                segs.append(int(name[:-4]))
            elif name.endswith(".tmp"):
                os.remove(self._path(name))  # a position update cut before its rename
        segs.sort()
        head_seg, head_off, acked_seq = (segs[0] if segs else 0), 0, 0
        try:
            f = store.read_text(self._path("ack")).split()
            head_seg, head_off, acked_seq, self.dropped = int(f[0]), int(f[1]), int(f[2]), int(f[3])
        except (OSError, ValueError, IndexError):
            pass  # no position yet (or unreadable): start at the oldest segment
        for n in segs:
            if n < head_seg:  # fully acknowledged; its removal was cut short
                os.remove(self._path(_seg_name(n)))
        self.segs = [n for n in segs if n >= head_seg]
        if self.segs and self.segs[0] != head_seg:
            head_seg, head_off = self.segs[0], 0
        self.head = (head_seg, head_off)
        self.count = 0
        last_seq = acked_seq
        self.tail_names = None
        self.tail_records = 0
        self.tail_sealed = False
        for n in self.segs:
            names, records, top, clean = self._scan(n, head_off if n == head_seg else 0)
            self.count += records
            last_seq = max(last_seq, top)
            self.tail_names, self.tail_records, self.tail_sealed = names, records, not clean
        self.next_seq = last_seq + 1

    def _path(self, name):
        return self.dir + "/" + name

    def _read_record(self, f):
        """(seq, payload) of the next record, None at the clean end of the file, or False for
        a damaged record."""
        h = self._hdr
        got = f.readinto(h)
        if not got:
            return None
        if got < _HDR or h[0] != _MAGIC:
            return False
        length, seq, crc = struct.unpack_from(">HII", h, 1)
        if length > _MAX_PAYLOAD:
            return False
        payload = f.read(length)
        if len(payload) != length or crc32(payload, crc32(h[3:7])) != crc:
            return False
        return seq, payload

    def _scan(self, n, start):
        """(names, readings from `start`, highest seq, ended cleanly) of segment n."""
        names, records, top = None, 0, 0
        with open(self._path(_seg_name(n)), "rb") as f:
            while True:
                pos = f.tell()
                r = self._read_record(f)
                if r is None:
                    return names, records, top, True
                if r is False:
                    self.corrupt += 1
                    return names, records, top, False
                seq, payload = r
                if seq == 0:
                    names = json.loads(payload)
                else:
                    top = max(top, seq)
                    if pos >= start:
                        records += 1

    # -- writing
    def _record(self, seq, payload):
        if len(payload) > _MAX_PAYLOAD:
            raise SpoolError("reading of %d bytes is over %d" % (len(payload), _MAX_PAYLOAD))
        h = self._hdr
        struct.pack_into(">BHII", h, 0, _MAGIC, len(payload), seq, 0)
        struct.pack_into(">I", h, 7, crc32(payload, crc32(h[3:7])))
        return h

    def append(self, names, payload):
        """Stores one reading (its record names and the encoded values); returns its sequence
        number once the flash has committed it."""
        new = self.tail_sealed or not self.segs or self.tail_records >= self.segment_records \
            or names != self.tail_names
        last = self.segs[-1] if self.segs else self.head[0]
        seg = last + 1 if new else last
        seq = self.next_seq
        with open(self._path(_seg_name(seg)), "wb" if new else "ab") as f:
            if new:
                table = json.dumps(names).encode()  # bytes on CPython too
                f.write(self._record(0, table))
                f.write(table)
                self.written_bytes += _HDR + len(table)
            f.write(self._record(seq, payload))
            f.write(payload)
        # committed: only now does the reading count as stored
        self.written_bytes += _HDR + len(payload)
        self.next_seq = seq + 1
        if new:
            if not self.segs:
                self.head = (seg, 0)
            self.segs.append(seg)
            self.tail_names, self.tail_records, self.tail_sealed = names, 0, False
        self.tail_records += 1
        self.count += 1
        while self.count > self.capacity and len(self.segs) > 1:
            self._drop_oldest()
        return seq

    def _drop_oldest(self):
        n = self.segs[0]
        _names, records, _top, _clean = self._scan(n, self.head[1])
        self.dropped += records
        self.count -= records
        self.segs.pop(0)
        self.head = (self.segs[0], 0)
        self._save_head()
        os.remove(self._path(_seg_name(n)))

    def _save_head(self):
        text = "%d %d %d %d\n" % (self.head[0], self.head[1], self.next_seq - 1, self.dropped)
        store.write_atomic(self._path("ack"), text)
        self.written_bytes += len(text)

    # -- reading and acknowledging
    def __len__(self):
        return self.count

    def peek(self, n, at=None):
        """Up to n unacknowledged readings from the oldest, or from `at` (a position a
        previous peek returned: the readings after those already in flight):
        [(seq, names, payload, position)], where position is just after that reading
        (acknowledge up to it with ack())."""
        if not self.count:
            return []  # the publisher asks every idle second: no file to open for nothing
        seg0, off = self.head if at is None or at < self.head else at
        out = []
        for seg in self.segs:
            if seg < seg0:
                continue
            start = off if seg == seg0 else 0
            names = None
            with open(self._path(_seg_name(seg)), "rb") as f:
                r = self._read_record(f)  # every segment starts with its names record
                if r and r[0] == 0:
                    names = json.loads(r[1])
                if start > f.tell():
                    f.seek(start)
                while len(out) < n:
                    r = self._read_record(f)
                    if not r:
                        break  # end of segment (or a damaged record: the rest is skipped)
                    out.append((r[0], names, r[1], (seg, f.tell())))
            if len(out) >= n:
                break
        return out

    def ack(self, position, n):
        """The broker has the `n` readings before `position`."""
        if position <= self.head:
            return  # the queue was full and dropped these readings while they were in flight
        seg, off = position
        self.head = (seg, off)
        self.count = max(0, self.count - n)
        self._save_head()  # first the position, then the removals: a cut between them
        while self.segs and self.segs[0] < seg:  # leaves files the next boot removes
            os.remove(self._path(_seg_name(self.segs.pop(0))))
