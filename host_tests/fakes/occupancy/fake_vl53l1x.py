# A fake ST VL53L1X over a doorway, for people counting: 16-bit register addresses with
# auto-increment, boot status, model id 0xEACC, the oscillator calibration, continuous ranging
# at the inter-measurement period, data-ready on GPIO__TIO_HV_STATUS until the interrupt is
# cleared, and a range measured in the region of interest that is set when the ranging starts:
# centre SPAD 167 looks at zone A (the street side), 231 at zone B (inside). People come from a
# scene (fakes/occupancy/people.py): a head under a zone reads ~0.5 m, the floor ~2.1 m.
# Options: noise (jitter +-30 mm and 5 % dropouts with status "signal fail"). Faults: nack,
# unplugged, stuck (I2C), garbage (random bytes read back).
# Initialisation as the part needs it (ST's ultra-lite driver): after the configuration block
# one warm-up ranging is allowed; every later ranging needs the VHV writes (0x0008 = 0x09,
# 0x000B = 0x00) and a timing budget from ST's table for the distance mode in force, else the
# part gives no result (`refused` says why). It ranges every max(budget, period).
import random

import people
from fakedev import Faultable

MOUNT_MM = 2200
ZONE_A_CENTRE = 167
ZONE_B_CENTRE = 231
OSC = 0x0150
# (distance mode, TIMEOUT_MACROP_A, _B) -> timing budget in ms: ST's VL53L1X_SetTimingBudgetInMs
ST_BUDGETS = {("short", 0x001D, 0x0027): 15, ("short", 0x0051, 0x006E): 20,
              ("short", 0x00D6, 0x006E): 33, ("short", 0x01AE, 0x01E8): 50,
              ("short", 0x02E1, 0x0388): 100, ("short", 0x03E1, 0x0496): 200,
              ("short", 0x0591, 0x05C1): 500, ("long", 0x001E, 0x0022): 20,
              ("long", 0x0060, 0x006E): 33, ("long", 0x00AD, 0x00C6): 50,
              ("long", 0x01CC, 0x01EA): 100, ("long", 0x02D9, 0x02F8): 200,
              ("long", 0x048F, 0x04A4): 500}


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
        self.configured = False  # the configuration block was written
        self.warmed_up = False  # the one ranging allowed before the VHV writes has run
        self.refused = None  # why the last start of ranging gave no result

    def mode(self):
        return {0x14: "short", 0x0A: "long"}.get(self.regs.get(0x004B))

    def budget_ms(self):
        """The timing budget programmed, or None when the registers hold no entry of ST's
        table for the distance mode in force (the configuration block's own values are none)."""
        r = self.regs
        a = (r.get(0x005E, 0) << 8) | r.get(0x005F, 0)
        b = (r.get(0x0061, 0) << 8) | r.get(0x0062, 0)
        return ST_BUDGETS.get((self.mode(), a, b))

    def _why_not(self):
        if not self.configured:
            return "no configuration block"
        if not self.warmed_up:
            return None  # the warm-up ranging runs on the block's settings
        if self.regs.get(0x0008) != 0x09 or self.regs.get(0x000B) != 0x00:
            return "VHV not set after the warm-up ranging"
        if self.budget_ms() is None:
            return "no timing budget from ST's table for %s mode" % self.mode()
        return None

    def _period_s(self):
        """One ranging every inter-measurement period, or every timing budget when that is
        longer (scene seconds); the warm-up ranging takes 100 ms."""
        r = self.regs
        v = (r.get(0x006C, 0) << 24) | (r.get(0x006D, 0) << 16) | (r.get(0x006E, 0) << 8) | \
            r.get(0x006F, 0)
        ms = v / (OSC * 1.075) if v else 100
        return max(ms, self.budget_ms() or 100) / 1000

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
            if self.pointer == 0x002D and len(data) - 2 == 0x87 - 0x2D + 1:
                self.configured = True
        for i, v in enumerate(data[2:]):
            self._write((self.pointer + i) & 0xFFFF, v)

    def _write(self, reg, v):
        self.regs[reg] = v
        t = self._now()
        if reg == 0x0087:
            if self.ranging and v != 0x40 and self.configured:
                self.warmed_up = True  # stopped after a ranging: the warm-up is over
            self.refused = self._why_not() if v == 0x40 else None
            self.ranging = v == 0x40 and self.refused is None
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
