# ESP32-S3 (as on the ESP32-S3-WROOM-1 N8R8 module): which GPIO can do what. Sources: Espressif
# "ESP32-S3 Series Datasheet", sections "Pin Overview" (GPIO0-21 and 26-48; none input only),
# "Strapping Pins" (GPIO0, 3, 45, 46), the SPI flash/PSRAM pins (GPIO26-32, and GPIO33-37 too
# with octal flash or PSRAM, as on the N8R8 module) and "ADC" (ADC2 is not usable while Wi-Fi
# is on); GPIO19/20 carry USB and GPIO43/44 UART0, the console.
CHIP = {
    "name": "esp32s3",
    "gpio": tuple(range(0, 22)) + tuple(range(26, 49)),
    "input_only": (),
    "flash": (26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37),
    "strapping": (0, 3, 45, 46),
    "strapping_ok_for_led": (),
    "adc": tuple(range(1, 11)),  # ADC1
    "adc2": tuple(range(11, 21)),
    "console": (19, 20, 43, 44),  # USB D-/D+ and UART0
    "reserved": (),
    "ids": {"i2c": (0, 1), "uart": (1, 2), "i2s": (0, 1)},
    "routing": "matrix",
    "wdt_max_ms": None,
}
