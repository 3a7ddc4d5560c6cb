# A fake Sensirion SCD40/SCD41 at 0x62: the datasheet's command set with its execution times,
# power-up delay, state rules (only a few commands while measuring periodically, nothing while
# powered down), data-ready flag, persisted settings, and faults on demand.
import time

from fakesensirion import CommandDevice, nack

# Accepted while measuring periodically (datasheet 3.x, "available during periodic measurement")
_WHILE_MEASURING = (0xEC05, 0x3F86, 0xE4B8, 0xE000)
_DEFAULTS = {"offset": 1498, "altitude": 0, "asc": 1}  # 4 Cel offset (factory), ASC on


class Device(CommandDevice):
    COMMANDS = {
        0x21B1: (0, 0, "start_periodic"),
        0x21AC: (0, 0, "start_low_power"),
        0xEC05: (1, 0, "read_measurement"),
        0x3F86: (500, 0, "stop"),
        0xE4B8: (1, 0, "data_ready"),
        0x241D: (1, 1, "set_offset"),
        0x2318: (1, 0, "get_offset"),
        0x2427: (1, 1, "set_altitude"),
        0x2322: (1, 0, "get_altitude"),
        0xE000: (1, 1, "set_pressure"),
        0x362F: (400, 1, "forced_recalibration"),
        0x2416: (1, 1, "set_asc"),
        0x2313: (1, 0, "get_asc"),
        0x3615: (800, 0, "persist"),
        0x3682: (1, 0, "serial"),
        0x3639: (10000, 0, "self_test"),
        0x3632: (1200, 0, "factory_reset"),
        0x3646: (30, 0, "reinit"),
        0x219D: (5000, 0, "single_shot"),
        0x36E0: (1, 0, "power_down"),
        0x36F6: (30, 0, "wake_up"),
    }

    def __init__(self, env, variant="scd41", serial=(0xF896, 0x9F07, 0x3BB3), time_scale=1.0,
                 powered=True):
        super().__init__(time_scale)
        self.env = env
        self.variant = variant
        self.serial_words = serial
        self.state = "idle"
        self.eeprom = dict(_DEFAULTS)
        self.settings = dict(self.eeprom)
        self.pressure_hpa = None
        self.measured = False  # has it measured since power-up (needed for FRC)
        self.frc_correction = 0
        self.raw_override = None  # (co2, t, rh) words to answer with, e.g. a datasheet example
        self._data = None
        self._next_at = None
        # 1000 ms after power-up before the first command (datasheet 3.1)
        self._busy_until = time.ticks_add(self.now(), 1000 if not powered else 0)

    # -- state rules
    def accepts(self, cmd):
        if self.state == "asleep":
            if cmd == 0x36F6:
                self._wake()
            return False  # wake_up is executed but never acknowledged
        if self.state in ("periodic", "low_power"):
            return cmd in _WHILE_MEASURING
        if cmd == 0x219D:
            return self.variant == "scd41"
        return True

    def _period_ms(self):
        return int((30000 if self.state == "low_power" else 5000) * self.time_scale)

    def _tick(self):
        if self._next_at is not None and time.ticks_diff(self.now(), self._next_at) >= 0:
            self._take_sample()
            self._next_at = time.ticks_add(self._next_at, self._period_ms())

    def _take_sample(self):
        offset_c = 175 * self.settings["offset"] / 65535
        t = self.env.value("temperature") - offset_c
        rh = self.env.value("humidity")
        co2 = int(self.env.value("co2") + self.frc_correction + 0.5)
        if self.raw_override:
            self._data = self.raw_override
            self.measured = True
            return
        if self.fault == "range":
            co2 = 0xFFFF
        self._data = (max(0, min(co2, 0xFFFF)),
                      max(0, min(0xFFFF, int((t + 45) * 65535 / 175 + 0.5))),
                      max(0, min(0xFFFF, int(rh * 65535 / 100 + 0.5))))
        self.measured = True

    # -- commands
    def start_periodic(self):
        self.state = "periodic"
        self._next_at = time.ticks_add(self.now(), self._period_ms())

    def start_low_power(self):
        self.state = "low_power"
        self._next_at = time.ticks_add(self.now(), self._period_ms())

    def stop(self):
        self.state = "idle"
        self._next_at = None

    def data_ready(self):
        self._tick()
        return [0x8006 if self._data else 0x8000]

    def read_measurement(self):
        self._tick()
        if self._data is None:
            nack()  # no new data: the sensor does not acknowledge the read
        data, self._data = self._data, None
        return list(data)

    def set_offset(self, w):
        self.settings["offset"] = w

    def get_offset(self):
        return [self.settings["offset"]]

    def set_altitude(self, w):
        self.settings["altitude"] = w

    def get_altitude(self):
        return [self.settings["altitude"]]

    def set_pressure(self, w):
        self.pressure_hpa = w

    def forced_recalibration(self, target):
        if not self.measured:
            return [0xFFFF]
        correction = target - int(self.env.value("co2") + self.frc_correction + 0.5)
        self.frc_correction += correction
        return [(0x8000 + correction) & 0xFFFF]

    def set_asc(self, w):
        self.settings["asc"] = w

    def get_asc(self):
        return [self.settings["asc"]]

    def persist(self):
        self.eeprom = dict(self.settings)

    def serial(self):
        return list(self.serial_words)

    def self_test(self):
        return [0x0000 if self.fault != "selftest" else 0x0001]

    def factory_reset(self):
        self.eeprom = dict(_DEFAULTS)
        self.settings = dict(_DEFAULTS)
        self.frc_correction = 0

    def reinit(self):
        self.settings = dict(self.eeprom)

    def single_shot(self):
        self._take_sample()

    def power_down(self):
        self.state = "asleep"
        self._data = None

    def wake_up(self):
        pass  # awake already: nothing to do

    def _wake(self):
        self.state = "idle"
        self.settings = dict(self.eeprom)
