# A fake `esp32` module for the unix port: the chip's two OTA app partitions and ESP-IDF's
# bootloader, as MicroPython's esp32.Partition shows them, for firmware updates. The rules are
# ESP-IDF's (app_update and bootloader_support, with CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE):
# - otadata is two sectors, each an entry {seq, state} under a CRC. The valid entry (CRC good,
#   state neither INVALID nor ABORTED) with the highest seq boots ota_[(seq - 1) % 2]; with no
#   valid entry the bootloader boots ota_0 (what a cable flash leaves).
# - set_boot() verifies the image first (magic 0xE9, segments, XOR checksum, appended SHA-256,
#   chip id) and writes seq + 1, state NEW, into the other sector.
# - At boot a NEW app becomes PENDING_VERIFY; a PENDING_VERIFY app found at boot (nobody
#   confirmed it) becomes ABORTED and the other app boots. An image that fails verification
#   does not boot.
# - mark_app_valid_cancel_rollback() makes the running app VALID; OSError(-261) when the
#   bootloader was built without rollback.
# The flash is NOR: a program only clears bits, erasing is per 4 KB. Every program or erase
# counts against the attached power domain (a fakeflash.Flash): the cut tears one, the rest fail.
from hashlib import sha256

from fakeflash import PowerCut

NEW, PENDING_VERIFY, VALID, INVALID, ABORTED = 0, 1, 2, 3, 4
_SECTOR = 4096
_EIO = 5
_ENOENT = 2
_ESP_ERR_NOT_FOUND = 0x105
_ESP_ERR_OTA_VALIDATE_FAILED = 0x1503
CHIP_IDS = {"esp32": 0, "esp32s3": 9}  # the image header's chip id (esptool's IMAGE_CHIP_ID)


class _Chip:
    def __init__(self, chip, part_bytes, rollback):
        self.chip = chip
        self.rollback = rollback
        self.parts = {"ota_0": bytearray(b"\xff" * part_bytes),
                      "ota_1": bytearray(b"\xff" * part_bytes)}
        self.otadata = [None, None]  # None: erased, or torn (its CRC fails)
        self.running = "ota_0"
        self.power = None  # fakeflash.Flash whose program counter and cut this flash shares


_chip = _Chip("esp32", 65536, True)


def reset_chip(chip="esp32", part_bytes=65536, rollback=True, factory=None, power=None):
    """A chip as a cable flash leaves it (the test bed's, not esp32's): `factory` in ota_0,
    otadata erased."""
    global _chip
    _chip = _Chip(chip, part_bytes, rollback)
    _chip.power = power
    if factory:
        _chip.parts["ota_0"][:len(factory)] = factory
    return _chip


def _program():
    """One program or erase operation; False when it is the one the power cut tears."""
    p = _chip.power
    if p is None or p.cut_after is None:
        if p is not None:
            p.writes += 1
        return True
    p.writes += 1
    if p.writes - 1 > p.cut_after:
        raise PowerCut(_EIO)
    return p.writes - 1 < p.cut_after


def _write(dst, start, buf):
    whole = _program()
    n = len(buf) if whole else len(buf) // 2
    for i in range(n):
        dst[start + i] &= buf[i]  # NOR: programming only clears bits
    if not whole:
        raise PowerCut(_EIO)


def _erase(dst, start, length):
    whole = _program()
    n = length if whole else length // 2
    for i in range(n):
        dst[start + i] = 0xFF
    if not whole:
        raise PowerCut(_EIO)


def image_ok(data, chip=None):
    """ESP-IDF's esp_image_verify, as far as set_boot() and the bootloader go."""
    try:
        if data[0] != 0xE9 or data[23] != 1:  # magic, hash appended
            return False
        if data[12] | (data[13] << 8) != CHIP_IDS[chip or _chip.chip]:
            return False
        pos, checksum = 24, 0xEF
        for _ in range(data[1]):
            size = int.from_bytes(data[pos + 4:pos + 8], "little")
            if size > len(data):
                return False
            for b in data[pos + 8:pos + 8 + size]:
                checksum ^= b
            pos += 8 + size
        pos += 15 - pos % 16  # padded so the checksum byte ends a 16-byte line
        if data[pos] != checksum:
            return False
        return sha256(data[:pos + 1]).digest() == bytes(data[pos + 1:pos + 33])
    except (IndexError, KeyError):
        return False


def _active():
    best = None
    for i, e in enumerate(_chip.otadata):
        if e and e["state"] not in (INVALID, ABORTED) and (best is None or
                                                          e["seq"] > _chip.otadata[best]["seq"]):
            best = i
    return best


def _rewrite(i, entry):
    """An otadata sector erased and written again: a cut in either leaves a CRC that fails."""
    _chip.otadata[i] = None
    for _ in range(2):
        if not _program():
            raise PowerCut(_EIO)
    _chip.otadata[i] = entry


def power_on():
    """The second-stage bootloader (the test bed's, not esp32's): picks, updates and
    verifies the app to run. Returns its label."""
    while True:
        i = _active()
        if i is None:
            label = "ota_0"
            break
        e = _chip.otadata[i]
        if _chip.rollback and e["state"] == PENDING_VERIFY:
            _rewrite(i, {"seq": e["seq"], "state": ABORTED})  # nobody confirmed it
            continue
        if _chip.rollback and e["state"] == NEW:
            _rewrite(i, {"seq": e["seq"], "state": PENDING_VERIFY})
        label = "ota_%d" % ((e["seq"] - 1) % 2)
        break
    if not image_ok(_chip.parts[label]):
        label = "ota_1" if label == "ota_0" else "ota_0"
    _chip.running = label
    return label


class Partition:
    BOOT = 0
    RUNNING = 1
    TYPE_APP = 0
    TYPE_DATA = 1

    def __init__(self, id, block_size=4096):
        if id == Partition.RUNNING:
            id = _chip.running
        elif id == Partition.BOOT:
            i = _active()
            id = "ota_0" if i is None else "ota_%d" % ((_chip.otadata[i]["seq"] - 1) % 2)
        if id not in _chip.parts:
            raise OSError(_ENOENT)
        self.label = id
        self.block_size = block_size

    def info(self):
        n = int(self.label[-1])
        size = len(_chip.parts[self.label])
        return (Partition.TYPE_APP, 0x10 + n, 0x10000 + n * size, size, self.label, False)

    def readblocks(self, block, buf, offset=0):
        start = block * self.block_size + offset
        buf[:] = _chip.parts[self.label][start:start + len(buf)]

    def writeblocks(self, block, buf, offset=None):
        """Without `offset` the blocks are erased first; with it, programmed as they are."""
        start = block * self.block_size + (offset or 0)
        part = _chip.parts[self.label]
        if start + len(buf) > len(part):
            raise OSError(_EIO)
        if offset is None:
            for b in range(start // _SECTOR, (start + len(buf) + _SECTOR - 1) // _SECTOR):
                _erase(part, b * _SECTOR, _SECTOR)
        _write(part, start, buf)

    def ioctl(self, op, arg):
        if op == 4:
            return len(_chip.parts[self.label]) // self.block_size
        if op == 5:
            return self.block_size
        if op == 6:
            _erase(_chip.parts[self.label], arg * self.block_size, self.block_size)
        return 0

    def get_next_update(self):
        return Partition("ota_1" if _chip.running == "ota_0" else "ota_0")

    def set_boot(self):
        if not image_ok(_chip.parts[self.label]):
            raise OSError(-_ESP_ERR_OTA_VALIDATE_FAILED)
        i = _active()
        seq = 1 if i is None else _chip.otadata[i]["seq"] + 1
        n = int(self.label[-1])
        while (seq - 1) % 2 != n:
            seq += 1
        _rewrite(0 if i is None else 1 - i, {"seq": seq, "state": NEW})

    @staticmethod
    def mark_app_valid_cancel_rollback():
        if not _chip.rollback:
            raise OSError(-_ESP_ERR_NOT_FOUND)
        i = _active()
        if i is not None and "ota_%d" % ((_chip.otadata[i]["seq"] - 1) % 2) == _chip.running \
                and _chip.otadata[i]["state"] != VALID:
            _rewrite(i, {"seq": _chip.otadata[i]["seq"], "state": VALID})

    @staticmethod
    def find(type=TYPE_APP, subtype=0xFF, label=None):
        if type != Partition.TYPE_APP:
            return []
        return [Partition(n) for n in sorted(_chip.parts) if label in (None, n)]


def state(label):
    """The otadata state of `label`'s newest entry (the test bed's view), or None."""
    found = [e for e in _chip.otadata if e and "ota_%d" % ((e["seq"] - 1) % 2) == label]
    return max(found, key=lambda e: e["seq"])["state"] if found else None
