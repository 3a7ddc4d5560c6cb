# The A-weighting filter design (firmware/noise/aweight.py: the first-order sections the meter
# runs) against IEC 61672-1, under MicroPython -- on the board VM in float32 too -- and again
# under CPython (host_tests/test_shared_cpython.py). Table values: IEC 61672-1:2002
# Table 2, A-weighting and class 1 acceptance limits at the octave frequencies (as in
# ../shared/reference/standards.md).
import aweight

# Nominal Hz: (A dB, class 1 lower limit dB, class 1 upper limit dB). The standard's exact
# frequencies are 1000 * 10^(n/10) Hz (31.62 Hz for "31.5"); the values refer to those.
IEC_TABLE_2 = {
    31.5: (-39.4, -2.0, 2.0), 63: (-26.2, -1.5, 1.5), 125: (-16.1, -1.5, 1.5),
    250: (-8.6, -1.4, 1.4), 500: (-3.2, -1.4, 1.4), 1000: (0.0, -1.1, 1.1),
    2000: (1.2, -1.6, 1.6), 4000: (1.0, -1.6, 1.6), 8000: (-1.1, -3.1, 2.1),
    16000: (-6.6, -17.0, 3.5),
}
EXACT = {31.5: -15, 63: -12, 125: -9, 250: -6, 500: -3, 1000: 0, 2000: 3, 4000: 6, 8000: 9,
         16000: 12}


def exact(nominal):
    return 1000 * 10 ** (EXACT[nominal] / 10)


def _check(fs):
    sections, gain = aweight.first_order(fs)
    worst = 0
    for f, (nominal, low, high) in IEC_TABLE_2.items():
        f = exact(f)
        if f * 2 ** 0.5 > fs / 2:
            continue  # up to the Nyquist limit: an octave band whose upper edge is past it
        # does not exist at this sampling rate (the 16 kHz octave at 32 kHz, 8 kHz at 16 kHz)
        got = aweight.first_order_db(sections, gain, f, fs)
        dev = got - nominal
        assert low <= dev <= high, (fs, f, got, nominal)
        worst = max(worst, abs(dev))
    return worst


def test_a_weighting_meets_class_1_at_48k():
    _check(48000)


def test_a_weighting_meets_class_1_at_32k_and_16k():
    _check(32000)
    _check(16000)


def test_analytic_definition_reproduces_the_table():
    # the formula itself, against the standard's rounded table values (0.1 dB)
    for f, (nominal, _low, _high) in IEC_TABLE_2.items():
        got = aweight.analytic_a_db(exact(f))
        assert abs(got - nominal) <= 0.05, (f, got)


def test_one_kilohertz_is_0_db_and_low_frequencies_follow_the_analytic_curve():
    sections, gain = aweight.first_order(48000)
    assert abs(aweight.first_order_db(sections, gain, 1000, 48000)) < 1e-5
    for f in (31.5, 63, 125, 250, 500, 2000, 4000):
        got = aweight.first_order_db(sections, gain, f, 48000)
        assert abs(got - aweight.analytic_a_db(f)) < 0.1, (f, got)


# -- levels (firmware/noise/levels.py)
import math  # noqa: E402

import levels  # noqa: E402


def _ms(level_db):
    """A block energy that reads level_db on a meter with offset 0 (energies are integers)."""
    return int(10 ** (level_db / 10))


def test_laeq_is_the_energy_average_of_a_stepping_level():
    lv = levels.Levels(0.01)
    for _ in range(3000):  # 30 s at 60 dB
        lv.add(_ms(60))
    for _ in range(3000):  # 30 s at 80 dB
        lv.add(_ms(80))
    laeq = dict(lv.records())["LAeq"]
    assert abs(laeq - 10 * math.log10((10 ** 6 + 10 ** 8) / 2)) < 0.01, laeq  # 77.03 dB


def test_toneburst_responses_follow_iec_61672_1():
    # IEC 61672-1 toneburst response: delta_ref = 10 lg(1 - exp(-Tb / tau)) for a burst of
    # duration Tb from silence (Table 4: F 200 ms -1.0 dB, F 10 ms -11.1 dB, S 500 ms -4.1 dB,
    # S 200 ms -7.4 dB)
    cases = ((levels.TAU_F, 0.200, -1.0), (levels.TAU_F, 0.010, -11.1),
             (levels.TAU_S, 0.500, -4.1), (levels.TAU_S, 0.200, -7.4))
    for tau, tb, table in cases:
        lv = levels.Levels(0.0005)
        lv.add(0)  # the meter has been in silence
        for _ in range(int(tb / 0.0005 + 0.5)):
            lv.add(_ms(94))
        for _ in range(2000):
            lv.add(0)
        got = dict(lv.records())["LAFmax" if tau == levels.TAU_F else "LASmax"] - 94
        assert abs(got - table) <= 0.1, (tau, tb, got, table)


def test_steady_94_db_reads_94_in_every_statistic():
    lv = levels.Levels(0.01)
    for _ in range(1000):
        lv.add(_ms(94))
    lv.reset()  # past the meter's settling: the time weighting has converged
    for _ in range(6000):
        lv.add(_ms(94))
    for name, value in lv.records():
        assert abs(value - 94.0) <= 0.1, (name, value)


# -- calibration (firmware/noise/calibration.py)
import calibration  # noqa: E402


def test_sensitivity_uses_the_sine_peak_convention():
    # ../shared/reference/sensors.md: S = -26 dBFS, x_rms = 297284 counts -> 94.0 dB SPL
    assert abs(calibration.spl_db(297284, -26) - 94.0) < 0.01
    # the same through the pascal scale: 1 Pa is 94 dB SPL
    pa = 297284 * calibration.pa_per_count(-26)
    assert abs(20 * math.log10(pa / 20e-6) - 94.0) < 0.01
    # a unit 1.3 dB hot on the calibrator gets -1.3 dB of offset, and then reads 94.0
    hot = 297284 * 10 ** (1.3 / 20)
    off = calibration.offset_from_calibrator(hot, -26)
    assert abs(off + 1.3) < 0.01 and abs(calibration.spl_db(hot, -26, off) - 94.0) < 0.01
