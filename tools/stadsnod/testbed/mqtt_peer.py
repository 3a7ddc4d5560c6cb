"""The node's MQTT client beside a peer: micropython-lib's umqtt.simple (PyPI
`micropython-umqtt.simple`, pinned below), both on the MicroPython unix port publishing the
same SenML packs at QoS 1 to one mosquitto on a plain TCP listener on loopback
(unixport/mqtt_peer_bench.py). The peer's source is fetched at install time (`make peers`),
checked against its pinned hash and kept under build/, never in the repository."""

from __future__ import annotations

import hashlib
import io
import sys
import tarfile
import urllib.request
from pathlib import Path

from ..core.mpyrun import run_code
from ..core.paths import BUILD, ToolError, micropypath
from .broker import plain_mosquitto

UMQTT_VERSION = "1.3.4"
UMQTT_SDIST = ("https://files.pythonhosted.org/packages/bd/cf/697e3418b2f44222b3e848078b1e33ee"
               "76aedca9b6c2430ca1b1aec1ce1d/micropython-umqtt.simple-1.3.4.tar.gz")
UMQTT_SHA256 = "b6a2520239e3992c63a7de9370ee9b3d9d27819a90359c521f1c0f7ccab8d12f"
PEER_DIR = BUILD / "peer"
UNIXPORT = Path(__file__).parent / "unixport"


def fetch_umqtt() -> Path:
    """build/peer/umqtt/simple.py from the pinned sdist (its setup files are missing, so pip
    cannot install it; the module is one file)."""
    target = PEER_DIR / "umqtt" / "simple.py"
    if target.exists():
        return target
    with urllib.request.urlopen(UMQTT_SDIST, timeout=60) as r:
        data = r.read()
    if hashlib.sha256(data).hexdigest() != UMQTT_SHA256:
        raise ToolError(f"micropython-umqtt.simple {UMQTT_VERSION}: hash mismatch; not used")
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        member = tar.extractfile(f"micropython-umqtt.simple-{UMQTT_VERSION}/umqtt/simple.py")
        if member is None:
            raise ToolError("the umqtt.simple sdist has no umqtt/simple.py")
        source = member.read()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(source)
    return target


def run_peer_bench(workdir: Path) -> dict[str, tuple[float, int]]:
    """{client: (QoS 1 publishes per second, heap bytes)} for umqtt.simple and the node's
    client with one and with four publishes in flight."""
    if not (PEER_DIR / "umqtt" / "simple.py").exists():
        raise ToolError("umqtt.simple is not here: run `make peers` (it fetches the pinned "
                        "micropython-umqtt.simple from PyPI)")
    with plain_mosquitto(workdir) as port:
        r = run_code("import mqtt_peer_bench", heap="1M", timeout=300,
                     env={"PEER_PORT": str(port)},
                     path=micropypath(PEER_DIR, UNIXPORT, fakes=False))
    if r.returncode:
        raise ToolError(f"the MQTT peer bench failed:\n{r.stdout}{r.stderr}")
    out = {}
    for line in r.stdout.splitlines():
        name, rate, heap = line.split()
        out[name] = (float(rate), int(heap))
    return out


if __name__ == "__main__":
    if sys.argv[1:] == ["fetch"]:
        print(fetch_umqtt())
