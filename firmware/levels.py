# Sound level statistics of one interval from block mean-square values (A-weighted, already
# calibrated to pascal^2): LAeq (energy average), F (125 ms) and S (1 s) exponential time
# weighting with LAFmax, LAFmin and LASmax, and LA10/LA50/LA90 from a fixed 0.1 dB histogram of
# the F-weighted level sampled at every block -- no samples kept. IEC 61672-1 definitions.
import math
from array import array

from micropython import const

P0_SQ = 4e-10  # (20 uPa)^2
TAU_F = 0.125
TAU_S = 1.0
_BINS_PER_DB = const(10)
_TOP_DB = const(140)


def db(ms):
    return 10 * math.log10(ms / P0_SQ) if ms > 0 else -math.inf


class Levels:
    def __init__(self, block_s):
        self.block_s = block_s
        self.kf = 1 - math.exp(-block_s / TAU_F)  # exponential averaging per block
        self.ks = 1 - math.exp(-block_s / TAU_S)
        self.hist = array("I", bytes(4 * _BINS_PER_DB * _TOP_DB))
        self.f = self.s = 0.0  # running F and S mean squares (they carry across intervals)
        self.reset()

    def reset(self):
        """A new interval; the time weighting keeps its state, as a meter's does."""
        for i in range(len(self.hist)):
            self.hist[i] = 0
        self.energy = 0.0
        self.blocks = 0
        self.fmax = self.smax = 0.0
        self.fmin = math.inf

    def add(self, ms):
        """One block's mean square (Pa^2)."""
        self.energy += ms
        self.blocks += 1
        self.f += (ms - self.f) * self.kf
        self.s += (ms - self.s) * self.ks
        f = self.f
        if f > self.fmax:
            self.fmax = f
        if f < self.fmin:
            self.fmin = f
        if self.s > self.smax:
            self.smax = self.s
        if f > P0_SQ:
            i = int(db(f) * _BINS_PER_DB)
            n = len(self.hist)
            self.hist[i if i < n else n - 1] += 1
        else:
            self.hist[0] += 1

    def percentile(self, exceeded):
        """The level exceeded `exceeded` (0..1) of the interval: LA10 is percentile(0.10)."""
        target = self.blocks * exceeded
        seen = 0
        for i in range(len(self.hist) - 1, -1, -1):
            seen += self.hist[i]
            if seen > target:
                return (i + 0.5) / _BINS_PER_DB
        return 0.0

    def records(self):
        """(name, dB) of the interval, the wire contract's names; None when nothing came."""
        if not self.blocks:
            return None
        return (("LAeq", db(self.energy / self.blocks)), ("LAFmax", db(self.fmax)),
                ("LAFmin", db(self.fmin)), ("LASmax", db(self.smax)),
                ("LA10", self.percentile(0.10)), ("LA50", self.percentile(0.50)),
                ("LA90", self.percentile(0.90)))
