# A simple outdoor environment for simulated nodes: each quantity swings around its base value
# on a common "day" (so neighbouring nodes agree) plus a little per-node noise.
import math
import random
import time

_DEFAULTS = {
    "temperature": (8.0, 4.0),  # Cel: base, swing
    "humidity": (70.0, 12.0),  # %RH
    "pressure": (101325.0, 300.0),  # Pa
    "co2": (480.0, 60.0),  # ppm
    "pm1": (4.0, 2.0),  # ug/m3
    "pm25": (8.0, 4.0),
    "pm4": (10.0, 5.0),
    "pm10": (12.0, 6.0),
    "voc_index": (100.0, 20.0),  # Sensirion gas index, 1..500
    "nox_index": (1.0, 0.5),
}


class Environment:
    def __init__(self, spec=None):
        spec = spec or {}
        self.period_s = spec.get("period_s", 600)
        self.noise = spec.get("noise", 0.02)
        self.fixed = spec.get("fixed", {})  # quantities held constant (tests)
        self.base = {}
        for name, (base, swing) in _DEFAULTS.items():
            self.base[name] = (spec.get(name, base), spec.get(name + "_swing", swing))
        self.rng = random.Random(spec.get("seed", 1)) if hasattr(random, "Random") else None
        if self.rng is None:
            random.seed(spec.get("seed", 1))

    def _rand(self):
        return self.rng.random() if self.rng else random.random()

    def value(self, name):
        if name in self.fixed:
            return self.fixed[name]
        base, swing = self.base[name]
        phase = 2 * math.pi * (time.time() % self.period_s) / self.period_s
        v = base + swing * math.sin(phase) + swing * self.noise * (2 * self._rand() - 1)
        if name == "humidity":
            v = min(100.0, max(0.0, v))
        elif v < 0:
            v = 0.0
        return v

    def set(self, name, value):
        self.fixed[name] = value
