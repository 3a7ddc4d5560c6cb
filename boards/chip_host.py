# The simulated chip of the host board: 64 GPIO, no restrictions (the fakes stand behind them).
CHIP = {
    "name": "host",
    "gpio": tuple(range(0, 64)),
    "input_only": (),
    "flash": (),
    "strapping": (),
    "strapping_ok_for_led": (),
    "adc": tuple(range(0, 64)),
    "adc2": (),
    "console": (),
    "reserved": (),
    "ids": {"i2c": (0, 1), "uart": (0, 1, 2), "i2s": (0, 1)},
    "routing": "matrix",
    "wdt_max_ms": None,
}
