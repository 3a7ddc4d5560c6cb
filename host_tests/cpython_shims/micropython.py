"""CPython stand-in for MicroPython's `micropython` module, so pure-logic firmware modules
import unchanged under CPython for hypothesis tests."""


def const(x):
    return x
