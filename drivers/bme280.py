# Bosch BME280 (temperature, pressure, humidity) over I2C, forced mode.
# Register map and compensation: BME280 datasheet BST-BME280-DS002, sections 4.2.3, 5.3, 8.2.
import asyncio
import struct

from micropython import const

from sensor_error import SensorError, bus_error

_REG_CALIB_TP = const(0x88)  # 0x88..0x9F: T1..T3, P1..P9
_REG_CALIB_H1 = const(0xA1)
_REG_CHIP_ID = const(0xD0)
_REG_CALIB_H2 = const(0xE1)  # 0xE1..0xE7: H2..H6
_REG_CTRL_HUM = const(0xF2)
_REG_STATUS = const(0xF3)
_REG_CTRL_MEAS = const(0xF4)
_REG_DATA = const(0xF7)  # 0xF7..0xFE: press[3], temp[3], hum[2]
_CHIP_ID_BME280 = const(0x60)
_STATUS_MEASURING = const(0x08)
_MODE_FORCED = const(0x01)
_OSRS_X1 = const(1)
_ADC_SKIPPED = const(0x80000)  # what a never-measured or skipped channel reads


def _cdiv(a, b):
    """C integer division (truncates toward zero); Python's // floors."""
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


class BME280:
    def __init__(self, i2c, address=0x76):
        self.i2c = i2c
        self.address = address
        self._data = bytearray(8)
        self._reg = bytearray(1)
        self._cmd = bytearray(2)
        chip = self._read_u8(_REG_CHIP_ID)
        if chip != _CHIP_ID_BME280:
            raise SensorError("0x%02x: chip id 0x%02x is not a BME280 (0x60)" % (address, chip))
        calib = bytearray(24)
        self._read_into(_REG_CALIB_TP, calib)
        (self.T1, self.T2, self.T3, self.P1, self.P2, self.P3, self.P4, self.P5, self.P6,
         self.P7, self.P8, self.P9) = struct.unpack("<HhhHhhhhhhhh", calib)
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
        self.t_fine = 0
        self.temperature = None  # Cel
        self.pressure = None  # Pa
        self.humidity = None  # %RH

    # -- bus access: every OSError becomes a SensorError naming the device
    def _read_into(self, reg, buf):
        try:
            self.i2c.readfrom_mem_into(self.address, reg, buf)
        except OSError as e:
            raise bus_error("BME280", self.address, e)

    def _read_u8(self, reg):
        self._read_into(reg, self._reg)
        return self._reg[0]

    def _write_u8(self, reg, value):
        self._cmd[0] = reg
        self._cmd[1] = value
        try:
            self.i2c.writeto(self.address, self._cmd)
        except OSError as e:
            raise bus_error("BME280", self.address, e)

    async def measure(self):
        """One forced-mode conversion at x1 oversampling; updates the three readings."""
        self._write_u8(_REG_CTRL_HUM, _OSRS_X1)  # takes effect at the ctrl_meas write
        self._write_u8(_REG_CTRL_MEAS, (_OSRS_X1 << 5) | (_OSRS_X1 << 2) | _MODE_FORCED)
        # Datasheet 9.1: t_max = 1.25 + 2.3*1 + (2.3*1 + 0.575) + (2.3*1 + 0.575) = 9.3 ms
        await asyncio.sleep_ms(10)
        for _ in range(10):
            if not self._read_u8(_REG_STATUS) & _STATUS_MEASURING:
                break
            await asyncio.sleep_ms(2)
        else:
            raise SensorError("BME280 at 0x%02x: measurement never completed" % self.address)
        self._read_into(_REG_DATA, self._data)
        d = self._data
        adc_p = (d[0] << 12) | (d[1] << 4) | (d[2] >> 4)
        adc_t = (d[3] << 12) | (d[4] << 4) | (d[5] >> 4)
        adc_h = (d[6] << 8) | d[7]
        if adc_t == _ADC_SKIPPED or adc_p == _ADC_SKIPPED:
            raise SensorError("BME280 at 0x%02x: no conversion result" % self.address)
        self.temperature = self.compensate_t(adc_t) / 100
        self.pressure = self.compensate_p(adc_p) / 256
        self.humidity = self.compensate_h(adc_h) / 1024

    # -- Bosch's integer compensation (datasheet 8.2), C semantics kept
    def compensate_t(self, adc_t):
        """Returns 0.01 Cel units; sets t_fine for P and H."""
        t1 = self.T1
        var1 = (((adc_t >> 3) - (t1 << 1)) * self.T2) >> 11
        x = (adc_t >> 4) - t1
        var2 = (((x * x) >> 12) * self.T3) >> 14
        self.t_fine = var1 + var2
        return (self.t_fine * 5 + 128) >> 8

    def compensate_p(self, adc_p):
        """Returns Pa in Q24.8 (64-bit path)."""
        var1 = self.t_fine - 128000
        var2 = var1 * var1 * self.P6
        var2 = var2 + ((var1 * self.P5) << 17)
        var2 = var2 + (self.P4 << 35)
        var1 = ((var1 * var1 * self.P3) >> 8) + ((var1 * self.P2) << 12)
        var1 = (((1 << 47) + var1) * self.P1) >> 33
        if var1 == 0:
            return 0  # avoids division by zero, as Bosch's reference does
        p = 1048576 - adc_p
        p = _cdiv(((p << 31) - var2) * 3125, var1)
        var1 = (self.P9 * (p >> 13) * (p >> 13)) >> 25
        var2 = (self.P8 * p) >> 19
        return ((p + var1 + var2) >> 8) + (self.P7 << 4)

    def compensate_h(self, adc_h):
        """Returns %RH in Q22.10."""
        v = self.t_fine - 76800
        a = ((adc_h << 14) - (self.H4 << 20) - self.H5 * v + 16384) >> 15
        b = ((((v * self.H6) >> 10) * (((v * self.H3) >> 11) + 32768)) >> 10) + 2097152
        v = a * ((b * self.H2 + 8192) >> 14)
        v = v - (((((v >> 15) * (v >> 15)) >> 7) * self.H1) >> 4)
        v = 0 if v < 0 else v
        v = 419430400 if v > 419430400 else v
        return v >> 12
