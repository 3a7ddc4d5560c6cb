# The I2S receiver with its DMA ring.
import io
import time

import simworld

from .alloc import enter as _enter, leave as _leave
from .pins import check_pins as _check_pins


class I2S(io.IOBase):
    """An I2S receiver with a DMA ring of `ibuf` bytes, as on the ESP32 and RP2040: frames
    arrive at `rate` from the moment it is made (the board is the clock master: they arrive
    whether a microphone answers or not); readinto() waits until enough have arrived, and
    frames the reader was too late for (ring full) are lost, counted in `overrun_frames`.
    Polled (asyncio.StreamReader, the ports' non-blocking mode), it is ready when a frame has
    arrived and readinto() returns what is there without waiting.
    `I2S.realtime = False` lets tests run sound through without waiting for the wall clock."""

    RX = 0
    TX = 1
    MONO = 0
    STEREO = 1
    realtime = True

    _sources = {}

    def __init__(self, id, *, sck=None, ws=None, sd=None, mode=0, bits=32, format=0, rate=16000,
                 ibuf=8192):
        _check_pins("i2s", id, outputs=(("sck", sck), ("ws", ws)), inputs=(("sd", sd),))
        if bits not in (16, 32):
            raise ValueError("bits must be 16 or 32")
        self.id = id
        self.bits = bits
        self.rate = rate
        self.format = format
        self.frame = (bits // 8) * (2 if format == I2S.STEREO else 1)
        self.ring_frames = ibuf // self.frame
        self.source = I2S._sources.get(id) or simworld.i2s_source(id)
        self.overrun_frames = 0
        self._us = 0  # microseconds since start, accumulated (ticks_us wraps)
        self._last = time.ticks_us()
        self._taken = 0  # frames handed out or lost
        self._nonblocking = False  # set by the first poll, as the ports' asyncio mode

    @classmethod
    def attach(cls, id, source):
        cls._sources[id] = source

    def _arrived(self):
        now = time.ticks_us()
        self._us += time.ticks_diff(now, self._last)
        self._last = now
        return self._us * self.rate // 1000000

    def _waiting(self):
        """Frames in the ring now (after dropping what overflowed it)."""
        arrived = self._arrived()
        late = arrived - self._taken - self.ring_frames
        if late > 0:  # the ring overflowed while nobody read: those frames are gone
            self.overrun_frames += late
            self._taken += late
            if self.source:
                self.source.skip(late)
        return arrived - self._taken

    def ioctl(self, req, arg):
        if req == 3:  # MP_STREAM_POLL: readable once a frame is in the ring
            self._nonblocking = True
            a = _enter()  # the clock model's arithmetic is the fake's, not the driver's
            try:
                return arg & 1 if not I2S.realtime or self._waiting() > 0 else 0
            finally:
                _leave(a)
        return -1  # no file descriptor, nothing else

    def readinto(self, buf):
        a = _enter()
        try:
            want = len(buf) // self.frame
            if I2S.realtime:
                waiting = self._waiting()
                if self._nonblocking:
                    want = min(want, waiting)
                    if want <= 0:
                        return None
                elif want > waiting:
                    time.sleep_us((want - waiting) * 1000000 // self.rate)
            self._taken += want
            if not self.source:
                return 0
            if want * self.frame < len(buf):
                buf = memoryview(buf)[:want * self.frame]
            return self.source.fill(buf, self.bits, self.rate)
        finally:
            _leave(a)

    def deinit(self):
        pass
