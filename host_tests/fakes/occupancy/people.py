# Where people are, over time, for the occupancy fakes: a room's occupants (presence sensors)
# and crossings of a doorway (the people counter). Deterministic from a seed; time in seconds
# since the scene started, scaled by `time_scale` (< 1 plays it faster).
import math
import time


class _Rand:
    """A small LCG: the same sequence on MicroPython and CPython."""

    def __init__(self, seed):
        self.x = seed or 1

    def next(self):
        self.x = (self.x * 1103515245 + 12345) & 0x7FFFFFFF
        return self.x / 0x80000000

    def between(self, a, b):
        return a + (b - a) * self.next()


class Clock:
    def __init__(self, time_scale=1.0):
        self.t0 = time.ticks_ms()
        self.time_scale = time_scale

    def now(self):
        return time.ticks_diff(time.ticks_ms(), self.t0) / 1000 / self.time_scale


def room_occupants(visits):
    """visits: [(start_s, end_s, distance_m, moving)]. -> function t -> [(distance, moving)]"""
    visits = [tuple(v) for v in visits]

    def at(t):
        return [(d, m) for s, e, d, m in visits if s <= t < e]
    return at


def school_room(seed=3, length_s=600.0):
    """A classroom: empty, a few early arrivals, a full lesson (mostly sitting still), a break
    (empty), and a cleaner passing later."""
    r = _Rand(seed)
    L = length_s
    visits = [(0.10 * L + r.between(0, 0.05 * L), 0.55 * L, r.between(1.5, 5.0), False)
              for _ in range(3)]
    visits += [(0.20 * L, 0.55 * L, r.between(1.0, 6.0), r.next() < 0.3) for _ in range(5)]
    visits += [(0.80 * L, 0.83 * L, 3.0, True)]
    return visits


class Crossing:
    """One person under a doorway counter: enters zone A (or B) first, walks through in
    `duration_s`, turns back halfway when `turn_back`, or lingers in the first zone the whole
    time and leaves the way they came when `linger` (neither counts)."""

    def __init__(self, start_s, inward, duration_s=1.2, turn_back=False, height_m=1.7,
                 linger=False):
        self.start = start_s
        self.inward = inward
        self.duration = duration_s
        self.turn_back = turn_back or linger
        self.linger = linger
        self.height = height_m

    def zones(self, t):
        """(in zone A, in zone B) at time t. A person's path goes A -> both -> B (inward) or
        B -> both -> A; turning back: A -> both -> A."""
        u = (t - self.start) / self.duration
        if u < 0 or u >= 1:
            return False, False
        first, second = (True, False) if self.inward else (False, True)
        if self.linger or u < 0.35:
            return first, second
        if u < 0.65:
            return True, True
        if self.turn_back:
            return first, second
        return second, first


def morning_peak(seed=5, length_s=600.0, people=60, turn_backs=4, pairs=3, lingers=2):
    """A school entrance: arrivals peaking a third of the way in (inward), a few leaving,
    some who turn back in the doorway or linger in it, and pairs walking close together (the
    second 0.25 s behind the first). Returns (crossings, truth) with truth = {"in": n,
    "out": m, "turn_backs": k}."""
    r = _Rand(seed)
    out = []
    peak = 0.33 * length_s
    for i in range(people):
        # arrivals: a bell around the peak, drawn by inverse of a logistic
        u = r.between(0.02, 0.98)
        t = peak + 0.12 * length_s * math.log(u / (1 - u)) / 3
        t = min(max(t, 2.0), length_s - 5.0)
        out.append(Crossing(t, inward=i % 7 != 0, duration_s=r.between(0.9, 1.6)))
    for _ in range(turn_backs):
        out.append(Crossing(r.between(0.1, 0.9) * length_s, inward=r.next() < 0.5,
                            duration_s=1.4, turn_back=True))
    for _ in range(lingers):  # someone waits in the doorway, then goes back out
        out.append(Crossing(r.between(0.1, 0.9) * length_s, inward=True, duration_s=6.0,
                            linger=True))
    out.sort(key=lambda c: c.start)
    # people who would overlap in the doorway wait (as they do): at least 0.3 s between the
    # end of one crossing and the start of the next, except the chosen close pairs
    last_end = -10.0
    for c in out:
        if c.start < last_end + 0.3:
            c.start = last_end + 0.3
        last_end = c.start + c.duration
    for k in range(pairs):
        a = out[(k + 1) * len(out) // (pairs + 1)]
        pair = Crossing(a.start + a.duration + 0.25, a.inward, a.duration)
        for c in out:
            if c.start >= pair.start - 0.1:
                c.start += pair.duration + 0.6
        out.append(pair)
    out.sort(key=lambda c: c.start)
    truth = {"in": sum(1 for c in out if c.inward and not c.turn_back),
             "out": sum(1 for c in out if not c.inward and not c.turn_back),
             "turn_backs": sum(1 for c in out if c.turn_back)}
    return out, truth


def doorway_zones(crossings, t):
    """(zone A occupied, zone B occupied) by anyone at time t."""
    a = b = False
    for c in crossings:
        if c.start > t:
            break
        za, zb = c.zones(t)
        a = a or za
        b = b or zb
    return a, b
