# Sensirion SCD40/SCD41 CO2 sensor over I2C (address 0x62). Command set, execution times and
# state rules: SCD4x datasheet v1.x, section 3 ("Operation and Communication").
# The sensor refuses most commands while it measures; so does this driver, with a clear error
# instead of a NACK nobody can explain.
import asyncio

from micropython import const

from sensirion import SensirionI2C
from sensor_error import SensorError

_START_PERIODIC = const(0x21B1)
_START_LOW_POWER = const(0x21AC)
_READ_MEASUREMENT = const(0xEC05)
_STOP_PERIODIC = const(0x3F86)
_DATA_READY = const(0xE4B8)
_SET_TEMP_OFFSET = const(0x241D)
_GET_TEMP_OFFSET = const(0x2318)
_SET_ALTITUDE = const(0x2427)
_GET_ALTITUDE = const(0x2322)
_SET_AMBIENT_PRESSURE = const(0xE000)
_FORCED_RECAL = const(0x362F)
_SET_ASC = const(0x2416)
_GET_ASC = const(0x2313)
_PERSIST = const(0x3615)
_SERIAL = const(0x3682)
_SELF_TEST = const(0x3639)
_FACTORY_RESET = const(0x3632)
_REINIT = const(0x3646)
_SINGLE_SHOT = const(0x219D)
_POWER_DOWN = const(0x36E0)
_WAKE_UP = const(0x36F6)

_CO2_MAX_PPM = const(40000)  # datasheet 1.1: measurement range 0..40000 ppm

IDLE = "idle"
PERIODIC = "periodic"
LOW_POWER = "low_power"
ASLEEP = "asleep"


class SCD4x:
    POWER_UP_MS = 1000  # datasheet 3.x: from power-up to the first command

    def __init__(self, i2c, address=0x62, low_power=False, single_shot=False,
                 temperature_offset=None, altitude=None, asc=None):
        self.bus = SensirionI2C(i2c, address, (1, 3), "SCD4x")
        self.address = address
        self.low_power = low_power
        self.single_shot = single_shot  # SCD41 only: idle between readings, one shot each time
        self.settings = (temperature_offset, altitude, asc)
        self.state = IDLE
        self.serial = None
        self._co2 = self._t = self._rh = None
        self._pressure_hpa = 0  # last value sent with set_ambient_pressure
        self.ambient_pressure = None  # Pa, fed by the runtime from a barometer when present

    # -- state rules: datasheet 3.x lists what is accepted while measuring periodically
    def _need_idle(self, what):
        if self.state != IDLE:
            self.bus.refuse(what, "measuring (%s); stop first" % self.state
                            if self.state != ASLEEP else "asleep; wake_up first")

    # -- start-up: the node may have rebooted while the sensor kept measuring
    async def start(self):
        try:
            self.bus.send(_WAKE_UP)  # not acknowledged by design (datasheet 3.10.2)
        except SensorError:
            pass
        await asyncio.sleep_ms(30)
        self.state = PERIODIC
        await self.stop()
        await self.bus.query(_SERIAL, 1, 3)
        b = self.bus
        self.serial = "%04x%04x%04x" % (b.word(0), b.word(1), b.word(2))
        offset, altitude, asc = self.settings
        if offset is not None:
            await self.set_temperature_offset(offset)
        if altitude is not None:
            await self.set_altitude(altitude)
        if asc is not None:
            await self.set_automatic_self_calibration(asc)
        if not self.single_shot:
            await self.start_periodic(self.low_power)

    async def start_periodic(self, low_power=False):
        self._need_idle("start_periodic_measurement")
        await self.bus.command(_START_LOW_POWER if low_power else _START_PERIODIC, 1)
        self.state = LOW_POWER if low_power else PERIODIC

    async def stop(self):
        if self.state == ASLEEP:
            self.bus.refuse("stop_periodic_measurement", "asleep; wake_up first")
        await self.bus.command(_STOP_PERIODIC, 500)
        self.state = IDLE

    async def data_ready(self):
        if self.state == ASLEEP:
            self.bus.refuse("get_data_ready_status", "asleep")
        await self.bus.query(_DATA_READY, 1, 1)
        return self.bus.word(0) & 0x07FF != 0

    # -- one reading
    async def measure(self):
        if self.state == IDLE and self.single_shot:
            await self._apply_pressure()
            await self.bus.command(_SINGLE_SHOT, 5000)
        elif self.state in (PERIODIC, LOW_POWER):
            await self._apply_pressure()
            # New data every 5 s (30 s in low-power mode); allow one period of slack.
            period = 30000 if self.state == LOW_POWER else 5000
            await self.bus.wait_ready(self.data_ready, 2 * period)
        else:
            raise SensorError("SCD4x at 0x%02x: not measuring (%s); call start()"
                              % (self.address, self.state))
        self.request()
        await asyncio.sleep_ms(1)
        self.read()

    def request(self):
        self.bus.send(_READ_MEASUREMENT)

    def read(self):
        """The measurement words; conversion waits for x100 (no floats here)."""
        b = self.bus
        b.receive(3)
        co2 = b.word(0)
        if co2 > _CO2_MAX_PPM:
            raise SensorError("SCD4x at 0x%02x: CO2 %d ppm is out of range (0..40000)"
                              % (self.address, co2))
        self._co2 = co2
        self._t = b.word(1)
        self._rh = b.word(2)

    def x100(self, name):
        """The record's newest value in hundredths of its unit, a small int (no float on a
        board). Datasheet 3.6.2: T = -45 + 175 * word / (2**16 - 1) Cel, RH = 100 * word /
        (2**16 - 1) %RH; 175 * 100 / 65535 = 3500 / 13107 keeps word * 7000 in a small int.
        Rounded half up."""
        if self._co2 is None:
            return None
        if name == "co2":
            return self._co2 * 100
        if name == "temperature":
            return (7000 * self._t + 13107) // 26214 - 4500
        if name == "humidity":
            return (4000 * self._rh + 13107) // 26214
        return None

    def _real(self, name):
        v = self.x100(name)
        return None if v is None else v / 100

    co2 = property(lambda self: self._co2)  # ppm
    temperature = property(lambda self: self._real("temperature"))  # Cel
    humidity = property(lambda self: self._real("humidity"))  # %RH

    # -- compensation: ambient pressure may be set while measuring, the rest only when idle
    async def _apply_pressure(self):
        pa = self.ambient_pressure
        if pa is None:
            return
        hpa = (int(pa) + 50) // 100
        if 700 <= hpa <= 1200 and abs(hpa - self._pressure_hpa) >= 1:
            await self.set_ambient_pressure(hpa * 100)

    async def set_ambient_pressure(self, pa):
        hpa = (int(pa) + 50) // 100
        if not 700 <= hpa <= 1200:
            raise ValueError("ambient pressure %d Pa is outside 70000..120000" % pa)
        await self.bus.command(_SET_AMBIENT_PRESSURE, 1, 1, hpa)
        self._pressure_hpa = hpa

    async def set_temperature_offset(self, celsius):
        self._need_idle("set_temperature_offset")
        if not 0 <= celsius < 175:
            raise ValueError("temperature offset must be 0..175 Cel")
        await self.bus.command(_SET_TEMP_OFFSET, 1, 1, int(celsius * 65535 / 175 + 0.5))

    async def get_temperature_offset(self):
        self._need_idle("get_temperature_offset")
        await self.bus.query(_GET_TEMP_OFFSET, 1, 1)
        return 175 * self.bus.word(0) / 65535

    async def set_altitude(self, metres):
        self._need_idle("set_sensor_altitude")
        if not 0 <= metres <= 3000:
            raise ValueError("altitude must be 0..3000 m")
        await self.bus.command(_SET_ALTITUDE, 1, 1, int(metres))

    async def get_altitude(self):
        self._need_idle("get_sensor_altitude")
        await self.bus.query(_GET_ALTITUDE, 1, 1)
        return self.bus.word(0)

    async def set_automatic_self_calibration(self, enabled):
        self._need_idle("set_automatic_self_calibration_enabled")
        await self.bus.command(_SET_ASC, 1, 1, 1 if enabled else 0)

    async def get_automatic_self_calibration(self):
        self._need_idle("get_automatic_self_calibration_enabled")
        await self.bus.query(_GET_ASC, 1, 1)
        return self.bus.word(0) == 1

    async def forced_recalibration(self, target_ppm):
        """Returns the correction in ppm. The sensor must have measured for 3 minutes at
        `target_ppm` before being stopped (datasheet 3.8.1)."""
        self._need_idle("perform_forced_recalibration")
        self.bus.send(_FORCED_RECAL, 1, target_ppm)
        await asyncio.sleep_ms(400)
        self.bus.receive(1)
        w = self.bus.word(0)
        if w == 0xFFFF:
            raise SensorError("SCD4x at 0x%02x: forced recalibration failed" % self.address)
        return w - 0x8000

    async def persist_settings(self):
        self._need_idle("persist_settings")
        await self.bus.command(_PERSIST, 800)

    async def self_test(self):
        """True when the sensor reports no malfunction (takes 10 s)."""
        self._need_idle("perform_self_test")
        await self.bus.query(_SELF_TEST, 10000, 1)
        return self.bus.word(0) == 0

    async def factory_reset(self):
        self._need_idle("perform_factory_reset")
        await self.bus.command(_FACTORY_RESET, 1200)

    async def reinit(self):
        self._need_idle("reinit")
        await self.bus.command(_REINIT, 30)

    async def power_down(self):
        self._need_idle("power_down")
        await self.bus.command(_POWER_DOWN, 1)
        self.state = ASLEEP

    async def wake_up(self):
        try:
            self.bus.send(_WAKE_UP)
        except SensorError:
            pass  # the sensor does not acknowledge wake_up
        await asyncio.sleep_ms(30)
        self.state = IDLE
        await self.bus.query(_SERIAL, 1, 3)  # proves it is awake
