# A firmware image (MicroPython itself; ESP32 boards with an OTA partition table) that comes
# with an app release: streamed piece by piece into the app partition that is not running, each
# 1 KB piece checked against its hash in the signed piece list before it is programmed, then the
# partition read back whole and checked against the manifest's SHA-256 before the bootloader is
# told (set_boot checks the image's integrity, never our signature). A drop, a reboot or a power
# cut resumes at the first piece that does not read back right.
#
# The manifest's entry: {"boards": [...], "name": "firmware.bin", "length", "sha256",
#                        "pieces": {"name", "length", "sha256"}}
# and the piece list one line a piece: the first 16 bytes of its SHA-256 in hex, so line c sits
# at c * 33 and is read without parsing the file.
from hashlib import sha256

from micropython import const

import ota_partitions
from release import CHUNK, UpdateError

_SECTOR = const(4096)  # what the flash erases at once
_LINE = const(33)
MAX_IMAGE = const(0x400000)


def check(fw):
    """The manifest's firmware entry, checked (its signature was, before it was parsed)."""
    try:
        n, pieces = fw["length"], fw["pieces"]
        count = (n + CHUNK - 1) // CHUNK
        if not 0 < n <= MAX_IMAGE or len(fw["sha256"]) != 64 or "/" in fw["name"] \
                or pieces["length"] != count * _LINE or len(pieces["sha256"]) != 64 \
                or "/" in pieces["name"]:
            raise ValueError
    except (KeyError, TypeError, ValueError):
        raise UpdateError("signed, but not a firmware entry")
    return fw


def _hash(part, length, buf):
    h = sha256()
    for c in range((length + CHUNK - 1) // CHUNK):
        view = memoryview(buf)[:min(CHUNK, length - c * CHUNK)]
        block, off = divmod(c * CHUNK, _SECTOR)
        part.readblocks(block, view, off)
        h.update(view)
    return h.digest().hex()


def needed(fw, buf):
    """Whether the running firmware is another one (the first `length` bytes of its partition
    are the image when it is the same)."""
    part = ota_partitions.by_label(ota_partitions.running_label())
    return _hash(part, fw["length"], buf) != fw["sha256"]


def _piece_hash(f, c):
    f.seek(c * _LINE)
    return f.read(32)


def _piece_ok(part, f, c, length, buf):
    view = memoryview(buf)[:min(CHUNK, length - c * CHUNK)]
    block, off = divmod(c * CHUNK, _SECTOR)
    part.readblocks(block, view, off)
    return sha256(view).digest().hex()[:32] == _piece_hash(f, c)


async def stage(updater, version, fw, pieces_path):
    """The image in the partition that is not running, verified; returns its label."""
    ota_partitions.mark_valid()  # OSError without rollback: nothing could take it back
    part = ota_partitions.next_update()
    length = fw["length"]
    if length > part.info()[3]:
        raise UpdateError("firmware of %d bytes does not fit the %d-byte partition"
                          % (length, part.info()[3]))
    count = (length + CHUNK - 1) // CHUNK
    buf = bytearray(CHUNK)
    with open(pieces_path) as f:
        start = 0
        while start < count and _piece_ok(part, f, start, length, buf):
            start += 1
        # the sector holding `start` is erased; the good pieces before it in that sector are
        # programmed back from RAM (at most 3 KB), so a resume fetches no piece twice
        first = start - start % (_SECTOR // CHUNK)
        keep = bytearray((start - first) * CHUNK) if start < count else None
        if keep:
            part.readblocks(first * CHUNK // _SECTOR, keep, 0)
        for c in range(start, count):
            data = await updater._get(version, fw["name"], c)
            want = min(CHUNK, length - c * CHUNK)
            if len(data) != want or sha256(data).digest().hex()[:32] != _piece_hash(f, c):
                raise UpdateError("firmware piece %d does not match its hash" % c)
            block, off = divmod(c * CHUNK, _SECTOR)
            if off == 0 or c == start:
                part.ioctl(6, block)  # erase
                if keep:
                    part.writeblocks(block, keep, 0)
                    keep = None
            part.writeblocks(block, data, off)
    if _hash(part, length, buf) != fw["sha256"]:
        raise UpdateError("firmware read back from %s does not match its hash"
                          % ota_partitions.label(part))
    return ota_partitions.label(part)


def set_boot(label):
    """The bootloader boots `label` next, once (ESP-IDF: NEW, then PENDING_VERIFY until the
    trial confirms; unconfirmed at the next reset, it goes back)."""
    ota_partitions.by_label(label).set_boot()


def confirm():
    ota_partitions.mark_valid()
