"""Property tests (hypothesis, CPython) for the drivers' byte handling: the PMS5003 stream parser
and the Sensirion word/CRC layer get corrupted and random input and must never make up a value.
The same driver modules run under MicroPython in host_tests/device/."""

from __future__ import annotations

import math
import struct

import pms5003
import pytest
import sensirion
import sps30
from fake_pms5003 import frame
from fakesensirion import crc8, words_to_bytes
from hypothesis import given, settings
from hypothesis import strategies as st
from sensor_error import ChecksumError, SensorError


class LineUART:
    """Everything queued is already on the line; reads come in random-sized pieces."""

    def __init__(self, data: bytes, pieces: list[int]) -> None:
        self.data = bytearray(data)
        self.pieces = pieces or [7]
        self.i = 0

    def any(self) -> int:
        return len(self.data)

    def readinto(self, buf: bytearray, n: int = -1) -> int | None:
        k = min(len(buf) if n < 0 else n, len(self.data), self.pieces[self.i % len(self.pieces)])
        self.i += 1
        if not k:
            return None
        buf[:k] = self.data[:k]
        del self.data[:k]
        return k

    def write(self, data: bytes) -> int:
        return len(data)


def drain(p: pms5003.PMS5003) -> list[tuple[int, ...]]:
    got = []
    for _ in range(10000):
        if p.poll():
            got.append(tuple(p.word(i) for i in range(13)))
        elif not p.uart.any():
            break
    return got


pm_words = st.lists(st.integers(0, 1000), min_size=13, max_size=13)
# Noise without 0x4D cannot forge a header; values up to 1000 cannot contain 42 4D either.
noise = st.binary(max_size=40).map(lambda b: bytes(x for x in b if x != 0x4D))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(noise, pm_words, st.booleans()), min_size=1, max_size=8),
       st.lists(st.integers(1, 40), min_size=1, max_size=5))
def test_pms5003_recovers_every_intact_frame_and_nothing_else(parts, pieces) -> None:
    stream = bytearray()
    expected = []
    for junk, words, damage in parts:
        f = bytearray(frame(words))
        if damage:
            f[4 + (sum(words) % 28)] ^= 0x10  # one flipped bit inside the data
        else:
            expected.append(tuple(words))
        stream += junk + f
    p = pms5003.PMS5003(LineUART(bytes(stream), pieces))
    assert drain(p) == expected


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400), st.lists(st.integers(1, 40), min_size=1, max_size=5))
def test_pms5003_random_bytes_only_yield_checksummed_frames(data, pieces) -> None:
    p = pms5003.PMS5003(LineUART(data, pieces))
    for _ in range(2000):
        try:
            if p.poll():
                raw = bytes(p._data)
                i = data.find(b"\x42\x4d\x00\x1c" + raw)  # it came from the input, checksum ok
                assert i >= 0
                assert sum(data[i:i + 30]) & 0xFFFF == int.from_bytes(data[i + 30:i + 32], "big")
            elif not p.uart.any():
                break
        except SensorError as e:  # out-of-range values in a well-formed frame
            assert "out of range" in str(e)


class ScriptedBus:
    def __init__(self, response: bytes) -> None:
        self.response = response

    def writeto(self, addr: int, buf, stop: bool = True) -> int:
        return len(buf)

    def readfrom_into(self, addr: int, buf, stop: bool = True) -> None:
        buf[:] = self.response[:len(buf)]


@settings(max_examples=300)
@given(st.binary(min_size=60, max_size=60))
def test_sensirion_words_pass_only_with_their_crcs(raw: bytes) -> None:
    bus = sensirion.SensirionI2C(ScriptedBus(raw), 0x69, (20,), "SPS30")
    bus.send(0x0300)
    good = all(crc8(raw[i:i + 2]) == raw[i + 2] for i in range(0, 60, 3))
    if good:
        bus.receive(20)
        assert [bus.word(i) for i in range(20)] == \
            [int.from_bytes(raw[i:i + 2], "big") for i in range(0, 60, 3)]
    else:
        with pytest.raises(ChecksumError):
            bus.receive(20)


@settings(max_examples=300)
@given(st.lists(st.floats(width=32, allow_nan=True, allow_infinity=True), min_size=10,
                max_size=10))
def test_sps30_range_check_on_bit_patterns(values: list[float]) -> None:
    raw = struct.pack(">10f", *values)
    words = [int.from_bytes(raw[i:i + 2], "big") for i in range(0, 40, 2)]
    s = sps30.SPS30.__new__(sps30.SPS30)
    s.bus = sensirion.SensirionI2C(ScriptedBus(words_to_bytes(words)), 0x69, (20,),
                                    "SPS30")
    s.address = 0x69
    s._values = bytearray(40)
    s._have = False
    in_range = all(not math.isnan(v) and 0 <= v <= 1000 and math.copysign(1, v) > 0
                   for v in values[:4])
    if in_range:
        s.read()
        assert [s.pm1, s.pm25, s.pm4, s.pm10] == values[:4]
    else:
        with pytest.raises(SensorError, match="out of range"):
            s.read()


def test_reads_allocate_nothing_on_the_unix_port() -> None:
    """The bench's driver figures, as a guard: a read cycle of every driver allocates no heap
    (the fake buses' own allocation is measured and taken off)."""
    from stadsnod.testbed.bench import driver_figures

    figures = driver_figures()
    assert set(figures) == {"bme280", "bmp280", "scd4x", "sps30", "sen5x", "pms5003"}
    for name, (held, per_read, _with_getters) in figures.items():
        assert per_read == 0, (name, per_read)
        assert 0 < held < 4096, (name, held)
