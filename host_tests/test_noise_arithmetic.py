"""The noise path's integer arithmetic fits the machines it runs on (hypothesis, CPython).

The viper kernels compute in machine words: 32 bits on the ESP32 and RP2040, 64 on the host.
They give the same numbers everywhere only if no intermediate ever needs more than 32 bits, and
the bytecode fallback (plain Python ints) gives the same numbers only under the same condition.
Likewise levels.py promises no allocation per block, which on a 32-bit port means every
integer stays a small int (|v| < 2^30). These tests run the very sources (the build's
bytecode copies of the kernels, levels.py) with every arithmetic result checked against those
bounds, over worst-case and random inputs, and compare the integer filter with the
double-precision design it implements."""

from __future__ import annotations

import ast
import math
import types
from array import array
from pathlib import Path

import aweight
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stadsnod.core.build import bytecode_fallback

ROOT = Path(__file__).resolve().parents[1]
WORD = 1 << 31  # a signed 32-bit machine word: [-2^31, 2^31)
SMALL = 1 << 30  # a MicroPython small int on a 32-bit port: [-2^30, 2^30)
BIAS = 1 << 27


class Overflow(AssertionError):
    pass


class _Checked(ast.NodeTransformer):
    """Wraps every binary operation (and augmented assignment) in a bounds check."""

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        return ast.copy_location(
            ast.Call(ast.Name("_fits", ast.Load()), [node], []), node)

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        self.generic_visit(node)
        load = ast.parse(ast.unparse(node.target), mode="eval").body
        value = ast.Call(ast.Name("_fits", ast.Load()),
                         [ast.BinOp(load, node.op, node.value)], [])
        return ast.copy_location(ast.Assign([node.target], value), node)


def checked_module(path: Path, bound: int) -> types.ModuleType:
    tree = ast.fix_missing_locations(_Checked().visit(ast.parse(path.read_text())))
    mod = types.ModuleType(path.stem + "_checked")

    def fits(v):
        if mod.checking and type(v) is int and not -bound <= v < bound:
            raise Overflow(f"{v} needs more than {bound.bit_length()} bits")
        return v

    mod.__dict__["_fits"] = fits
    mod.checking = True
    exec(compile(tree, str(path), "exec"), mod.__dict__)
    return mod


KERNEL = checked_module(bytecode_fallback(ROOT / "firmware" / "noise" / "noise_kernel.py"), WORD)
SLOTS = checked_module(bytecode_fallback(ROOT / "drivers" / "noise" / "i2s_slots.py"), WORD)
LEVELS = checked_module(ROOT / "firmware" / "noise" / "levels.py", SMALL)
RATES = (16000, 32000, 44100, 48000)


def _coef(rate: int) -> tuple[array, int]:
    sections, _gain = aweight.first_order(rate)
    c = []
    for high_pass, p in sections:
        c += [0 if high_pass else 1, round((1 - p) / 2 * (1 << 30))]
    return array("i", c), len(sections)


def _slots(values: list[int]) -> bytearray:
    """24-bit samples in 32-bit I2S slots, as the microphone sends them."""
    out = bytearray()
    for v in values:
        out += ((v << 8) & 0xFFFFFFFF).to_bytes(4, "little")
    return out


def _run(values: list[int], rate: int, dc: int = 0) -> tuple[list[int], int]:
    """The driver's conversion and the A-weighting, checked; weighted samples and clip count."""
    coef, nsec = _coef(rate)
    state = array("i", [BIAS] * (2 * nsec))
    out: list[int] = []
    clipped = 0
    for start in range(0, len(values), 256):
        chunk = values[start:start + 256]
        x = array("i", [0] * len(chunk))
        SLOTS.to_samples(_slots(chunk), 4 * len(chunk), x, dc)
        clipped += KERNEL.weigh(x, len(chunk), coef, nsec, state)
        e = array("i", [0, 0])
        KERNEL.energy(x, len(chunk), e)
        assert 0 <= e[0] < 1 << 28
        out += [v - BIAS for v in x]
    return out, clipped


FULL = (1 << 23) - 1
samples24 = st.integers(-(1 << 23), FULL)


def test_worst_case_inputs_stay_in_32_bits() -> None:
    # full-scale squares at the Nyquist limit, at low frequency (the high-passes' overshoot),
    # a full-scale step, and a DC estimate at the opposite rail (the driver's clamp)
    for rate in RATES:
        nyquist = [FULL if i % 2 else -(1 << 23) for i in range(2048)]
        slow = [FULL if (i // 400) % 2 else -(1 << 23) for i in range(4096)]
        step = [0] * 300 + [FULL] * 3000
        for signal in (nyquist, slow, step):
            _run(signal, rate)
            _run(signal, rate, dc=-(1 << 23))


@settings(max_examples=60, deadline=None)
@given(st.lists(samples24, min_size=1, max_size=1200), st.sampled_from(RATES),
       st.integers(-(1 << 23), FULL))
def test_any_input_stays_in_32_bits(values: list[int], rate: int, dc: int) -> None:
    _run(values, rate, dc)


def test_integer_filter_follows_its_double_precision_design() -> None:
    # a tone at -20 dBFS through both: the integer output tracks the float cascade to within
    # a few counts (of 4 per sample) where the signal is thousands of times larger
    for rate in RATES:
        sections, _gain = aweight.first_order(rate)
        for f in (31.62, 1000.0, 0.3 * rate):
            values = [round(0.1 * FULL * math.sin(2 * math.pi * f * n / rate))
                      for n in range(rate // 4)]
            got, clipped = _run(values, rate)
            assert clipped == 0
            ref = [4.0 * v for v in values]
            for high_pass, p in sections:
                x1 = y1 = 0.0
                out = []
                for x in ref:
                    g = (1 + p) / 2 if high_pass else (1 - p) / 2
                    y = p * y1 + g * (x - x1 if high_pass else x + x1)
                    out.append(y)
                    x1, y1 = x, y
                ref = out
            err = max(abs(a - b) for a, b in zip(got, ref, strict=True))
            peak = max(abs(v) for v in ref)
            assert err < 64 and err < peak * 1e-3, (rate, f, err, peak)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, (1 << 28) - 1), st.integers(0, 32)), min_size=1,
                max_size=300),
       st.sampled_from([1 / 200, 1 / 100, 0.0005]), st.floats(-60, 60))
def test_levels_arithmetic_stays_in_small_ints(blocks, block_s: float, offset: float) -> None:
    # block energies as the kernel delivers them: S < 2^28 at an even power of two up to 2^32,
    # and silence; the interval records are made with floats, outside the per-block path
    LEVELS.checking = False  # set-up may use big numbers and floats: it runs once
    lv = LEVELS.Levels(block_s, offset)
    LEVELS.checking = True
    for s, shift in blocks:
        lv.add(s, 2 * shift, s, 2 * shift)
    lv.reset()
    for s, shift in blocks:
        lv.add(s, 2 * shift)
    for _ in range(5000):  # a long silence: the time weighting decays to zero, not below
        lv.add(0)
    assert lv.blocks == len(blocks) + 5000


def test_a_checked_overflow_is_caught() -> None:
    # the checker itself: a product that needs 33 bits must fail
    src = ROOT / "build" / "gen" / "overflow_probe.py"
    src.write_text("def f(a, b):\n    return a * b\n")
    with pytest.raises(Overflow):
        checked_module(src, WORD).f(1 << 16, 1 << 16)
