"""A simulated noise node on the real broker: it publishes the interval levels, and no audio
sample leaves it or stays on it (issue: privacy by design). The fake microphone hears a
"canary" -- 64 sample values no sound would make -- and everything the node produced is
searched for them: every message the broker delivered, the node's console log and every file on
its flash. The data packs are also checked against the wire contract: named scalar levels only,
a few hundred bytes per interval, where 16 kHz audio would need 64 kB per second."""

from __future__ import annotations

import re
import struct

import fake_mic
from stadsnod.core.senml import resolve
from stadsnod.testbed.worlds import kit_sensors, sim_world

from host_tests.test_nothing_lost import wait_until

LEVELS = {"LAeq", "LAFmax", "LAFmin", "LASmax", "LA10", "LA50", "LA90", "LZeq"}


def _canary_patterns() -> list[bytes]:
    """Two consecutive canary samples in every byte form a sample could take."""
    c = fake_mic.CANARY
    pats = []
    for a, b in zip(c, c[1:] + c[:1], strict=True):
        pats.append(struct.pack("<ii", a << 8, b << 8))  # I2S slots as received
        pats.append(struct.pack("<ii", a, b))  # 32-bit samples
        pats.append(struct.pack(">ii", a, b))
        pats.append((a & 0xFFFFFF).to_bytes(3, "little") + (b & 0xFFFFFF).to_bytes(3, "little"))
        pats.append((a & 0xFFFFFF).to_bytes(3, "big") + (b & 0xFFFFFF).to_bytes(3, "big"))
        pats.append(struct.pack("<hh", a >> 8, b >> 8))  # as 16-bit audio
        pats.append(struct.pack(">hh", a >> 8, b >> 8))
    return pats


def _canary_text() -> re.Pattern:
    c = fake_mic.CANARY
    pairs = [rf"{a}\D{{1,3}}{b}" for a, b in zip(c, c[1:] + c[:1], strict=True)]
    return re.compile("|".join(pairs).encode())


def _leaks(blob: bytes, pats: list[bytes], text: re.Pattern) -> list[str]:
    found = [p.hex() for p in pats if p in blob]
    m = text.search(blob)
    return found + ([m.group(0).decode()] if m else [])


def test_noise_node_publishes_levels_and_no_audio(make_node, platform):
    dev = "noise-0001"
    node = make_node(dev, world=sim_world(0, kit="noise", scene={"scene": "canary"}),
                     sensors=kit_sensors("noise", 1), interval_s=2, health_s=2).start()
    wait_until(lambda: len(platform.readings(dev)) >= 3, 40, "three noise readings")
    node.stop()
    msgs = [m for m in platform.messages if f"/{dev}/" in m.topic]
    # the levels are there, finite and in a sound level meter's range
    for deliveries in platform.readings(dev).values():
        values = deliveries[0][1]
        assert LEVELS <= set(values), sorted(values)
        for name in LEVELS:
            assert 0 < values[name] < 140, (name, values[name])
        assert values["LA90"] <= values["LA50"] <= values["LA10"]
    # data packs: only named scalars from the wire contract, small
    for m in (m for m in msgs if m.topic.endswith("/data")):
        assert len(m.payload) < 2048, len(m.payload)
        for r in resolve(m.payload, now=0):
            name = r["n"].rsplit(":", 1)[1]
            assert name in LEVELS | {"seq", "quality/ics43434"}, name
            assert isinstance(r["value"], (int, float)), r
    # and no sample, in any form, anywhere
    pats, text = _canary_patterns(), _canary_text()
    for m in msgs:
        assert not _leaks(m.payload, pats, text), (m.topic, _leaks(m.payload, pats, text))
    assert not _leaks(node.log_path.read_bytes(), pats, text)
    files = [p for p in node.dir.rglob("*") if p.is_file() and p.name != "sim.json"]
    assert any(p.suffix == ".dat" or "spool" in str(p) for p in files) or files
    for p in files:
        assert not _leaks(p.read_bytes(), pats, text), p


def test_the_privacy_check_finds_a_leak():
    # the search itself: two canary samples as slots, as 16-bit audio, or as text are found
    pats, text = _canary_patterns(), _canary_text()
    c = fake_mic.CANARY
    assert _leaks(b"xx" + struct.pack("<ii", c[5] << 8, c[6] << 8) + b"yy", pats, text)
    assert _leaks(struct.pack(">hh", c[9] >> 8, c[10] >> 8), pats, text)
    assert _leaks(f'{{"v":[{c[3]}, {c[4]}]}}'.encode(), pats, text)
    assert not _leaks(b'{"n":"LAeq","u":"dB","v":63.2}', pats, text)
