# The noise meter's signal path for one stream of blocks: A-weighting
# (firmware/noise/noise_kernel.py, integer, viper or its bytecode twin), block energies and the
# interval statistics (firmware/noise/levels.py). Calibration turns energies into dB SPL. Pure
# logic: the samples come from the microphone driver, or from a file in `stadsnod noise analyze`.
import math
from array import array

import aweight
import calibration
from levels import Levels

BIAS = 1 << 27  # the sample format's bias (noise_kernel.py)
P0 = 20e-6


def offsets_db(pa_per_count, weighting_gain, block):
    """(A, Z) dB offsets: energies are sums over `block` samples of (4 counts)^2, and the
    integer filter leaves the 1 kHz normalisation (weighting_gain) to this constant."""
    z = 10 * math.log10(pa_per_count * pa_per_count / (16 * block) / (P0 * P0))
    return z + 20 * math.log10(weighting_gain), z


class NoiseMeter:
    def __init__(self, rate, block, sensitivity_dbfs=-26.0, offset_db=0.0, kernel="viper"):
        self.rate = rate
        self.block = block
        self.kernel = kernel
        k = __import__("noise_kernel" if kernel == "viper" else "noise_kernel_bc")
        self._weigh = k.weigh
        self._energy = k.energy
        sections, gain = aweight.first_order(rate, "A")
        self.nsec = len(sections)
        coef = []
        for high_pass, p in sections:
            coef.append(0 if high_pass else 1)
            coef.append(round((1 - p) / 2 * (1 << 30)))
        self.coef = array("i", coef)
        self.state = array("i", [BIAS] * (2 * self.nsec))
        self.samples = array("i", [BIAS] * block)  # the only audio on the node: one block
        self._out = array("i", (0, 0))
        a_db, z_db = offsets_db(calibration.pa_per_count(sensitivity_dbfs, offset_db), gain,
                                block)
        self.levels = Levels(block / rate, a_db, z_db)
        self._settling = rate // (10 * block)  # 100 ms for the 20 Hz poles to settle
        self.clipped = 0  # samples the filter saturated (overload)
        self.silent = 0  # blocks with no signal at all this interval (a dead microphone)

    def process(self, n):
        """Takes samples[0:n] (n == block for exact levels); allocates nothing."""
        s = self.samples
        out = self._out
        if self._settling:  # the filter's start: run it, do not count it
            self._settling -= 1
            self._weigh(s, n, self.coef, self.nsec, self.state)
            return
        zs = self._energy(s, n, out)
        zshift = out[1]
        self.clipped += self._weigh(s, n, self.coef, self.nsec, self.state)
        a = self._energy(s, n, out)
        if out[1] == 0 and a < (n << 14):  # A-weighted rms under 32 counts (-108 dBFS): no
            self.silent += 1  # microphone is that quiet (ICS-43434 self-noise: about -91 dBFS)
        self.levels.add(a, 2 * out[1], zs, 2 * zshift)

    def settling_blocks(self):
        """Blocks still to come before the levels count (the filter's start)."""
        return self._settling

    def interval(self):
        """The interval's records [(name, dB)] (None if no block came), and a new interval."""
        r = self.levels.records()
        self.levels.reset()
        self.silent = 0
        return r
