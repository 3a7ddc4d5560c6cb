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

    def _pm(self, i):
        w = self._w[i]
        return None if w == _NO_U16 else w / 10

    def _signed(self, i, scale):
        w = self._w[i]
        if w == _NO_I16:
            return None
        return (w - 0x10000 if w & 0x8000 else w) / scale

    pm1 = property(lambda self: self._pm(0))
    pm25 = property(lambda self: self._pm(1))
    pm4 = property(lambda self: self._pm(2))
    pm10 = property(lambda self: self._pm(3))
    humidity = property(lambda self: self._signed(4, 100))
    temperature = property(lambda self: self._signed(5, 200))
    voc_index = property(lambda self: self._signed(6, 10))
    nox_index = property(lambda self: self._signed(7, 10))

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
