# ST VL53L1X time-of-flight ranging sensor on I2C (0x29, 16-bit register addresses, big-endian
# values), set up for people counting after ST UM2600: the SPAD array split into two regions of
# interest ranged alternately. Register addresses and the power-on configuration block
# (registers 0x2D..0x87) are those of ST's VL53L1X ultra-lite driver (STSW-IMG009) register map;
# the range-status mapping is that driver's (raw 9 = valid).
# Distances stay inside the node: the runtime turns them into zone states and counts.
import asyncio

from micropython import const

from sensor_error import SensorError
from time import ticks_add, ticks_diff, ticks_ms

ADDRESS = const(0x29)
MODEL_ID = const(0xEACC)
_VHV_LOOP_BOUND = const(0x0008)  # VHV_CONFIG__TIMEOUT_MACROP_LOOP_BOUND
_VHV_INIT = const(0x000B)  # VHV_CONFIG__INIT
_TIMEOUT_A = const(0x005E)  # RANGE_CONFIG__TIMEOUT_MACROP_A_HI (a 16-bit pair)
_TIMEOUT_B = const(0x0061)  # RANGE_CONFIG__TIMEOUT_MACROP_B_HI
_GPIO_HV_MUX_CTRL = const(0x0030)
_GPIO_TIO_HV_STATUS = const(0x0031)
_PHASECAL_TIMEOUT = const(0x004B)
_VCSEL_PERIOD_A = const(0x0060)
_VCSEL_PERIOD_B = const(0x0063)
_VALID_PHASE_HIGH = const(0x0069)
_INTERMEASUREMENT = const(0x006C)
_WOI_SD0 = const(0x0078)
_INITIAL_PHASE_SD0 = const(0x007A)
_ROI_CENTRE = const(0x007F)
_ROI_XY = const(0x0080)
_INTERRUPT_CLEAR = const(0x0086)
_MODE_START = const(0x0087)
_RANGE_STATUS = const(0x0089)
_RANGE_MM = const(0x0096)
_OSC_CALIBRATE = const(0x00DE)
_SYSTEM_STATUS = const(0x00E5)
_MODEL_ID_REG = const(0x010F)
_CONFIG_START = const(0x002D)
# registers 0x2D..0x87 after power-on, as the ultra-lite driver writes them at init
DEFAULT_CONFIG = bytes.fromhex(
    "0000000102000208000810010100000000ff000f0000000000200b0000020a21"
    "00000500000000c8000038ff010008000001cc0f01f10d0168008008b8000000"
    "000f8900000000000000010f0d0e0e000002c7ff9b000000010000")
# distance mode: PHASECAL timeout, VCSEL period A, B, valid phase high, WOI SD0/SD1,
# initial phase SD0/SD1 (short reaches ~1.3 m and shrugs off ambient light; long ~4 m)
_MODES = {"short": b"\x14\x07\x05\x38\x07\x05\x06\x06",
          "long": b"\x0a\x0f\x0d\xb8\x0f\x0d\x0e\x0e"}
# timing budget (ms) -> RANGE_CONFIG__TIMEOUT_MACROP_A, _B per distance mode: ST's table in the
# ultra-lite driver (VL53L1X_SetTimingBudgetInMs); 15 ms exists in short mode only
_BUDGETS = {"short": {15: (0x001D, 0x0027), 20: (0x0051, 0x006E), 33: (0x00D6, 0x006E),
                      50: (0x01AE, 0x01E8), 100: (0x02E1, 0x0388), 200: (0x03E1, 0x0496),
                      500: (0x0591, 0x05C1)},
            "long": {20: (0x001E, 0x0022), 33: (0x0060, 0x006E), 50: (0x00AD, 0x00C6),
                     100: (0x01CC, 0x01EA), 200: (0x02D9, 0x02F8), 500: (0x048F, 0x04A4)}}
# raw RESULT__RANGE_STATUS & 0x1F -> the driver's status; 0 = valid
_STATUS = b"\xff\xff\xff\x05\x02\x04\x01\x07\x03\x00\xff\xff\x09\x0d\xff\xff\xff\xff\x0a\x06" \
          b"\xff\xff\x0b\x0c"
STATUS_VALID = const(0)


class VL53L1X:
    def __init__(self, i2c, address=ADDRESS):
        self.i2c = i2c
        self.address = address
        self._a = bytearray(2)  # register address
        self._w = bytearray(3)  # address + one byte
        self._r = bytearray(2)
        self._r1 = memoryview(self._r)[:1]
        self.status = 0xFF
        self.mm = 0
        self.readings = 0
        self.mode = None
        self.budget_ms = 0
        self.period_ms = 0

    # -- registers
    def _read(self, reg, buf):
        a = self._a
        a[0] = reg >> 8
        a[1] = reg & 0xFF
        try:
            self.i2c.writeto(self.address, a, False)
            self.i2c.readfrom_into(self.address, buf)
        except OSError as e:
            raise SensorError("VL53L1X at 0x%02x: no answer (%s)" % (self.address, e))

    def read8(self, reg):
        self._read(reg, self._r1)
        return self._r[0]

    def read16(self, reg):
        self._read(reg, self._r)
        return (self._r[0] << 8) | self._r[1]

    def write8(self, reg, value):
        w = self._w
        w[0] = reg >> 8
        w[1] = reg & 0xFF
        w[2] = value
        try:
            self.i2c.writeto(self.address, w)
        except OSError as e:
            raise SensorError("VL53L1X at 0x%02x: no answer (%s)" % (self.address, e))

    def write16(self, reg, value):
        self.write_block(reg, bytes((value >> 8, value & 0xFF)))

    def write_block(self, reg, data):
        try:
            self.i2c.writeto(self.address, bytes((reg >> 8, reg & 0xFF)) + data)
        except OSError as e:
            raise SensorError("VL53L1X at 0x%02x: no answer (%s)" % (self.address, e))

    # -- set-up
    async def start(self, distance_mode="short", roi=(8, 16), period_ms=33, budget_ms=None):
        """As ST's ultra-lite driver initialises the part: boot check, identity, the
        configuration block, one warm-up ranging, then the two VHV writes that make later
        rangings start from the temperature found. Then the mode with its timing budget
        (default: the longest in ST's table that fits `period_ms`), the region size and the
        inter-measurement period."""
        deadline = ticks_add(ticks_ms(), 500)
        while not self.read8(_SYSTEM_STATUS) & 1:
            if ticks_diff(deadline, ticks_ms()) <= 0:
                raise SensorError("VL53L1X did not boot within 500 ms")
            await asyncio.sleep_ms(2)
        model = self.read16(_MODEL_ID_REG)
        if model != MODEL_ID:
            raise SensorError("VL53L1X: model id 0x%04x, expected 0x%04x (another part at "
                              "0x%02x?)" % (model, MODEL_ID, self.address))
        self.write_block(_CONFIG_START, DEFAULT_CONFIG)
        self.write8(_MODE_START, 0x40)
        await self.wait_ready(1000)
        self.clear_interrupt()
        self.stop()
        self.write8(_VHV_LOOP_BOUND, 0x09)  # two bounds VHV
        self.write8(_VHV_INIT, 0x00)  # start VHV from the previous temperature
        if budget_ms is None:
            table = _BUDGETS.get(distance_mode, _BUDGETS["short"])
            fits = [ms for ms in table if ms <= period_ms]
            budget_ms = max(fits) if fits else min(table)
        self.budget_ms = budget_ms
        self.set_distance_mode(distance_mode)
        self.set_roi(*roi)
        self.set_intermeasurement(period_ms)

    def set_distance_mode(self, mode):
        """Short (~1.3 m, robust in ambient light) or long (~4 m). The timing budget's
        registers depend on the mode, so the budget is programmed again (as ST's driver does)."""
        regs = _MODES.get(mode)
        if regs is None:
            raise ValueError("VL53L1X: distance mode must be 'short' or 'long'")
        if self.budget_ms and self.budget_ms not in _BUDGETS[mode]:
            raise ValueError("VL53L1X: a %d ms timing budget does not exist in %s mode"
                             % (self.budget_ms, mode))
        for reg, i in ((_PHASECAL_TIMEOUT, 0), (_VCSEL_PERIOD_A, 1), (_VCSEL_PERIOD_B, 2),
                       (_VALID_PHASE_HIGH, 3), (_WOI_SD0, 4), (_WOI_SD0 + 1, 5),
                       (_INITIAL_PHASE_SD0, 6), (_INITIAL_PHASE_SD0 + 1, 7)):
            self.write8(reg, regs[i])
        self.mode = mode
        if self.budget_ms:
            self.set_timing_budget(self.budget_ms)

    def set_timing_budget(self, ms):
        """How long one ranging integrates (ST's table for the current mode); never longer
        than the inter-measurement period."""
        pair = _BUDGETS[self.mode].get(ms) if self.mode else None
        if pair is None:
            raise ValueError("VL53L1X: timing budget must be one of %s ms in %s mode"
                             % (sorted(_BUDGETS[self.mode or "short"]), self.mode))
        if self.period_ms and ms > self.period_ms:
            raise ValueError("VL53L1X: timing budget %d ms is longer than the %d ms period"
                             % (ms, self.period_ms))
        self.write16(_TIMEOUT_A, pair[0])
        self.write16(_TIMEOUT_B, pair[1])
        self.budget_ms = ms

    def set_roi(self, width, height, centre=None):
        """Region of interest: width x height SPADs (4..16), centred on SPAD `centre`."""
        if not (4 <= width <= 16 and 4 <= height <= 16):
            raise ValueError("VL53L1X: ROI must be 4..16 SPADs wide and high")
        self.write8(_ROI_XY, ((height - 1) << 4) | (width - 1))
        if centre is not None:
            self.set_centre(centre)

    def set_centre(self, spad):
        self.write8(_ROI_CENTRE, spad)

    def set_intermeasurement(self, period_ms):
        """The ranging period, at least the timing budget; the chip counts it in its
        oscillator's ticks (x 1.075, ST's factor, as 1075 / 1000 in integers)."""
        if period_ms < self.budget_ms:
            raise ValueError("VL53L1X: period %d ms is shorter than the %d ms timing budget"
                             % (period_ms, self.budget_ms))
        osc = self.read16(_OSC_CALIBRATE) & 0x3FF
        v = period_ms * osc * 1075 // 1000
        self.period_ms = period_ms
        self.write_block(_INTERMEASUREMENT, bytes((v >> 24, (v >> 16) & 0xFF, (v >> 8) & 0xFF,
                                                   v & 0xFF)))

    # -- ranging
    def start_ranging(self):
        self.write8(_MODE_START, 0x40)

    def stop(self):
        self.write8(_MODE_START, 0x00)

    def clear_interrupt(self):
        self.write8(_INTERRUPT_CLEAR, 0x01)

    def data_ready(self):
        polarity = 0 if self.read8(_GPIO_HV_MUX_CTRL) & 0x10 else 1
        return (self.read8(_GPIO_TIO_HV_STATUS) & 1) == polarity

    async def wait_ready(self, timeout_ms=200):
        deadline = ticks_add(ticks_ms(), timeout_ms)
        while not self.data_ready():
            if ticks_diff(deadline, ticks_ms()) <= 0:
                raise SensorError("VL53L1X: no ranging result within %d ms" % timeout_ms)
            await asyncio.sleep_ms(2)

    def read(self):
        """The last result into self.status (0 valid) and self.mm; clears the interrupt so
        the next ranging can report."""
        raw = self.read8(_RANGE_STATUS) & 0x1F
        self.status = _STATUS[raw] if raw < len(_STATUS) else 0xFF
        self.mm = self.read16(_RANGE_MM)
        self.clear_interrupt()
        self.readings += 1
        return self.status == STATUS_VALID
