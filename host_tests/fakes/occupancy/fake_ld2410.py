# A fake Hi-Link HLK-LD2410 on a UART at 256000 baud: report frames (basic, or engineering with
# per-gate energies) ten times a second from a room scene (fakes/occupancy/people.py), the command
# protocol (enable/end config, max gates and no-one duration, sensitivities, engineering mode,
# read parameters, firmware version) with acks and status, and the field quirk of a stationary
# target at distance 0 with energy. Faults: garbage bytes, corrupt frames, an unplugged cable.
import random
import struct
import time

import people
from fakedev import Faultable
from fakestream import UARTDevice

FIRMWARE = (0x0001, 0x0102, 0x22062416)  # type, major (1.02), build: "V1.02.22062416"


def report(state, mov_cm, mov_e, st_cm, st_e, det_cm, engineering=None):
    body = bytes((0x01 if engineering else 0x02, 0xAA, state)) + struct.pack(
        "<HBHBH", mov_cm, mov_e, st_cm, st_e, det_cm)
    if engineering:
        mov_gates, st_gates = engineering
        body += bytes((8, 8)) + bytes(mov_gates) + bytes(st_gates) + b"\x00\x00"
    body += b"\x55\x00"
    return b"\xf4\xf3\xf2\xf1" + struct.pack("<H", len(body)) + body + b"\xf8\xf7\xf6\xf5"


def ack(word, status=0, value=b""):
    body = struct.pack("<HH", word | 0x0100, status) + value
    return b"\xfd\xfc\xfb\xfa" + struct.pack("<H", len(body)) + body + b"\x04\x03\x02\x01"


class Device(Faultable, UARTDevice):
    def __init__(self, env=None, time_scale=1.0, visits=None, scene="school", length_s=600.0,
                 quirk_share=0.1, seed=11, **_ignored):
        UARTDevice.__init__(self, env, baudrate=256000)
        if visits is None:
            visits = people.school_room(length_s=length_s) if scene == "school" else []
        self.occupants = people.room_occupants(visits)
        self.clock = people.Clock(time_scale)
        self.period_s = 0.1 / time_scale  # ten reports per second, in scene time
        self.quirk_share = quirk_share
        self.rand = people._Rand(seed)
        self.engineering = False
        self.config_mode = False
        self.max_moving, self.max_static, self.no_one_s = 8, 8, 5
        self.sens_moving = [50, 50, 40, 30, 20, 15, 15, 15, 15]
        self.sens_static = [0, 0, 40, 40, 30, 30, 20, 20, 20]
        self.commands = []
        self._next = 0.0
        self.sent = 0

    # -- what it sees
    def frame_now(self, t):
        there = self.occupants(t)
        state = mov_cm = mov_e = st_cm = st_e = 0
        for d, moving in there:
            cm = int(d * 100)
            if moving:
                state |= 1
                mov_cm, mov_e = cm, int(self.rand.between(45, 100))
            else:
                state |= 2
                st_cm, st_e = cm, int(self.rand.between(25, 70))
                if self.rand.next() < self.quirk_share:
                    st_cm = 0  # seen in the field: energy, but distance 0
        det = max(mov_cm, st_cm)
        eng = None
        if self.engineering:
            mg = [0] * 9
            sg = [0] * 9
            for d, moving in there:
                g = min(8, int(d / 0.75))
                (mg if moving else sg)[g] = 60
            eng = (mg, sg)
        return report(state, mov_cm, mov_e, st_cm, st_e, det, eng)

    def _tick(self):
        t = self.clock.now()
        if self.fault in ("unplugged", "nack", "stuck") or self.config_mode:
            self._next = t + self.period_s
            return
        while t >= self._next:
            self._next += self.period_s
            if self._next < t - 1.0:  # nobody read for a long time: skip ahead
                self._next = t
            due = self._next - self.period_s  # when this report went on the line
            self._send(self.frame_now(due), time.ticks_add(
                self.clock.t0, int(due * 1000 * self.clock.time_scale)))

    def _send(self, data, at_ms=None):
        if self.fault == "garbage":
            noise = bytes(random.getrandbits(8) for _ in range(random.randint(1, 10)))
            cut = random.randint(1, len(data) - 1)
            data = noise + data[:cut] + noise[:3] + data[cut:] if random.getrandbits(1) \
                else noise + data
        elif self.fault == "crc":
            data = data[:-1] + b"\x00"  # a broken tail
        self.sent += 1
        self.feed(data, at_ms)

    def pending(self):
        self._tick()
        return 0 if self.fault in ("unplugged", "nack", "stuck") else UARTDevice.pending(self)

    def take(self, n=-1):
        self._tick()
        if self.fault in ("unplugged", "nack", "stuck"):
            self.queue = bytearray()
            return b""
        return UARTDevice.take(self, n)

    # -- the command protocol
    def receive(self, data):
        UARTDevice.receive(self, data)
        if self.fault in ("unplugged", "nack", "stuck"):
            return
        data = bytes(data)
        i = data.find(b"\xfd\xfc\xfb\xfa")
        while i >= 0 and i + 8 <= len(data):
            n = data[i + 4] | (data[i + 5] << 8)
            end = i + 6 + n
            if data[end:end + 4] != b"\x04\x03\x02\x01":
                break
            word = data[i + 6] | (data[i + 7] << 8)
            self._command(word, data[i + 8:end])
            i = data.find(b"\xfd\xfc\xfb\xfa", end)

    def _command(self, word, value):
        self.commands.append(word)
        if word == 0x00FF:
            self.config_mode = True
            self.queue = bytearray()  # reports stop
            self.feed(ack(word, 0, struct.pack("<HH", 0x0001, 0x0040)))
            return
        if not self.config_mode:
            return  # ignored outside config mode: no ack
        if word == 0x00FE:
            self.config_mode = False
            self.feed(ack(word))
        elif word in (0x0062, 0x0063):
            self.engineering = word == 0x0062
            self.feed(ack(word))
        elif word == 0x0060:
            params = {value[k] | (value[k + 1] << 8): struct.unpack("<I", value[k + 2:k + 6])[0]
                      for k in range(0, len(value), 6)}
            if not (2 <= params.get(0, 8) <= 8 and 2 <= params.get(1, 8) <= 8):
                self.feed(ack(word, 1))
                return
            self.max_moving = params.get(0, self.max_moving)
            self.max_static = params.get(1, self.max_static)
            self.no_one_s = params.get(2, self.no_one_s)
            self.feed(ack(word))
        elif word == 0x0064:
            p = {value[k] | (value[k + 1] << 8): struct.unpack("<I", value[k + 2:k + 6])[0]
                 for k in range(0, len(value), 6)}
            gates = range(9) if p[0] == 0xFFFF else [p[0]]
            for g in gates:
                self.sens_moving[g] = p[1]
                self.sens_static[g] = p[2]
            self.feed(ack(word))
        elif word == 0x0061:
            v = bytes((0xAA, 8, self.max_moving, self.max_static)) + bytes(self.sens_moving) + \
                bytes(self.sens_static) + struct.pack("<H", self.no_one_s)
            self.feed(ack(word, 0, v))
        elif word == 0x00A0:
            self.feed(ack(word, 0, struct.pack("<HHI", *FIRMWARE)))
        else:
            self.feed(ack(word, 1))
