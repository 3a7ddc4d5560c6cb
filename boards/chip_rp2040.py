# RP2040 (as on the Raspberry Pi Pico W): which GPIO can do what. Sources: Raspberry Pi "RP2040
# Datasheet" section 1.4.3 (GPIO function table: fixed pins for I2C and UART), 4.9 (ADC on
# GPIO26-29), 4.7 (watchdog: 24-bit counter, decremented twice per us by erratum RP2040-E1, so
# at most 8388 ms); "Pico W Datasheet" (GPIO23-25 and 29 belong to the CYW43439 radio, the LED
# hangs off the radio as "LED"). I2S runs on PIO: any pins, but MicroPython's rp2 I2S needs
# ws = sck + 1.
CHIP = {
    "name": "rp2040",
    "gpio": tuple(range(0, 30)),
    "input_only": (),
    "flash": (),  # the flash has its own QSPI pins
    "strapping": (),
    "strapping_ok_for_led": (),
    "adc": (26, 27, 28, 29),
    "adc2": (),
    "console": (),  # the REPL is on USB
    "reserved": (),
    "ids": {"i2c": (0, 1), "uart": (0, 1), "i2s": (0, 1)},
    "routing": "fixed",
    # peripheral function -> pins that can carry it (function F3 / F2 columns)
    "pins": {
        "i2c0.sda": (0, 4, 8, 12, 16, 20, 24, 28), "i2c0.scl": (1, 5, 9, 13, 17, 21, 25, 29),
        "i2c1.sda": (2, 6, 10, 14, 18, 22, 26), "i2c1.scl": (3, 7, 11, 15, 19, 23, 27),
        "uart0.tx": (0, 12, 16, 28), "uart0.rx": (1, 13, 17, 29),
        "uart1.tx": (4, 8, 20, 24), "uart1.rx": (5, 9, 21, 25),
    },
    "i2s_ws_is_sck_plus_1": True,
    "wdt_max_ms": 8388,
}
