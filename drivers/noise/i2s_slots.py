# The microphone driver's per-sample step: 24-bit samples out of 32-bit I2S slots, DC removed,
# into the runtime's sample format (4 * sample + 2^27, see firmware/noise/noise_kernel.py). Viper
# here; the build also makes a bytecode copy (i2s_slots_bc) that gives identical results.
import micropython


@micropython.viper
def to_samples(slots, nbytes: int, samples, dc: int) -> int:
    """slots: little-endian 32-bit words, the sample in the top 24 bits (two's complement).
    Writes nbytes // 4 samples (at most 256) minus `dc`, clamped to +-2^24; returns the sum of
    the raw samples / 8 (for the driver's DC estimate; fits a small int)."""
    b = ptr8(slots)
    x = ptr32(samples)
    bias = 1 << 27
    top = 1 << 24
    total = 0
    n = nbytes >> 2
    for i in range(n):
        k = i << 2
        s = b[k + 1] | (b[k + 2] << 8) | (b[k + 3] << 16)
        s = (s ^ 0x800000) - 0x800000  # sign-extend 24 bits, the same on 32- and 64-bit words
        total += s >> 3
        v = s - dc
        if v > top:
            v = top
        elif v < 0 - top:
            v = 0 - top
        x[i] = (v << 2) + bias
    return total
