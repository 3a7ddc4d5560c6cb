# A fake Sensirion SPS30 at 0x69 (I2C): idle / measuring / sleep states with the datasheet's
# rules, big-endian float output with per-word CRCs, new data every second, the two-step wake-up,
# auto-clean interval, serial, product type and firmware version.
import struct

from fakesensirion import PeriodicDevice

_IN_ANY = (0xD002, 0xD033, 0xD100, 0xD206, 0xD304, 0x8004)
_MEASURING_ONLY = (0x0104, 0x0202, 0x0300, 0x5607)


class Device(PeriodicDevice):
    COMMANDS = {
        0x0010: (20, 1, "start"),
        0x0104: (20, 0, "stop"),
        0x0202: (0, 0, "data_ready"),
        0x0300: (0, 0, "read_values"),
        0x1001: (5, 0, "sleep"),
        0x1103: (5, 0, "wake"),
        0x5607: (5, 0, "fan_clean"),
        0xD002: (0, 0, "product_type"),
        0xD033: (0, 0, "serial"),
        0xD100: (0, 0, "version"),
        0xD206: (5, 0, "status"),
        0xD304: (100, 0, "reset"),
        0x8004: (5, (0, 2), "auto_clean"),  # read with no argument, write with two words
    }

    def __init__(self, env, serial="F4A1E3B0C2D5E6F7", firmware=(2, 2), time_scale=1.0):
        super().__init__(time_scale, empty=[0] * 20)
        self.env = env
        self.serial_text = serial
        self.firmware = firmware
        self.state = "idle"
        self.auto_clean_s = 604800  # factory default: one week
        self.fan_cleanings = 0
        self.raw_override = None  # 40 data bytes to answer with (e.g. a captured reading)
        self._iface_on = True

    def accepts(self, cmd):
        if self.state == "asleep":
            if cmd != 0x1103:
                return False
            if not self._iface_on:  # first wake-up: switches the interface on, no ACK
                self._iface_on = True
                return False
            return True
        if cmd in _IN_ANY or cmd == 0x1103:
            return True
        if cmd in _MEASURING_ONLY:
            return self.state == "measuring"
        return self.state == "idle"  # start, sleep

    def _sample(self):
        if self.raw_override:
            data = bytes(self.raw_override)
        else:
            e = self.env
            pm = [e.value(n) for n in ("pm1", "pm25", "pm4", "pm10")]
            if self.fault == "range":
                pm[1] = 2500.0
            # number concentrations, #/cm3: a plausible urban size distribution
            nc = [pm[0] * 5.1, pm[0] * 6.0, pm[1] * 6.2, pm[2] * 6.3, pm[3] * 6.3]
            data = struct.pack(">10f", *(pm + nc + [0.55]))
        words = []
        for i in range(20):
            words.append((data[2 * i] << 8) | data[2 * i + 1])
        return words

    # -- commands
    def start(self, fmt):
        if fmt != 0x0300:
            return None
        self.state = "measuring"
        self.start_measuring()

    def stop(self):
        self.state = "idle"
        self.stop_measuring()

    def sleep(self):
        if self.firmware[0] < 2:
            return None
        self.state = "asleep"
        self._iface_on = False

    def wake(self):
        if self.state == "asleep":
            self.state = "idle"

    def fan_clean(self):
        self.fan_cleanings += 1

    def auto_clean(self, *words):
        if words:
            self.auto_clean_s = (words[0] << 16) | words[1]
            return None
        return [self.auto_clean_s >> 16, self.auto_clean_s & 0xFFFF]

    def product_type(self):
        return _text_words("00080000", 4)

    def serial(self):
        return _text_words(self.serial_text, 16)

    def version(self):
        return [(self.firmware[0] << 8) | self.firmware[1]]

    def status(self):
        return [0, 0]

    def reset(self):
        self.stop()


def _text_words(text, n):
    raw = text.encode() + bytes(2 * n - len(text))
    return [(raw[2 * i] << 8) | raw[2 * i + 1] for i in range(n)]
