# The I2S receiver with its DMA ring.
import time

import simworld

from .alloc import enter as _enter, leave as _leave
from .pins import check_pins as _check_pins


class I2S:
    """An I2S receiver with a DMA ring of `ibuf` bytes, as on the ESP32 and RP2040: frames
    arrive at `rate` from the moment it is made; readinto() waits until enough have arrived,
    and frames the reader was too late for (ring full) are lost, counted in `overrun_frames`.
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

    @classmethod
    def attach(cls, id, source):
        cls._sources[id] = source

    def _arrived(self):
        now = time.ticks_us()
        self._us += time.ticks_diff(now, self._last)
        self._last = now
        return self._us * self.rate // 1000000

    def readinto(self, buf):
        want = len(buf) // self.frame
        if I2S.realtime:
            late = self._arrived() - self._taken - self.ring_frames
            if late > 0:  # the ring overflowed while nobody read: those frames are gone
                self.overrun_frames += late
                self._taken += late
                if self.source:
                    self.source.skip(late)
            wait = (self._taken + want) - self._arrived()
            if wait > 0:
                time.sleep_us(wait * 1000000 // self.rate)
        self._taken += want
        a = _enter()
        try:
            return self.source.fill(buf, self.bits, self.rate) if self.source else 0
        finally:
            _leave(a)

    def deinit(self):
        pass
