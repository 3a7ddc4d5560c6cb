# A fake Sensirion SEN5x (SEN50/SEN54/SEN55) at 0x69: idle / measuring, new values every second,
# scaled integer words with CRCs, and the datasheet's "no value yet" markers: everything before
# the first measurement, NOx for its first ~10 s, and what the variant does not measure.
import time

from fakesensirion import PeriodicDevice
from fake_sps30 import _text_words

_NO_U16 = 0xFFFF
_NO_I16 = 0x7FFF


class Device(PeriodicDevice):
    COMMANDS = {
        0x0021: (50, 0, "start"),
        0x0104: (200, 0, "stop"),
        0x0202: (20, 0, "data_ready"),
        0x03C4: (20, 0, "read_values"),
        0x5607: (20, 0, "fan_clean"),
        0xD014: (20, 0, "product_name"),
        0xD033: (20, 0, "serial"),
        0xD100: (20, 0, "version"),
        0xD206: (20, 0, "status"),
        0xD304: (100, 0, "reset"),
    }

    def __init__(self, env, variant="SEN55", serial="E1A2B3C4D5E6F708", time_scale=1.0):
        super().__init__(time_scale, empty=[_NO_U16] * 4 + [_NO_I16] * 4)
        self.env = env
        self.variant = variant
        self.serial_text = serial
        self.measuring = False
        self.raw_override = None  # eight words to answer with
        self._started = None

    def accepts(self, cmd):
        if cmd in (0x0104, 0x5607):
            return self.measuring
        if cmd == 0x0021:
            return not self.measuring
        return True

    def _sample(self):
        if self.raw_override:
            return list(self.raw_override)
        e = self.env
        pm = [int(e.value(n) * 10 + 0.5) for n in ("pm1", "pm25", "pm4", "pm10")]
        if self.fault == "range":
            pm[1] = 20000
        words = pm + [_NO_I16] * 4
        if self.variant != "SEN50":
            words[4] = int(e.value("humidity") * 100 + 0.5) & 0xFFFF
            words[5] = int(e.value("temperature") * 200 + 0.5) & 0xFFFF
            words[6] = int(e.value("voc_index") * 10 + 0.5) & 0xFFFF
        up_ms = time.ticks_diff(self.now(), self._started)
        if self.variant == "SEN55" and up_ms >= 10000 * self.time_scale:
            words[7] = int(e.value("nox_index") * 10 + 0.5) & 0xFFFF
        return words

    def start(self):
        self.measuring = True
        self._started = self.now()
        self.start_measuring()

    def stop(self):
        self.measuring = False
        self.stop_measuring()

    def fan_clean(self):
        pass

    def product_name(self):
        return _text_words(self.variant, 16)

    def serial(self):
        return _text_words(self.serial_text, 16)

    def version(self):
        return [0x0200]

    def status(self):
        return [0, 0]

    def reset(self):
        self.stop()
        self._last = [_NO_U16] * 4 + [_NO_I16] * 4
