# Fake `machine` for the MicroPython unix port: the board APIs our firmware uses, backed by fake
# devices that speak the real bus protocols. Put the fakes folder first on MICROPYPATH and the
# firmware imports it as `machine` without knowing it is on a host. One module per peripheral:
# pins, i2c, uart, i2s, system (ADC, WDT, RTC); alloc counts the fakes' own heap.
import sys
import time

import simworld

# what `machine` offers, one module per peripheral
from .alloc import fake_alloc  # noqa: F401
from .i2c import I2C, SoftI2C  # noqa: F401
from .i2s import I2S  # noqa: F401
from .pins import Pin  # noqa: F401
from .system import ADC, RTC, WDT  # noqa: F401
from .uart import UART  # noqa: F401

PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5


def unique_id():
    return simworld.unique_id()


def reset_cause():
    return simworld.reset_cause()


_freq = [240000000]


def freq(hz=None):
    if hz is None:
        return _freq[0]
    _freq[0] = hz


def idle():
    time.sleep_ms(1)


def reset():
    # A board reboots; the simulated one ends its process and lets the launcher boot it again.
    print("machine.reset()")
    sys.exit(simworld.EXIT_RESET)


def soft_reset():
    reset()


def deepsleep(ms=0):
    print("machine.deepsleep(%d)" % ms)
    simworld.note_deepsleep(ms)
    sys.exit(simworld.EXIT_DEEPSLEEP)


def lightsleep(ms=0):
    time.sleep_ms(ms)


def disable_irq():
    return 0


def enable_irq(state=0):
    pass


def time_pulse_us(pin, level, timeout_us=1000000):
    return -2
