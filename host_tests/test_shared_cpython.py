"""The MicroPython-side pure-logic tests (device/mpy_test_codec.py), run again under CPython:
the firmware's pure modules must behave the same on both."""

import inspect

import mpy_test_codec
import pytest

CASES = [f for name, f in inspect.getmembers(mpy_test_codec, inspect.isfunction)
         if name.startswith("test_")]


@pytest.mark.parametrize("case", CASES, ids=lambda f: f.__name__)
def test_same_on_cpython(case) -> None:
    case()
