# From microphone counts to sound pressure. A MEMS microphone's sensitivity is given in dBFS
# for 94 dB SPL (1 Pa) at 1 kHz, where dBFS refers to the PEAK of a full-scale sine: a sine
# whose RMS is x_rms has a peak of sqrt(2) x_rms. Forgetting that reads 3.01 dB low.
# The per-unit offset comes from a 94 dB, 1 kHz calibrator (README, noise calibration).
import math

FULL_SCALE_24 = (1 << 23) - 1
P_94DB = 20e-6 * 10 ** (94 / 20)  # 1.0024 Pa: "94 dB SPL (1 Pa)" rounds it


def pa_per_count(sensitivity_dbfs, offset_db=0.0, full_scale=FULL_SCALE_24):
    """Pascal per count of RMS: 94 dB SPL gives a sine whose peak is 10^(S/20) of full
    scale, i.e. an RMS of that over sqrt(2)."""
    peak_at_94 = full_scale * 10 ** (sensitivity_dbfs / 20)
    return math.sqrt(2) / peak_at_94 * P_94DB * 10 ** (offset_db / 20)


def spl_db(x_rms, sensitivity_dbfs, offset_db=0.0, full_scale=FULL_SCALE_24):
    """dB SPL of a signal with RMS x_rms counts: 94 - S + 20 lg(sqrt(2) x_rms / full scale)."""
    return 94 - sensitivity_dbfs + offset_db + \
        20 * math.log10(math.sqrt(2) * x_rms / full_scale)


def offset_from_calibrator(x_rms, sensitivity_dbfs, calibrator_db=94.0):
    """The per-unit offset that makes a calibrator tone read its nominal level."""
    return calibrator_db - spl_db(x_rms, sensitivity_dbfs)
