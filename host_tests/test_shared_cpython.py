"""The MicroPython-side pure-logic tests (device/mpy_test_codec.py, mpy_test_outbox.py,
mpy_test_weighting.py), run
again under CPython: the firmware's pure modules must behave the same on both."""

import inspect

import mpy_test_codec
import mpy_test_outbox
import mpy_test_weighting
import pytest

CASES = [f for mod in (mpy_test_codec, mpy_test_outbox, mpy_test_weighting)
         for name, f in inspect.getmembers(mod, inspect.isfunction) if name.startswith("test_")]


@pytest.mark.parametrize("case", CASES, ids=lambda f: f.__name__)
def test_same_on_cpython(case) -> None:
    case()
