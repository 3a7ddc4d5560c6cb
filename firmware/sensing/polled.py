# A polled sensor in the node (the sensor_base contract): starting its driver, sampling it every
# `every_s`, checking values against the part's range, and turning its errors into a status and
# a data-quality flag instead of a crash.
import asyncio
import gc

from sensor_base import SensorBase
from sensor_error import SensorError


def check_range(driver, name, x100):
    """None, or why a value (in hundredths) is outside what the part can measure (its
    datasheet range, in whole units)."""
    ranges = getattr(driver, "RANGES", None)
    r = ranges.get(name) if ranges else None
    if r and not r[0] * 100 <= x100 <= r[1] * 100:
        return "%s %s out of range (%s..%s)" % (name, x100 / 100, r[0], r[1])
    return None


class Sensor(SensorBase):
    """A polled sensor: a driver read every `every_s`."""

    def __init__(self, spec, board, log):
        import sensors  # the driver table; imported here so that the node can drop it

        d = spec["driver"]
        if d not in sensors.DRIVERS:
            raise ValueError("unknown sensor driver '%s' (known: %s)"
                             % (d, ", ".join(sorted(sensors.DRIVERS)
                                             + list(sensors.MICROPHONES + sensors.OCCUPANCY))))
        module, cls, records = sensors.DRIVERS[d]
        super().__init__(spec, log, records)
        self._driver_ref = (module, cls)  # imported when opened: a missing module is a status
        self.board = board
        self.every_ms = int(spec["every_s"] * 1000)

    def _driver_class(self):
        module, cls = self._driver_ref
        return getattr(__import__(module), cls)

    @property
    def power_up_ms(self):
        try:
            return getattr(self._driver_class(), "POWER_UP_MS", 0)
        except ImportError:
            return 0  # the sample that opens it says why

    def _open(self):
        cls = self._driver_class()
        # a UART part's own line rate and data rate size its bus (I2C parts have neither)
        bus = self.board.bus(self.spec["bus"], getattr(cls, "BAUD", None),
                             getattr(cls, "BYTES_PER_S", 0))
        opts = self.spec.get("options", {})
        if self.spec.get("address") is None:
            return cls(bus, **opts)
        return cls(bus, self.spec["address"], **opts)

    async def run(self, watchdog, agg, latest):
        while True:
            watchdog.beat(self.id)
            if not self.held:  # a calibration has the part (commands/ops.py)
                self.sampling = True
                try:
                    await self.sample(agg, latest)
                except MemoryError:
                    gc.collect()  # and try again next time on a cleaner heap
                    self.log.error("sensor", "%s: out of memory; sample skipped" % self.id)
                finally:
                    self.sampling = False
            await asyncio.sleep_ms(self.every_ms)

    async def sample(self, agg, latest):
        """One reading into the aggregator. On a driver or bus error: record why, and open and
        start the driver again next time (a sensor unplugged and put back needs its setup).
        `latest` holds the node's newest values (hundredths); drivers that compensate (SCD4x
        with a barometer's pressure) read from it."""
        try:
            if self.driver is None:
                d = self._open()
                if hasattr(d, "start"):
                    await d.start()
                self.driver = d
                self.log.info("sensor", "%s ready" % self.id)
            d = self.driver
            if hasattr(d, "ambient_pressure"):
                p = latest.get("pressure")
                d.ambient_pressure = None if p is None else p // 100
            await d.measure()
        except (SensorError, ValueError, ImportError) as e:  # ValueError: a board/bus mismatch
            self._failed(str(e))
            return
        if getattr(d, "warming_up", False):
            self.warming += 1
            self.status = "warming up"
            return
        # values are hundredths of their unit in small ints (x100): nothing is allocated
        for name, _unit in self.records:
            value = d.x100(name)
            if value is None:
                continue  # "no value yet" (SEN5x NOx after start, BMP280 humidity)
            why = check_range(d, name, value)
            if why:
                self._failed(why)
                self.driver = d  # a value out of range: the part answers, keep it open
                return
            latest[name] = value
        for name, _unit in self.publish:
            value = d.x100(name)
            if value is not None:
                agg.add(name, value)
        self.good += 1
        self.status = "ok"
