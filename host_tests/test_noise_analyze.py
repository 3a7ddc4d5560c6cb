"""`stadsnod noise analyze`: the node's meter over WAV recordings, through the CLI. Tones are
synthesised at known levels (the 94 dB SPL, 1 kHz calibrator tone; the IEC 61672-1 Table 2
A-weighting at 125 Hz) in every supported PCM layout; bad files must fail with a clear error."""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import pytest
from stadsnod.cli import main

FULL_24 = (1 << 23) - 1


def tone(rate: int, seconds: float, freq: float, level_db: float, sens: float = -26.0,
         bits: int = 24) -> list[int]:
    """Samples of a sine at level_db SPL on a microphone of sensitivity `sens`, at `bits`."""
    peak = FULL_24 * 10 ** ((level_db - 94 + sens) / 20) * 2 ** (bits - 24)
    return [round(peak * math.sin(2 * math.pi * freq * n / rate))
            for n in range(int(rate * seconds))]


def write_wav(path: Path, rate: int, bits: int, channels: list[list[int]],
              extensible: bool = False, tag: int = 1) -> Path:
    width = bits // 8
    frames = bytearray()
    for frame in zip(*channels, strict=True):
        for v in frame:
            frames += v.to_bytes(width, "little", signed=True)
    n = len(channels)
    if extensible:
        fmt = struct.pack("<HHIIHHHHI16s", 0xFFFE, n, rate, rate * n * width, n * width, bits, 22,
                          bits, 0, struct.pack("<H", tag) + b"\x00\x00\x00\x00\x10\x00\x80\x00"
                          b"\x00\xaa\x00\x38\x9b\x71")
    else:
        fmt = struct.pack("<HHIIHH", tag, n, rate, rate * n * width, n * width, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"LIST" + struct.pack("<I", 5) + b"INFO1\x00"  # an odd-sized chunk, padded
    body += b"data" + struct.pack("<I", len(frames)) + bytes(frames)
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


def analyze(capsys, *args: str) -> tuple[int, list[dict], str]:
    code = main(["noise", "analyze", *args, "--start", "1800000000"])
    out, err = capsys.readouterr()
    packs = [json.loads(line) for line in out.splitlines() if line.strip()]
    levels = [{r["n"]: r["v"] for r in p} for p in packs]
    return code, levels, err


@pytest.mark.parametrize("rate,bits,extensible", [(48000, 24, False), (44100, 16, False),
                                                  (32000, 32, True), (16000, 24, True)])
def test_calibrator_tone_reads_94_0_in_every_layout(tmp_path, capsys, rate, bits, extensible):
    wav = write_wav(tmp_path / "cal.wav", rate, bits, [tone(rate, 2.0, 1000, 94.0, bits=bits)],
                    extensible=extensible)
    code, levels, err = analyze(capsys, str(wav), "--interval", "1")
    assert code == 0, err
    assert len(levels) == 2
    for lv in levels:
        assert abs(lv["LAeq"] - 94.0) <= 0.1 and abs(lv["LZeq"] - 94.0) <= 0.1, lv


def test_first_channel_sensitivity_offset_and_intervals(tmp_path, capsys):
    # left: 80 dB at 1 kHz; right: a loud 300 Hz tone that must be ignored
    left = tone(48000, 3.0, 1000, 80.0)
    right = tone(48000, 3.0, 300, 110.0)
    wav = write_wav(tmp_path / "st.wav", 48000, 24, [left, right])
    code, levels, err = analyze(capsys, str(wav), "--interval", "1.5")
    assert code == 0 and len(levels) == 2, err
    assert abs(levels[0]["LAeq"] - 80.0) <= 0.1, levels[0]
    # an INMP441 at -29 dBFS gives 3 dB less signal for the same sound: told so, it reads 83
    code, levels, _ = analyze(capsys, str(wav), "--sensitivity", "-29", "--interval", "3")
    assert abs(levels[0]["LAeq"] - 83.0) <= 0.1, levels[0]
    code, levels, _ = analyze(capsys, str(wav), "--offset", "-1.3", "--interval", "3")
    assert abs(levels[0]["LAeq"] - 78.7) <= 0.1, levels[0]
    code, levels, _ = analyze(capsys, str(wav), "--bytecode", "--interval", "3")
    assert abs(levels[0]["LAeq"] - 80.0) <= 0.1, levels[0]


def test_a_weighting_and_energy_average_in_a_recording(tmp_path, capsys):
    # 125 Hz at 94 dB: A = -16.1 dB (class 1: +-1.5); then 1 s at 60 and 1 s at 80 dB (1 kHz):
    # LAeq 77.03 dB. The first 0.1 s of a file settles the filter and is not counted.
    low = tone(48000, 1.1, 1000 * 10 ** (-9 / 10), 94.0)  # the exact "125 Hz"
    wav = write_wav(tmp_path / "low.wav", 48000, 24, [low])
    _code, levels, _ = analyze(capsys, str(wav), "--interval", "1")
    assert abs(levels[0]["LAeq"] - (94.0 - 16.1)) <= 1.5, levels[0]
    steps = tone(48000, 1.1, 1000, 60.0) + tone(48000, 1.0, 1000, 80.0)
    wav = write_wav(tmp_path / "steps.wav", 48000, 24, [steps])
    _code, levels, _ = analyze(capsys, str(wav), "--interval", "2")
    assert abs(levels[0]["LAeq"] - 77.03) <= 0.1, levels[0]
    assert levels[0]["LA90"] <= levels[0]["LA50"] <= levels[0]["LA10"]


def test_bad_files_get_a_clear_error(tmp_path, capsys):
    good = tone(48000, 0.5, 1000, 94.0)
    mp3 = tmp_path / "a.wav"
    mp3.write_bytes(b"ID3\x03 this is an mp3")
    trunc = write_wav(tmp_path / "t.wav", 48000, 24, [good])
    trunc.write_bytes(trunc.read_bytes()[:-1000])
    cases = [
        ("not a WAV file", mp3),
        ("floating-point samples", write_wav(tmp_path / "f.wav", 48000, 32, [good], tag=3)),
        ("8-bit samples", write_wav(tmp_path / "b.wav", 48000, 8, [[0] * 100])),
        ("22050 Hz is not supported", write_wav(tmp_path / "r.wav", 22050, 16, [[0] * 100])),
        ("at least 0.11 s", write_wav(tmp_path / "s.wav", 48000, 24, [good[:1000]])),
        ("was cut short", trunc),
        ("cannot read", tmp_path / "missing.wav"),
    ]
    for words, path in cases:
        code = main(["noise", "analyze", str(path)])
        _out, err = capsys.readouterr()
        assert code == 1 and words in err and err.startswith("stadsnod:"), (words, err)
