"""`stadsnod noise analyze FILE.wav`: the node's own noise meter (the built driver, A-weighting
kernel and level statistics, on the MicroPython unix port) over a recording, one SenML pack per
interval. Labs and technicians use it to check a unit against a reference meter's recording.

WAV (RIFF) files with integer PCM of 16, 24 or 32 bits (plain or WAVE_FORMAT_EXTENSIBLE), at
16, 32, 44.1 or 48 kHz; of several channels the first is used. Samples are handed to the driver
as the I2S peripheral would: each in the top bits of a 32-bit slot."""

from __future__ import annotations

import json
import struct
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ..core.build import build
from ..core.mpyrun import stream_code
from ..core.paths import UNIXPORT, ToolError, micropypath

RUNNER = UNIXPORT
NODE_EPOCH = 1704067200  # firmware/link/clock.py EPOCH
RATES = (16000, 32000, 44100, 48000)
BITS = (16, 24, 32)
_PCM = 1
_EXTENSIBLE = 0xFFFE
_FLOAT = 3


@dataclass
class Wav:
    rate: int
    bits: int
    channels: int
    frames: int
    data_offset: int


def read_header(path: Path, data: bytes) -> Wav:
    """The format of a WAV file, or a ToolError that says what is wrong with it."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ToolError(f"{path}: not a WAV file (no RIFF/WAVE header)")
    pos = 12
    fmt = None
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        body = pos + 8
        if cid == b"fmt ":
            if size < 16 or body + size > len(data):
                raise ToolError(f"{path}: the fmt chunk is truncated")
            tag, channels, rate, _byte_rate, align, bits = struct.unpack_from("<HHIIHH", data,
                                                                              body)
            if tag == _EXTENSIBLE and size >= 40:
                tag = struct.unpack_from("<H", data, body + 24)[0]  # the sub-format GUID
            if tag == _FLOAT:
                raise ToolError(f"{path}: floating-point samples are not supported; export "
                                f"integer PCM (16, 24 or 32 bit)")
            if tag != _PCM:
                raise ToolError(f"{path}: compressed audio (format tag {tag:#x}) is not "
                                f"supported; export integer PCM")
            if bits not in BITS or align != channels * bits // 8 or channels < 1:
                raise ToolError(f"{path}: {bits}-bit samples in {align}-byte frames are not "
                                f"supported (PCM {', '.join(map(str, BITS))} bit)")
            if rate not in RATES:
                raise ToolError(f"{path}: {rate} Hz is not supported; resample to one of "
                                f"{', '.join(map(str, RATES))} Hz")
            fmt = (rate, bits, channels)
        elif cid == b"data":
            if fmt is None:
                raise ToolError(f"{path}: the data chunk comes before the fmt chunk")
            rate, bits, channels = fmt
            available = min(size, len(data) - body)
            if available < size:
                raise ToolError(f"{path}: the data chunk is truncated ({available} of {size} "
                                f"bytes); the file was cut short")
            return Wav(rate, bits, channels, size // (channels * bits // 8), body)
        pos = body + size + (size & 1)  # chunks are padded to even sizes
    raise ToolError(f"{path}: no {'fmt' if fmt is None else 'data'} chunk found")


def to_slots(wav: Wav, data: bytes, frames: int) -> bytes:
    """The first channel as 32-bit little-endian I2S slots, sample in the top bits."""
    width = wav.bits // 8
    stride = wav.channels * width
    out = bytearray(4 * frames)
    src = memoryview(data)[wav.data_offset:wav.data_offset + frames * stride]
    for b in range(width):  # copy byte planes: sample byte b goes to slot byte 4 - width + b
        out[4 - width + b::4] = src[b::stride]
    return bytes(out)


def analyze(path: Path, sensitivity: float = -26.0, offset: float = 0.0, interval: float = 60.0,
            start: float | None = None, kernel: str = "viper", progress: bool = True) -> int:
    if interval <= 0:
        raise ToolError("--interval must be positive (seconds)")
    if not -60 <= sensitivity <= 0:
        raise ToolError("--sensitivity is the microphone's dBFS at 94 dB SPL, e.g. -26")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ToolError(f"cannot read {path}: {e.strerror}") from None
    wav = read_header(path, data)
    block = wav.rate // 200
    blocks = wav.frames // block
    if blocks < 21:
        raise ToolError(f"{path}: {wav.frames / wav.rate:.2f} s of audio; at least 0.11 s is "
                        f"needed (the first 0.1 s settles the filter)")
    if start is None:  # a recorder writes the file as it records: it ended about at mtime
        start = path.stat().st_mtime - wav.frames / wav.rate
    build(["unix"], quiet=True)
    with tempfile.TemporaryDirectory(prefix="stadsnod-noise-") as tmp:
        slots = Path(tmp) / "slots.bin"
        slots.write_bytes(to_slots(wav, data, blocks * block))
        job = {"slots": str(slots), "rate": wav.rate, "sensitivity": sensitivity,
               "offset": offset, "interval": interval, "kernel": kernel,
               # the first sample's time as the node keeps time: integer ms since clock.EPOCH
               "start_ms": round((start - NODE_EPOCH) * 1000),
               "blocks": blocks, "name": _safe_name(path.stem)}
        (Path(tmp) / "job.json").write_text(json.dumps(job))
        t0 = time.monotonic()
        live = progress and sys.stderr.isatty()

        def on_stderr(line: str) -> None:
            if line.startswith("progress "):
                if live:
                    done, total = (int(x) for x in line.split()[1:])
                    sys.stderr.write(f"\ranalysing {path.name}: {100 * done // total:3d}%")
            else:
                print(line, file=sys.stderr)

        code, out = stream_code("import noise_run", heap="1M",
                                path=micropypath(RUNNER, fakes=False),
                                env={"STADSNOD_NOISE_JOB": str(Path(tmp) / "job.json")},
                                on_stderr=on_stderr)
    if live:
        sys.stderr.write("\r")
    sys.stdout.write(out)
    if code:
        raise ToolError(f"the noise meter failed on {path} (exit {code}); see above")
    if progress:
        seconds = wav.frames / wav.rate
        print(f"{path.name}: {seconds:.1f} s at {wav.rate} Hz, {wav.bits}-bit, "
              f"{wav.channels} channel(s); analysed in {time.monotonic() - t0:.2f} s",
              file=sys.stderr)
    return 0


def _safe_name(stem: str) -> str:
    """A SenML-safe name part from a file name."""
    s = "".join(c if c.isalnum() or c in "-._" else "-" for c in stem)
    return s or "recording"
