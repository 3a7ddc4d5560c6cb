"""Property tests (hypothesis, CPython) for the firmware's pure logic."""

from __future__ import annotations

import certid
import fake_bme280
import mqttpkt as pk
from aggregate import Aggregator
from backoff import Backoff
from cryptography import x509
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from provisioning import pki

device_ids = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?", fullmatch=True)


@given(st.integers(0, pk.MAX_REMAINING))
def test_remaining_length_roundtrip(n: int) -> None:
    enc = pk.encode_length(n)
    assert 1 <= len(enc) <= 4
    assert pk.decode_length(enc + b"junk") == (n, len(enc))


@given(topic=st.text(st.characters(blacklist_characters="+#\x00", blacklist_categories=("Cs",)),
                     min_size=1, max_size=40),
       msg=st.binary(max_size=300), qos=st.sampled_from([0, 1]), retain=st.booleans(),
       pid=st.integers(1, 0xFFFF))
def test_publish_parse_roundtrip(topic: str, msg: bytes, qos: int, retain: bool, pid: int) -> None:
    p = pk.publish(topic, msg, qos, retain, False, pid)
    n, used = pk.decode_length(p[1:])
    assert len(p) == 1 + used + n
    t, m, q, got_pid, r, _ = pk.parse_publish(p[0] & 0x0F, p[1 + used:])
    assert (t, m, q, r) == (topic, msg, qos, retain)
    assert got_pid == (pid if qos else 0)


@given(st.binary(max_size=64), st.integers(0, 15))
def test_parse_publish_never_crashes_on_garbage(body: bytes, flags: int) -> None:
    try:
        pk.parse_publish(flags, body)
    except pk.MQTTProtocolError:
        pass


@settings(max_examples=15, deadline=None)
@given(device_ids)
def test_certificate_cn_is_read_from_der_and_pem(device_id: str) -> None:
    ca = pki.make_ca()
    cert = pki.issue_client(ca, device_id).cert
    assert certid.subject_cn(cert.public_bytes(pki.DER)) == device_id
    assert certid.subject_cn(cert.public_bytes(pki.PEM)) == device_id
    assert cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == device_id


@given(st.binary(max_size=200))
def test_certid_rejects_garbage_cleanly(data: bytes) -> None:
    try:
        certid.subject_cn(data)
    except (certid.CertError, UnicodeError):
        pass


@given(st.lists(st.integers(-4000, 11000000), min_size=1, max_size=1000))
def test_aggregator_mean_matches_statistics(values: list[int]) -> None:
    """Hundredths from -40 Cel to 110 kPa, up to 1000 samples an interval (sums past a
    31-bit small int are carried): the mean is the exact mean rounded half away from 0."""
    from fractions import Fraction

    agg = Aggregator(["t"])
    for v in values:
        agg.add("t", v)
    exact = Fraction(sum(values), len(values))
    assert abs(agg.mean("t") - exact) <= Fraction(1, 2)
    assert agg.total("t") == sum(values)
    assert agg.samples("t") == len(values)
    assert agg.low[0] == min(values) and agg.high[0] == max(values)
    agg.reset()
    assert agg.mean("t") is None


@given(st.integers(1, 5000), st.integers(1, 100))
def test_backoff_stays_within_its_ceiling(base: int, attempts: int) -> None:
    b = Backoff(base, 60000)
    for i in range(attempts):
        ceiling = min(60000, base << min(i, 16))
        d = b.next_ms()
        assert ceiling // 2 <= d <= ceiling


class _FixedEnv:
    def __init__(self, **v: float) -> None:
        self.v = v

    def value(self, name: str) -> float:
        return self.v[name]


@settings(max_examples=60, deadline=None)
@given(t=st.floats(-40, 85), p=st.floats(30000, 110000), h=st.floats(0, 100))
def test_bme280_integer_compensation_agrees_with_bosch_double_formulas(t, p, h) -> None:
    """Over the datasheet's operating range (-40..85 degC, 300..1100 hPa, 0..100 %RH) the
    driver's integer path and Bosch's double-precision path (in the fake) agree to within
    the integer path's resolution plus one ADC step."""
    import bme280

    dev = fake_bme280.Device(_FixedEnv())
    adc_t, adc_p, adc_h = dev.adc_from_physical(t, p, h)
    drv = bme280.BME280.__new__(bme280.BME280)
    for k, v in dev.c.items():
        setattr(drv, k, v)
    assert abs(drv.compensate_t(adc_t) / 100 - t) <= 0.02
    # Bosch's 32-bit path: 1 Pa resolution, and an error of its own (2.7 Pa at the datasheet's
    # example, over 4 Pa near 1100 hPa) that stays inside the part's relative accuracy,
    # +-0.12 hPa (BME280 datasheet table 2)
    assert abs(drv.compensate_p(adc_p) - p) <= 12.0
    if 1 <= h <= 99:
        assert abs(drv.compensate_h(adc_h) / 1024 - h) <= 0.1


def _s32(x: int) -> int:
    x &= 0xFFFFFFFF
    return x - (1 << 32) if x & 0x80000000 else x


class _SignedOverflow(Exception):
    """C leaves signed overflow undefined: no answer to compare with."""


def _signed(x: int) -> int:
    if not -(1 << 31) <= x < (1 << 31):
        raise _SignedOverflow
    return x


def _c_pressure_int32(c: dict[str, int], t_fine: int, adc_p: int) -> int:
    """Bosch's 32-bit pressure formula (BMP280 datasheet 8.2, BME280 datasheet 8.2) written
    out as C runs it: unsigned intermediates wrapped to uint32, conversions to int32 wrapped,
    and signed arithmetic that overflows int32 (undefined in C) raising _SignedOverflow."""
    s32, u32 = _signed, (lambda x: x & 0xFFFFFFFF)
    var1 = s32((t_fine >> 1) - 64000)
    var2 = s32(s32(s32((var1 >> 2) * (var1 >> 2)) >> 11) * c["P6"])
    var2 = s32(var2 + s32(s32(var1 * c["P5"]) << 1))
    var2 = s32((var2 >> 2) + s32(c["P4"] << 16))
    var1 = s32((s32(s32(c["P3"] * s32(s32((var1 >> 2) * (var1 >> 2)) >> 13)) >> 3)
                + s32(s32(c["P2"] * var1) >> 1)) >> 18)
    var1 = s32(s32((32768 + var1) * c["P1"]) >> 15)
    if var1 == 0:
        return 0
    p = u32(u32(s32(1048576 - adc_p) - (var2 >> 12)) * 3125)
    p = u32(p << 1) // u32(var1) if p < 0x80000000 else (p // u32(var1)) * 2
    var1 = s32(c["P9"] * _s32(u32((p >> 3) * (p >> 3)) >> 13)) >> 12
    var2 = s32(_s32(p >> 2) * c["P8"]) >> 13
    return u32(s32(_s32(p) + ((var1 + var2 + c["P7"]) >> 4)))


def _c_humidity_int32(c: dict[str, int], t_fine: int, adc_h: int) -> int:
    """Bosch's BME280 humidity formula (datasheet 4.2.3) as C runs it, int32 throughout."""
    s32 = _s32
    v = s32(t_fine - 76800)
    a = s32(s32(s32(s32(adc_h << 14) - s32(c["H4"] << 20) - s32(c["H5"] * v)) + 16384) >> 15)
    b = s32(s32(s32(s32(s32(v * c["H6"]) >> 10) * s32(s32(s32(v * c["H3"]) >> 11) + 32768))
                >> 10) + 2097152)
    v = s32(a * s32(s32(b * c["H2"] + 8192) >> 14))
    sq = s32((v >> 15) * (v >> 15)) >> 7
    v = s32(v - (s32(sq * c["H1"]) >> 4))
    v = min(max(v, 0), 419430400)
    return v >> 12


_EXAMPLE = {"T1": 27504, "T2": 26435, "T3": -1000, "P1": 36477, "P2": -10685, "P3": 3024,
            "P4": 2855, "P5": 140, "P6": -7, "P7": 15500, "P8": -14600, "P9": 6000}


@settings(max_examples=400, deadline=None)
@given(t_fine=st.integers(-205000, 440000), adc_p=st.integers(0, (1 << 20) - 1),
       p1=st.integers(20000, 40000), p2=st.integers(-12000, -9000))
def test_bme280_pressure_is_bosch_32_bit_formula_exactly(t_fine, adc_p, p1, p2) -> None:
    """The driver rearranges Bosch's 32-bit pressure formula so that no intermediate outgrows
    a 31-bit small int on a board; over the whole t_fine range of -40..85 degC and every ADC
    count it must give the integers C gives."""
    import bme280

    c = dict(_EXAMPLE, P1=p1, P2=p2)
    drv = bme280.BME280.__new__(bme280.BME280)
    for k, v in c.items():
        setattr(drv, k, v)
    drv.t_fine = t_fine
    try:
        expected = _c_pressure_int32(c, t_fine, adc_p)
    except _SignedOverflow:
        assume(False)  # C's answer is undefined there (a pressure no part reports)
    assert drv.compensate_p(adc_p) == expected


@settings(max_examples=300, deadline=None)
@given(t_fine=st.integers(-205000, 440000), adc_h=st.integers(0, 0xFFFF))
def test_bme280_humidity_is_bosch_formula_exactly(t_fine, adc_h) -> None:
    import bme280

    dev = fake_bme280.Device(_FixedEnv())
    drv = bme280.BME280.__new__(bme280.BME280)
    for k, v in dev.c.items():
        setattr(drv, k, v)
    drv.t_fine = t_fine
    assert drv.compensate_h(adc_h) == _c_humidity_int32(dev.c, t_fine, adc_h)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(20, 130), min_size=1, max_size=400))
def test_percentile_levels_are_ordered_and_bracketed(block_levels: list[float]) -> None:
    import levels

    lv = levels.Levels(0.02)
    for level in block_levels:
        lv.add(int(10 ** (level / 10)))
    r = dict(lv.records())
    assert r["LA90"] <= r["LA50"] <= r["LA10"]
    # the histogram's 0.1 dB bins read at their centres
    assert r["LAFmin"] - 0.1 <= r["LA90"] and r["LA10"] <= r["LAFmax"] + 0.1


def test_backoff_grows_across_connects_that_are_dropped_at_once() -> None:
    """A broker that kicks each connect right after CONNACK gets the same slowing retries as
    one that refuses them (the esp-rainmaker field storm); a connection that held for
    stable_ms starts the pacing again."""
    import time as _time
    from unittest import mock

    clock = [0]
    with mock.patch.object(_time, "ticks_ms", lambda: clock[0], create=True), \
            mock.patch.object(_time, "ticks_diff", lambda a, b: a - b, create=True):
        b = Backoff(1000, 60000, stable_ms=30000)
        delays = []
        for _ in range(5):
            b.connected()  # CONNACK, then dropped 100 ms later
            clock[0] += 100
            delays.append(b.next_ms())
            clock[0] += delays[-1]
        for i, d in enumerate(delays):
            assert (1000 << i) // 2 <= d <= 1000 << i, delays
        b.connected()
        clock[0] += 30000  # held for 30 s
        assert 500 <= b.next_ms() <= 1000


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 600000), st.integers(0, 2**32 - 1))
def test_the_first_retry_after_a_held_connection_is_spread_over_the_window(spread, seed) -> None:
    """A broker restart drops every node at once: each node's first retry lands anywhere in
    [0, spread] (about nodes / spread connects a second), then the pacing doubles from the
    base as before."""
    import random as _random
    import time as _time
    from unittest import mock

    _random.seed(seed)
    clock = [0]
    with mock.patch.object(_time, "ticks_ms", lambda: clock[0], create=True), \
            mock.patch.object(_time, "ticks_diff", lambda a, b: a - b, create=True):
        b = Backoff(1000, 60000, stable_ms=30000, spread_ms=spread)
        b.connected()
        clock[0] += 45000  # held, then the broker went
        assert 0 <= b.next_ms() <= spread
        for i in range(4):  # refused after that: equal jitter from the base
            assert (1000 << i) // 2 <= b.next_ms() <= 1000 << i
