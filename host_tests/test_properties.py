"""Property tests (hypothesis, CPython) for the firmware's pure logic."""

from __future__ import annotations

import statistics

import certid
import fake_bme280
import mqttpkt as pk
from aggregate import Aggregator
from backoff import Backoff
from cryptography import x509
from hypothesis import given, settings
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


@given(st.lists(st.floats(-50, 50, allow_nan=False), min_size=1, max_size=50))
def test_aggregator_mean_matches_statistics(values: list[float]) -> None:
    agg = Aggregator(["t"])
    for v in values:
        agg.add("t", v)
    assert abs(agg.mean("t") - statistics.fmean(values)) < 1e-9
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
    assert abs(drv.compensate_p(adc_p) / 256 - p) <= 3.0
    if 1 <= h <= 99:
        assert abs(drv.compensate_h(adc_h) / 1024 - h) <= 0.1


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
