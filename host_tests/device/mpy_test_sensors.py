# The runtime side of the drivers (firmware/sensing/polled.py), under MicroPython with the fakes
# wired through the simulated board: start-up, compensation feed, warm-up, range checks, errors that
# become a status and a quality flag, re-opening a sensor that comes back.
import asyncio

import envmodel
import fake_bme280
import fake_pms5003
import fake_scd4x
import fake_sps30
import machine

from aggregate import Aggregator
from hal import Board
from log import Log
from sensors import Sensor

ENV = {"temperature": 12.0, "pressure": 98700.0, "humidity": 60.0, "co2": 700.0,
       "pm1": 3.0, "pm25": 6.0, "pm4": 7.0, "pm10": 9.0}


def _world():
    machine.I2C.reset_all()
    env = envmodel.Environment({"fixed": dict(ENV)})
    bme = fake_bme280.Device(env)
    scd = fake_scd4x.Device(env, time_scale=0.02)
    sps = fake_sps30.Device(env, time_scale=0.05)
    machine.I2C.attach(0, 0x76, bme)
    machine.I2C.attach(0, 0x62, scd)
    machine.I2C.attach(0, 0x69, sps)
    return env, bme, scd, sps


def _sensor(driver, address=None, **options):
    spec = {"driver": driver, "bus": "i2c0" if address else "uart1", "every_s": 0.1}
    if address:
        spec["address"] = address
    if options:
        spec["options"] = options
    return Sensor(spec, Board("host"), Log())


def _agg(*sensors):
    names = []
    for s in sensors:
        names += [n for n, _u in s.publish if n not in names]
    return Aggregator(names)


async def test_barometer_pressure_reaches_the_scd4x():
    env, bme, scd, sps = _world()
    b, c = _sensor("bme280", 0x76), _sensor("scd4x", 0x62)
    c.publish = (("co2", "ppm"),)  # the node gives temperature and humidity to the BME280
    agg, latest = _agg(b, c), {}
    await b.sample(agg, latest)
    await c.sample(agg, latest)
    # values in the node are hundredths of their unit
    assert abs(latest["pressure"] - 9870000) <= 400 and scd.pressure_hpa == 987
    assert agg.mean("co2") == 70000 and agg.samples("temperature") == 1  # BME280's only
    assert c.status == "ok" and c.quality() == 1.0


async def test_warm_up_samples_are_flagged_not_published():
    env, bme, scd, sps = _world()
    s = _sensor("sps30", 0x69, warmup_s=0.3)
    agg, latest = _agg(s), {}
    await s.sample(agg, latest)
    assert s.status == "warming up" and agg.samples("pm25") == 0 and s.quality() == 0.0
    await asyncio.sleep_ms(350)
    await s.sample(agg, latest)
    assert s.status == "ok" and agg.samples("pm25") == 1 and s.quality() == 0.5


async def test_out_of_range_value_is_a_bad_sample():
    env, bme, scd, sps = _world()
    s = _sensor("bme280", 0x76)
    agg = _agg(s)
    env.set("temperature", 95.0)  # above the BME280's -40..85 Cel
    await s.sample(agg, {})
    assert "temperature" in s.status and "out of range (-40..85)" in s.status, s.status
    assert agg.samples("temperature") == 0 and s.quality() == 0.0 and s.errors_total == 1


async def test_an_unplugged_sensor_is_reopened_when_it_returns():
    env, bme, scd, sps = _world()
    s = _sensor("sps30", 0x69, warmup_s=0)
    agg = _agg(s)
    await s.sample(agg, {})
    assert s.status == "ok"
    sps.fault = "unplugged"
    await s.sample(agg, {})
    assert "no ACK" in s.status and s.driver is None
    sps.fault = None
    resets = sps.received.count(0xD304)
    await s.sample(agg, {})
    assert s.status == "ok" and sps.received.count(0xD304) == resets + 1  # started again
    assert s.quality() == 2 / 3


async def test_pms5003_on_the_board_uart():
    env, bme, scd, sps = _world()
    machine.UART.attach(1, fake_pms5003.Device(env, time_scale=0.02))
    s = _sensor("pms5003", warmup_s=0)
    agg = _agg(s)
    await s.sample(agg, {})
    assert s.status == "ok" and agg.mean("pm25") == 600 and agg.mean("pm10") == 900
    assert [n for n, _u in s.publish] == ["pm1", "pm25", "pm10"]


async def test_bad_options_are_a_status_not_a_crash():
    env, bme, scd, sps = _world()
    s = _sensor("bme280", 0x76, osrs_t=3)
    await s.sample(_agg(s), {})
    assert "osrs_t" in s.status and s.driver is None


def test_board_switches_sensor_power_when_it_has_a_switch():
    import simworld

    simworld.set_world({"chip": "esp32s3"})
    b = Board("esp32s3")
    assert b.sensor_power(True) and b._power.value() == 1
    assert b.sensor_power(False) and b._power.value() == 0
    simworld.set_world({})
    assert not Board("host").sensor_power(True)


async def test_a_driver_module_missing_on_the_board_is_a_status_not_a_crash():
    # a deploy cut short can leave a driver's .mpy off the board: the node must keep running
    s = _sensor("bme280", 0x76)
    s._driver_ref = ("no_such_driver_module", "BME280")
    assert s.power_up_ms == 0
    await s.sample(_agg(s), {})
    assert "no_such_driver_module" in s.status and s.errors_total == 1 and s.driver is None


def test_an_interval_of_pressure_sums_past_a_small_int_without_allocating():
    # 900 one-second samples of 110 kPa in hundredths add up to 9.9e9, past a board's 31-bit
    # small ints (2**30 - 1 = 1,073,741,823): the aggregator carries instead of boxing
    import gc

    agg = Aggregator(["pressure", "temperature"])
    agg.add("pressure", 11000000)
    agg.add("temperature", -4000)
    gc.collect()
    before = gc.mem_alloc()
    for i in range(899):
        agg.add("pressure", 11000000 - (i & 1))
        agg.add("temperature", -4000 + (i & 1))
    assert gc.mem_alloc() == before, gc.mem_alloc() - before
    assert agg.total("pressure") == 900 * 11000000 - 449, agg.total("pressure")
    # exact means 10999999.5011 and -3999.5011, rounded to the nearest hundredth
    assert agg.mean("pressure") == 11000000, agg.mean("pressure")
    assert agg.mean("temperature") == -4000, agg.mean("temperature")
