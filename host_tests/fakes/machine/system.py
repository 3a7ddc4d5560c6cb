# The rest of a board: ADC, the watchdog (outside the CPU, as on a chip), the RTC.
import time

import simworld


class ADC:
    _sources = {}

    def __init__(self, pin, atten=None):
        self.pin = pin

    @classmethod
    def attach(cls, pin, source):
        cls._sources[pin] = source

    def read_u16(self):
        src = ADC._sources.get(getattr(self.pin, "id", self.pin))
        return src() if src else 0


class WDT:
    """Records feeds; `overdue()` says whether a real watchdog would have reset the board.
    In a simulated node the watchdog is outside the CPU, as on a chip: every feed touches
    <control_dir>/wdt (holding the timeout), and the launcher resets a node whose file goes
    stale (tools/stadsnod/testbed/simnode.py)."""

    last = None

    def __init__(self, id=0, timeout=5000):
        self.timeout = timeout
        self._touched = None
        self.feed()
        WDT.last = self

    def feed(self):
        self.fed_at = time.ticks_ms()
        ctl = simworld.world().get("control_dir")
        if ctl and (self._touched is None or time.ticks_diff(self.fed_at, self._touched) > 200):
            # rewritten in place after the first feed: a truncating rewrite cost the host's
            # filesystem a block discard a feed, most of an idle simulated node's CPU
            with open(ctl + "/wdt", "w" if self._touched is None else "r+") as f:
                f.write(str(self.timeout))
            self._touched = self.fed_at

    def overdue(self):
        return time.ticks_diff(time.ticks_ms(), self.fed_at) > self.timeout


class RTC:
    _offset = [0]  # seconds added to the host clock, as if the RTC had been set

    def __init__(self, id=0):
        pass

    def datetime(self, dt=None):
        if dt is None:
            t = time.localtime(int(time.time()) + RTC._offset[0])
            # (year, month, mday, weekday, hours, minutes, seconds, subseconds)
            return (t[0], t[1], t[2], t[6], t[3], t[4], t[5], 0)
        y, mo, d, _wd, h, mi, s = dt[:7]
        target = time.mktime((y, mo, d, h, mi, s, 0, 0))
        RTC._offset[0] = target - int(time.time())
