# BME280 driver against the fake BME280 on the fake I2C bus, under MicroPython.
# Numbers: Bosch BMP280 datasheet BST-BMP280-DS001 section 3.12 (same T/P compensation as the
# BME280): adc_T=519888, adc_P=415148 with the example trimming give t_fine=128422,
# T=25.08 degC and P=100653.27 Pa on the double path. The driver runs Bosch's 32-bit integer
# path (1 Pa resolution; it stays in 31-bit small ints on a board): 100656 Pa, which
# test_properties checks is that formula, C semantics and all.
import asyncio

import envmodel
import fake_bme280
import machine

import bme280
from devtest import expect_sensor_error as _expect_sensor_error
from sensor_error import SensorError


def _setup(env=None, chip_id=0x60, address=0x76):
    env = envmodel.Environment({"fixed": env or {"temperature": 21.5, "pressure": 100200.0,
                                                  "humidity": 45.0}})
    dev = fake_bme280.Device(env, chip_id=chip_id)
    machine.I2C.attach(0, address, dev)
    return dev, machine.I2C(0)


async def test_datasheet_example():
    dev, i2c = _setup()
    s = bme280.BME280(i2c)
    dev.raw_override = (519888, 415148, 0)
    await s.measure()
    assert s.temperature == 25.08, s.temperature
    assert s.t_fine == 128422, s.t_fine
    assert s.compensate_p(415148) == 100656
    assert abs(s.compensate_p(415148) - 100653.27) <= 3  # the 32-bit path's error here
    assert s.pressure == 100656 and s.x100("pressure") == 10065600


async def test_reads_the_environment_through_the_bus():
    dev, i2c = _setup()
    s = bme280.BME280(i2c)
    await s.measure()
    # The fake derives raw ADC counts from Bosch's float formulas; the driver goes back with
    # the integer ones. Resolution: 0.01 degC, 1 Pa (and the 32-bit path's few Pa), 0.01 %RH.
    assert abs(s.temperature - 21.5) <= 0.02, s.temperature
    assert abs(s.pressure - 100200.0) <= 4.0, s.pressure
    assert abs(s.humidity - 45.0) <= 0.05, s.humidity
    assert dev.conversions == 1


def test_data_before_first_conversion_is_refused():
    # Registers hold their reset value 0x80000 until a conversion: the driver must not turn
    # that into a temperature.
    dev, i2c = _setup()
    s = bme280.BME280(i2c)
    dev.regs[0xF4] = 0  # nothing will start: simulate a chip that ignores the trigger
    dev.write_register = lambda reg, value: None
    _expect_sensor_error(s.measure, words=("no conversion result",))


async def test_status_bit_reports_conversion_time():
    dev, i2c = _setup()
    bme280.BME280(i2c)
    i2c.writeto(0x76, b"\xf2\x01")
    i2c.writeto(0x76, b"\xf4\x25")  # T x1, P x1, forced
    assert i2c.readfrom_mem(0x76, 0xF3, 1)[0] & 0x08, "measuring bit not set"
    await asyncio.sleep_ms(12)  # datasheet 9.1: 9.3 ms at x1/x1/x1
    assert not i2c.readfrom_mem(0x76, 0xF3, 1)[0] & 0x08, "still measuring after t_max"
    assert i2c.readfrom_mem(0x76, 0xF4, 1)[0] & 3 == 0, "forced mode must end in sleep"


def test_absent_device_is_a_clear_error():
    machine.I2C.attach(0, 0x77, fake_bme280.Device(envmodel.Environment()))
    _expect_sensor_error(bme280.BME280, machine.I2C(0), 0x76, words=("0x76", "no ACK"))


def test_bmp280_chip_id_is_rejected():
    _setup(chip_id=0x58)
    _expect_sensor_error(bme280.BME280, machine.I2C(0), words=("0x58", "a BMP280"))


async def test_bmp280_variant_has_no_humidity():
    dev, i2c = _setup(chip_id=0x58)
    s = bme280.BMP280(i2c)
    dev.raw_override = (519888, 415148, 0)
    await s.measure()
    # BMP280 datasheet 3.12: the same example, T = 25.08 Cel, P = 100656 Pa (32-bit path)
    assert s.temperature == 25.08 and s.pressure == 100656
    assert s.humidity is None and "humidity" not in s.RANGES


def test_settings_are_checked():
    dev, i2c = _setup()
    for kw in ({"osrs_t": 3}, {"iir": 5}, {"standby_ms": 30}):
        try:
            bme280.BME280(i2c, **kw)
            raise AssertionError("accepted %r" % kw)
        except ValueError as e:
            assert list(kw)[0] in str(e)


def test_conversion_time_is_the_datasheet_formula():
    dev, i2c = _setup()
    # datasheet 9.1: x1/x1/x1 -> 9.3 ms max; x16/x16/x16 -> 1.25 + 3 * 36.8 + 2 * 0.575 = 112.8
    assert bme280.BME280(i2c).measure_time_ms() == 10
    assert bme280.BME280(i2c, osrs_t=16, osrs_p=16, osrs_h=16).measure_time_ms() == 113
    assert bme280.BME280(i2c, osrs_h=0).measure_time_ms() == 7  # 1.25 + 2.3 + 2.875 = 6.4


async def test_iir_step_response_matches_the_datasheet_table():
    # Datasheet 3.4.4 table: samples to reach >= 75 % of a step: coefficient 4 -> 5, 16 -> 22
    for coefficient, samples in ((4, 5), (16, 22)):
        dev, i2c = _setup()
        s = bme280.BME280(i2c, iir=coefficient, osrs_t=16)
        await s.measure()
        low = s.temperature
        dev.env.set("temperature", 31.5)
        n = 0
        while True:
            await s.measure()
            n += 1
            if (s.temperature - low) >= 0.75 * (31.5 - low) - 0.01:
                break
        assert n == samples, (coefficient, n)


async def test_resolution_follows_oversampling_without_filter():
    # Datasheet 3.4.3: without the IIR filter, 16 + (osrs - 1) bits; the low bits read 0
    dev, i2c = _setup()
    await bme280.BME280(i2c).measure()  # x1: 16 bits
    assert dev.regs[0xFC] == 0 and dev.regs[0xF9] == 0
    s = bme280.BME280(i2c, osrs_t=16, osrs_p=16)
    await s.measure()  # x16: 20 bits
    assert s.adc_t & 0xF or s.adc_p & 0xF or dev.regs[0xFC] | dev.regs[0xF9]


async def test_normal_mode_converts_on_its_own_at_the_standby_rate():
    dev, i2c = _setup()
    s = bme280.BME280(i2c, normal=True, standby_ms=62.5)
    await s.measure()
    n = dev.conversions
    await asyncio.sleep_ms(400)
    await s.measure()  # reads the newest result; the fake catches up on the bus access
    # each cycle is 62.5 ms standby + 10 ms conversion: about 5 in 400 ms
    assert 4 <= dev.conversions - n <= 6, dev.conversions - n
    assert abs(s.temperature - 21.5) <= 0.02


def test_nack_stuck_and_unplugged_mid_run():
    dev, i2c = _setup()
    s = bme280.BME280(i2c)
    asyncio.run(s.measure())
    for fault, words in (("nack", "no ACK"), ("stuck", "bus timeout"), ("unplugged", "no ACK")):
        dev.fault = fault
        _expect_sensor_error(s.measure, words=(words,))
    dev.fault = None
    asyncio.run(s.measure())
    assert abs(s.temperature - 21.5) <= 0.02


async def test_garbage_bytes_never_crash_the_driver():
    dev, i2c = _setup()
    s = bme280.BME280(i2c)
    dev.fault = "garbage"
    for _ in range(20):
        try:
            await s.measure()
        except SensorError:
            pass
        # Whatever came back is a number or an error -- never an unhandled exception.
        assert s.humidity is None or 0 <= s.humidity <= 100


async def test_values_over_the_operating_range_allocate_nothing():
    # On a 32-bit board a compensation intermediate past 2**30 becomes a heap long int: over
    # the datasheet's operating range (-40..85 Cel, 300..1100 hPa, 0..100 %RH) the values the
    # node takes (x100) must allocate nothing (on the 64-bit VM this cannot fail; the board VM
    # leg runs it for real).
    import gc

    dev, i2c = _setup()
    s = bme280.BME280(i2c)
    await s.measure()
    for t in range(-40, 86, 5):
        for p in range(30000, 110001, 5000):
            for h in (0, 30, 60, 100):
                s.adc_t, s.adc_p, s.adc_h = dev.adc_from_physical(t, p, h)
                gc.collect()
                gc.disable()
                before = gc.mem_alloc()
                s.x100("temperature")
                s.x100("pressure")
                s.x100("humidity")
                spent = gc.mem_alloc() - before
                gc.enable()
                assert spent == 0, (t, p, h, spent)
