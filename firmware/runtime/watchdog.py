# The hardware watchdog, fed from one place only: this health check, which feeds it while every
# registered task has shown a sign of life recently enough. A task that hangs -- or a loop that
# blocks, so that this check itself cannot run -- lets the watchdog reset the node; the next
# boot reports the reset cause.
import asyncio

from time import ticks_diff, ticks_ms


class Watchdog:
    def __init__(self, wdt, log, period_ms=1000):
        self.wdt = wdt  # a machine.WDT (made by the board), or None when disabled
        self.log = log
        self.period_ms = period_ms
        self._beats = {}  # task -> [last sign of life, allowed silence]
        self.stale = None

    def register(self, name, allowed_ms):
        self._beats[name] = [ticks_ms(), allowed_ms]

    def beat(self, name):
        self._beats[name][0] = ticks_ms()

    def check(self):
        """The first task silent for longer than allowed, or None."""
        now = ticks_ms()
        for name, (last, allowed) in self._beats.items():
            if ticks_diff(now, last) > allowed:
                return name
        return None

    async def run(self):
        while True:
            stale = self.check()
            if stale is None:
                if self.wdt:
                    self.wdt.feed()
            elif stale != self.stale:
                self.log.error("watchdog", "task '%s' is not progressing; not feeding the "
                               "watchdog" % stale)
            self.stale = stale
            await asyncio.sleep_ms(self.period_ms)
