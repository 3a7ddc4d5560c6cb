# Sound level statistics of one interval from block energies (sum of squares of A-weighted
# samples): LAeq (energy average), F (125 ms) and S (1 s) exponential time weighting with LAFmax,
# LAFmin and LASmax, LA10/LA50/LA90 from a fixed 0.1 dB histogram of the F level at every block
# (no samples kept), and LZeq from the unweighted energies. IEC 61672-1 definitions.
#
# Energies span 2^0..2^60, and floats would allocate a heap object per operation, so each energy
# is a small-int pair (mantissa in [2^27, 2^28), exponent) in an array: every product and sum
# below stays under 2^30, so nothing allocates per block, on 32-bit ports too. Floats appear only
# when an interval's records are made.
import math
from array import array

from micropython import const

TAU_F = 0.125
TAU_S = 1.0
_LOW = const(1 << 27)
_TOP = const(1 << 28)
_MIN_EXP = const(-80)  # below 2^-53: silence, and keeps the exponent bounded
_BLOCK = const(0)  # slots in the energy array: (mantissa, exponent) pairs
_SUM = const(2)
_F = const(4)
_S = const(6)
_FMAX = const(8)
_FMIN = const(10)
_SMAX = const(12)
_ZSUM = const(14)
_TMP = const(16)
_HIST_LOW_DB = const(20)  # the histogram covers 20..140 dB in 0.1 dB bins; the ends collect
_HIST_BINS = const(1200)  # what falls outside
_LOG10_2_X10_Q10 = const(30825)  # 100 * log10(2) * 2^10 / 10: tenths of a dB per octave, Q10


def _norm(a, i, m, e):
    """a[i], a[i+1] = m * 2^e, normalised (m >= 0, m < 2^30)."""
    if m <= 0:
        a[i] = 0
        a[i + 1] = 0
        return
    while m >= _TOP:
        m >>= 1
        e += 1
    while m < (_LOW >> 8):
        m <<= 8
        e -= 8
    while m < _LOW:
        m <<= 1
        e -= 1
    if e < _MIN_EXP:
        m = e = 0
    a[i] = m
    a[i + 1] = e


def _add(a, i, j):
    """a[i] += a[j]"""
    mj = a[j]
    if not mj:
        return
    mi = a[i]
    if not mi:
        a[i] = mj
        a[i + 1] = a[j + 1]
        return
    d = a[i + 1] - a[j + 1]
    if d >= 0:
        _norm(a, i, mi + (mj >> d if d < 29 else 0), a[i + 1])
    else:
        _norm(a, i, mj + (mi >> -d if d > -29 else 0), a[j + 1])


def _scale(a, i, j, cm, ce):
    """a[i] = a[j] * cm * 2^ce, cm in [2^29, 2^30): four products of 14- and 15-bit halves."""
    m = a[j]
    mh = m >> 14
    ml = m & 0x3FFF
    ch = cm >> 15
    cl = cm & 0x7FFF
    _norm(a, i, mh * ch + ((mh * cl) >> 15) + ((ml * ch) >> 14) + ((ml * cl) >> 29),
          a[j + 1] + ce + 29)


def _greater(a, i, j):
    if not a[i]:
        return False
    if not a[j]:
        return True
    if a[i + 1] != a[j + 1]:
        return a[i + 1] > a[j + 1]
    return a[i] > a[j]


def _copy(a, i, j):
    a[i] = a[j]
    a[i + 1] = a[j + 1]


def constant(k):
    """(cm, ce) with cm * 2^ce = k to 30 bits, cm in [2^29, 2^30)."""
    ce = math.floor(math.log(k, 2)) - 29
    cm = round(k / 2 ** ce)
    if cm >= 1 << 30:
        cm >>= 1
        ce += 1
    return cm, ce


def to_float(a, i):
    return a[i] * 2.0 ** a[i + 1]


class Levels:
    def __init__(self, block_s, offset_db=0.0, z_offset_db=None):
        """block_s: seconds per block. A block of A-weighted energy E reads 10 lg(E) + offset_db
        dB, an unweighted one 10 lg(E) + z_offset_db."""
        self.block_s = block_s
        self.offset_db = offset_db
        self.z_offset_db = offset_db if z_offset_db is None else z_offset_db
        kf = 1 - math.exp(-block_s / TAU_F)  # exponential averaging per block: exact at
        ks = 1 - math.exp(-block_s / TAU_S)  # block ends for a level that steps with blocks
        self._kf, self._kf1 = constant(kf), constant(1 - kf)
        self._ks, self._ks1 = constant(ks), constant(1 - ks)
        # offset in 1/256 of a histogram bin, relative to the bottom of the histogram
        self._off = round((offset_db - _HIST_LOW_DB) * 2560)
        self._log2 = array("H", (round(256 * math.log(1 + i / 256, 2)) for i in range(256)))
        self.e = array("i", bytes(4 * 18))
        self.hist = array("H", bytes(2 * _HIST_BINS))
        self.started = False  # F and S start at the first block's level, not from silence
        self.reset()

    def reset(self):
        """A new interval; the time weighting keeps its state, as a meter's does."""
        h = self.hist
        for i in range(len(h)):
            h[i] = 0
        e = self.e
        for i in (_SUM, _SUM + 1, _ZSUM, _ZSUM + 1):
            e[i] = 0
        _copy(e, _FMAX, _F)  # F and S carry on
        _copy(e, _FMIN, _F)
        _copy(e, _SMAX, _S)
        self.blocks = 0
        self.clipped = 0

    def add(self, m, exp=0, zm=0, zexp=0):
        """One block: A-weighted energy m * 2^exp and, for LZeq, unweighted zm * 2^zexp."""
        e = self.e
        _norm(e, _BLOCK, m, exp)
        _add(e, _SUM, _BLOCK)
        if zm:
            _norm(e, _TMP, zm, zexp)
            _add(e, _ZSUM, _TMP)
        self.blocks += 1
        if not self.started:
            self.started = True
            _copy(e, _F, _BLOCK)
            _copy(e, _S, _BLOCK)
            _copy(e, _FMIN, _BLOCK)
        else:
            km, ke = self._kf1
            _scale(e, _F, _F, km, ke)  # F = F (1 - kF) + E kF
            km, ke = self._kf
            _scale(e, _TMP, _BLOCK, km, ke)
            _add(e, _F, _TMP)
            km, ke = self._ks1
            _scale(e, _S, _S, km, ke)
            km, ke = self._ks
            _scale(e, _TMP, _BLOCK, km, ke)
            _add(e, _S, _TMP)
        if _greater(e, _F, _FMAX):
            _copy(e, _FMAX, _F)
        if _greater(e, _FMIN, _F) or not e[_FMIN]:
            _copy(e, _FMIN, _F)
        if _greater(e, _S, _SMAX):
            _copy(e, _SMAX, _S)
        self._count(e[_F], e[_F + 1])

    def _count(self, m, exp):
        if m:  # log2(E) in 1/256: exponent and the mantissa's top 8 fraction bits by table
            log2q8 = (exp + 27) * 256 + self._log2[(m >> 19) - 256]
            i = ((log2q8 * _LOG10_2_X10_Q10 >> 10) + self._off) >> 8
        else:
            i = 0
        i = 0 if i < 0 else (_HIST_BINS - 1 if i >= _HIST_BINS else i)
        if self.hist[i] < 65535:
            self.hist[i] += 1

    def _db(self, slot, divide=1, offset=None):
        """dB of an energy; 0.0 for silence (a reading must be a finite number)."""
        v = to_float(self.e, slot)
        db = 10 * math.log10(v / divide) + (self.offset_db if offset is None else offset) \
            if v > 0 else 0.0
        return db if db > 0 else 0.0

    def percentile(self, exceeded):
        """The level exceeded `exceeded` (0..1) of the interval: LA10 is percentile(0.10)."""
        target = self.blocks * exceeded
        seen = 0
        for i in range(_HIST_BINS - 1, -1, -1):
            seen += self.hist[i]
            if seen > target:
                return _HIST_LOW_DB + (i + 0.5) / 10
        return float(_HIST_LOW_DB)

    def records(self):
        """(name, dB) of the interval, the wire contract's names; None when nothing came."""
        if not self.blocks:
            return None
        out = [("LAeq", self._db(_SUM, self.blocks)), ("LAFmax", self._db(_FMAX)),
               ("LAFmin", self._db(_FMIN)), ("LASmax", self._db(_SMAX)),
               ("LA10", self.percentile(0.10)), ("LA50", self.percentile(0.50)),
               ("LA90", self.percentile(0.90))]
        if self.e[_ZSUM]:
            out.append(("LZeq", self._db(_ZSUM, self.blocks, self.z_offset_db)))
        return out
