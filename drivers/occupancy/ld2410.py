# Hi-Link HLK-LD2410 24 GHz mmWave presence sensor on a UART (256000 8N1, little-endian), after
# the HLK-LD2410 serial communication protocol (V1.02):
#   report  F4 F3 F2 F1 | len u16 (0x0D basic, 0x23 engineering) | type (02 basic, 01 eng.) AA
#           state u8 (0 none, 1 moving, 2 stationary, 3 both) | moving cm u16 | moving energy u8
#           | stationary cm u16 | stationary energy u8 | detection cm u16 | [engineering: max
#           moving gate, max stationary gate, energy per moving gate 0..8, per stationary gate
#           0..8, 2 bytes] | 55 00 | F8 F7 F6 F5
#   command FD FC FB FA | len u16 | word u16 | value | 04 03 02 01; the ack echoes word | 0x0100
#           with a status u16 (0 = done) and any return value. Commands other than enable-config
#           are obeyed only between enable-config (0x00FF) and end-config (0x00FE).
# The stream may hold noise and half frames: the parser resynchronises on the headers and checks
# each frame's length, inner markers and tail. Distances never leave the node in normal running
# (privacy): the runtime reads `present` only.
import asyncio

from micropython import const

from sensor_error import SensorError
from time import ticks_add, ticks_diff, ticks_ms
from uart_stream import FrameStream

_BUF = const(96)
_REPORT_BASIC = const(0x0D)
_REPORT_ENG = const(0x23)
_ACK_MAX = const(40)
CMD_ENABLE_CONFIG = const(0x00FF)
CMD_END_CONFIG = const(0x00FE)
CMD_MAX_GATES = const(0x0060)
CMD_READ_PARAMS = const(0x0061)
CMD_ENGINEERING_ON = const(0x0062)
CMD_ENGINEERING_OFF = const(0x0063)
CMD_SENSITIVITY = const(0x0064)
CMD_FIRMWARE = const(0x00A0)
GATES = const(9)  # gates 0..8, 0.75 m each
REPORT_HEAD = b"\xf4\xf3\xf2\xf1"
REPORT_TAIL = b"\xf8\xf7\xf6\xf5"
CMD_HEAD = b"\xfd\xfc\xfb\xfa"
CMD_TAIL = b"\x04\x03\x02\x01"


def command_frame(word, value=b""):
    n = 2 + len(value)
    return CMD_HEAD + bytes((n & 0xFF, n >> 8, word & 0xFF, word >> 8)) + value + CMD_TAIL


def _u32_param(word, value):
    return bytes((word & 0xFF, word >> 8, value & 0xFF, (value >> 8) & 0xFF,
                  (value >> 16) & 0xFF, value >> 24))


class LD2410(FrameStream):
    INTEGRITY = "markers or tail"  # what a broken frame fails: the protocol has no checksum
    BAUD = 256000  # the part's factory default
    BYTES_PER_S = 450  # engineering reports: 45 bytes ten times a second

    def __init__(self, uart):
        if uart is None:
            raise SensorError("LD2410: no UART given")
        FrameStream.__init__(self, uart, _BUF)
        self.ack = bytearray(_ACK_MAX)  # the last ack's payload (after its word)
        self.ack_len = 0
        self.ack_word = -1
        self.engineering = False
        self.state = 0
        self.moving_cm = self.moving_energy = 0
        self.static_cm = self.static_energy = 0
        self.detect_cm = 0
        self.gate_moving = bytearray(GATES)  # engineering mode: energy per gate
        self.gate_static = bytearray(GATES)
        self.last_frame_ms = None

    # -- the byte stream (uart_stream.FrameStream) and its frames
    def _starts(self, i, head):
        b = self._buf
        for k in range(4):
            if i + k < self._n and b[i + k] != head[k]:
                return False
        return True

    def _ends(self, at, tail):
        b = self._buf
        for k in range(4):
            if b[at + k] != tail[k]:
                return False
        return True

    def poll(self):
        """Parses what has arrived; True when that completed a report frame (call again until
        False to catch up). Acks are kept for command()."""
        self._fill()
        b = self._buf
        while True:
            n = self._n
            i = 0
            while i < n and not (self._starts(i, REPORT_HEAD) or self._starts(i, CMD_HEAD)):
                i += 1
            if i:
                self.skipped += i
                self._drop(i)
                n = self._n
            if n < 6:
                return False
            report = b[0] == 0xF4
            length = b[4] | (b[5] << 8)
            if report and length not in (_REPORT_BASIC, _REPORT_ENG) or \
                    not report and not 4 <= length <= _ACK_MAX:
                self.skipped += 1
                self._drop(1)  # a false header
                continue
            total = length + 10
            if n < total:
                if self._fill():
                    continue
                return False
            if not self._ends(total - 4, REPORT_TAIL if report else CMD_TAIL) or report and (
                    b[7] != 0xAA or b[total - 6] != 0x55 or b[total - 5] != 0x00 or
                    b[6] != (0x02 if length == _REPORT_BASIC else 0x01)):
                self.bad_frames += 1
                self.bad_at = self.offset
                self._drop(1)  # the real header may lie inside
                continue
            if not report:
                self.ack_word = b[6] | (b[7] << 8)
                self.ack_len = length - 2
                for k in range(self.ack_len):
                    self.ack[k] = b[8 + k]
                self._drop(total)
                continue
            self._report(length)
            self._drop(total)
            return True

    def _report(self, length):
        b = self._buf
        self.state = b[8]
        self.moving_cm = b[9] | (b[10] << 8)
        self.moving_energy = b[11]
        self.static_cm = b[12] | (b[13] << 8)
        self.static_energy = b[14]
        self.detect_cm = b[15] | (b[16] << 8)
        self.engineering = length == _REPORT_ENG
        if self.engineering:
            for g in range(GATES):
                self.gate_moving[g] = b[19 + g]
                self.gate_static[g] = b[28 + g]
        self.frame_at = self.offset
        self.frames += 1
        self.last_frame_ms = ticks_ms()

    # distances in metres, for diagnostics (stadsnod replay); a node never publishes them
    moving_distance = property(lambda self: self.moving_cm / 100)
    stationary_distance = property(lambda self: self.static_cm / 100)
    detection_distance = property(lambda self: self.detect_cm / 100)

    @property
    def present(self):
        """Someone there: the target state says so, or -- a field quirk -- the stationary
        distance reads 0 while the stationary energy does not."""
        return self.state != 0 or self.static_energy > 0

    presence = present  # the wire contract's name

    # -- commands
    async def command(self, word, value=b"", timeout_ms=500):
        """Sends a command, waits for its ack (status 0); returns the ack's return value
        length (in self.ack). SensorError on a timeout or a refusal."""
        self.ack_word = -1
        self.uart.write(command_frame(word, value))
        deadline = ticks_add(ticks_ms(), timeout_ms)
        while True:
            self.poll()
            if self.ack_word == word | 0x0100:
                status = self.ack[0] | (self.ack[1] << 8)
                if status:
                    raise SensorError("LD2410: command 0x%04x refused (status %d)"
                                      % (word, status))
                return self.ack_len - 2
            if ticks_diff(deadline, ticks_ms()) <= 0:
                raise SensorError("LD2410: no ack to command 0x%04x in %d ms (unplugged, wrong "
                                  "baud rate, or TX/RX swapped?)" % (word, timeout_ms))
            await asyncio.sleep_ms(10)

    async def configure(self, *steps):
        """Runs (word, value) commands inside enable-config / end-config; end-config is sent
        even when a step fails, so the sensor goes back to reporting."""
        await self.command(CMD_ENABLE_CONFIG, b"\x01\x00")
        try:
            for word, value in steps:
                await self.command(word, value)
        finally:
            await self.command(CMD_END_CONFIG)

    async def set_max_gates(self, moving=8, stationary=8, no_one_s=5):
        """Farthest gates (0.75 m each, up to 8) and how long 'nobody' must last (s)."""
        for g in (moving, stationary):
            if not 2 <= g <= 8:
                raise ValueError("LD2410: max gate must be 2..8, got %s" % g)
        value = _u32_param(0, moving) + _u32_param(1, stationary) + _u32_param(2, no_one_s)
        await self.configure((CMD_MAX_GATES, value))

    async def set_sensitivity(self, gate, moving, stationary):
        """Sensitivity 0..100 of one gate (0..8), or of every gate with gate=None."""
        if not (0 <= moving <= 100 and 0 <= stationary <= 100):
            raise ValueError("LD2410: sensitivity must be 0..100")
        g = 0xFFFF if gate is None else gate
        value = _u32_param(0, g) + _u32_param(1, moving) + _u32_param(2, stationary)
        await self.configure((CMD_SENSITIVITY, value))

    async def set_engineering(self, on):
        await self.configure((CMD_ENGINEERING_ON if on else CMD_ENGINEERING_OFF, b""))

    async def read_params(self):
        """{max_gate, max_moving_gate, max_stationary_gate, moving[9], stationary[9],
        no_one_s} as the sensor holds them."""
        out = {}

        async def read():
            n = await self.command(CMD_READ_PARAMS)
            a = self.ack
            if n < 6 + 2 * GATES or a[2] != 0xAA:
                raise SensorError("LD2410: malformed parameter answer (%d bytes)" % n)
            out["max_gate"], out["max_moving_gate"], out["max_stationary_gate"] = a[3], a[4], a[5]
            out["moving"] = list(a[6:6 + GATES])
            out["stationary"] = list(a[6 + GATES:6 + 2 * GATES])
            k = 6 + 2 * GATES
            out["no_one_s"] = a[k] | (a[k + 1] << 8)

        await self.command(CMD_ENABLE_CONFIG, b"\x01\x00")
        try:
            await read()
        finally:
            await self.command(CMD_END_CONFIG)
        return out

    async def firmware_version(self):
        """'V<major>.<minor>.<build>', e.g. V1.02.22062416."""
        await self.command(CMD_ENABLE_CONFIG, b"\x01\x00")
        try:
            await self.command(CMD_FIRMWARE)
            a = self.ack
            major = a[4] | (a[5] << 8)
            build = a[6] | (a[7] << 8) | (a[8] << 16) | (a[9] << 24)
            return "V%d.%02x.%08x" % (major >> 8, major & 0xFF, build)
        finally:
            await self.command(CMD_END_CONFIG)

    # -- as a node's sensor
    async def start(self):
        """The presence check: the sensor reports ~10 times a second, unasked."""
        deadline = ticks_add(ticks_ms(), 1500)
        while ticks_diff(deadline, ticks_ms()) > 0:
            if self.poll():
                return
            await asyncio.sleep_ms(20)
        if self.bad_frames or self.skipped:
            raise SensorError("LD2410: no valid report, %d bad frame(s), %d bytes of noise"
                              % (self.bad_frames, self.skipped))
        raise SensorError("LD2410: no reports (unplugged, wrong baud rate, or TX/RX swapped?)")
