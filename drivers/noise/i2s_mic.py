# I2S MEMS microphones: ICS-43434 and INMP441 (24-bit two's complement, MSB first, in 32-bit
# slots; the L/R pin picks the slot; both start with a transient and carry a DC offset). The
# driver takes a machine.I2S made by the board (RX, bits=32, MONO) and hands the runtime blocks
# of samples in the noise meter's format (firmware/noise/noise_kernel.py): DC removed, two
# fraction bits, biased positive. Audio never leaves this driver and the meter's ring of one
# block.
import asyncio

from micropython import const

from sensor_error import SensorError

_STARTUP_MS = const(100)  # both parts settle within ~100 ms of the clock starting
_DC_BLOCKS = const(256)  # the DC estimate's time constant, in blocks (1.28 s)
MAX_BLOCK = const(256)


class I2SMicrophone:
    def __init__(self, i2s, rate, block=None, kernel="viper", discard_ms=_STARTUP_MS):
        """i2s: machine.I2S in RX mode with bits=32. block: samples per read (default 5 ms).
        discard_ms: the start-up transient to drop (0 for a recording)."""
        self._i2s = i2s
        self.rate = rate
        self.block = block or rate // 200
        if not 0 < self.block <= MAX_BLOCK:
            raise ValueError("block must be 1..%d samples" % MAX_BLOCK)
        self._kernel = __import__("i2s_slots" if kernel == "viper" else "i2s_slots_bc")
        self._slots = bytearray(4 * self.block)
        self._view = memoryview(self._slots)
        self._dc16 = None  # DC in 1/16 count
        self._blocks = 0
        self._discard = rate * discard_ms // 1000
        self.read_errors = 0
        self._reader = None  # asyncio.StreamReader over the I2S, made by the first read_async

    def read(self, samples):
        """Fills samples[0:block] (array 'i'); returns the count. Blocks for one block's time
        (recordings and the self-test; the node's task uses read_async)."""
        while self._discard > 0:  # the start-up transient: converted (for the DC estimate)
            self._convert(samples, self._fill())  # and dropped
            self._discard -= self.block
        return self._convert(samples, self._fill())

    async def read_async(self, samples):
        """As read(), waiting for the block through asyncio.StreamReader (MicroPython's
        non-blocking I2S): the other tasks run while the DMA fills it."""
        while self._discard > 0:
            self._convert(samples, await self._fill_async())
            self._discard -= self.block
        return self._convert(samples, await self._fill_async())

    def _convert(self, samples, n):
        dc = 0 if self._dc16 is None else self._dc16 >> 4
        total = self._kernel.to_samples(self._slots, 4 * n, samples, dc)
        mean16 = total // n * 128  # total = sum / 8; this order keeps it a small int
        # a running mean of the block means at first, then an exponential one: a block is
        # shorter than a period of a low tone, so one block alone is a poor estimate
        if self._blocks < _DC_BLOCKS:
            self._blocks += 1
        if self._dc16 is None:
            self._dc16 = mean16
        else:
            self._dc16 += (mean16 - self._dc16) // self._blocks
        return n

    def _failed(self, e=None):
        """The SensorError of a read that raised `e`, or gave nothing (counted)."""
        self.read_errors += 1
        if e is not None:
            return SensorError("i2s read failed: %s" % e)
        return SensorError("i2s gave no data (microphone unplugged or clock stopped?)")

    def _fill(self):
        got = 0
        want = len(self._slots)
        while got < want:
            try:  # a whole block in one read, as blocking I2S reads give; no slice then
                r = self._i2s.readinto(self._view[got:] if got else self._slots)
            except OSError as e:
                raise self._failed(e)
            if not r:
                raise self._failed()
            got += r
        return self.block

    async def _fill_async(self):
        """A block without holding the scheduler. The first wait goes through
        asyncio.StreamReader, which puts the I2S into the ports' non-blocking (asyncio) mode;
        from then on a read returns what the DMA ring holds, and for the frames still missing
        the task sleeps (sleep_ms allocates nothing; a StreamReader wait costs ~290 B of
        poller registration each time, and the stream is readable from its first frame)."""
        got = 0
        want = len(self._slots)
        while got < want:
            buf = self._view[got:] if got else self._slots
            try:
                if self._reader is None:
                    self._reader = asyncio.StreamReader(self._i2s)
                    r = await self._reader.readinto(buf)
                else:
                    r = self._i2s.readinto(buf)
            except OSError as e:
                raise self._failed(e)
            if r is None:  # nothing in the ring yet
                r = 0
            elif not r:
                raise self._failed()
            got += r
            if got < want:  # 4 bytes a frame; one ms more so that the frames are there
                await asyncio.sleep_ms((want - got) * 250 // self.rate + 1)
        return self.block

    def deinit(self):
        self._i2s.deinit()
