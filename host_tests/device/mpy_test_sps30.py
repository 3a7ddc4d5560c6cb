# SPS30 driver against the fake SPS30, under MicroPython.
# Real data: three SPS30 readings captured by avaldebe/PyPMS (tests/captured_data/SPS30.hexdump,
# decoded in SPS30.csv). They were captured over SHDLC (UART); the 40 float bytes are the ones
# the I2C interface carries, so the fake answers with them, CRCs added per word.
# Protocol: SPS30 datasheet section 6 (start 0x0010 arg 0x0300 = 00100300ac, two-step wake-up).
import asyncio

import envmodel
import fake_sen5x
import fake_sps30
import machine

import sps30
from devtest import SpyI2C, every_fault_path, expect_sensor_error, raises_async

FAST = 0.05  # new data every 50 ms instead of 1 s

# (pm1, pm25, pm4, pm10, n0_5, n1_0, n2_5, n4_0, n10_0, size) from PyPMS SPS30.csv
CAPTURED_CSV = (
    (5.2, 9.5, 12.6, 13.3, 26.31, 37.00, 41.52, 42.41, 42.54, 0.8),
    (5.8, 8.2, 9.9, 10.2, 35.09, 43.75, 46.20, 46.67, 46.75, 0.8),
    (7.0, 9.1, 10.5, 10.8, 44.12, 53.44, 55.51, 55.91, 55.97, 0.8),
)


def captured_float_bytes():
    """The 40 data bytes of each captured SHDLC frame (unstuffed, checksum verified)."""
    out = []
    with open("../data/sps30_shdlc_capture.hex") as f:
        for line in f:
            raw = bytes.fromhex(line.replace(" ", "").strip())
            body = bytearray()
            i = 1
            while i < len(raw) - 1:
                if raw[i] == 0x7D:
                    body.append({0x5E: 0x7E, 0x5D: 0x7D, 0x31: 0x11, 0x33: 0x13}[raw[i + 1]])
                    i += 2
                else:
                    body.append(raw[i])
                    i += 1
            assert (~sum(body[:-1])) & 0xFF == body[-1], "capture damaged"
            assert body[1] == 0x03 and body[3] == 40  # read measured values, 40 data bytes
            out.append(bytes(body[4:44]))
    return out


def _setup(env=None, **kw):
    env = envmodel.Environment({"fixed": env or {"pm1": 3.0, "pm25": 6.5, "pm4": 8.0,
                                                  "pm10": 9.25}})
    dev = fake_sps30.Device(env, time_scale=FAST)
    machine.I2C.attach(0, 0x69, dev)
    bus = SpyI2C(0)
    return dev, bus, sps30.SPS30(bus, **kw)




async def test_captured_readings_decode_like_the_reference():
    dev, bus, s = _setup()
    await s.start()
    assert "00100300ac" in bus.writes  # start measurement, float format (datasheet example)
    for raw, want in zip(captured_float_bytes(), CAPTURED_CSV):
        dev.raw_override = raw
        await asyncio.sleep_ms(60)
        await s.measure()
        got = (s.pm1, s.pm25, s.pm4, s.pm10, s.nc05, s.nc1, s.nc25, s.nc4, s.nc10,
               s.typical_size)
        for i, (g, w) in enumerate(zip(got, want)):
            tol = 0.05 if i < 4 or i == 9 else 0.005  # the CSV's printed precision
            assert abs(g - w) <= tol + 1e-6, (i, g, w)


async def test_start_identifies_and_measures():
    dev, bus, s = _setup(auto_clean_s=86400)
    await s.start()
    assert s.serial == "F4A1E3B0C2D5E6F7" and s.firmware == (2, 2)
    assert dev.auto_clean_s == 86400 and await s.get_auto_clean_interval() == 86400
    await s.measure()
    assert abs(s.pm25 - 6.5) < 1e-5 and abs(s.pm10 - 9.25) < 1e-5
    assert s.warming_up  # 30 s after start per the datasheet


async def test_reads_wait_for_data_ready():
    dev, bus, s = _setup()
    await s.start()
    assert not await s.data_ready()  # the first data comes a second (here 50 ms) after start
    await s.measure()
    assert bus.writes.count("0202") >= 2


async def test_state_rules():
    dev, bus, s = _setup()
    await s.start()
    await raises_async(s.sleep(), "not allowed while measuring")
    await s.clean_fan()
    assert dev.fan_cleanings == 1
    await s.stop()
    await raises_async(s.clean_fan(), "not allowed while idle")
    await raises_async(s.measure(), "not measuring")
    await s.sleep()
    try:  # asleep, the interface is off
        bus.writeto(0x69, b"\xd1\x00")
        raise AssertionError("asleep SPS30 answered")
    except OSError:
        pass
    await s.wake_up()  # needs the two-step wake-up
    assert dev.state == "idle" and s.state == "idle"
    await s.start_measurement()
    await s.measure()


async def test_node_reboot_while_measuring_or_asleep():
    dev, bus, s = _setup()
    await s.start()
    again = sps30.SPS30(bus)
    await again.start()
    await again.measure()
    await again.stop()
    await again.sleep()
    third = sps30.SPS30(bus)
    await third.start()
    await third.measure()
    assert abs(third.pm1 - 3.0) < 1e-5


async def test_a_sen5x_at_0x69_is_named():
    machine.I2C.attach(0, 0x69, fake_sen5x.Device(envmodel.Environment()))
    s = sps30.SPS30(machine.I2C(0))
    await raises_async(s.start(), "SEN5x also answers")


async def test_faults_every_path():
    dev, bus, s = _setup()
    await s.start()
    await every_fault_path(dev, s, 60)


def test_absent_sensor_is_a_clear_error():
    machine.I2C.reset_all()
    expect_sensor_error(sps30.SPS30, machine.I2C(0), words=("SPS30", "0x69", "no ACK"))
