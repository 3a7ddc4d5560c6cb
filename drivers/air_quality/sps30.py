# Sensirion SPS30 particulate matter sensor over I2C (address 0x69). Commands, timing and
# states: SPS30 datasheet (v1.0+, March 2020), section 6 ("I2C interface"). Output format: big-endian
# IEEE floats, each word followed by its CRC. Sleep/wake need firmware 2.0 or later.
import struct

import asyncio
from micropython import const

from sensirion import SensirionI2C
from sensor_error import SensorError
from time import ticks_diff, ticks_ms

_START = const(0x0010)
_FORMAT_FLOAT = const(0x0300)
_STOP = const(0x0104)
_DATA_READY = const(0x0202)
_READ_VALUES = const(0x0300)
_SLEEP = const(0x1001)
_WAKE = const(0x1103)
_FAN_CLEAN = const(0x5607)
_AUTO_CLEAN = const(0x8004)
_PRODUCT_TYPE = const(0xD002)
_SERIAL = const(0xD033)
_VERSION = const(0xD100)
_STATUS = const(0xD206)
_RESET = const(0xD304)
_MASS_MAX_HI = const(0x447A)  # 1000.0 (0x447A0000): the datasheet's mass range is 0..1000 ug/m3

IDLE = "idle"
MEASURING = "measuring"
ASLEEP = "asleep"


class SPS30:
    WARMUP_MS = 30000  # datasheet: readings settle 8..30 s after start, depending on the load

    def __init__(self, i2c, address=0x69, auto_clean_s=None, warmup_s=None):
        self.bus = SensirionI2C(i2c, address, (1, 2, 4, 16, 20), "SPS30")
        self.address = address
        self.auto_clean_s = auto_clean_s
        if warmup_s is not None:
            self.WARMUP_MS = int(warmup_s * 1000)
        self.state = IDLE
        self.serial = self.firmware = None
        self._values = bytearray(40)  # 10 floats as received, decoded only when asked for
        self._have = False
        self._started = ticks_ms()

    def _need(self, state, what):
        if self.state != state:
            self.bus.refuse(what, self.state)

    async def start(self):
        await self.wake_up()  # harmless when awake; needed if the node rebooted it asleep
        await self.bus.command(_RESET, 100)  # whatever it was doing: back to idle
        self.state = IDLE
        try:
            await self.bus.query(_PRODUCT_TYPE, 1, 4)
        except SensorError as e:
            raise SensorError("%s -- is this an SPS30? (a SEN5x also answers at 0x69)" % e)
        if self.bus.text(4) != "00080000":
            raise SensorError("SPS30 at 0x%02x: product type '%s' is not an SPS30 (00080000)"
                              % (self.address, self.bus.text(4)))
        await self.bus.query(_SERIAL, 1, 16)
        self.serial = self.bus.text(16)
        await self.bus.query(_VERSION, 1, 1)
        self.firmware = (self.bus.word(0) >> 8, self.bus.word(0) & 0xFF)
        if self.auto_clean_s is not None:
            await self.set_auto_clean_interval(self.auto_clean_s)
        await self.start_measurement()

    async def start_measurement(self):
        self._need(IDLE, "start_measurement")
        await self.bus.command(_START, 20, 1, _FORMAT_FLOAT)
        self.state = MEASURING
        self._started = ticks_ms()
        self._have = False

    async def stop(self):
        self._need(MEASURING, "stop_measurement")
        await self.bus.command(_STOP, 20)
        self.state = IDLE

    async def data_ready(self):
        self._need(MEASURING, "read_data_ready_flag")
        await self.bus.query(_DATA_READY, 1, 1)
        return self.bus.word(0) & 0xFF == 1

    @property
    def warming_up(self):
        return ticks_diff(ticks_ms(), self._started) < self.WARMUP_MS

    async def measure(self):
        if self.state != MEASURING:
            raise SensorError("SPS30 at 0x%02x: not measuring (%s); call start()"
                              % (self.address, self.state))
        await self.bus.wait_ready(self.data_ready, 3000)  # new values every second
        self.request()
        await asyncio.sleep_ms(1)
        self.read()

    def request(self):
        self.bus.send(_READ_VALUES)

    def read(self):
        self.bus.receive(20)
        v = self._values
        self.bus.data_into(v, 20)
        for i in range(4):  # mass concentrations, range-checked on their bit patterns
            hi = (v[4 * i] << 8) | v[4 * i + 1]
            if hi > _MASS_MAX_HI or (hi == _MASS_MAX_HI and (v[4 * i + 2] or v[4 * i + 3])):
                raise SensorError("SPS30 at 0x%02x: mass concentration %d out of range (0..1000 "
                                  "ug/m3)" % (self.address, i))
        self._have = True

    def value(self, i):
        """Float i of the last reading, in the datasheet's order (for people: a new float)."""
        return struct.unpack_from(">f", self._values, 4 * i)[0] if self._have else None

    def value_x100(self, i):
        """Float i times 100, rounded, decoded from its IEEE 754 bits in small ints: a board
        would box every float it makes. Mass and number concentrations are >= 0 (the read
        checks the mass range), so sign and infinity cannot occur in a value that passed it;
        negative bit patterns read 0."""
        if not self._have:
            return None
        v = self._values
        o = 4 * i
        if v[o] & 0x80:
            return 0
        exp = ((v[o] << 1) | (v[o + 1] >> 7)) - 127
        if exp < -8:
            return 0  # below 0.004: rounds to 0.00
        mant = 0x800000 | ((v[o + 1] & 0x7F) << 16) | (v[o + 2] << 8) | v[o + 3]
        # value * 100 = mant * 25 * 2**(exp - 21); mant * 25 < 2**29
        shift = 21 - exp
        if shift <= 0:
            return (mant * 25) << -shift  # >= 2**21: only for a part that misreports
        return ((mant * 25 >> (shift - 1)) + 1) >> 1

    _RECORDS = ("pm1", "pm25", "pm4", "pm10")

    def x100(self, name):
        """The record's newest value in hundredths of ug/m3, a small int, or None."""
        for i in range(4):
            if self._RECORDS[i] == name:
                return self.value_x100(i)
        return None

    pm1 = property(lambda self: self.value(0))
    pm25 = property(lambda self: self.value(1))
    pm4 = property(lambda self: self.value(2))
    pm10 = property(lambda self: self.value(3))
    nc05 = property(lambda self: self.value(4))  # number concentrations, #/cm3
    nc1 = property(lambda self: self.value(5))
    nc25 = property(lambda self: self.value(6))
    nc4 = property(lambda self: self.value(7))
    nc10 = property(lambda self: self.value(8))
    typical_size = property(lambda self: self.value(9))  # um

    # -- maintenance
    async def clean_fan(self):
        self._need(MEASURING, "start_fan_cleaning")
        await self.bus.command(_FAN_CLEAN, 5)

    async def set_auto_clean_interval(self, seconds):
        if not 0 <= seconds <= 0xFFFFFFFF:
            raise ValueError("auto-clean interval must be 0..2**32-1 s")
        await self.bus.command(_AUTO_CLEAN, 5, 2, seconds >> 16, seconds & 0xFFFF)

    async def get_auto_clean_interval(self):
        await self.bus.query(_AUTO_CLEAN, 5, 2)
        return (self.bus.word(0) << 16) | self.bus.word(1)

    async def status(self):
        """Device status register: bit 21 fan speed warning, 5 laser error, 4 fan error."""
        await self.bus.query(_STATUS, 5, 2)
        return (self.bus.word(0) << 16) | self.bus.word(1)

    async def sleep(self):
        self._need(IDLE, "sleep")
        await self.bus.command(_SLEEP, 5)
        self.state = ASLEEP

    async def wake_up(self):
        # Asleep, the interface is off: the first wake-up only switches it on (and is not
        # acknowledged); the second one wakes the sensor (datasheet 6.3.12).
        for _ in range(2):
            try:
                await self.bus.command(_WAKE, 5)
            except SensorError:
                pass
        if self.state == ASLEEP:
            self.state = IDLE
