# Plantower PMS5003 particulate matter sensor on a UART (9600 8N1). Frame: 42 4D, length 00 1C,
# 13 big-endian words, 16-bit sum of bytes 0..29 (Plantower PMS5003 data manual, "Transport
# Protocol - Active Mode"; commands in its appendix). Active and passive mode, sleep and wake.
# The stream may start mid-frame and carry noise: the parser resynchronises on the header and
# the length word and never trusts a frame whose checksum fails.
import asyncio

from micropython import const

from sensor_error import ChecksumError, SensorError
from time import ticks_add, ticks_diff, ticks_ms
from uart_stream import FrameStream

_BUF = const(64)
_DATA_LEN = const(0x1C)  # 28: a measurement frame (32 bytes in all)
_ACK_LEN = const(0x04)  # 4: the answer to a mode or sleep command (8 bytes)
_PM_MAX = const(1000)  # ug/m3: the datasheet's maximum range value

CMD_PASSIVE = b"\x42\x4d\xe1\x00\x00\x01\x70"
CMD_ACTIVE = b"\x42\x4d\xe1\x00\x01\x01\x71"
CMD_READ = b"\x42\x4d\xe2\x00\x00\x01\x71"
CMD_SLEEP = b"\x42\x4d\xe4\x00\x00\x01\x73"
CMD_WAKE = b"\x42\x4d\xe4\x00\x01\x01\x74"


class PMS5003(FrameStream):
    WARMUP_MS = 30000  # readings are stable only 30 s after wake-up (data manual)
    BAUD = 9600  # fixed by the part (data manual: 9600 8N1)
    BYTES_PER_S = 160  # a 32-byte frame every 200 ms at the most (active mode, fast changes)

    def __init__(self, uart, passive=False, warmup_s=None):
        if uart is None:
            raise SensorError("PMS5003: no UART given")
        FrameStream.__init__(self, uart, _BUF)
        self.passive = passive
        if warmup_s is not None:
            self.WARMUP_MS = int(warmup_s * 1000)
        self._data = bytearray(26)  # the 13 words of the last good frame
        self._have = False
        self.asleep = False
        self._woke = ticks_ms()

    def poll(self):
        """Reads what has arrived; True when that completed a new good measurement frame.
        Call it again until False to catch up on everything buffered."""
        self._fill()
        b = self._buf
        while True:
            n = self._n
            i = 0
            while i < n and not (b[i] == 0x42 and (i + 1 == n or b[i + 1] == 0x4D)):
                i += 1
            if i:
                self.skipped += i
                self._drop(i)
                n = self._n
            if n < 4:
                return False
            length = b[3]
            if b[2] != 0 or (length != _DATA_LEN and length != _ACK_LEN):
                self.skipped += 1
                self._drop(1)  # a false header: look again from the next byte
                continue
            total = length + 4
            if n < total:
                if self._fill():
                    continue
                return False
            s = 0
            for k in range(total - 2):
                s += b[k]
            if s & 0xFFFF != (b[total - 2] << 8) | b[total - 1]:
                self.bad_frames += 1
                self.bad_at = self.offset
                self._drop(1)  # the real header may lie inside
                continue
            if length == _ACK_LEN:
                self._drop(total)
                continue
            for k in range(26):
                self._data[k] = b[4 + k]
            self.frame_at = self.offset
            self._drop(total)
            self.frames += 1
            self._have = True
            for k in range(3, 6):
                if self.word(k) > _PM_MAX:
                    self._have = False
                    raise SensorError("PMS5003: frame at byte %d: PM %d ug/m3 is out of range "
                                      "(0..1000)" % (self.frame_at, self.word(k)))
            return True

    # -- one reading
    async def start(self):
        """Wakes the sensor, sets the mode and waits for a first frame (the presence check:
        a UART has no ACK)."""
        await self.wake()
        self.uart.write(CMD_PASSIVE if self.passive else CMD_ACTIVE)
        await asyncio.sleep_ms(100)
        await self.measure()

    async def measure(self):
        if self.asleep:
            raise SensorError("PMS5003 is asleep; wake it first")
        bad0, skipped0 = self.bad_frames, self.skipped
        if self.passive:
            while self.poll():
                pass
            self.uart.write(CMD_READ)
        # active mode sends a frame every 2.3 s (stable) or 0.2-0.8 s (fast)
        deadline = ticks_add(ticks_ms(), 1500 if self.passive else 3000)
        got = False
        while True:
            while self.poll():
                got = True  # keep the newest of what was buffered
            if got:
                return
            if ticks_diff(deadline, ticks_ms()) <= 0:
                break
            await asyncio.sleep_ms(50)
        if self.bad_frames > bad0:
            raise ChecksumError("PMS5003: %d frame(s) with a bad checksum (last at byte %d), no "
                                "good one" % (self.bad_frames - bad0, self.bad_at))
        if self.skipped > skipped0:
            raise SensorError("PMS5003: no valid frame, %d bytes of noise"
                              % (self.skipped - skipped0))
        raise SensorError("PMS5003: no data (unplugged, asleep, or TX/RX swapped?)")

    @property
    def warming_up(self):
        return ticks_diff(ticks_ms(), self._woke) < self.WARMUP_MS

    def word(self, i):
        return (self._data[2 * i] << 8) | self._data[2 * i + 1]

    def _w(self, i):
        return self.word(i) if self._have else None

    pm1_cf1 = property(lambda self: self._w(0))
    pm25_cf1 = property(lambda self: self._w(1))
    pm10_cf1 = property(lambda self: self._w(2))
    pm1 = property(lambda self: self._w(3))  # "atmospheric environment": use these outdoors
    pm25 = property(lambda self: self._w(4))
    pm10 = property(lambda self: self._w(5))

    _RECORDS = {"pm1": 3, "pm25": 4, "pm10": 5}  # the atmospheric words

    def x100(self, name):
        """The record's newest value in hundredths of ug/m3, a small int, or None."""
        return self.word(self._RECORDS[name]) * 100 if self._have else None

    def counts(self, i):
        """Particles per 0.1 L above 0.3, 0.5, 1.0, 2.5, 5.0, 10 um (i = 0..5)."""
        return self._w(6 + i)

    # -- modes and power
    async def set_passive(self, passive):
        self.uart.write(CMD_PASSIVE if passive else CMD_ACTIVE)
        self.passive = passive
        await asyncio.sleep_ms(100)

    async def sleep(self):
        self.uart.write(CMD_SLEEP)
        self.asleep = True
        await asyncio.sleep_ms(100)

    async def wake(self):
        self.uart.write(CMD_WAKE)
        self.asleep = False
        self._woke = ticks_ms()
        await asyncio.sleep_ms(100)
