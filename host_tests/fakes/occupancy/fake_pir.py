# A fake PIR module on a GPIO: its output follows motion of the people in a room scene
# (fakes/occupancy/people.py) as the module's electronics shape it -- HC-SR501 (retriggering hold,
# ~2.5 s blocking after the output falls, ~60 s of random pulses after power-up), AM312 (2 s hold,
# 2 s block) or EKMC (output = detection, 30 s settling). Someone sitting still is mostly
# invisible to a PIR: only an occasional fidget shows. Faults: unplugged (reads 0), stuck (1).
import people
from fakedev import Faultable

MODULES = {  # hold s, block s, settle s
    "hc-sr501": (3.0, 2.5, 60.0),
    "am312": (2.0, 2.0, 30.0),
    "ekmc": (0.0, 0.0, 30.0),
}


class Device(Faultable):
    def __init__(self, env=None, time_scale=1.0, module="am312", visits=None, scene="school",
                 length_s=600.0, seed=21, **_ignored):
        self.hold, self.block, self.settle = MODULES[module]
        if visits is None:
            visits = people.school_room(length_s=length_s) if scene == "school" else []
        self.occupants = people.room_occupants(visits)
        self.clock = people.Clock(time_scale)
        self.rand = people._Rand(seed)
        self._out = 0
        self._out_until = -1.0
        self._blocked_until = -1.0
        self._last_t = 0.0

    def _detects(self, t):
        for _d, moving in self.occupants(t):
            if moving:
                return True
            # a still person fidgets now and then: ~0.5 s in every 20 s
            if (t % 20.0) < 0.5:
                return True
        return False

    def level(self):
        if self.fault == "unplugged":
            return 0
        if self.fault == "stuck":
            return 1
        t = self.clock.now()
        if t < self.settle:  # power-up settling: random pulses
            return 1 if self.rand.next() < 0.3 else 0
        seen = self._detects(t)
        if self.hold == 0:
            return 1 if seen else 0
        if seen and t >= self._blocked_until:
            self._out_until = t + self.hold  # retriggering while motion lasts
        out = 1 if t < self._out_until else 0
        if self._out and not out:
            self._blocked_until = t + self.block
        self._out = out
        return out
