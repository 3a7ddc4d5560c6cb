# Raspberry Pi Pico W (RP2040). I2C0 on GP4/GP5; I2S on PIO needs ws = sck + 1.
BOARD = {
    "name": "picow",
    "mcu": "rp2040",
    "ram_bytes": 200 * 1024,
    "i2c": {"i2c0": {"id": 0, "scl": 5, "sda": 4, "freq": 100000}},
    "uart": {"uart1": {"id": 1, "tx": 8, "rx": 9}},
    "i2s": {"i2s0": {"id": 0, "sck": 16, "ws": 17, "sd": 18}},
    "led": "LED",
    # RP2040 watchdog: 24-bit count-down decremented twice per us (erratum RP2040-E1), so at
    # most 8388 ms, the limit MicroPython's rp2 machine.WDT documents
    "wdt_max_ms": 8388,
}
