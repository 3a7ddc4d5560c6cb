# Bosch BME280 (temperature, pressure, humidity) and BMP280 (no humidity) over I2C.
# Register map, modes, oversampling, IIR filter, timing and compensation: BME280 datasheet
# BST-BME280-DS002 sections 3.3-3.5, 5.3, 8.2, 9.1; BMP280 datasheet BST-BMP280-DS001.
import asyncio
import struct

from micropython import const

from sensor_error import SensorError, bus_error

_REG_CALIB_TP = const(0x88)  # 0x88..0x9F: T1..T3, P1..P9
_REG_CALIB_H1 = const(0xA1)
_REG_CHIP_ID = const(0xD0)
_REG_RESET = const(0xE0)
_REG_CALIB_H2 = const(0xE1)  # 0xE1..0xE7: H2..H6
_REG_CTRL_HUM = const(0xF2)
_REG_STATUS = const(0xF3)
_REG_CTRL_MEAS = const(0xF4)
_REG_CONFIG = const(0xF5)
_REG_DATA = const(0xF7)  # 0xF7..0xFE: press[3], temp[3], hum[2]
_STATUS_MEASURING = const(0x08)
_MODE_FORCED = const(0x01)
_MODE_NORMAL = const(0x03)
_ADC_SKIPPED = const(0x80000)  # what a never-measured or skipped channel reads
_HUM_SKIPPED = const(0x8000)

_OVERSAMPLING = (0, 1, 2, 4, 8, 16)  # register code = index; 0 skips the channel
_IIR = (0, 2, 4, 8, 16)  # filter coefficient; register code = index


def _cdiv(a, b):
    """C integer division (truncates toward zero); Python's // floors."""
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def _sq_shr(a, s):
    """(a * a) >> s without forming a * a (a 32-bit C intermediate that overflows a 31-bit
    small int): with a = h * 64 + l, a * a = h*h * 2**12 + h*l * 2**7 + l*l."""
    a = -a if a < 0 else a
    h = a >> 6
    lo = a & 63
    rest = (h * lo << 7) + lo * lo
    if s <= 12:
        return ((h * h) << (12 - s)) + (rest >> s)
    k = s - 12
    hh = h * h
    return (hh >> k) + ((((hh & ((1 << k) - 1)) << 12) + rest) >> s)


def _mul_shr(a, b, s):
    """(a * b) >> s without forming a * b, for |a| < 2**16. s < 8: b = bh * 2**s + bl. s >= 8:
    a * b = x * 2**8 + y with x = a * (b >> 8), y = a * (b & 255), and x split at 2**(s-8)."""
    if s < 8:
        return a * (b >> s) + ((a * (b & ((1 << s) - 1))) >> s)
    x = a * (b >> 8)
    k = s - 8
    return (x >> k) + ((((x & ((1 << k) - 1)) << 8) + a * (b & 255)) >> s)


def _mul_div(p, m, d):
    """p * m // d for p >= 0, d > 0 without forming p * m (quotient and remainder)."""
    q = p // d
    return q * m + (p - q * d) * m // d


def _code(table, value, what):
    for i, v in enumerate(table):
        if v == value:
            return i
    raise ValueError("%s must be one of %s, not %r" % (what, table, value))


class BME280:
    CHIP_ID = 0x60
    NAME = "BME280"
    HUMIDITY = True
    # Operating range (datasheet 1, "Operating range"): outside it a value is not trusted.
    RANGES = {"temperature": (-40, 85), "pressure": (30000, 110000), "humidity": (0, 100)}
    STANDBY_MS = (0.5, 62.5, 125, 250, 500, 1000, 10, 20)  # t_sb, register code = index

    def __init__(self, i2c, address=0x76, osrs_t=1, osrs_p=1, osrs_h=1, iir=0, normal=False,
                 standby_ms=1000):
        self.i2c = i2c
        self.address = address
        self._data = bytearray(8 if self.HUMIDITY else 6)  # BMP280: no humidity registers
        self._reg = bytearray(1)
        self._cmd = bytearray(2)
        self.osrs = (_code(_OVERSAMPLING, osrs_t, "osrs_t"), _code(_OVERSAMPLING, osrs_p, "osrs_p"),
                     _code(_OVERSAMPLING, osrs_h if self.HUMIDITY else 0, "osrs_h"))
        self.iir = _code(_IIR, iir, "iir")
        self.normal = normal
        self.standby = _code(self.STANDBY_MS, standby_ms, "standby_ms")
        chip = self._read_u8(_REG_CHIP_ID)
        if chip != self.CHIP_ID:
            other = {0x60: "a BME280", 0x58: "a BMP280"}.get(chip, "unknown")
            raise SensorError("%s at 0x%02x: chip id 0x%02x (%s) is not a %s (0x%02x)"
                              % (self.NAME, address, chip, other, self.NAME, self.CHIP_ID))
        calib = bytearray(24)
        self._read_into(_REG_CALIB_TP, calib)
        (self.T1, self.T2, self.T3, self.P1, self.P2, self.P3, self.P4, self.P5, self.P6,
         self.P7, self.P8, self.P9) = struct.unpack("<HhhHhhhhhhhh", calib)
        if self.HUMIDITY:
            self._read_humidity_calibration()
        self.t_fine = 0
        self.adc_t = self.adc_p = self.adc_h = None
        self._configured = False

    def _read_humidity_calibration(self):
        self.H1 = self._read_u8(_REG_CALIB_H1)
        h = bytearray(7)
        self._read_into(_REG_CALIB_H2, h)
        self.H2 = struct.unpack("<h", h)[0]
        self.H3 = h[2]
        e4 = h[3] - 256 if h[3] > 127 else h[3]
        e6 = h[5] - 256 if h[5] > 127 else h[5]
        self.H4 = e4 * 16 | (h[4] & 0x0F)
        self.H5 = e6 * 16 | (h[4] >> 4)
        self.H6 = h[6] - 256 if h[6] > 127 else h[6]

    # -- bus access: every OSError becomes a SensorError naming the device
    def _read_into(self, reg, buf):
        try:
            self.i2c.readfrom_mem_into(self.address, reg, buf)
        except OSError as e:
            raise bus_error(self.NAME, self.address, e)

    def _read_u8(self, reg):
        self._read_into(reg, self._reg)
        return self._reg[0]

    def _write_u8(self, reg, value):
        self._cmd[0] = reg
        self._cmd[1] = value
        try:
            self.i2c.writeto(self.address, self._cmd)
        except OSError as e:
            raise bus_error(self.NAME, self.address, e)

    # -- configuration
    def _ctrl_meas(self, mode):
        return (self.osrs[0] << 5) | (self.osrs[1] << 2) | mode

    def measure_time_ms(self):
        """Maximum conversion time (datasheet 9.1): 1.25 + 2.3 T + (2.3 P + 0.575)
        + (2.3 H + 0.575) ms, with T, P, H the oversampling factors (a skipped one adds 0)."""
        t, p, h = (_OVERSAMPLING[c] for c in self.osrs)
        ms = 1.25 + 2.3 * t + (2.3 * p + 0.575 if p else 0) + (2.3 * h + 0.575 if h else 0)
        return int(ms + 0.999)

    async def start(self):
        """Soft reset, then the settings. config (standby, filter) is written in sleep mode,
        where the chip is sure to take it (datasheet 5.4.6)."""
        self._write_u8(_REG_RESET, 0xB6)
        await asyncio.sleep_ms(3)  # NVM copy after reset (status bit 0)
        self._write_u8(_REG_CONFIG, (self.standby << 5) | (self.iir << 2))
        if self.HUMIDITY:
            self._write_u8(_REG_CTRL_HUM, self.osrs[2])  # takes effect at the ctrl_meas write
        if self.normal:
            self._write_u8(_REG_CTRL_MEAS, self._ctrl_meas(_MODE_NORMAL))
            await asyncio.sleep_ms(self.measure_time_ms() + 1)
        self._configured = True

    async def measure(self):
        """Forced mode: one conversion, waited for without blocking. Normal mode: the chip
        converts on its own; read the newest result."""
        if not self._configured:
            await self.start()
        if not self.normal:
            self.request()
            await asyncio.sleep_ms(self.measure_time_ms())
            for _ in range(10):
                if not self._read_u8(_REG_STATUS) & _STATUS_MEASURING:
                    break
                await asyncio.sleep_ms(2)
            else:
                raise SensorError("%s at 0x%02x: measurement never completed"
                                  % (self.NAME, self.address))
        self.read()

    def request(self):
        """Starts one forced-mode conversion (normal mode converts by itself)."""
        if self.normal:
            return
        if self.HUMIDITY:
            self._write_u8(_REG_CTRL_HUM, self.osrs[2])
        self._write_u8(_REG_CTRL_MEAS, self._ctrl_meas(_MODE_FORCED))

    def read(self):
        """The data registers in one burst; compensation waits for x100."""
        self._read_into(_REG_DATA, self._data)
        d = self._data
        adc_p = (d[0] << 12) | (d[1] << 4) | (d[2] >> 4)
        adc_t = (d[3] << 12) | (d[4] << 4) | (d[5] >> 4)
        if adc_t == _ADC_SKIPPED or adc_p == _ADC_SKIPPED:
            raise SensorError("%s at 0x%02x: no conversion result" % (self.NAME, self.address))
        self.adc_t = adc_t
        self.adc_p = adc_p
        if self.HUMIDITY:
            adc_h = (d[6] << 8) | d[7]
            self.adc_h = adc_h if adc_h != _HUM_SKIPPED else None

    # -- values. x100 is what the node reads: hundredths of the record's unit as a small int,
    # so a read on a 32-bit board allocates nothing; the float properties are for people.
    def x100(self, name):
        """The record's newest value in hundredths of its unit (Cel, Pa, %RH), or None."""
        if self.adc_t is None:
            return None
        t = self.compensate_t(self.adc_t)  # also sets t_fine for P and H
        if name == "temperature":
            return t
        if name == "pressure":
            return None if self.adc_p is None else self.compensate_p(self.adc_p) * 100
        if name == "humidity" and self.adc_h is not None:
            return (self.compensate_h(self.adc_h) * 100 + 512) >> 10
        return None

    def _real(self, name):
        v = self.x100(name)
        return None if v is None else v / 100

    temperature = property(lambda self: self._real("temperature"))  # Cel
    pressure = property(lambda self: self._real("pressure"))  # Pa
    humidity = property(lambda self: self._real("humidity"))  # %RH

    # -- Bosch's 32-bit integer compensation (datasheet 8.2), C semantics kept, rearranged
    # where a 32-bit C intermediate would not fit a 31-bit small int (same integers out).
    def compensate_t(self, adc_t):
        """Returns 0.01 Cel units; sets t_fine for P and H."""
        t1 = self.T1
        var1 = (((adc_t >> 3) - (t1 << 1)) * self.T2) >> 11
        x = (adc_t >> 4) - t1
        var2 = (((x * x) >> 12) * self.T3) >> 14
        self.t_fine = var1 + var2
        return (self.t_fine * 5 + 128) >> 8

    def compensate_p(self, adc_p):
        """Returns Pa (resolution 1 Pa), Bosch's 32-bit path."""
        var1 = (self.t_fine >> 1) - 64000
        a = var1 >> 2
        var2 = _sq_shr(a, 11) * self.P6
        var2 = var2 + ((var1 * self.P5) << 1)
        var2 = (var2 >> 2) + (self.P4 << 16)
        var1 = (((self.P3 * _sq_shr(a, 13)) >> 3) + _mul_shr(self.P2, var1, 1)) >> 18
        var1 = _mul_shr(self.P1, 32768 + var1, 15)
        if var1 == 0:
            return 0  # avoids division by zero, as Bosch's reference does
        p = (1048576 - adc_p) - (var2 >> 12)
        # C: p * 3125 in unsigned 32 bits; < 2**31 ? (p * 3125 << 1) / var1 : (p * 3125 / var1)
        # * 2. Quotient and remainder are taken apart so that p * 6250 is never formed.
        if 0 <= p <= 687194 and var1 > 0:
            p = _mul_div(p, 6250, var1)
        elif 687194 < p <= 1374389 and var1 > 0:
            p = _mul_div(p, 3125, var1) * 2
        else:  # a reading no sensor gives: C's wrap-around, in long ints
            p = (p * 3125) & 0xFFFFFFFF
            d = var1 & 0xFFFFFFFF
            p = ((p << 1) & 0xFFFFFFFF) // d if p < 0x80000000 else (p // d) * 2
        var1 = (self.P9 * _sq_shr(p >> 3, 13)) >> 12
        var2 = ((p >> 2) * self.P8) >> 13
        return p + ((var1 + var2 + self.P7) >> 4)

    def compensate_h(self, adc_h):
        """Returns %RH in Q22.10. (adc_h << 14) - (H4 << 20) is formed as one term: both are
        multiples of 2**14, and the difference fits a small int where each alone may not."""
        v = self.t_fine - 76800
        a = (((adc_h - (self.H4 << 6)) << 14) - self.H5 * v + 16384) >> 15
        b = ((((v * self.H6) >> 10) * (((v * self.H3) >> 11) + 32768)) >> 10) + 2097152
        v = a * ((b * self.H2 + 8192) >> 14)
        v = v - (((((v >> 15) * (v >> 15)) >> 7) * self.H1) >> 4)
        v = 0 if v < 0 else v
        v = 419430400 if v > 419430400 else v
        return v >> 12


class BMP280(BME280):
    """The BME280's sibling without humidity: same registers and T/P compensation."""

    CHIP_ID = 0x58
    NAME = "BMP280"
    HUMIDITY = False
    RANGES = {"temperature": (-40, 85), "pressure": (30000, 110000)}
    STANDBY_MS = (0.5, 62.5, 125, 250, 500, 1000, 2000, 4000)
