# Espressif ESP32-S3-DevKitC-1 v1.1 with an ESP32-S3-WROOM-1 N8R8 (8 MB flash, 8 MB octal PSRAM:
# the GC heap lives in PSRAM). I2C on GPIO8/9, UART1 on GPIO17/18, I2S microphone on
# GPIO4/5/6, the addressable RGB LED on GPIO38, sensor power switched on GPIO10.
BOARD = {
    "name": "esp32s3",
    "title": "Espressif ESP32-S3-DevKitC-1 v1.1 (ESP32-S3-WROOM-1 N8R8)",
    "chip": "esp32s3",
    "target": "esp32",
    "micropython": "ESP32_GENERIC_S3 (SPIRAM_OCT variant)",
    "firmware_offset": 0x0,
    "flash_bytes": 8 * 1024 * 1024,
    "gc_heap_bytes": 2 * 1024 * 1024,
    "i2c": {"i2c0": {"id": 0, "scl": 9, "sda": 8, "freq": 100000}},
    "uart": {"uart1": {"id": 1, "tx": 17, "rx": 18}},
    "i2s": {"i2s0": {"id": 0, "sck": 4, "ws": 5, "sd": 6}},
    "led": {"pin": 38, "kind": "ws2812"},
    "sensor_power": {"pin": 10, "on": 1},
    "sensors": [
        {"driver": "bme280", "bus": "i2c0", "address": 0x76},
        {"driver": "sen5x", "bus": "i2c0", "address": 0x69},
        {"driver": "pms5003", "bus": "uart1"},
        {"driver": "ics43434", "bus": "i2s0", "options": {"rate": 48000}},
    ],
}
