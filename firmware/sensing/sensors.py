# The sensors a node samples: which driver serves each config entry, and the runtime side of a
# driver -- starting it, sampling it, checking its values against the part's range, and turning
# its errors into a status and a data-quality flag instead of a crash.
from sensor_error import SensorError

_PM = (("pm1", "ug/m3"), ("pm25", "ug/m3"), ("pm4", "ug/m3"), ("pm10", "ug/m3"))
_T = ("temperature", "Cel")
_RH = ("humidity", "%RH")
_P = ("pressure", "Pa")

# driver name -> (module, class, records as (name, SenML unit)); names follow the wire contract
DRIVERS = {
    "bme280": ("bme280", "BME280", (_T, _P, _RH)),
    "bmp280": ("bme280", "BMP280", (_T, _P)),
    "scd4x": ("scd4x", "SCD4x", (("co2", "ppm"), _T, _RH)),
    "sps30": ("sps30", "SPS30", _PM),
    "sen5x": ("sen5x", "SEN5x", _PM + (_RH, _T, ("voc_index", None), ("nox_index", None))),
    "pms5003": ("pms5003", "PMS5003", (_PM[0], _PM[1], _PM[3])),
}
# I2S microphones: streamed, not polled (noise_sensor.py)
MICROPHONES = ("ics43434", "inmp441")
# occupancy: presence (PIR, mmWave; fused into one presence) and the doorway counter
# (occupancy.py)
PRESENCE = ("pir", "ld2410")
OCCUPANCY = PRESENCE + ("vl53l1x",)


def make(spec, board, log):
    """The runtime side of one config sensor entry."""
    if spec["driver"] in MICROPHONES:
        from noise_sensor import NoiseSensor
        return NoiseSensor(spec, board, log)
    if spec["driver"] in OCCUPANCY:
        import occupancy
        return occupancy.make(spec, board, log)
    return Sensor(spec, board, log)


def driver_class(name):
    module, cls, _records = DRIVERS[name]
    return getattr(__import__(module), cls)


def check_range(driver, name, value):
    """None, or why `value` is outside what the part can measure (its datasheet range)."""
    ranges = getattr(driver, "RANGES", None)
    r = ranges.get(name) if ranges else None
    if r and not r[0] <= value <= r[1]:
        return "%s %s out of range (%s..%s)" % (name, value, r[0], r[1])
    return None


class Sensor:
    def __init__(self, spec, board, log):
        if spec["driver"] not in DRIVERS:
            raise ValueError("unknown sensor driver '%s' (known: %s)"
                             % (spec["driver"], ", ".join(sorted(DRIVERS) + list(MICROPHONES + OCCUPANCY))))
        self.records = DRIVERS[spec["driver"]][2]
        self.publish = self.records  # the node narrows this to the records this sensor owns
        self.spec = spec
        self.board = board
        self.log = log
        addr = spec.get("address")
        self.id = spec["driver"] if addr is None else "%s_0x%02x" % (spec["driver"], addr)
        self.every_ms = int(spec["every_s"] * 1000)
        self.driver = None
        self.status = "starting"
        self.good = 0  # samples this interval
        self.bad = 0
        self.warming = 0
        self.errors_total = 0

    def _open(self):
        cls = driver_class(self.spec["driver"])
        bus = self.board.bus(self.spec["bus"])
        opts = self.spec.get("options", {})
        if self.spec.get("address") is None:
            return cls(bus, **opts)
        return cls(bus, self.spec["address"], **opts)

    def _failed(self, why):
        self.bad += 1
        self.errors_total += 1
        if self.status != why:
            self.log.warning("sensor", "%s: %s" % (self.id, why))
        self.status = why

    async def sample(self, agg, latest):
        """One reading into the aggregator. On a driver or bus error: record why, and open and
        start the driver again next time (a sensor unplugged and put back needs its setup).
        `latest` holds the node's newest values; drivers that compensate (SCD4x with a
        barometer's pressure) read from it."""
        try:
            if self.driver is None:
                d = self._open()
                if hasattr(d, "start"):
                    await d.start()
                self.driver = d
                self.log.info("sensor", "%s ready" % self.id)
            d = self.driver
            if hasattr(d, "ambient_pressure"):
                d.ambient_pressure = latest.get("pressure")
            await d.measure()
        except (SensorError, ValueError, ImportError) as e:  # ValueError: a board/bus mismatch
            self.driver = None
            self._failed(str(e))
            return
        if getattr(d, "warming_up", False):
            self.warming += 1
            self.status = "warming up"
            return
        for name, _unit in self.records:
            value = getattr(d, name)
            if value is None:
                continue  # "no value yet" (SEN5x NOx after start, BMP280 humidity)
            why = check_range(d, name, value)
            if why:
                self._failed(why)
                return
            latest[name] = value
        for name, _unit in self.publish:
            value = getattr(d, name)
            if value is not None:
                agg.add(name, value)
        self.good += 1
        self.status = "ok"

    def quality(self):
        """Share of good samples this interval (0..1), the data-quality flag; None if none tried.
        Warm-up samples count as not good: the value is not trusted yet."""
        tried = self.good + self.bad + self.warming
        return None if not tried else self.good / tried

    def new_interval(self):
        self.good = self.bad = self.warming = 0
