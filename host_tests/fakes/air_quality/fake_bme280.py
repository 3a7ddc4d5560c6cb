# A fake Bosch BME280/BMP280 that answers I2C like the chip: register map, calibration NVM,
# chip id, soft reset, forced/normal mode with the datasheet's conversion time on the status bit,
# data registers shadowed during a conversion and 0x80000 before the first one.
# Raw ADC values are made from physical values by inverting Bosch's double-precision formulas
# (datasheet 8.1) -- a different path from the driver's integer one, so the two check each other.
import struct
import time

from fakedev import I2CRegisterDevice

# Bosch BMP280 datasheet 3.12 example trimming (T and P); humidity trimming as read from a BME280.
DATASHEET_CALIB = {
    "T1": 27504, "T2": 26435, "T3": -1000,
    "P1": 36477, "P2": -10685, "P3": 3024, "P4": 2855, "P5": 140, "P6": -7, "P7": 15500,
    "P8": -14600, "P9": 6000,
    "H1": 75, "H2": 362, "H3": 0, "H4": 313, "H5": 50, "H6": 30,
}

_OSRS = (0, 1, 2, 4, 8, 16, 16, 16)
_IIR = (0, 2, 4, 8, 16, 16, 16, 16)
_STANDBY_MS = {0x60: (0.5, 62.5, 125, 250, 500, 1000, 10, 20),
               0x58: (0.5, 62.5, 125, 250, 500, 1000, 2000, 4000)}


def _bisect(f, target, lo, hi, increasing=True):
    while lo < hi:
        mid = (lo + hi) // 2
        if (f(mid) < target) == increasing:
            lo = mid + 1
        else:
            hi = mid
    return lo


class Device(I2CRegisterDevice):
    def __init__(self, env, chip_id=0x60, calib=None):
        super().__init__()
        self.env = env
        self.chip_id = chip_id
        self.c = dict(DATASHEET_CALIB)
        if calib:
            self.c.update(calib)
        self.raw_override = None  # (adc_t, adc_p, adc_h) to answer with exact datasheet values
        self.conversions = 0
        self._busy_until = None
        self._nvm_until = None
        self._load_nvm()
        self._reset_registers()

    # -- chip state
    def _load_nvm(self):
        c = self.c
        self.regs[0x88:0xA0] = struct.pack(
            "<HhhHhhhhhhhh", c["T1"], c["T2"], c["T3"], c["P1"], c["P2"], c["P3"], c["P4"],
            c["P5"], c["P6"], c["P7"], c["P8"], c["P9"])
        self.regs[0xD0] = self.chip_id
        if self.chip_id == 0x60:
            self.regs[0xA1] = c["H1"]
            self.regs[0xE1:0xE3] = struct.pack("<h", c["H2"])
            self.regs[0xE3] = c["H3"]
            self.regs[0xE4] = (c["H4"] >> 4) & 0xFF
            self.regs[0xE5] = (c["H4"] & 0x0F) | ((c["H5"] & 0x0F) << 4)
            self.regs[0xE6] = (c["H5"] >> 4) & 0xFF
            self.regs[0xE7] = c["H6"] & 0xFF

    def _reset_registers(self):
        for r in (0xF2, 0xF3, 0xF4, 0xF5):
            self.regs[r] = 0
        # Reset values of the data registers: 0x80 0x00 0x00 (press, temp), 0x80 0x00 (hum)
        self.regs[0xF7:0xFF] = b"\x80\x00\x00\x80\x00\x00\x80\x00"
        self._hum_latched = 0
        self._filtered = None  # IIR filter memory (T, P), cleared by a reset

    def write_register(self, reg, value):
        if reg == 0xE0:
            if value == 0xB6:  # soft reset: registers back to defaults, NVM copied again
                self._reset_registers()
                self._nvm_until = time.ticks_add(time.ticks_ms(), 2)
            return
        if reg in (0xF2, 0xF4, 0xF5):
            if reg == 0xF5 and self.regs[0xF4] & 3 == 3:
                return  # writes to config in normal mode may be ignored (datasheet 5.4.6)
            self.regs[reg] = value
            if reg == 0xF2:
                return  # ctrl_hum only takes effect at the next ctrl_meas write (datasheet 5.4.3)
            if reg == 0xF4:
                self._hum_latched = self.regs[0xF2] & 7
                if value & 3:
                    self._start_conversion()

    def _conversion_ms(self):
        # Datasheet 9.1, maximum: 1.25 + 2.3*T + (2.3*P + 0.575) + (2.3*H + 0.575) ms
        meas = self.regs[0xF4]
        t, p, h = _OSRS[meas >> 5], _OSRS[(meas >> 2) & 7], _OSRS[self._hum_latched]
        ms = 1.25 + 2.3 * t + (2.3 * p + 0.575 if p else 0) + (2.3 * h + 0.575 if h else 0)
        return int(ms + 0.999)

    def _start_conversion(self):
        self._busy_until = time.ticks_add(time.ticks_ms(), self._conversion_ms())

    def _update(self):
        now = time.ticks_ms()
        if self._nvm_until is not None and time.ticks_diff(now, self._nvm_until) >= 0:
            self._nvm_until = None
        # catch up on every conversion that ended since the last bus access
        while self._busy_until is not None and time.ticks_diff(now, self._busy_until) >= 0:
            done, self._busy_until = self._busy_until, None
            self._finish_conversion()
            if self.regs[0xF4] & 3 == 3:  # normal mode: the next one after the standby time
                standby = _STANDBY_MS[self.chip_id][self.regs[0xF5] >> 5]
                self._busy_until = time.ticks_add(done, int(standby + 0.5) + self._conversion_ms())
            else:  # forced mode ends in sleep mode
                self.regs[0xF4] &= 0xFC

    def _finish_conversion(self):
        meas = self.regs[0xF4]
        adc_t, adc_p, adc_h = self.raw_override or self.adc_from_physical(
            self.env.value("temperature"), self.env.value("pressure"),
            self.env.value("humidity"))
        if not self.raw_override:
            adc_t, adc_p = self._filter_and_resolution(adc_t, adc_p, meas)
        if not meas >> 5:
            adc_t = 0x80000
        if not (meas >> 2) & 7:
            adc_p = 0x80000
        r = self.regs
        r[0xF7], r[0xF8], r[0xF9] = adc_p >> 12, (adc_p >> 4) & 0xFF, (adc_p & 0xF) << 4
        r[0xFA], r[0xFB], r[0xFC] = adc_t >> 12, (adc_t >> 4) & 0xFF, (adc_t & 0xF) << 4
        if self.chip_id == 0x60:
            if not self._hum_latched:
                adc_h = 0x8000
            r[0xFD], r[0xFE] = adc_h >> 8, adc_h & 0xFF
        self.conversions += 1

    def _filter_and_resolution(self, adc_t, adc_p, meas):
        """IIR filter (datasheet 3.4.4: x = (x_prev * (c - 1) + x_new) / c), and without it a
        resolution of 16 + (osrs code - 1) bits (3.4.3): the low bits read 0."""
        c = _IIR[(self.regs[0xF5] >> 2) & 7]
        if c:
            if self._filtered is None:
                self._filtered = (adc_t, adc_p)
            ft, fp = self._filtered
            self._filtered = ((ft * (c - 1) + adc_t) // c, (fp * (c - 1) + adc_p) // c)
            return self._filtered
        out = []
        for adc, code in ((adc_t, meas >> 5), (adc_p, (meas >> 2) & 7)):
            bits = 16 + min(code, 5) - 1 if code else 20
            out.append(adc >> (20 - bits) << (20 - bits))
        return out

    def before_read(self, reg, n):
        self._update()
        status = 0
        if self._busy_until is not None:
            status |= 0x08
        if self._nvm_until is not None:
            status |= 0x01
        self.regs[0xF3] = status

    # -- Bosch's double-precision formulas (datasheet 8.1), run backwards by bisection
    def t_fine(self, adc_t):
        c = self.c
        var1 = (adc_t / 16384.0 - c["T1"] / 1024.0) * c["T2"]
        x = adc_t / 131072.0 - c["T1"] / 8192.0
        return var1 + x * x * c["T3"]

    def pressure(self, adc_p, t_fine):
        c = self.c
        var1 = t_fine / 2.0 - 64000.0
        var2 = var1 * var1 * c["P6"] / 32768.0
        var2 = var2 + var1 * c["P5"] * 2.0
        var2 = var2 / 4.0 + c["P4"] * 65536.0
        var1 = (c["P3"] * var1 * var1 / 524288.0 + c["P2"] * var1) / 524288.0
        var1 = (1.0 + var1 / 32768.0) * c["P1"]
        p = 1048576.0 - adc_p
        p = (p - var2 / 4096.0) * 6250.0 / var1
        var1 = c["P9"] * p * p / 2147483648.0
        var2 = p * c["P8"] / 32768.0
        return p + (var1 + var2 + c["P7"]) / 16.0

    def humidity(self, adc_h, t_fine):
        c = self.c
        h = t_fine - 76800.0
        h = (adc_h - (c["H4"] * 64.0 + c["H5"] / 16384.0 * h)) * (
            c["H2"] / 65536.0 * (1.0 + c["H6"] / 67108864.0 * h * (1.0 + c["H3"] / 67108864.0 * h)))
        return h * (1.0 - c["H1"] * h / 524288.0)

    def adc_from_physical(self, temperature, pressure, humidity):
        adc_t = _bisect(lambda a: self.t_fine(a) / 5120.0, temperature, 0, 0xFFFFF)
        tf = self.t_fine(adc_t)
        adc_p = _bisect(lambda a: self.pressure(a, tf), pressure, 0, 0xFFFFF, increasing=False)
        adc_h = _bisect(lambda a: self.humidity(a, tf), humidity, 0, 0xFFFF)
        return adc_t, adc_p, adc_h
