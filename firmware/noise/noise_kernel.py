# The per-sample work of the noise meter: the A-weighting filter and the energy of a block, in
# integer arithmetic that never leaves 32 bits, so the viper code gives the same numbers on the
# ESP32 and RP2040 (32-bit machine words) as on the 64-bit host.
#
# Samples (array 'i', from the microphone driver) hold 4 * sample + BIAS: two fraction bits of
# headroom for the filter's rounding, and a bias that keeps every stored word positive (a 32-bit
# load zero-extends on a 64-bit host). Integer literals stay below 2^30: on a 32-bit port
# anything larger is an object, not a machine word.
#
# The build compiles this file twice: as viper (noise_kernel.mpy) and, with the decorators
# removed, as plain bytecode (noise_kernel_bc.mpy, the fallback). Both give identical results.
import micropython

# Section kinds in `coef`: a first-order high-pass s/(s+w) or low-pass w/(s+w) after the
# bilinear transform (aweight.first_order). coef = [kind, h30] per section, h30 = (1-p)/2 * 2^30.
HIGH_PASS = 0
LOW_PASS = 1


@micropython.viper
def weigh(samples, n: int, coef, nsec: int, state) -> int:
    """Filters samples[0:n] in place through nsec first-order sections. state holds each
    section's previous input and output (+ BIAS). Each output saturates at +-(2^26 - 1), like a
    DSP's accumulator; returns how many samples saturated (0 unless the input is abusive)."""
    x = ptr32(samples)
    c = ptr32(coef)
    st = ptr32(state)
    bias = 1 << 27
    top = (1 << 26) - 1
    clipped = 0
    d = 0
    j = 0
    while j < nsec:
        kind = c[2 * j]
        h = c[2 * j + 1]
        hh = h >> 15  # h = hh * 2^15 + hl; products of 15- and 16-bit halves fit 31 bits
        hl = h & 0x7FFF
        x1 = st[2 * j] - bias
        y1 = st[2 * j + 1] - bias
        for i in range(n):
            xi = x[i] - bias
            if kind == 0:  # y = y1 + d - h (2 y1 + d),  d = x - x1
                d = xi - x1
                v = 2 * y1 + d
            else:  # y = y1 + h (x + x1 - 2 y1)
                v = xi + x1 - 2 * y1
            vh = v >> 15
            vl = v & 0x7FFF
            m = vh * hh + ((vh * hl) >> 15) + ((vl * hh) >> 15)  # (v * h) >> 30
            if kind == 0:
                y = y1 + d - m
            else:
                y = y1 + m
            if y > top:
                y = top
                clipped += 1
            elif y < 0 - top:
                y = 0 - top
                clipped += 1
            x[i] = y + bias
            x1 = xi
            y1 = y
        st[2 * j] = x1 + bias
        st[2 * j + 1] = y1 + bias
        j += 1
    return clipped


@micropython.viper
def energy(samples, n: int, out) -> int:
    """Sum of squares of samples[0:n] (n <= 256) as S * 4^shift, with S < 2^28: out[0] = S,
    out[1] = shift. The shift comes from the block's peak, so quiet blocks are exact."""
    x = ptr32(samples)
    o = ptr32(out)
    bias = 1 << 27
    peak = 0
    for i in range(n):
        v = x[i] - bias
        if v < 0:
            v = 0 - v
        if v > peak:
            peak = v
    shift = 0
    while (peak >> shift) >= 1024:  # 1023^2 * 256 < 2^28
        shift += 1
    total = 0
    for i in range(n):
        v = (x[i] - bias) >> shift
        total += v * v
    o[0] = total
    o[1] = shift
    return total
