# A fake ST VL53L1X over a doorway, for people counting: 16-bit register addresses with
# auto-increment, boot status, model id 0xEACC, the oscillator calibration, continuous ranging
# at the inter-measurement period, data-ready on GPIO__TIO_HV_STATUS until the interrupt is
# cleared, and a range measured in the region of interest that is set when the ranging starts:
# centre SPAD 167 looks at zone A (the street side), 231 at zone B (inside). People come from a
# scene (fakes/occupancy/people.py): a head under a zone reads ~0.5 m, the floor ~2.1 m.
# Options: noise (jitter +-30 mm and 5 % dropouts with status "signal fail"). Faults: nack,
# unplugged, stuck (I2C), garbage (random bytes read back).
import random

import people
from fakedev import Faultable

MOUNT_MM = 2200
ZONE_A_CENTRE = 167
ZONE_B_CENTRE = 231
OSC = 0x0150


class Device(Faultable):
    def __init__(self, env=None, time_scale=1.0, crossings=None, scene="school", length_s=600.0,
                 people_n=None, noise=False, seed=9, boot_ms=2, **_ignored):
        self.truth = None
        if crossings is None:
            n = people_n or max(8, int(length_s / 5))
            crossings, self.truth = people.morning_peak(length_s=length_s, people=n) \
                if scene == "school" else ([], {"in": 0, "out": 0})
        self.crossings = crossings
        self.clock = people.Clock(time_scale)
        self.noise = noise
        self.rand = people._Rand(seed)
        self.regs = {0x0030: 0x01, 0x00E5: 0x00, 0x010F: 0xEA, 0x0110: 0xCC,
                     0x00DE: OSC >> 8, 0x00DF: OSC & 0xFF, 0x0087: 0x00}
        self.boot_at = boot_ms / 1000 / time_scale
        self.pointer = 0
        self.blocks = []  # multi-byte writes: (register, bytes)
        self.ranging = False
        self.ready = False
        self.due = 0.0
        self.measurements = 0
        self.roi_at_start = ZONE_A_CENTRE

    def _period_s(self):
        """The inter-measurement period the node set (scene seconds), at least the 20 ms
        timing budget."""
        r = self.regs
        v = (r.get(0x006C, 0) << 24) | (r.get(0x006D, 0) << 16) | (r.get(0x006E, 0) << 8) | \
            r.get(0x006F, 0)
        ms = v / (OSC * 1.075) if v else 100
        return max(ms, 20) / 1000

    def _now(self):
        return self.clock.now()

    def _measure(self, t):
        centre = self.regs.get(0x007F, 0xC7)
        a, b = people.doorway_zones(self.crossings, t)
        under = a if centre == ZONE_A_CENTRE else (b if centre == ZONE_B_CENTRE else False)
        mm = MOUNT_MM - 1700 if under else MOUNT_MM - 100
        status = 9  # raw "range valid"
        if self.noise:
            mm += int(self.rand.between(-30, 30))
            if self.rand.next() < 0.05:
                status = 4  # raw "signal fail"
        self.regs[0x0089] = status
        self.regs[0x0096] = mm >> 8
        self.regs[0x0097] = mm & 0xFF
        self.measurements += 1

    def _update(self):
        t = self._now()
        if not self.regs[0x00E5] and t >= self.boot_at:
            self.regs[0x00E5] = 0x01
        if self.ranging and not self.ready and t >= self.due:
            self._measure(self.due)
            self.ready = True

    def i2c_write(self, data):
        if len(data) < 2:
            return
        self._update()
        self.pointer = (data[0] << 8) | data[1]
        if len(data) > 3:
            self.blocks.append((self.pointer, bytes(data[2:])))
        for i, v in enumerate(data[2:]):
            self._write((self.pointer + i) & 0xFFFF, v)

    def _write(self, reg, v):
        self.regs[reg] = v
        t = self._now()
        if reg == 0x0087:
            self.ranging = v == 0x40
            self.ready = False
            self.due = t + self._period_s()
        elif reg == 0x0086 and v & 1:
            self.ready = False
            self.due = max(t, self.due) + self._period_s() if self.ranging else t

    def i2c_read(self, n):
        self._update()
        if self.fault == "garbage":
            return bytes(random.getrandbits(8) for _ in range(n))
        out = bytearray(n)
        for i in range(n):
            reg = (self.pointer + i) & 0xFFFF
            if reg == 0x0031:
                out[i] = 0x02 | (1 if self.ready else 0)  # active high (0x30 bit 4 = 0)
            else:
                out[i] = self.regs.get(reg, 0)
        self.pointer = (self.pointer + n) & 0xFFFF
        return bytes(out)
