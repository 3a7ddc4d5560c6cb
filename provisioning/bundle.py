"""Provisioning bundles: everything a node needs to join (its key and certificate, the CA that
signs the broker, the broker's address, its topic root), encrypted with AES-256-GCM under a
bundle key the technician's tool is given separately, and signed by city IT (ECDSA P-256), so
the tool refuses a forged or altered bundle before it decrypts anything."""

from __future__ import annotations

import base64
import json
import os

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT = "stadsnod-bundle/1"


class BundleError(Exception):
    pass


def new_bundle_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


def _signed_part(device_id: str, nonce: bytes, ciphertext: bytes) -> bytes:
    return json.dumps([FORMAT, device_id, _b64(nonce), _b64(ciphertext)],
                      separators=(",", ":")).encode()


def seal(device_id: str, contents: dict, bundle_key: bytes,
         signing_key: ec.EllipticCurvePrivateKey) -> bytes:
    nonce = os.urandom(12)
    plain = json.dumps(contents, sort_keys=True).encode()
    ct = AESGCM(bundle_key).encrypt(nonce, plain, device_id.encode())
    sig = signing_key.sign(_signed_part(device_id, nonce, ct), ec.ECDSA(hashes.SHA256()))
    return json.dumps({"format": FORMAT, "device_id": device_id, "nonce": _b64(nonce),
                       "ciphertext": _b64(ct), "signature": _b64(sig)}, indent=1).encode()


def open_bundle(data: bytes, bundle_key: bytes, signer_pub_pem: bytes) -> dict:
    """The bundle's contents, or BundleError saying why it is refused."""
    try:
        outer = json.loads(data)
        device_id = outer["device_id"]
        nonce = base64.b64decode(outer["nonce"], validate=True)
        ct = base64.b64decode(outer["ciphertext"], validate=True)
        sig = base64.b64decode(outer["signature"], validate=True)
        if outer["format"] != FORMAT:
            raise BundleError(f"unknown bundle format {outer['format']!r}")
    except (ValueError, KeyError, TypeError) as e:
        raise BundleError(f"not a stadsnod bundle ({e})") from None
    pub = serialization.load_pem_public_key(signer_pub_pem)
    assert isinstance(pub, ec.EllipticCurvePublicKey)
    try:
        pub.verify(sig, _signed_part(device_id, nonce, ct), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise BundleError("the bundle's signature is not city IT's: altered or forged; "
                          "do not install it") from None
    try:
        plain = AESGCM(bundle_key).decrypt(nonce, ct, device_id.encode())
    except InvalidTag:
        raise BundleError("the bundle key does not open this bundle (wrong key file?)") from None
    contents = json.loads(plain)
    if contents.get("device_id") != device_id:
        raise BundleError("the bundle's contents are for another device")
    return contents
