"""City IT's signing keys for what nodes obey, in TUF's roles: an offline **root** (signs the
role keys and thresholds; rotated N -> N+1 with the old and the new root keys), **release**
(signs release manifests), **timestamp** (online; re-signs a short-lived statement of the
newest release), **command** (signs commands and configuration, within its `ops`).

Signatures are RSASSA-PSS (SHA-256, MGF1-SHA-256, 32-byte salt, e = 65537): the one public-key
check stock MicroPython runs in C (`firmware/trust/pss.py`). Everything signed travels in the
envelope of `firmware/trust/envelope.py`; this module writes and reads the same bytes.

Private keys are PEM, encrypted with the PKI passphrase ($STADSNOD_PKI_PASSPHRASE or a prompt,
never a flag) and owner-only, like the PKI's. The root keys live in their own folder
(`trust/offline/`) so that a city can keep them off the online machine."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .authority import PKIError, _write_private, check_private, passphrase

MAGIC = b"SNS1"
ROLES = ("root", "release", "timestamp", "command")
ROOT_TYPE = "stadsnod-root"
COMMAND_TYPE = "stadsnod-command"
# What a command key may sign unless the root says less (firmware/commands/ runs them).
COMMAND_OPS = ("reboot", "selftest", "identify", "config", "calibrate", "update")
PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)


class TrustError(PKIError):
    """A signing key, root or envelope problem the operator has to fix."""


def key_id(pub: rsa.RSAPublicKey) -> str:
    n = pub.public_numbers().n
    return hashlib.sha256(n.to_bytes((pub.key_size + 7) // 8, "big")).digest()[:8].hex()


def sign(key: rsa.RSAPrivateKey, body: bytes) -> bytes:
    return key.sign(body, PSS, hashes.SHA256())


def wrap(body: bytes, signers: list[rsa.RSAPrivateKey]) -> bytes:
    """The envelope: body and one signature per key, each under its key id."""
    out = bytearray(MAGIC + len(body).to_bytes(4, "big") + body + bytes([len(signers)]))
    for k in signers:
        sig = sign(k, body)
        out += bytes.fromhex(key_id(k.public_key())) + len(sig).to_bytes(2, "big") + sig
    return bytes(out)


def unwrap(data: bytes) -> tuple[bytes, list[tuple[str, bytes]]]:
    if data[:4] != MAGIC or len(data) < 9:
        raise TrustError("not a signed envelope")
    size = int.from_bytes(data[4:8], "big")
    end = 8 + size
    if end >= len(data):
        raise TrustError("truncated envelope")
    sigs, i = [], end + 1
    for _ in range(data[end]):
        length = int.from_bytes(data[i + 8:i + 10], "big")
        sigs.append((data[i:i + 8].hex(), data[i + 10:i + 10 + length]))
        i += 10 + length
    if i != len(data):
        raise TrustError("envelope length does not match its signatures")
    return data[8:end], sigs


def public_key(doc: dict, kid: str) -> rsa.RSAPublicKey:
    k = doc["keys"][kid]
    return rsa.RSAPublicNumbers(65537, int(k["n"], 16)).public_key()


def valid_signers(data: bytes, doc: dict, role: str) -> set[str]:
    """The key ids of `role` in root `doc` whose signatures on the envelope verify."""
    body, sigs = unwrap(data)
    good = set()
    for kid, sig in sigs:
        if kid in doc["roles"][role]["keys"] and kid in doc["keys"]:
            try:
                public_key(doc, kid).verify(sig, body, PSS, hashes.SHA256())
                good.add(kid)
            except InvalidSignature:
                pass
    return good


def _key_entry(pub: rsa.RSAPublicKey) -> dict:
    return {"n": format(pub.public_numbers().n, "x"), "bits": pub.key_size}


@dataclass
class Signed:
    """A signed document: its envelope bytes and its parsed body."""

    data: bytes
    doc: dict


class TrustStore:
    """`<pki>/trust/`: offline/root-<i>.pem, keys/<role>-<i>.pem, roots/<version>.sns."""

    def __init__(self, folder: Path, secret: bytes | None = None) -> None:
        self.dir = folder
        self._secret = secret  # asked for (passphrase()) only when a private key is needed
        if not (folder / "roots").is_dir():
            raise TrustError(f"no signing keys in {folder}: run 'stadsnod keys init' first")

    @property
    def secret(self) -> bytes:
        if self._secret is None:
            self._secret = passphrase()
        return self._secret

    # -- files
    def _key_path(self, role: str, i: int) -> Path:
        return self.dir / ("offline" if role == "root" else "keys") / f"{role}-{i}.pem"

    def _save_key(self, role: str, i: int, key: rsa.RSAPrivateKey) -> None:
        path = self._key_path(role, i)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        _write_private(path, key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(self.secret)))

    def _keys_on_disk(self, role: str) -> dict[str, rsa.RSAPrivateKey]:
        out = {}
        folder = self.dir / ("offline" if role == "root" else "keys")
        for path in sorted(folder.glob(f"{role}-*.pem")):
            check_private(path)
            try:
                key = serialization.load_pem_private_key(path.read_bytes(), self.secret)
            except ValueError:
                raise TrustError(f"cannot open {path}: wrong passphrase?") from None
            assert isinstance(key, rsa.RSAPrivateKey)
            out[key_id(key.public_key())] = key
        return out

    def signers(self, role: str, doc: dict | None = None) -> list[rsa.RSAPrivateKey]:
        """A threshold of `role`'s keys in the current (or given) root, from this store."""
        doc = doc or self.root().doc
        want = doc["roles"][role]
        have = self._keys_on_disk(role)
        keys = [have[k] for k in want["keys"] if k in have][:want["threshold"]]
        if len(keys) < want["threshold"]:
            raise TrustError(f"{role}: {len(keys)} of the {want['threshold']} keys needed are "
                             f"here; bring the others (offline/) and try again")
        return keys

    # -- roots
    def root(self, version: int | None = None) -> Signed:
        roots = sorted(int(p.stem) for p in (self.dir / "roots").glob("*.sns"))
        v = version or roots[-1]
        data = (self.dir / "roots" / f"{v}.sns").read_bytes()
        return Signed(data, json.loads(unwrap(data)[0]))

    def _write_root(self, doc: dict, signers: list[rsa.RSAPrivateKey]) -> Signed:
        body = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
        data = wrap(body, signers)
        (self.dir / "roots" / f"{doc['version']}.sns").write_bytes(data)
        return Signed(data, doc)

    @classmethod
    def init(cls, folder: Path, secret: bytes | None, root_keys: int = 3, root_threshold: int = 2,
             bits: int = 3072, ops: tuple[str, ...] = COMMAND_OPS) -> TrustStore:
        if (folder / "roots").exists():
            raise TrustError(f"{folder} already holds signing keys; rotate them instead")
        if not 0 < root_threshold <= root_keys:
            raise TrustError(f"a threshold of {root_threshold} of {root_keys} root keys")
        bad = sorted(set(ops) - set(COMMAND_OPS))
        if bad:
            raise TrustError(f"unknown command operation(s) {', '.join(bad)}; known: "
                             f"{', '.join(COMMAND_OPS)}")
        (folder / "roots").mkdir(parents=True)
        store = cls(folder, secret)
        doc: dict = {"type": ROOT_TYPE, "version": 1, "keys": {}, "roles": {}}
        root_signers = []
        for role in ROLES:
            count = root_keys if role == "root" else 1
            ids = []
            for i in range(1, count + 1):
                key = rsa.generate_private_key(65537, bits)
                store._save_key(role, i, key)
                kid = key_id(key.public_key())
                doc["keys"][kid] = _key_entry(key.public_key())
                ids.append(kid)
                if role == "root":
                    root_signers.append(key)
            doc["roles"][role] = {"keys": ids,
                                  "threshold": root_threshold if role == "root" else 1}
        doc["roles"]["command"]["ops"] = list(ops)
        store._write_root(doc, root_signers[:root_threshold])
        return store

    def rotate(self, role: str, bits: int = 3072) -> Signed:
        """A new key for `role` (all of root's keys when role is root): root N+1, signed by a
        threshold of N's root keys and, for a root rotation, of the new ones too."""
        if role not in ROLES:
            raise TrustError(f"no role {role!r}; roles: {', '.join(ROLES)}")
        old = self.root().doc
        doc = json.loads(json.dumps(old))
        doc["version"] = old["version"] + 1
        old_signers = self.signers("root", old)
        count = len(old["roles"][role]["keys"])
        existing = {p.name for p in self._key_path(role, 1).parent.glob(f"{role}-*.pem")}
        first = len(existing) + 1
        ids, new_keys = [], []
        for i in range(first, first + count):
            key = rsa.generate_private_key(65537, bits)
            self._save_key(role, i, key)
            ids.append(key_id(key.public_key()))
            doc["keys"][ids[-1]] = _key_entry(key.public_key())
            new_keys.append(key)
        for kid in old["roles"][role]["keys"]:
            if not any(kid in r["keys"] for name, r in old["roles"].items() if name != role):
                doc["keys"].pop(kid, None)
        doc["roles"][role]["keys"] = ids
        signers = old_signers
        if role == "root":
            signers = old_signers + new_keys[:doc["roles"]["root"]["threshold"]]
            for i in range(1, first):  # the old root keys are retired: move them aside
                p = self._key_path("root", i)
                if p.exists():
                    p.rename(p.with_suffix(f".retired-v{old['version']}"))
        return self._write_root(doc, signers)

    # -- what nodes are sent
    def command(self, device: str, seq: int, op: str, args: dict | None = None,
                expires_s: int = 3600, now: float | None = None) -> bytes:
        doc = self.root().doc
        if op not in doc["roles"]["command"].get("ops", ()):
            raise TrustError(f"the command key may not sign {op!r} (its scope: "
                             f"{', '.join(doc['roles']['command'].get('ops', ()))})")
        body = {"type": COMMAND_TYPE, "device": device, "seq": seq, "op": op,
                "args": args or {}, "expires": int((now or time.time()) + expires_s)}
        data = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        return wrap(data, self.signers("command", doc))
