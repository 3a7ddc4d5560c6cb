# Base for fake Sensirion I2C devices (SCD4x, SPS30, SEN5x): a write carries a 16-bit command and
# its argument words with CRCs; the response is readable once the command's execution time has
# passed. Like the real parts, the device NACKs an unknown command, a bad argument CRC, a command
# its current state does not accept, and any access while it is still executing.
import random
import time

from fakedev import Faultable

ENODEV = 19


def crc8(data):
    crc = 0xFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = ((crc << 1) ^ 0x31) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def words_to_bytes(words):
    out = bytearray()
    for w in words:
        pair = bytes(((w >> 8) & 0xFF, w & 0xFF))
        out += pair
        out.append(crc8(pair))
    return bytes(out)


def nack():
    raise OSError(ENODEV)


class CommandDevice(Faultable):
    # cmd -> (execution ms, argument words (or a tuple of counts), handler name); handlers
    # return the response words
    COMMANDS = {}

    def __init__(self, time_scale=1.0):
        self.time_scale = time_scale  # shrinks measurement periods (not execution times) in tests
        self.response = None
        self._ready_at = 0
        self._busy_until = 0
        self.received = []  # command words in order, for tests

    def now(self):
        return time.ticks_ms()

    def busy(self):
        return time.ticks_diff(self._busy_until, self.now()) > 0

    def accepts(self, cmd):
        return True

    def i2c_write(self, data):
        if not data:
            return  # address probe
        if self.busy() or len(data) < 2:
            nack()
        cmd = (data[0] << 8) | data[1]
        spec = self.COMMANDS.get(cmd)
        if spec is None or not self.accepts(cmd):
            nack()
        exec_ms, nargs, handler = spec
        nargs = (len(data) - 2) // 3  # a tuple in COMMANDS lists the argument counts allowed
        if len(data) != 2 + 3 * nargs or nargs not in (spec[1] if isinstance(spec[1], tuple)
                                                        else (spec[1],)):
            nack()
        args = []
        for i in range(nargs):
            w = data[2 + 3 * i:4 + 3 * i]
            if crc8(w) != data[4 + 3 * i]:
                nack()
            args.append((w[0] << 8) | w[1])
        self.received.append(cmd)
        words = getattr(self, handler)(*args)
        self.response = None if words is None else words_to_bytes(words)
        self._ready_at = time.ticks_add(self.now(), exec_ms)
        self._busy_until = self._ready_at

    def i2c_read(self, n):
        if self.fault == "garbage":
            return bytes(random.getrandbits(8) for _ in range(n))
        if self.busy() or self.response is None:
            nack()  # still executing, or nothing to read
        out = bytearray(self.response[:n])
        while len(out) < n:
            out.append(0xFF)
        if self.fault == "crc" and n >= 3:
            out[2] ^= 0x5A
        self.response = None
        return bytes(out)


class PeriodicDevice(CommandDevice):
    """A device that measures every PERIOD_MS once started: a data-ready word, and a read that
    gets the newest values (or the previous ones again when nothing new came)."""

    PERIOD_MS = 1000

    def __init__(self, time_scale=1.0, empty=None):
        super().__init__(time_scale)
        self._data = None
        self._last = empty  # what a read before the first measurement gets
        self._next_at = None

    def _sample(self):
        raise NotImplementedError

    def start_measuring(self):
        self._next_at = time.ticks_add(self.now(), int(self.PERIOD_MS * self.time_scale))

    def stop_measuring(self):
        self._next_at = None
        self._data = None

    def _tick(self):
        if self._next_at is not None and time.ticks_diff(self.now(), self._next_at) >= 0:
            self._data = self._sample()
            self._next_at = time.ticks_add(self.now(), int(self.PERIOD_MS * self.time_scale))

    def data_ready(self):
        self._tick()
        return [1 if self._data else 0]

    def read_values(self):
        self._tick()
        if self._data:
            self._last, self._data = self._data, None
        return self._last
