# The sensors a node samples: which driver serves each config entry, and the runtime side of a
# driver -- probing it, sampling it, and turning its errors into a status instead of a crash.
from sensor_error import SensorError

# driver name -> (module, class, records as (name, SenML unit))
DRIVERS = {
    "bme280": ("bme280", "BME280", (("temperature", "Cel"), ("pressure", "Pa"),
                                   ("humidity", "%RH"))),
}


class Sensor:
    def __init__(self, spec, board, log):
        if spec["driver"] not in DRIVERS:
            raise ValueError("unknown sensor driver '%s' (known: %s)"
                             % (spec["driver"], ", ".join(sorted(DRIVERS))))
        self.module, self.cls, self.records = DRIVERS[spec["driver"]]
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
        self.errors_total = 0

    def _open(self):
        cls = getattr(__import__(self.module), self.cls)
        bus = self.board.bus(self.spec["bus"])
        if self.spec.get("address") is None:
            return cls(bus)
        return cls(bus, self.spec["address"])

    async def sample(self, agg):
        """One reading into the aggregator; on failure record why and re-probe next time
        (a sensor that was unplugged and put back needs its setup again)."""
        try:
            if self.driver is None:
                self.driver = self._open()
                self.log.info("sensor", "%s ready" % self.id)
            await self.driver.measure()
        except (SensorError, ValueError, ImportError) as e:  # ValueError: a board/bus mismatch
            self.driver = None
            self.bad += 1
            self.errors_total += 1
            if self.status != str(e):
                self.log.warning("sensor", str(e))
            self.status = str(e)
            return
        for name, _unit in self.records:
            value = getattr(self.driver, name)
            if value is not None:
                agg.add(name, value)
        self.good += 1
        if self.status != "ok":
            self.status = "ok"

    def quality(self):
        """Share of good samples this interval (0..1), the data-quality flag; None if none tried."""
        tried = self.good + self.bad
        return None if not tried else self.good / tried

    def new_interval(self):
        self.good = self.bad = 0
