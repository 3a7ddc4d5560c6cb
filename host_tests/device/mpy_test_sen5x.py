# SEN5x driver against the fake SEN5x, under MicroPython. Scaling and "no value" markers:
# SEN5x datasheet 6.1.6 (PM uint16 / 10, RH int16 / 100, T int16 / 200, VOC and NOx int16 / 10;
# 0xFFFF and 0x7FFF mean not available; NOx reads 0x7FFF for its first ~10 s).
import asyncio

import envmodel
import fake_sen5x
import fake_sps30
import machine

import sen5x
from devtest import every_fault_path, expect_sensor_error, raises_async

FAST = 0.05


def _setup(variant="SEN55"):
    env = envmodel.Environment({"fixed": {"pm1": 3.0, "pm25": 6.5, "pm4": 8.0, "pm10": 9.2,
                                          "humidity": 45.0, "temperature": 21.0,
                                          "voc_index": 100.0, "nox_index": 1.0}})
    dev = fake_sen5x.Device(env, variant=variant, time_scale=FAST)
    machine.I2C.attach(0, 0x69, dev)
    return dev, sen5x.SEN5x(machine.I2C(0))




async def test_scaling_of_each_word():
    dev, s = _setup()
    await s.start()
    assert s.product == "SEN55"
    # PM2.5 80 -> 8.0; RH 4500 -> 45.00; T -200 (0xff38) -> -1.0; VOC 1000 -> 100.0; NOx 10 -> 1.0
    dev.raw_override = (30, 80, 95, 101, 4500, 0xFF38, 1000, 10)
    await asyncio.sleep_ms(60)
    await s.measure()
    assert (s.pm1, s.pm25, s.pm4, s.pm10) == (3.0, 8.0, 9.5, 10.1)
    assert (s.humidity, s.temperature, s.voc_index, s.nox_index) == (45.0, -1.0, 100.0, 1.0)


async def test_no_value_markers_become_none():
    dev, s = _setup()
    assert s.pm25 is None and s.nox_index is None  # nothing read yet
    await s.start()
    await s.measure()
    assert s.pm25 == 6.5 and s.temperature == 21.0
    assert s.nox_index is None  # 0x7FFF during the first 10 s (here 0.5 s)
    await asyncio.sleep_ms(600)
    await s.measure()
    assert s.nox_index == 1.0


async def test_variants_without_gas_or_rht():
    dev, s = _setup("SEN50")
    await s.start()
    await s.measure()
    assert s.pm10 == 9.2 and s.humidity is None and s.voc_index is None
    dev, s = _setup("SEN54")
    await s.start()
    await asyncio.sleep_ms(600)
    await s.measure()
    assert s.voc_index == 100.0 and s.nox_index is None


async def test_an_sps30_at_0x69_is_named():
    machine.I2C.attach(0, 0x69, fake_sps30.Device(envmodel.Environment()))
    await raises_async(sen5x.SEN5x(machine.I2C(0)).start(), "SPS30 also answers")


async def test_state_rules():
    dev, s = _setup()
    await raises_async(s.measure(), "not measuring")
    await raises_async(s.clean_fan(), "not allowed while idle")
    await s.start()
    await s.clean_fan()
    await s.stop()
    await raises_async(s.measure(), "not measuring")


async def test_faults_every_path():
    dev, s = _setup()
    await s.start()
    await every_fault_path(dev, s, 60)


def test_absent_sensor_is_a_clear_error():
    machine.I2C.reset_all()
    expect_sensor_error(sen5x.SEN5x, machine.I2C(0), words=("SEN5x", "0x69", "no ACK"))
