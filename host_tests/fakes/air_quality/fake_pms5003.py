# A fake Plantower PMS5003 on a UART: 32-byte frames with the real layout and checksum, sent at
# 9600 baud every 2.3 s in active mode or on request in passive mode; mode and sleep commands
# answered with the 8-byte ack frame; silence while asleep. Faults: garbage bytes between and
# inside frames, bad checksums, out-of-range values, an unplugged cable.
import random
import time

from fakedev import Faultable
from fakestream import UARTDevice


def frame(words, length=0x1C):
    out = bytearray(b"\x42\x4d")
    out += bytes((length >> 8, length & 0xFF))
    for w in words:
        out += bytes(((w >> 8) & 0xFF, w & 0xFF))
    s = sum(out) & 0xFFFF
    out += bytes((s >> 8, s & 0xFF))
    return bytes(out)


class Device(Faultable, UARTDevice):
    def __init__(self, env, time_scale=1.0, passive=False, start_mid_frame=True):
        UARTDevice.__init__(self, env, baudrate=9600)
        self.env = env
        # A frame every 2.3 s, sped up with the simulated clock, but never faster than the line
        # carries one (32 bytes at 9600 baud: 34 ms): a part cannot talk past its line rate, and
        # at 120x the frames piled up in the node's heap until every sample ran out of memory.
        self.period_ms = max(int(2300 * time_scale), 34)
        self.passive = passive
        self.asleep = False
        self.commands = []
        self._next_at = time.ticks_add(time.ticks_ms(), self.period_ms)
        if start_mid_frame:  # a UART opened while the sensor talks catches a frame's tail
            self.feed(self.make_frame()[13:])

    def words(self):
        e = self.env
        atm = [int(e.value(n) + 0.5) for n in ("pm1", "pm25", "pm10")]
        if self.fault == "range":
            atm[1] = 2000
        counts = [atm[0] * 150, atm[0] * 45, atm[1] * 9, atm[1], atm[2] // 4, atm[2] // 10]
        return atm + atm + counts + [0x9700]

    def make_frame(self):
        f = bytearray(frame(self.words()))
        if self.fault == "crc":
            f[31] ^= 0x21
        return bytes(f)

    def _tick(self):
        fault = self.fault
        if fault in ("unplugged", "nack", "stuck"):
            self._next_at = time.ticks_add(time.ticks_ms(), self.period_ms)
            return
        while not self.asleep and not self.passive and \
                time.ticks_diff(time.ticks_ms(), self._next_at) >= 0:
            self._next_at = time.ticks_add(self._next_at, self.period_ms)
            if len(self.queue) > self.rxbuf:  # the UART's buffer is full: lost on arrival
                self.overflow += 32  # (not queued: a long gap between reads allocated KBs)
                continue
            self._send(self.make_frame())

    def _send(self, data):
        if self.fault == "garbage":  # noise before every frame, inside one frame in three
            noise = bytes(random.getrandbits(8) for _ in range(random.randint(1, 12)))
            cut = random.randint(1, len(data) - 1) if random.getrandbits(8) < 86 else 0
            data = noise + data[:cut] + noise + data[cut:] if cut else noise + data
        self.feed(data)

    def _unplugged(self):
        if self.fault in ("unplugged", "nack", "stuck"):
            self.queue = bytearray()  # whatever was on its way never arrives
            return True
        return False

    def pending(self):
        self._tick()
        return 0 if self._unplugged() else UARTDevice.pending(self)

    def take(self, n=-1):
        self._tick()
        return b"" if self._unplugged() else UARTDevice.take(self, n)

    def receive(self, data):
        UARTDevice.receive(self, data)
        if self.fault in ("unplugged", "nack", "stuck"):
            return
        data = bytes(data)
        for i in range(0, len(data) - 6):
            cmd = data[i:i + 7]
            if cmd[:2] != b"\x42\x4d" or sum(cmd[:5]) != (cmd[5] << 8 | cmd[6]):
                continue
            self.commands.append(cmd.hex())
            code, arg = cmd[2], cmd[4]
            if code == 0xE4:  # sleep (0) / wake (1)
                if arg == 0:
                    self.asleep = True
                    self._send(frame([0xE400], 4))
                else:
                    self.asleep = False
                    self._next_at = time.ticks_add(time.ticks_ms(), self.period_ms)
            elif self.asleep:
                continue
            elif code == 0xE1:  # passive (0) / active (1)
                self.passive = arg == 0
                self._send(frame([0xE100 | arg], 4))
                self._next_at = time.ticks_add(time.ticks_ms(), self.period_ms)
            elif code == 0xE2 and self.passive:
                self._send(self.make_frame())
