# The simulated board: what the host test bed's fake `machine` offers. Same shape as a real
# board's file so the runtime cannot tell the difference.
BOARD = {
    "name": "sim",
    "mcu": "unix",
    "ram_bytes": 131072,
    "i2c": {"i2c0": {"id": 0, "scl": 1, "sda": 0, "freq": 100000}},
    "uart": {"uart1": {"id": 1, "tx": 4, "rx": 5}},
    "i2s": {"i2s0": {"id": 0, "sck": 10, "ws": 11, "sd": 12}},
    "led": None,
}
