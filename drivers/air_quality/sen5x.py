# Sensirion SEN50/SEN54/SEN55 environmental node over I2C (address 0x69): PM, RH, T, VOC and NOx
# index. Commands and scaling: SEN5x datasheet, section 6.1. Words that are not available yet
# read 0xFFFF (unsigned) or 0x7FFF (signed): the getters return None for them, never a number.
import asyncio
from micropython import const

from sensirion import SensirionI2C
from sensor_error import SensorError

_START = const(0x0021)
_STOP = const(0x0104)
_DATA_READY = const(0x0202)
_READ_VALUES = const(0x03C4)
_FAN_CLEAN = const(0x5607)
_PRODUCT_NAME = const(0xD014)
_SERIAL = const(0xD033)
_VERSION = const(0xD100)
_STATUS = const(0xD206)
_RESET = const(0xD304)
_NO_U16 = const(0xFFFF)
_NO_I16 = const(0x7FFF)
_PM_MAX = const(10000)  # 1000.0 ug/m3 in 0.1 steps


class SEN5x:
    def __init__(self, i2c, address=0x69):
        self.bus = SensirionI2C(i2c, address, (1, 2, 8, 16), "SEN5x")
        self.address = address
        self.product = self.serial = None
        self.measuring = False
        self._w = [_NO_U16] * 4 + [_NO_I16] * 4  # raw words of the last reading

    async def start(self):
        await self.bus.command(_RESET, 100)
        self.measuring = False
        try:
            await self.bus.query(_PRODUCT_NAME, 20, 16)
        except SensorError as e:
            raise SensorError("%s -- is this a SEN5x? (an SPS30 also answers at 0x69)" % e)
        self.product = self.bus.text(16)
        if not self.product.startswith("SEN5"):
            raise SensorError("SEN5x at 0x%02x: product '%s' is not a SEN5x"
                              % (self.address, self.product))
        await self.bus.query(_SERIAL, 20, 16)
        self.serial = self.bus.text(16)
        await self.bus.command(_START, 50)
        self.measuring = True

    async def stop(self):
        await self.bus.command(_STOP, 200)
        self.measuring = False

    async def data_ready(self):
        await self.bus.query(_DATA_READY, 20, 1)
        return self.bus.word(0) & 0xFF == 1

    async def measure(self):
        if not self.measuring:
            raise SensorError("SEN5x at 0x%02x: not measuring; call start()" % self.address)
        await self.bus.wait_ready(self.data_ready, 3000)  # new values every second
        self.request()
        await asyncio.sleep_ms(20)
        self.read()

    def request(self):
        self.bus.send(_READ_VALUES)

    def read(self):
        b = self.bus
        b.receive(8)
        w = self._w
        for i in range(8):
            w[i] = b.word(i)
        for i in range(4):
            if w[i] != _NO_U16 and w[i] > _PM_MAX:
                raise SensorError("SEN5x at 0x%02x: PM word %d = %d out of range (0..1000 ug/m3)"
                                  % (self.address, i, w[i]))

    # word index, and hundredths of the unit per count (datasheet 6.1.3: PM / 10 ug/m3,
    # RH / 100 %RH, T / 200 Cel, VOC and NOx index / 10); T is given back in halves
    _RECORDS = {"pm1": (0, 10), "pm25": (1, 10), "pm4": (2, 10), "pm10": (3, 10),
                "humidity": (4, 1), "temperature": (5, 0), "voc_index": (6, 10),
                "nox_index": (7, 10)}

    def x100(self, name):
        """The record's newest value in hundredths of its unit, a small int, or None (the
        part's "no value": NOx in its first seconds, a skipped word)."""
        i, per = self._RECORDS[name]
        w = self._w[i]
        if i < 4:
            return None if w == _NO_U16 else w * per
        if w == _NO_I16:
            return None
        w = w - 0x10000 if w & 0x8000 else w
        return (w + 1) >> 1 if per == 0 else w * per  # T: 1/200 Cel to 1/100, half up

    def _real(self, name):
        v = self.x100(name)
        return None if v is None else v / 100

    pm1 = property(lambda self: self._real("pm1"))
    pm25 = property(lambda self: self._real("pm25"))
    pm4 = property(lambda self: self._real("pm4"))
    pm10 = property(lambda self: self._real("pm10"))
    humidity = property(lambda self: self._real("humidity"))
    temperature = property(lambda self: self._real("temperature"))
    voc_index = property(lambda self: self._real("voc_index"))
    nox_index = property(lambda self: self._real("nox_index"))

    async def clean_fan(self):
        if not self.measuring:
            self.bus.refuse("start_fan_cleaning", "idle")
        await self.bus.command(_FAN_CLEAN, 20)

    async def status(self):
        await self.bus.query(_STATUS, 20, 2)
        return (self.bus.word(0) << 16) | self.bus.word(1)

    async def firmware(self):
        await self.bus.query(_VERSION, 20, 1)
        return self.bus.word(0) >> 8
