"""Signed envelopes, RSASSA-PSS and the trust root: the node's verifier (firmware/trust/, the
built .mpy on the MicroPython VM) against signatures made by CPython's `cryptography` -- good
ones, and the same ones with a bit flipped in the signature, the message or the salt, s >= n,
the wrong key and the wrong role; root rotation N -> N+1 and what it must refuse."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from stadsnod.core.mpyrun import run_code

from provisioning.trust import ROOT_TYPE, TrustStore, key_id, sign, unwrap, wrap

SECRET = b"trust test passphrase, not a secret"


def _on_vm(script: str, cwd: Path) -> list:
    """Runs `script` on the MicroPython VM (firmware from the build); its last line is JSON."""
    r = run_code(script, cwd=cwd, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def _em_resigned(key: rsa.RSAPrivateKey, sig: bytes, flip_byte_from_end: int) -> bytes:
    """The signature's encoded message with one byte of its masked DB flipped, signed again
    with the raw private key: a valid RSA signature of a PSS encoding whose salt was altered."""
    priv = key.private_numbers()
    n, d = priv.public_numbers.n, priv.d
    k = (key.key_size + 7) // 8
    em = bytearray(pow(int.from_bytes(sig, "big"), 65537, n).to_bytes(k, "big"))
    em[k - 1 - 32 - 1 - flip_byte_from_end] ^= 0x01  # inside the salt (DB's last 32 bytes)
    return pow(int.from_bytes(em, "big"), d, n).to_bytes(k, "big")


def _vectors() -> tuple[list, list[bool]]:
    cases, expect = [], []
    msg = b"stadsnod: reboot node-1, seq 7"
    for size in (2048, 3072, 2050):  # 2050: EM's top 7 bits must be zero
        key = rsa.generate_private_key(65537, size)
        other = rsa.generate_private_key(65537, size)
        bits = key.key_size
        n = key.public_key().public_numbers().n
        good = sign(key, msg)

        def case(m: bytes, s: bytes, modulus: int, ok: bool, bits: int = bits) -> None:
            cases.append([format(modulus, "x"), bits, m.hex(), s.hex()])
            expect.append(ok)

        case(msg, good, n, True)
        flipped = bytearray(good)
        flipped[len(good) // 2] ^= 0x10
        case(msg, bytes(flipped), n, False)  # a bit of the signature
        case(msg[:-1] + b"8", good, n, False)  # a bit of the message
        case(msg, _em_resigned(key, good, 3), n, False)  # a bit of the salt
        k = (bits + 7) // 8
        if n + 5 < 1 << (8 * k):
            case(msg, (n + 5).to_bytes(k, "big"), n, False)  # s >= n
        case(msg, good, other.public_key().public_numbers().n, False)  # the wrong key
        case(msg, good[:-1], n, False)  # a short signature
    return cases, expect


_PSS_SCRIPT = """
import json, hashlib
import pss
cases = json.load(open('vectors.json'))
out = []
for n, bits, m, s in cases:
    out.append(pss.verify(int(n, 16), bits, hashlib.sha256(bytes.fromhex(m)).digest(),
                          bytes.fromhex(s)))
print(json.dumps(out))
"""


def test_pss_verifier_agrees_with_cryptography_on_the_vm(tmp_path: Path) -> None:
    cases, expect = _vectors()
    (tmp_path / "vectors.json").write_text(json.dumps(cases))
    assert _on_vm(_PSS_SCRIPT, tmp_path) == expect


def test_pss_verifier_agrees_with_cryptography_on_cpython() -> None:
    import hashlib

    import pss  # the firmware module itself: pure logic (hashlib, pow)

    cases, expect = _vectors()
    got = [pss.verify(int(n, 16), bits, hashlib.sha256(bytes.fromhex(m)).digest(),
                      bytes.fromhex(s)) for n, bits, m, s in cases]
    assert got == expect


# -- the trust root: thresholds and rotation ----------------------------------------------------

@pytest.fixture(scope="module")
def store(tmp_path_factory) -> TrustStore:
    return TrustStore.init(tmp_path_factory.mktemp("trust") / "trust", SECRET, root_keys=3,
                           root_threshold=2)


_ROOT_SCRIPT = """
import json, os
import trustroot
from envelope import TrustError
out = []
def attempt(fn):
    try:
        r = fn()
        out.append(['ok', r.version])
    except TrustError as e:
        out.append(['refused', str(e)])
root = trustroot.install_first(open('root1.sns', 'rb').read(), 'node.root')
out.append(['installed', root.version])
for name in %s:
    attempt(lambda: trustroot.rotate(trustroot.load('node.root'), open(name, 'rb').read(),
                                     'node.root'))
out.append(['now', trustroot.load('node.root').version])
print(json.dumps(out))
"""


def _resign(data: bytes, signers: list) -> bytes:
    body, _ = unwrap(data)
    return wrap(body, signers)


def test_root_threshold_and_rotation_on_the_vm(store: TrustStore, tmp_path: Path) -> None:
    v1 = store.root()
    old_root_keys = store.signers("root")  # 2 of 3, before the rotation retires them
    v2 = store.rotate("root")
    new_root_keys = store.signers("root")
    v3 = store.rotate("command")
    assert (v1.doc["version"], v2.doc["version"], v3.doc["version"]) == (1, 2, 3)
    assert set(v2.doc["roles"]["root"]["keys"]).isdisjoint(v1.doc["roles"]["root"]["keys"])
    files = {
        "root1.sns": v1.data,
        # v3 first: two versions at once is refused
        "skip.sns": v3.data,
        # v2 with only the new keys' signatures, then with only the old keys'
        "new-only.sns": _resign(v2.data, new_root_keys),
        "old-only.sns": _resign(v2.data, old_root_keys),
        # v2 with one old and one new key: below the old threshold of 2
        "one-old.sns": _resign(v2.data, old_root_keys[:1] + new_root_keys),
        # v2 body changed after signing
        "tampered.sns": v2.data.replace(b'"version":2', b'"version":9'),
        "v2.sns": v2.data,
        "v2-again.sns": v2.data,
        "v3.sns": v3.data,
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    order = ["skip.sns", "new-only.sns", "old-only.sns", "one-old.sns", "tampered.sns",
             "v2.sns", "v2-again.sns", "v3.sns"]
    out = _on_vm(_ROOT_SCRIPT % json.dumps(order), tmp_path)
    assert out[0] == ["installed", 1]
    got = dict(zip(order, out[1:-1], strict=True))
    assert got["skip.sns"][0] == "refused" and "one version at a time" in got["skip.sns"][1]
    assert got["new-only.sns"] == ["refused", "root v2 is not signed by v1's root keys"]
    assert got["old-only.sns"] == ["refused", "root v2 is not signed by its own root keys"]
    assert got["one-old.sns"] == ["refused", "root v2 is not signed by v1's root keys"]
    assert got["tampered.sns"][0] == "refused"
    assert got["v2.sns"] == ["ok", 2]
    assert got["v2-again.sns"][0] == "refused"  # equal version: not N+1
    assert got["v3.sns"] == ["ok", 3]
    assert out[-1] == ["now", 3]


def test_private_keys_are_encrypted_and_owner_only(store: TrustStore) -> None:
    pems = list(store.dir.rglob("*.pem"))
    assert pems
    for p in pems:
        assert b"ENCRYPTED PRIVATE KEY" in p.read_bytes()
        assert os.stat(p).st_mode & 0o077 == 0


def test_key_id_is_the_modulus_hash(store: TrustStore) -> None:
    doc = store.root().doc
    for kid, k in doc["keys"].items():
        import hashlib

        n = int(k["n"], 16)
        assert hashlib.sha256(n.to_bytes((k["bits"] + 7) // 8, "big")).digest()[:8].hex() == kid
    key = store.signers("command")[0]
    assert key_id(key.public_key()) in doc["roles"]["command"]["keys"]
    assert doc["type"] == ROOT_TYPE
