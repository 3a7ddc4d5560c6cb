# The status LED a board file names: a plain pin (active high) or one WS2812 pixel (the
# ESP32-S3 DevKitC's RGB LED). Used to identify a node on a street of identical ones.
import machine


class StatusLED:
    def __init__(self, spec):
        self._pin = machine.Pin(spec["pin"], machine.Pin.OUT)
        self._pixel = None
        if spec.get("kind") == "ws2812":
            import neopixel

            self._pixel = neopixel.NeoPixel(self._pin, 1)

    def set(self, on):
        if self._pixel is not None:
            self._pixel[0] = (0, 32, 0) if on else (0, 0, 0)
            self._pixel.write()
        else:
            self._pin.value(1 if on else 0)
