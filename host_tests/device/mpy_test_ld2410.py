# HLK-LD2410 driver against the fake LD2410 on the fake UART (256000 baud), under MicroPython.
# Frame layouts and the enable/end-config frames: HLK-LD2410 serial protocol V1.02, as in
# ../shared/reference/sensors.md ("FDFCFBFA0400FF00010004030201", "FDFCFBFA0200FE0004030201").
import asyncio
import random

import fake_ld2410
import machine

import ld2410
from devtest import raises_async
from sensor_error import SensorError


# the receive buffer the board gives an LD2410 (boards/hal.py: 5 s of its data rate)
RXBUF = ld2410.LD2410.BYTES_PER_S * 5


def _setup(visits=((0, 1000, 2.5, True),), rxbuf=RXBUF, **kw):
    dev = fake_ld2410.Device(visits=list(visits), **kw)
    machine.UART.attach(1, dev)
    return dev, ld2410.LD2410(machine.UART(1, baudrate=256000, rxbuf=rxbuf))


def _quiet(dev):
    """Only bytes the test feeds reach the driver."""
    dev.fault = "unplugged"
    dev.queue = bytearray()


def test_command_frames_match_the_protocol_document():
    assert ld2410.command_frame(0x00FF, b"\x01\x00").hex() == "fdfcfbfa0400ff00010004030201"
    assert ld2410.command_frame(0x00FE).hex() == "fdfcfbfa0200fe0004030201"


async def test_basic_and_engineering_reports_decode():
    dev, s = _setup()
    _quiet(dev)
    dev.fault = None
    dev.config_mode = True  # hold its own reports
    dev.feed(fake_ld2410.report(3, 245, 61, 180, 37, 245))
    dev.feed(fake_ld2410.report(2, 0, 0, 315, 52, 315,
                                engineering=([0] * 9, [0, 0, 0, 0, 55, 0, 0, 0, 0])))
    await asyncio.sleep_ms(10)
    assert s.poll()
    assert (s.state, s.moving_cm, s.moving_energy, s.static_cm, s.static_energy, s.detect_cm) \
        == (3, 245, 61, 180, 37, 245)
    assert not s.engineering and s.present
    assert s.poll()
    assert s.engineering and s.static_cm == 315 and list(s.gate_static)[4] == 55
    assert not s.poll() and s.bad_frames == 0 and s.skipped == 0


async def test_stationary_distance_zero_with_energy_is_presence():
    dev, s = _setup()
    dev.config_mode = True
    dev.queue = bytearray()
    dev.feed(fake_ld2410.report(0, 0, 0, 0, 0, 0))
    dev.feed(fake_ld2410.report(0, 0, 0, 0, 33, 0))  # the field quirk
    await asyncio.sleep_ms(10)
    assert s.poll() and not s.present
    assert s.poll() and s.present


async def test_noise_and_half_frames_are_survived():
    dev, s = _setup()
    dev.config_mode = True
    dev.queue = bytearray()
    random.seed(4)
    good = [fake_ld2410.report(1, 100 + i, 50, 0, 0, 100 + i) for i in range(12)]
    stream = bytearray(good[0][9:])  # a frame's tail first
    for f in good[1:]:
        stream += bytes(random.getrandbits(8) for _ in range(random.randint(0, 9)))
        stream += b"\xf4\xf3"  # a header that goes nowhere
        stream += f
    bad = bytearray(good[3])
    bad[-1] = 0  # a broken tail
    stream += bad
    dev.feed(stream)
    await asyncio.sleep_ms(40)
    got = []
    while s.poll() or s.uart.any():
        if s.frames > len(got):
            got.append(s.moving_cm)
        await asyncio.sleep_ms(2)
    assert got == [100 + i for i in range(1, 12)], got
    assert s.bad_frames >= 1 and s.skipped > 0


async def test_configuration_commands_with_acks():
    dev, s = _setup()
    await s.start()
    assert await s.firmware_version() == "V1.02.22062416"
    await s.set_max_gates(moving=6, stationary=5, no_one_s=10)
    await s.set_sensitivity(None, 40, 30)
    await s.set_sensitivity(2, 70, 60)
    p = await s.read_params()
    assert (p["max_moving_gate"], p["max_stationary_gate"], p["no_one_s"]) == (6, 5, 10)
    assert p["moving"][2] == 70 and p["stationary"][2] == 60 and p["moving"][7] == 40
    await s.set_engineering(True)
    await asyncio.sleep_ms(250)
    while s.poll():
        pass
    assert s.engineering
    # every command ran inside enable-config / end-config, and reports resumed after
    assert dev.commands[0] == 0x00FF and dev.commands[-1] == 0x00FE and not dev.config_mode
    for a, b in zip(dev.commands, dev.commands[1:]):
        assert not (a == 0x00FE and b != 0x00FF), dev.commands


async def test_refusals_and_timeouts():
    dev, s = _setup()
    await s.start()
    try:
        await s.set_max_gates(moving=9)
        raise AssertionError("gate 9 accepted")
    except ValueError:
        pass
    await raises_async(s.configure((0x0077, b"")), "0x0077 refused (status 1)")
    assert not dev.config_mode  # end-config was still sent
    dev.fault = "unplugged"
    await raises_async(s.firmware_version(), "no ack to command 0x00ff")
    s2 = ld2410.LD2410(machine.UART(1, baudrate=256000))
    await raises_async(s2.start(), "no reports")
    dev.fault = "garbage"  # noise only: named as noise
    dev.config_mode = True
    dev.feed(bytes(range(200)))
    await raises_async(ld2410.LD2410(machine.UART(1, baudrate=256000)).start(),
                       "bytes of noise")


async def test_a_uart_at_the_wrong_baud_rate_reads_garbage_and_never_a_report():
    dev = fake_ld2410.Device(visits=[(0, 1000, 2.5, True)])
    machine.UART.attach(1, dev)
    s = ld2410.LD2410(machine.UART(1, baudrate=115200, rxbuf=RXBUF))  # not the part's 256000
    await raises_async(s.start(), "")
    assert dev.garbled > 0 and s.frames == 0


async def test_a_full_receive_buffer_loses_bytes_and_counts_them():
    dev, s = _setup(rxbuf=64)  # the 256-byte default would do the same over a stall
    dev.config_mode = True
    dev.queue = bytearray()
    dev.feed(b"".join(fake_ld2410.report(1, 100 + i, 50, 0, 0, 100) for i in range(10)))
    await asyncio.sleep_ms(50)  # 230 bytes have arrived at 25600 bytes/s; 64 fit
    while s.poll():
        pass
    assert dev.overflow == 230 - 64 and s.frames <= 64 // 23, (dev.overflow, s.frames)


async def test_reports_follow_the_room():
    # someone walks in at 0.3 s and leaves at 0.8 s (scene time at 1:1)
    dev, s = _setup(visits=[(0.3, 0.8, 2.0, True)])
    seen = []
    for _ in range(60):
        await asyncio.sleep_ms(20)
        while s.poll():
            seen.append(s.present)
    assert seen[0] is False and True in seen and seen[-1] is False, seen


def test_no_uart_is_a_clear_error():
    try:
        ld2410.LD2410(None)
    except SensorError as e:
        assert "no UART" in str(e)
        return
    raise AssertionError("accepted no UART")
