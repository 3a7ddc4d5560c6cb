# The byte stream of a UART sensor that talks in frames (PMS5003, LD2410): a fixed buffer the
# UART's bytes move into, dropped from the front as frames are parsed or noise is skipped, with
# the stream position of the buffer's start for error messages. No allocation after start.
from micropython import const

_CHUNK = const(32)


class FrameStream:
    def __init__(self, uart, size):
        self.uart = uart
        self._buf = bytearray(size)
        self._n = 0
        self._chunk = bytearray(_CHUNK)
        self.offset = 0  # stream position of _buf[0], for error messages
        self.frame_at = -1  # stream position of the last good frame
        self.frames = 0
        self.bad_frames = 0
        self.bad_at = -1  # stream position of the last frame that failed its check
        self.skipped = 0  # bytes dropped while looking for a header

    def _drop(self, k):
        b = self._buf
        n = self._n
        for i in range(n - k):
            b[i] = b[i + k]
        self._n = n - k
        self.offset += k

    def _fill(self):
        """Moves what the UART holds into the frame buffer; returns the bytes moved."""
        room = len(self._buf) - self._n
        if room <= 0 or not self.uart.any():
            return 0
        got = self.uart.readinto(self._chunk, room if room < _CHUNK else _CHUNK) or 0
        b = self._buf
        n = self._n
        c = self._chunk
        for i in range(got):
            b[n + i] = c[i]
        self._n = n + got
        return got

    def pending_bytes(self):
        """Bytes buffered that do not (yet) form a frame: a truncated tail at end of input."""
        return self._n
