# The fake `machine` and `network` behave like the board APIs the firmware is written against.
import time

import fakestream
import machine
import network
import simworld


def test_pin_irq_fires_on_the_chosen_edge():
    seen = []
    p = machine.Pin(4, machine.Pin.IN)
    p.irq(lambda pin: seen.append(pin.value()), machine.Pin.IRQ_RISING)
    p.drive(1)
    p.drive(0)
    p.drive(1)
    assert seen == [1, 1], seen


def test_uart_bytes_arrive_at_line_rate():
    dev = fakestream.UARTDevice(baudrate=9600)
    machine.UART.attach(1, dev)
    u = machine.UART(1, baudrate=9600)
    dev.feed(bytes(range(96)))  # 96 bytes at 960 bytes/s take 100 ms
    assert u.any() < 10
    time.sleep_ms(55)
    half = u.any()
    assert 40 <= half <= 70, half
    time.sleep_ms(60)
    buf = bytearray(96)
    n = u.readinto(buf)
    assert n == 96 and bytes(buf) == bytes(range(96)), n
    u.write(b"\x42\x4d")
    assert dev.received == b"\x42\x4d"


def test_i2s_slots_hold_24_bit_samples_left_justified():
    mic = fakestream.SineMicrophone(freq=1000, amplitude=1 << 22, dc=0)
    machine.I2S.attach(0, mic)
    i2s = machine.I2S(0, sck=machine.Pin(1), ws=machine.Pin(2), sd=machine.Pin(3),
                      mode=machine.I2S.RX, bits=32, format=machine.I2S.MONO, rate=48000)
    buf = bytearray(4 * 48)  # one 1 kHz period at 48 kHz
    t0 = time.ticks_us()
    assert i2s.readinto(buf) == len(buf)
    assert time.ticks_diff(time.ticks_us(), t0) >= 900  # 48 samples take 1 ms to arrive
    samples = []
    for i in range(48):
        w = buf[4 * i] | buf[4 * i + 1] << 8 | buf[4 * i + 2] << 16 | buf[4 * i + 3] << 24
        assert w & 0xFF == 0, "low byte of a 24-bit slot must be zero"
        samples.append((w - (1 << 32) if w & 0x80000000 else w) >> 8)
    assert max(samples) == (1 << 22) and samples[0] == 0, (max(samples), samples[0])


def test_rtc_wdt_and_identity():
    rtc = machine.RTC()
    rtc.datetime((2030, 1, 2, 0, 3, 4, 5, 0))
    y, mo, d, _, h, mi, s, _ = rtc.datetime()
    assert (y, mo, d, h, mi) == (2030, 1, 2, 3, 4) and s in (5, 6)
    w = machine.WDT(timeout=50)
    assert not w.overdue()
    time.sleep_ms(60)
    assert w.overdue()
    w.feed()
    assert not w.overdue()
    simworld.set_world({"uid": "a1b2c3d4e5f6", "reset_cause": machine.WDT_RESET})
    assert machine.unique_id() == b"\xa1\xb2\xc3\xd4\xe5\xf6"
    assert machine.reset_cause() == machine.WDT_RESET


def test_wlan_joins_rejects_a_wrong_passphrase_and_survives_a_drop():
    import os

    ctl = "/tmp/stadsnod-wifi-test"
    try:
        os.mkdir(ctl)
    except OSError:  # left by an earlier run
        pass
    simworld.set_world({"wifi": {"ssid": "city", "psk": "secret", "connect_ms": 20},
                        "control_dir": ctl})
    wlan = network.WLAN(network.STA_IF)
    wlan.active(True)
    wlan.connect("city", "wrong")
    assert wlan.status() == network.STAT_WRONG_PASSWORD
    wlan.connect("city", "secret")
    assert not wlan.isconnected()
    time.sleep_ms(30)
    assert wlan.isconnected()
    open(ctl + "/wifi.down", "w").close()
    assert not wlan.isconnected()
    os.remove(ctl + "/wifi.down")
    time.sleep_ms(320)
    assert wlan.isconnected(), "the station did not rejoin"
