# Raspberry Pi Pico W (RP2040, 2 MB flash). I2C0 on GP4/GP5, UART1 on GP8/GP9 (both fixed-
# function pins of the RP2040), I2S microphone on PIO with sck GP16 and ws GP17 (= sck + 1),
# data GP18; the LED sits on the radio chip ("LED").
BOARD = {
    "name": "picow",
    "title": "Raspberry Pi Pico W (RP2040, 2 MB flash)",
    "chip": "rp2040",
    "target": "rp2",
    "micropython": "RPI_PICO_W",
    "firmware_offset": None,  # UF2 copied to the BOOTSEL drive
    "flash_bytes": 2 * 1024 * 1024,
    # ~200 KB GC heap, from which mbedTLS also allocates on this port
    "gc_heap_bytes": 192 * 1024,
    "reserved": (23, 24, 25, 29),  # GP23-25 and GP29 belong to the CYW43439 radio
    "i2c": {"i2c0": {"id": 0, "scl": 5, "sda": 4, "freq": 100000}},
    "uart": {"uart1": {"id": 1, "tx": 8, "rx": 9}},
    "i2s": {"i2s0": {"id": 0, "sck": 16, "ws": 17, "sd": 18}},
    "led": {"pin": "LED"},
    "sensor_power": None,
    "sensors": [
        {"driver": "bme280", "bus": "i2c0", "address": 0x76},
        {"driver": "sps30", "bus": "i2c0", "address": 0x69},
    ],
}
