# ESP32-DevKitC (ESP32-WROOM-32). I2C on the conventional GPIO 21/22; UART1 remapped to 16/17
# because UART1's default pins are wired to the SPI flash on WROOM modules.
BOARD = {
    "name": "esp32",
    "mcu": "esp32",
    "ram_bytes": 64 * 1024,
    "i2c": {"i2c0": {"id": 0, "scl": 22, "sda": 21, "freq": 100000}},
    "uart": {"uart1": {"id": 1, "tx": 17, "rx": 16}},
    "i2s": {"i2s0": {"id": 0, "sck": 32, "ws": 25, "sd": 33}},
    "led": 2,
}
