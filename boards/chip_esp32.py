# ESP32 (as on the ESP32-WROOM-32 module): which GPIO can do what. Sources: Espressif "ESP32
# Series Datasheet", sections "Pin Description" (GPIO34-39 are input only), "Strapping Pins" and
# "Analog-to-Digital Converter" (ADC2 cannot be used while Wi-Fi is on); "ESP32-WROOM-32
# Datasheet", "Pin Definitions" (GPIO6-11 are wired to the module's SPI flash). Peripheral signals go through the GPIO matrix,
# so I2C, UART and I2S may use any GPIO that can drive (or, for inputs, read) the signal.
CHIP = {
    "name": "esp32",
    "gpio": tuple(range(0, 20)) + (21, 22, 23, 25, 26, 27) + tuple(range(32, 40)),
    "input_only": (34, 35, 36, 37, 38, 39),
    "flash": (6, 7, 8, 9, 10, 11),
    "strapping": (0, 2, 5, 12, 15),
    "strapping_ok_for_led": (2,),  # GPIO2 must be low or floating at boot: an LED to GND is
    "adc": (32, 33, 34, 35, 36, 37, 38, 39),  # ADC1 only: ADC2 stops while Wi-Fi runs
    "adc2": (0, 2, 4, 12, 13, 14, 15, 25, 26, 27),
    "console": (1, 3),  # UART0 TX/RX to the USB bridge: the REPL and flashing
    "reserved": (),
    "ids": {"i2c": (0, 1), "uart": (1, 2), "i2s": (0, 1)},
    "routing": "matrix",
    "wdt_max_ms": None,
}
