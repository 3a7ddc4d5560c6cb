# Espressif ESP32-DevKitC V4 with an ESP32-WROOM-32 (4 MB flash, no PSRAM). I2C on the usual
# GPIO21/22; UART1 moved to GPIO16/17 (its default pins are the module's flash); the I2S
# microphone on GPIO32/25/33; status LED on GPIO2 (a strapping pin that must be low at boot,
# which an LED to ground keeps it).
BOARD = {
    "name": "esp32",
    "title": "Espressif ESP32-DevKitC V4 (ESP32-WROOM-32, 4 MB flash, no PSRAM)",
    "chip": "esp32",
    "target": "esp32",
    "micropython": "ESP32_GENERIC",
    "firmware_offset": 0x1000,
    "flash_bytes": 4 * 1024 * 1024,
    # The GC heap starts at ~56-64 KiB without PSRAM; Wi-Fi and TLS use the IDF heap beside it.
    "gc_heap_bytes": 64 * 1024,
    "i2c": {"i2c0": {"id": 0, "scl": 22, "sda": 21, "freq": 100000}},
    "uart": {"uart1": {"id": 1, "tx": 17, "rx": 16}},
    "i2s": {"i2s0": {"id": 0, "sck": 32, "ws": 25, "sd": 33}},
    "led": {"pin": 2},
    "sensor_power": None,
    "sensors": [
        {"driver": "bme280", "bus": "i2c0", "address": 0x76},
        {"driver": "scd4x", "bus": "i2c0", "address": 0x62},
    ],
}
