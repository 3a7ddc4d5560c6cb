"""The PKI figures of `make bench`."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from ..cityit.city import City
from ..core.paths import ToolError
from .tls_probe import pem_identity, tls_handshake, wait_refused


def bench_pki(workdir: Path, count: int = 50) -> dict[str, float]:
    """pki_issue_per_s (identities with their bundles) and revocation_to_refusal_s (from
    `revoke` to the broker refusing the device's TLS handshake), with real mosquitto."""
    import subprocess

    from provisioning.bundle import open_bundle

    from ..core.paths import mosquitto
    from ..testbed.broker import free_port

    shutil.rmtree(workdir, ignore_errors=True)
    port = free_port()
    city = City.init(workdir / "pki", "127.0.0.1", port, "stadsnod",
                     secret=b"bench passphrase, not a secret")
    ids = [f"bench-{i:04d}" for i in range(count)]
    start = time.perf_counter()
    city.issue(ids, workdir / "bundles", progress=lambda _m: None)
    per_s = count / (time.perf_counter() - start)
    conf = city.broker_config(workdir / "broker", port)
    proc = subprocess.Popen([mosquitto(), "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        contents = open_bundle((workdir / "bundles" / f"{ids[0]}.bundle").read_bytes(),
                               city.bundle_key(),
                               (city.dir / "bundle-signing.pub.pem").read_bytes())
        cert, key = pem_identity(contents, workdir / "probe")

        def connect() -> None:
            tls_handshake(city.dir / "root-ca.pem", cert, key, port)

        deadline = time.time() + 10
        while True:
            try:
                connect()
                break
            except OSError:
                if time.time() > deadline:
                    raise ToolError("the bench broker did not accept a valid device") from None
                time.sleep(0.1)
        start = time.perf_counter()
        city.revoke(ids[0])
        wait_refused(connect)
        refusal = time.perf_counter() - start  # the revoke itself (CRL, reload) included
    finally:
        proc.terminate()
        proc.wait(5)
        city.close()
    return {"pki_issue_per_s": per_s, "revocation_to_refusal_s": refusal}
