# Espressif ESP32-DevKitC V4 with an ESP32-WROOM-32 (4 MB flash, no PSRAM): the small weather
# node (a BME280). Without PSRAM the heap has room for the runtime and one sensor family;
# CO2, PM and noise nodes use the ESP32-S3 or the Pico W (make bench: heap_headroom_bytes_*).
# I2C on the usual GPIO21/22; UART1 moved to GPIO16/17 (its default pins are the module's
# flash); the I2S microphone on GPIO32/25/33; status LED on GPIO2 (a strapping pin that must be
# low at boot, which an LED to ground keeps it).
BOARD = {
    "name": "esp32",
    "title": "Espressif ESP32-DevKitC V4 (ESP32-WROOM-32, 4 MB flash, no PSRAM)",
    "chip": "esp32",
    "target": "esp32",
    "micropython": "ESP32_GENERIC",
    "firmware_offset": 0x1000,
    "flash_bytes": 4 * 1024 * 1024,
    # Without PSRAM the GC heap starts at 64 KiB and grows once to 111936 bytes, leaving ~40 KB
    # of IDF heap for Wi-Fi and TLS (MicroPython PR #13219, esp32 MICROPY_GC_INITIAL_HEAP_SIZE).
    "gc_heap_bytes": 111936,
    "i2c": {"i2c0": {"id": 0, "scl": 22, "sda": 21, "freq": 100000}},
    "uart": {"uart1": {"id": 1, "tx": 17, "rx": 16}},
    "i2s": {"i2s0": {"id": 0, "sck": 32, "ws": 25, "sd": 33}},
    "led": {"pin": 2},
    "sensor_power": None,
    "sensors": [
        {"driver": "bme280", "bus": "i2c0", "address": 0x76},
    ],
}
