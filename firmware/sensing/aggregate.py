# Per-interval statistics of each record, in fixed storage: no growing lists, nothing allocated
# per sample. Values are hundredths of their unit in small ints (drivers' x100); a sum that
# would outgrow a 31-bit small int (900 samples of pressure in hundredths of Pa) is carried
# into a second int in units of 2**24. What leaves the node is the interval mean (plus how
# many samples made it).
from micropython import const

_CARRY_BITS = const(24)
_CARRY = const(0x1000000)  # 2**24: lo stays within (-2**24, 2**24) plus one sample


class Aggregator:
    def __init__(self, names):
        self.names = tuple(names)
        n = len(self.names)
        self._index = {name: i for i, name in enumerate(self.names)}
        self.count = [0] * n
        self.lo = [0] * n  # sum = hi * 2**24 + lo
        self.hi = [0] * n
        self.low = [0] * n
        self.high = [0] * n

    def add(self, name, x100):
        i = self._index[name]
        if self.count[i]:
            if x100 < self.low[i]:
                self.low[i] = x100
            if x100 > self.high[i]:
                self.high[i] = x100
        else:
            self.low[i] = self.high[i] = x100
        self.count[i] += 1
        s = self.lo[i] + x100
        if s >= _CARRY or s <= -_CARRY:
            self.hi[i] += s >> _CARRY_BITS
            s &= _CARRY - 1
        self.lo[i] = s

    def total(self, name):
        i = self._index[name]
        return (self.hi[i] << _CARRY_BITS) + self.lo[i]  # a long int only past 2**30

    def mean(self, name):
        """The interval mean in hundredths, rounded half away from zero; None without
        samples. Once per interval: a long int here is no harm."""
        n = self.count[self._index[name]]
        if not n:
            return None
        t = self.total(name)
        return (2 * t + n) // (2 * n) if t >= 0 else -((-2 * t + n) // (2 * n))

    def samples(self, name):
        return self.count[self._index[name]]

    def reset(self):
        for i in range(len(self.names)):
            self.count[i] = 0
            self.lo[i] = 0
            self.hi[i] = 0
