# Fake far ends for UART and I2S: bytes that arrive at the line rate, and microphone samples in
# the slot format real I2S MEMS microphones use.
import math
import time


class UARTDevice:
    """Bytes queued with feed() arrive at baudrate/10 bytes per second (8N1: start + 8 + stop),
    counted from when they were fed; what the node writes is kept in `received`. Like a real
    line: the part keeps its own baud rate, so a UART opened at another rate reads garbage
    (counted in `garbled`), and bytes arriving while the UART's receive buffer (`rxbuf`) is full
    are lost (counted in `overflow`)."""

    def __init__(self, env=None, baudrate=9600):
        self.baudrate = baudrate  # the part's line rate: the UART does not choose it
        self.uart_baud = baudrate
        self.rxbuf = 1 << 20  # until a UART connects
        self.overflow = 0
        self.garbled = 0
        self.queue = bytearray()
        self.received = bytearray()
        self._t0 = time.ticks_ms()
        self._taken = 0
        self.fault = None
        self.fault_key = None

    def connect(self, uart):
        self.uart_baud = uart.baudrate
        self.rxbuf = uart.rxbuf

    def feed(self, data, at_ms=None):
        """Queues bytes that start on the line at at_ms (ticks_ms; default now)."""
        if not self.queue:
            self._t0 = time.ticks_ms() if at_ms is None else at_ms
            self._taken = 0
        self.queue.extend(data)

    def _arrived(self):
        ms = time.ticks_diff(time.ticks_ms(), self._t0)
        return min(len(self.queue), ms * self.baudrate // 10000 - self._taken)

    def pending(self):
        n = max(0, self._arrived())
        if n > self.rxbuf:  # the buffer filled up: what came after it is gone
            lost = n - self.rxbuf
            self.queue = self.queue[:self.rxbuf] + self.queue[self.rxbuf + lost:]
            self._taken += lost
            self.overflow += lost
            n = self.rxbuf
        return n

    def take(self, n=-1):
        k = self.pending() if n < 0 else min(n, self.pending())
        out = bytes(self.queue[:k])
        self.queue = self.queue[k:]
        self._taken += k
        if k and self.uart_baud != self.baudrate:
            # sampled at the wrong bit times: framing garbage, not the part's bytes
            self.garbled += k
            out = bytes(((b * 37) ^ 0xA5) & 0xFF for b in out)
        return out

    def receive(self, data):
        self.received.extend(data)


class SineMicrophone:
    """A tone at `freq` Hz with peak `amplitude` (24-bit counts) plus a DC offset, delivered as
    24-bit two's complement left-justified in 32-bit little-endian slots (bits=32 reads)."""

    def __init__(self, env=None, freq=1000.0, amplitude=420426, dc=-2000):
        self.freq = freq
        self.amplitude = amplitude
        self.dc = dc
        self.n = 0
        self.fault = None
        self.fault_key = None

    def fill(self, buf, bits, rate):
        width = bits // 8
        count = len(buf) // width
        for i in range(count):
            s = int(self.amplitude * math.sin(2 * math.pi * self.freq * self.n / rate)) + self.dc
            self.n += 1
            word = (s << 8) & 0xFFFFFFFF
            for b in range(width):
                buf[i * width + b] = (word >> (8 * b)) & 0xFF
        return count * width

    def skip(self, frames):
        self.n += frames
