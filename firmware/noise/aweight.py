# Frequency weighting for the noise meter, from the analytic definition of IEC 61672-1 (A: poles
# at 20.6 Hz (double), 107.7 Hz, 737.9 Hz and 12194 Hz (double), four zeros at 0 Hz; C: the
# 20.6 Hz and 12194 Hz double poles, two zeros), mapped to the sampling rate by the bilinear
# transform pre-warped at 1 kHz, as first-order sections (a high-pass per zero at 0 Hz with its
# pole, a low-pass per remaining pole) normalised to 0 dB at 1 kHz. Each section's pole is far
# from 1 where it matters, so the design is exact enough in a board's float32 and the integer
# filter stays quiet at 20 Hz (a biquad cascade's coefficients cancel in float32: 31.5 Hz read
# -39.65 dB instead of -39.4). The design runs once; the per-sample filter is noise_kernel.py.
import math

F1 = 20.598997
F2 = 107.65265
F3 = 737.86223
F4 = 12194.217


def first_order(fs, kind="A"):
    """[(high_pass, p), ...] -- H(z) = (1+p)/2 (1 - z^-1)/(1 - p z^-1) for a high-pass,
    (1-p)/2 (1 + z^-1)/(1 - p z^-1) for a low-pass -- and the gain that makes 1 kHz read 0 dB."""
    w0 = 2 * math.pi * 1000
    k = w0 / math.tan(w0 / (2 * fs))
    w1, w2, w3, w4 = (2 * math.pi * f for f in (F1, F2, F3, F4))
    if kind == "A":
        poles = ((True, w1), (True, w1), (True, w2), (True, w3), (False, w4), (False, w4))
    elif kind == "C":
        poles = ((True, w1), (True, w1), (False, w4), (False, w4))
    else:
        raise ValueError("weighting must be 'A' or 'C'")
    sections = [(hp, (k - w) / (k + w)) for hp, w in poles]
    return sections, 1 / _first_order_magnitude(sections, 1000, fs)


def _first_order_magnitude(sections, f, fs):
    w = 2 * math.pi * f / fs
    c, s = math.cos(w), -math.sin(w)
    m = 1.0
    for hp, p in sections:
        g = (1 + p) / 2 if hp else (1 - p) / 2
        sign = -1 if hp else 1
        nr, ni = 1 + sign * c, sign * s
        dr, di = 1 - p * c, -p * s
        m *= g * math.sqrt((nr * nr + ni * ni) / (dr * dr + di * di))
    return m


def first_order_db(sections, gain, f, fs):
    """The first-order cascade's level at frequency f, in dB."""
    return 20 * math.log10(gain * _first_order_magnitude(sections, f, fs))


def analytic_a_db(f):
    """A(f) from IEC 61672-1: 20 lg(RA(f)) + 2.00 dB."""
    f2 = f * f
    ra = (F4 * F4 * f2 * f2) / ((f2 + F1 * F1) * math.sqrt((f2 + F2 * F2) * (f2 + F3 * F3))
                                * (f2 + F4 * F4))
    return 20 * math.log10(ra) + 2.00
