# PMS5003 driver against the fake PMS5003 on the fake UART (bytes arrive at 9600 baud), under
# MicroPython. Real data: five PMSx003 frames captured by avaldebe/PyPMS
# (pms -m PMSx003 -n 5 -i 10 serial -f csv), with that tool's decoded values.
# Commands: Plantower PMS5003 data manual appendix (sleep 424de400000173 and so on).
import asyncio

import envmodel
import fake_pms5003
import machine

import pms5003
from devtest import raises_async
from sensor_error import ChecksumError, SensorError

FAST = 0.02  # a frame every 46 ms instead of 2.3 s

# raw01 raw25 raw10 pm01 pm25 pm10, then n0_3 .. n10_0 in #/cm3 (counts per 0.1 L / 100)
CAPTURED_CSV = (
    (0, 8, 11, 0, 8, 11, 1.80, 0.57, 0.46, 0.30, 0.00, 0.00),
    (0, 8, 8, 0, 8, 8, 2.85, 0.92, 0.30, 0.30, 0.00, 0.00),
    (0, 5, 5, 0, 5, 5, 0.36, 0.12, 0.12, 0.12, 0.00, 0.00),
    (0, 2, 4, 0, 2, 4, 0.30, 0.10, 0.03, 0.03, 0.03, 0.03),
    (0, 0, 1, 0, 0, 1, 0.18, 0.06, 0.03, 0.03, 0.03, 0.03),
)


def captured_frames():
    with open("../data/pms5003_capture.hex") as f:
        return [bytes.fromhex(line.strip()) for line in f if line.strip()]


def _setup(passive=False, **kw):
    env = envmodel.Environment({"fixed": {"pm1": 4.0, "pm25": 9.0, "pm10": 14.0}})
    dev = fake_pms5003.Device(env, time_scale=FAST, passive=passive)
    machine.UART.attach(1, dev)
    return dev, pms5003.PMS5003(machine.UART(1), passive=passive, **kw)




async def test_captured_frames_decode_like_the_reference():
    dev, s = _setup()
    dev.asleep = True  # only the captured bytes on the line
    dev.queue = bytearray()
    for f in captured_frames():
        dev.feed(f)
    await asyncio.sleep_ms(200)  # 160 bytes at 9600 baud
    for want in CAPTURED_CSV:
        assert s.poll()
        got = (s.pm1_cf1, s.pm25_cf1, s.pm10_cf1, s.pm1, s.pm25, s.pm10)
        assert got == want[:6], (got, want)
        for i in range(6):
            assert abs(s.counts(i) / 100 - want[6 + i]) < 0.005
    assert not s.poll() and s.bad_frames == 0


async def test_active_mode_from_mid_frame():
    dev, s = _setup()
    await s.start()  # the stream starts with a frame's tail: skipped, not misread
    assert s.skipped >= 19 and s.bad_frames == 0
    assert (s.pm1, s.pm25, s.pm10) == (4, 9, 14)
    assert dev.commands == [pms5003.CMD_WAKE.hex(), pms5003.CMD_ACTIVE.hex()]
    await s.measure()
    assert s.pm25 == 9


async def test_passive_mode_reads_on_request():
    dev, s = _setup(passive=True)
    await s.start()
    assert dev.passive and s.pm10 == 14
    n = s.frames
    await asyncio.sleep_ms(200)  # nothing arrives unasked
    assert not s.poll() and s.frames == n
    await s.measure()
    assert s.frames == n + 1 and dev.commands[-1] == pms5003.CMD_READ.hex()


async def test_sleep_wake_and_warm_up_flag():
    dev, s = _setup(warmup_s=0.3)
    await s.start()
    assert s.warming_up
    await s.sleep()
    assert dev.asleep
    await raises_async(s.measure(), "asleep")
    await s.wake()
    assert s.warming_up and not dev.asleep
    await s.measure()
    await asyncio.sleep_ms(300)
    assert not s.warming_up
    assert pms5003.PMS5003.WARMUP_MS == 30000  # the datasheet's 30 s unless configured


async def test_noise_between_and_inside_frames_is_survived():
    dev, s = _setup()
    await s.start()
    dev.fault = "garbage"
    good = 0
    for _ in range(10):
        try:
            await s.measure()
            good += 1
            assert (s.pm1, s.pm25, s.pm10) == (4, 9, 14)  # never a made-up value
        except SensorError:
            pass
    assert good >= 5, good


async def test_faults_every_path():
    dev, s = _setup()
    await s.start()
    dev.fault = "crc"
    await raises_async(s.measure(), "bad checksum", ChecksumError)
    dev.fault = "range"
    await raises_async(s.measure(), "out of range")
    dev.fault = "unplugged"
    await asyncio.sleep_ms(100)
    try:
        while s.poll():  # drain what was already on the line
            pass
    except SensorError:
        pass
    await raises_async(s.measure(), "no data")
    dev.fault = None
    await s.measure()
    assert s.pm25 == 9


async def test_pure_noise_is_named():
    dev, s = _setup()
    dev.asleep = True
    dev.queue = bytearray()
    dev.feed(bytes(range(0x50, 0x90)) * 3)
    await raises_async(s.measure(), "bytes of noise")


def test_no_uart_is_a_clear_error():
    try:
        pms5003.PMS5003(None)
    except SensorError as e:
        assert "no UART" in str(e)
        return
    raise AssertionError("accepted no UART")
