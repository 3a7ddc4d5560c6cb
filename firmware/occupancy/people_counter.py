# Counting people through a doorway from two zones ranged in turn (ST UM2600's method): a zone
# is occupied while its distance is below the threshold (with a little hysteresis against
# jitter); a crossing counts only when the zones run A -> both -> B -> empty (inwards) or
# B -> both -> A -> empty (outwards). Turning back, lingering or a half-seen passage counts
# nothing. A ranging that fails keeps its zone as it was; failures in a row mid-passage make
# the passage uncounted (mount the sensor so the floor ranges: a miss beats a false count).
# Only totals come out: no crossing is timestamped or kept (privacy by design).
from micropython import const

_A = const(1)
_B = const(2)
_BOTH = const(3)
_PATH = const(8)  # the longest zone sequence remembered between two empty doorways


class Counter:
    def __init__(self, threshold_mm=1300, hysteresis_mm=100, dropout_limit=3):
        self.threshold = threshold_mm
        self.hysteresis = hysteresis_mm
        self.dropout_limit = dropout_limit  # invalid readings in a row that mean "no one"
        self.occupied = bytearray(2)
        self.misses = bytearray(2)
        self.stale = bytearray(2)  # the zone's state is only remembered (its last ranging failed)
        # zones (bits) given up as empty after failures in a row: until each has been seen
        # empty by a good ranging with the doorway empty, no passage counts
        self.doubt = 0
        self.path = bytearray(_PATH)
        self.steps = 0
        self.state = 0
        self.count_in = 0
        self.count_out = 0
        self.turned_back = 0  # passages that ended where they began (diagnostics)

    def update(self, zone, valid, mm):
        """One ranging of zone 0 (A) or 1 (B): valid says whether the sensor trusted it.
        Returns +1 when this completed an inward crossing, -1 outward, else 0."""
        occ = self.occupied
        if not valid:
            # a dropout keeps the zone as it was, unless they go on: then nobody is there
            if self.misses[zone] < 255:
                self.misses[zone] += 1
            if self.misses[zone] < self.dropout_limit:
                self.stale[zone] = 1
                return 0
            # the zone was blind for a while: whatever passed may have gone unseen, so no
            # passage counts until a good ranging sees it empty again (a miss beats a count
            # nobody walked)
            self.doubt |= 1 << zone
            occ[zone] = 0
            self.stale[zone] = 0
        else:
            self.misses[zone] = 0
            self.stale[zone] = 0
            if occ[zone]:
                occ[zone] = 1 if mm < self.threshold + self.hysteresis else 0
            else:
                occ[zone] = 1 if mm < self.threshold else 0
        r = self._step()
        if valid and not occ[zone] and not self.state:  # the doubtful passage is over
            self.doubt &= ~(1 << zone)
        return r

    def _step(self):
        occ = self.occupied
        if self.stale[0] or self.stale[1]:
            return 0  # a remembered zone would make up a step nobody took: wait for it
        state = (_A if occ[0] else 0) | (_B if occ[1] else 0)
        if state == self.state:
            return 0
        self.state = state
        if state:
            if self.steps < _PATH:
                self.path[self.steps] = state
            self.steps += 1
            return 0
        return self._done()

    def _done(self):
        """The doorway is empty again: was that a crossing?"""
        p, n = self.path, self.steps
        self.steps = 0
        if n < 3 or n > _PATH or self.doubt:
            return 0
        first, last = p[0], p[n - 1]
        through = False
        for i in range(1, n - 1):
            if p[i] == _BOTH:
                through = True
        if not through or first == _BOTH or last == _BOTH:
            return 0
        if first == _A and last == _B:
            self.count_in += 1
            return 1
        if first == _B and last == _A:
            self.count_out += 1
            return -1
        self.turned_back += 1
        return 0

    def take(self):
        """(in, out) since the last take: the interval's counts."""
        r = (self.count_in, self.count_out)
        self.count_in = self.count_out = 0
        return r
