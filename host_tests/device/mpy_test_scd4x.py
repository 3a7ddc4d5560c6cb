# SCD4x driver against the fake SCD4x, under MicroPython.
# Sources: Sensirion SCD4x datasheet -- CRC example CRC(0xBEEF) = 0x92; command examples
# perform_forced_recalibration(480 ppm) = 362f 01e0 b4 and set_automatic_self_calibration(on)
# = 2416 0001 b0; read_measurement example 01f4 33 | 6667 a2 | 5eb9 3c = 500 ppm, 25.0 Cel,
# 37 %RH; conversions T = -45 + 175 w / 65535, RH = 100 w / 65535.
import asyncio

import envmodel
import fake_scd4x
import machine

import scd4x
import sensirion
from devtest import SpyI2C, every_fault_path, expect_sensor_error, raises_async
from sensor_error import SensorError

FAST = 0.02  # measurement period 5 s -> 100 ms; command execution times stay real


def _setup(variant="scd41", env=None, **kw):
    env = envmodel.Environment({"fixed": env or {"co2": 612.0, "temperature": 22.0,
                                                  "humidity": 40.0}})
    dev = fake_scd4x.Device(env, variant=variant, time_scale=FAST)
    machine.I2C.attach(0, 0x62, dev)
    bus = SpyI2C(0)
    return dev, bus, scd4x.SCD4x(bus, **kw)


def test_crc_datasheet_example():
    assert sensirion.crc8(b"\xbe\xef") == 0x92


async def test_datasheet_command_examples():
    dev, bus, s = _setup()
    await s.start()
    await s.measure()
    await s.stop()
    bus.writes.clear()
    await s.forced_recalibration(480)
    await s.set_automatic_self_calibration(True)
    assert bus.writes == ["362f01e0b4", "24160001b0"], bus.writes


async def test_datasheet_measurement_example():
    dev, bus, s = _setup()
    dev.raw_override = (0x01F4, 0x6667, 0x5EB9)
    await s.start()
    await s.measure()
    assert s.co2 == 500
    assert abs(s.temperature - 25.0) < 0.005, s.temperature  # 25.0027
    assert abs(s.humidity - 37.0) < 0.002, s.humidity


async def test_periodic_measurement_reads_the_environment():
    dev, bus, s = _setup()
    await s.start()
    assert s.serial == "f8969f073bb3" and dev.state == "periodic"
    for _ in range(3):
        await s.measure()
        assert s.co2 == 612, s.co2
        # the fake applies the factory temperature offset (4 Cel) like the sensor
        assert abs(s.temperature - (22.0 - 175 * 1498 / 65535)) < 0.01, s.temperature
        assert abs(s.humidity - 40.0) < 0.01


async def test_low_power_mode():
    dev, bus, s = _setup(low_power=True)
    await s.start()
    assert dev.state == "low_power" and "21ac" in bus.writes
    await s.measure()
    assert s.co2 == 612


async def test_single_shot_scd41_and_refused_on_scd40():
    dev, bus, s = _setup(single_shot=True)
    await s.start()
    assert dev.state == "idle"
    await s.measure()  # 5 s single shot
    assert s.co2 == 612 and "219d" in bus.writes
    dev, bus, s = _setup(variant="scd40", single_shot=True)
    await s.start()
    await raises_async(s.measure(), "no ACK")




async def test_state_rules_driver_and_sensor():
    dev, bus, s = _setup()
    await s.start()
    # The driver refuses settings while measuring, naming the rule...
    await raises_async(s.set_temperature_offset(5.4), "not allowed while measuring")
    await raises_async(s.persist_settings(), "not allowed while measuring")
    # ...and so does the sensor itself (no ACK), if anything sends one anyway.
    try:
        bus.writeto(0x62, bytes.fromhex("241d07e648"))
        raise AssertionError("sensor accepted a setting while measuring")
    except OSError as e:
        assert e.args[0] == 19
    # set_ambient_pressure is one of the few commands allowed while measuring
    await s.set_ambient_pressure(98700)
    assert dev.pressure_hpa == 987
    await s.stop()
    bus.writes.clear()
    await s.set_temperature_offset(5.4)
    assert bus.writes == ["241d07e648"], bus.writes  # 5.4 * 65535 / 175 = 2022 = 0x07e6
    assert abs(await s.get_temperature_offset() - 5.4) < 0.003


async def test_commands_right_after_stop_are_not_acknowledged():
    dev, bus, s = _setup()
    await s.start()
    bus.writeto(0x62, b"\x3f\x86")  # stop: 500 ms execution time
    try:
        bus.writeto(0x62, b"\x36\x82")
        raise AssertionError("sensor answered during stop_periodic_measurement")
    except OSError:
        pass
    await asyncio.sleep_ms(500)
    bus.writeto(0x62, b"\x36\x82")


async def test_barometer_pressure_is_fed_while_measuring():
    dev, bus, s = _setup()
    await s.start()
    s.ambient_pressure = 101325.0
    await s.measure()
    assert dev.pressure_hpa == 1013
    sent = "e00003f5%02x" % sensirion.crc8(b"\x03\xf5")  # 1013 hPa
    await s.measure()  # an unchanged pressure is not sent again
    assert [w for w in bus.writes if w.startswith("e000")] == [sent], bus.writes


async def test_settings_persist_and_reinit():
    dev, bus, s = _setup(altitude=1950, asc=False)
    await s.start()
    await s.stop()
    assert await s.get_altitude() == 1950 and not await s.get_automatic_self_calibration()
    await s.persist_settings()
    await s.set_altitude(0)
    await s.reinit()
    assert await s.get_altitude() == 1950
    await s.factory_reset()
    assert await s.get_altitude() == 0 and await s.get_automatic_self_calibration()


async def test_forced_recalibration():
    dev, bus, s = _setup()
    await s.start()
    await s.measure()
    await s.stop()
    # right after power-up with no measurement the sensor reports failure (0xFFFF)
    fresh = fake_scd4x.Device(envmodel.Environment(), time_scale=FAST)
    machine.I2C.attach(0, 0x62, fresh)
    await raises_async(s.forced_recalibration(480), "forced recalibration failed")
    machine.I2C.attach(0, 0x62, dev)
    assert await s.forced_recalibration(400) == 400 - 612
    await s.start_periodic()
    await s.measure()
    assert s.co2 == 400


async def test_power_down_and_wake_up():
    dev, bus, s = _setup()
    await s.start()
    await s.stop()
    await s.power_down()
    assert dev.state == "asleep"
    await raises_async(s.measure(), "not measuring")
    try:
        bus.writeto(0x62, b"\x36\x82")
        raise AssertionError("asleep sensor answered")
    except OSError:
        pass
    await s.wake_up()
    await s.start_periodic()
    await s.measure()
    assert s.co2 == 612


async def test_node_reboot_while_sensor_measures():
    dev, bus, s = _setup()
    await s.start()
    again = scd4x.SCD4x(bus)  # the node rebooted; the sensor kept measuring
    await again.start()
    await again.measure()
    assert again.co2 == 612


async def test_faults_every_path():
    dev, bus, s = _setup()
    await s.start()
    await every_fault_path(dev, s, 120)


async def test_garbage_bytes_never_crash():
    dev, bus, s = _setup()
    await s.start()
    dev.fault = "garbage"
    errors = 0
    for _ in range(10):
        try:
            await s.measure()
        except SensorError:
            errors += 1
    assert errors >= 9  # random bytes pass all CRCs by chance with p = 1/256 per word


def test_absent_sensor_is_a_clear_error():
    machine.I2C.reset_all()
    expect_sensor_error(scd4x.SCD4x, machine.I2C(0), words=("SCD4x", "0x62", "no ACK"))


async def test_self_test():
    dev, bus, s = _setup()
    await s.start()
    await s.stop()
    assert await s.self_test()  # 10 s, awaited without blocking the loop
