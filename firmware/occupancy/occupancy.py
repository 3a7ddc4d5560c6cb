# Occupancy in the node: presence sensors (PIR on a GPIO, LD2410 mmWave on a UART) fused into
# `presence` (anyone there this interval) and `occupancy` (share of the interval someone was),
# and a people counter (VL53L1X over a doorway) giving `count_in` and `count_out`. Like the
# noise meter these listen all the time and hand the node interval values; nothing about a
# person -- no distance, no time of a crossing -- leaves this module.
import asyncio

from time import ticks_diff, ticks_ms

from sensor_base import SensorBase
from sensor_error import SensorError

PRESENCE_RECORDS = (("presence", None), ("occupancy", "/"))
COUNT_RECORDS = (("count_in", "count"), ("count_out", "count"))
_TICK_MS = 100  # how often the fusion looks at its sources


class _Listener(SensorBase):
    """A sensor that listens all the time (the sensor_base contract); its quality is closed
    when the interval's values are taken."""
    pause_ms = 0

    def __init__(self, spec, board, log, records):
        super().__init__(spec, log, records)
        self.board = board
        self.opts = spec.get("options", {})
        self._quality = None

    def close_quality(self):
        tried = self.good + self.bad + self.warming
        self._quality = None if not tried else self.good / tried
        self.good = self.bad = self.warming = 0

    def quality(self):
        return self._quality

    def new_interval(self):
        pass

    async def _listen(self, watchdog):
        """A step at a time (each waits on its part); `pause_ms` between steps for parts that
        only report. SensorBase.run reopens the driver a second after a failure."""
        while True:
            watchdog.beat(self.id)
            await self._step()
            await asyncio.sleep_ms(self.pause_ms)

    async def sample(self, agg, latest):
        """The self-test's look: open, start, read once."""
        try:
            await self._step()
        except (SensorError, ValueError, OSError) as e:
            self._failed(str(e))


class PIRSensor(_Listener):
    def __init__(self, spec, board, log):
        super().__init__(spec, board, log, ())

    async def _open(self):
        from pir import PIR
        o = self.opts
        self.driver = PIR(self.board.bus(self.spec["bus"]), hold_s=o.get("hold_s", 30),
                          warmup_s=o.get("warmup_s", 60), debounce_ms=o.get("debounce_ms", 100),
                          retrigger=o.get("retrigger", True))
        self.driver.watch()  # edges are judged by the driver's own task as they happen

    async def _step(self):
        if self.driver is None:
            await self._open()
        await asyncio.sleep_ms(_TICK_MS)  # a tick: no task or timeout per step
        self.driver.update()
        self._judge()

    def _judge(self):
        if self.driver.warming_up:
            self.status = "warming up"
            self.warming += 1
        else:
            self.status = "ok"
            self.good += 1

    @property
    def present(self):
        d = self.driver
        return d is not None and not d.warming_up and d.present


class LD2410Sensor(_Listener):
    pause_ms = _TICK_MS  # it reports ten times a second; look as often

    def __init__(self, spec, board, log):
        super().__init__(spec, board, log, ())
        self._present = False

    async def _open(self):
        from ld2410 import LD2410
        d = LD2410(self.board.bus(self.spec["bus"], LD2410.BAUD, LD2410.BYTES_PER_S))
        await d.start()
        o = self.opts
        if "max_gate" in o or "no_one_s" in o:
            g = o.get("max_gate", 8)
            await d.set_max_gates(g, g, o.get("no_one_s", 5))
        self.driver = d

    async def _step(self):
        if self.driver is None:
            await self._open()
        d = self.driver
        got = False
        while d.poll():
            got = True
        if got:
            self._present = d.present
            self.status = "ok"
            self.good += 1
        elif ticks_diff(ticks_ms(), d.last_frame_ms) > 2000:
            self._present = False
            raise SensorError("LD2410: reports stopped (%d bad frames, %d bytes of noise)"
                              % (d.bad_frames, d.skipped))

    @property
    def present(self):
        return self.driver is not None and self._present


class Presence(_Listener):
    """`presence` and `occupancy` from one or more presence sensors: with fusion "any"
    someone is there when any sensor says so; with "both", when all that are working do."""

    def __init__(self, sources, mode, log):
        super().__init__({"driver": "presence"}, None, log, PRESENCE_RECORDS)
        self.sources = tuple(sources)
        self.mode = mode
        self._occupied_ms = 0
        self._seen = False
        self._since = ticks_ms()
        self._last = self._since

    def fused(self):
        # runs ten times a second: plain loops, no list or generator per tick
        working = 0
        both = self.mode == "both"
        for s in self.sources:
            if s.status != "ok":
                continue
            working += 1
            if s.present != both:  # any: one present is enough; both: one absent is too many
                return not both
        return working > 0 and both

    async def run(self, watchdog, agg=None, latest=None):
        tasks = [asyncio.create_task(s.run(watchdog)) for s in self.sources]
        try:
            while True:
                watchdog.beat(self.id)
                await asyncio.sleep_ms(_TICK_MS)
                self._tick()
        finally:
            for t in tasks:
                t.cancel()

    def _tick(self):
        now = ticks_ms()
        if self.fused():
            self._occupied_ms += ticks_diff(now, self._last)
            self._seen = True
        self._last = now
        self.status = "ok" if self._usable() else "no presence sensor working"

    def _usable(self):
        for s in self.sources:
            if s.status == "ok":
                return True
        return False

    def interval_values(self):
        now = ticks_ms()
        span = ticks_diff(now, self._since)
        usable = self._usable()
        out = ()
        if span > 0 and usable:
            out = (("presence", self._seen),
                   ("occupancy", round(min(1.0, self._occupied_ms / span), 3)))
        self._occupied_ms = 0
        self._seen = self.fused()
        self._since = self._last = now
        for s in self.sources:
            s.close_quality()
        return out

    def quality(self):
        qs = [s.quality() for s in self.sources if s.quality() is not None]
        return min(qs) if qs else None


class CounterSensor(_Listener):
    """VL53L1X people counter: zones A and B ranged in turn (UM2600)."""

    def __init__(self, spec, board, log):
        super().__init__(spec, board, log, COUNT_RECORDS)
        from people_counter import Counter
        o = self.opts
        self.counter = Counter(o.get("threshold_mm", 1300))
        self.centres = (o.get("zone_a_spad", 167), o.get("zone_b_spad", 231))
        self.zone = 0

    async def _open(self):
        from vl53l1x import VL53L1X
        d = VL53L1X(self.board.bus(self.spec["bus"]), self.spec.get("address", 0x29))
        o = self.opts
        await d.start("long" if o.get("long") else "short", (8, 16), o.get("period_ms", 33))
        d.set_centre(self.centres[0])
        d.start_ranging()
        self.zone = 0
        self.driver = d

    async def _step(self):
        if self.driver is None:
            await self._open()
        d = self.driver
        await d.wait_ready(500)
        zone = self.zone
        valid = d.read()
        self.zone = zone ^ 1
        d.set_centre(self.centres[self.zone])  # the next ranging looks at the other zone
        self.counter.update(zone, valid, d.mm)
        if valid:
            self.good += 1
        else:
            self.bad += 1
        self.status = "ok"

    def interval_values(self):
        self.close_quality()
        cin, cout = self.counter.take()
        if self.driver is None and not (cin or cout):
            return ()
        return (("count_in", cin), ("count_out", cout))


PRESENCE_DRIVERS = {"pir": PIRSensor, "ld2410": LD2410Sensor}


def make(spec, board, log):
    if spec["driver"] == "vl53l1x":
        return CounterSensor(spec, board, log)
    return PRESENCE_DRIVERS[spec["driver"]](spec, board, log)


def fuse(sensors, mode, log):
    """Replaces the presence sensors in the list by one Presence that runs and fuses them."""
    sources = [s for s in sensors if s.spec.get("driver") in PRESENCE_DRIVERS]
    if not sources:
        return sensors
    rest = [s for s in sensors if s not in sources]
    return rest + [Presence(sources, mode, log)]
