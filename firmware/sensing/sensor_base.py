# The one contract between the node and everything it samples or listens to: polled sensors
# (polled.Sensor), streaming microphones (noise_sensor) and listeners and fused presence
# (occupancy). Each subclass has
#   async run(watchdog, agg, latest) -- the node's task for it; never returns, beats
#       the watchdog under its id at least every `every_ms` (plus a margin);
#   async sample(agg, latest) -- one look, for the self-test.
# A sensor that listens all the time (a microphone, presence, a people counter) has its run
# here: it gives `_listen(watchdog)`, which never returns but raises on a part's failure.
# The node takes `interval_values()` and `quality()` when an interval closes, then calls
# `new_interval()`; health reports `status` and `errors_total` of each part (a fused sensor's
# `sources`, else the sensor itself).
import asyncio

from sensor_error import SensorError


def sensor_id(spec):
    """The id a sensor goes by in records, health and logs: the driver, with its I2C address
    when it has one (two BME280s on one bus stay apart)."""
    addr = spec.get("address")
    return spec["driver"] if addr is None else "%s_0x%02x" % (spec["driver"], addr)


class SensorBase:
    every_ms = 1000
    power_up_ms = 0  # how long the part needs after its supply is switched on
    sources = ()  # the sensors a fused one runs; each has its own status
    held = sampling = False  # a polled part held by a calibration; a sample under way

    def __init__(self, spec, log, records):
        self.spec = spec
        self.log = log
        self.id = sensor_id(spec)
        self.records = self.publish = records  # the node narrows `publish` to what it owns
        self.driver = None
        self.status = "starting"
        self.errors_total = 0
        self.good = self.bad = self.warming = 0  # this interval's samples

    async def run(self, watchdog, agg=None, latest=None):
        """A listening sensor's task: `_listen` until the part fails, then again a second
        later (the driver is opened anew)."""
        while True:
            await self._until_failure(watchdog)
            await asyncio.sleep_ms(1000)

    async def _until_failure(self, watchdog):
        # the failure is caught here, not in run's loop: a frame that never ends would keep
        # its last exception (link.py's _session says why)
        try:
            await self._listen(watchdog)
        except (SensorError, ValueError, OSError) as e:
            self._failed(str(e))

    def _failed(self, why):
        """A driver or bus error: counted, logged once per new reason, shown as the status;
        the driver is opened (and started) again next time."""
        self.bad += 1
        self.errors_total += 1
        if self.status != why:
            self.log.warning("sensor", "%s: %s" % (self.id, why))
        self.status = why
        if self.driver is not None and hasattr(self.driver, "close"):
            self.driver.close()  # a driver with a task of its own (the PIR's edge task)
        self.driver = None

    def interval_values(self):
        """[(record, value)] the sensor computed itself over the interval (levels, counts);
        polled sensors give () -- the node's aggregator holds their means."""
        return ()

    def quality(self):
        """Share of good samples this interval (0..1), the data-quality flag; None if none was
        tried. Warm-up samples count as not good: the value is not trusted yet."""
        tried = self.good + self.bad + self.warming
        return None if not tried else self.good / tried

    def new_interval(self):
        self.good = self.bad = self.warming = 0
