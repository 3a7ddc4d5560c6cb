# The sensors a node samples: which runtime class serves each config entry, and one factory for
# the final list (presence fusion included). Needed only while the node is built: the node
# drops this module afterwards, and the classes it made stay (polled.py, noise_sensor.py,
# occupancy.py).
from polled import Sensor  # noqa: F401 (the polled sensor, by its old name)

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
    """The runtime side of one config sensor entry (the self-test looks at each alone)."""
    if spec["driver"] in MICROPHONES:
        from noise_sensor import NoiseSensor
        return NoiseSensor(spec, board, log)
    if spec["driver"] in OCCUPANCY:
        import occupancy
        return occupancy.make(spec, board, log)
    return Sensor(spec, board, log)


def make_all(specs, board, log, presence_fusion="any"):
    """What the node runs: one sensor per entry, several presence sensors fused into one."""
    out = [make(spec, board, log) for spec in specs]
    if any(s["driver"] in PRESENCE for s in specs):
        import occupancy
        out = occupancy.fuse(out, presence_fusion, log)
    return out


def driver_class(name):
    module, cls, _records = DRIVERS[name]
    return getattr(__import__(module), cls)
