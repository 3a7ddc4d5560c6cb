"""The parsers of outside bytes that run on the technician's laptop, not on the node: the
provisioning bundle (`provisioning/bundle.py`: JSON, base64, an ECDSA signature, AES-GCM).
Mutated inputs as the node-side fuzzer makes them (unixport/fuzz_run.py: bit flips, byte
changes, insertions, deletions, repeats, truncations, splices), seeded from a bundle the city
PKI really sealed; run in CPython, where this parser runs. Passing: the contents, or
BundleError (the clear refusal a technician sees); anything else is a failure."""

from __future__ import annotations

import random
from collections.abc import Callable

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from provisioning.bundle import BundleError, new_bundle_key, open_bundle, seal

_EXTREMES = (0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF)


def mutate(rng: random.Random, seed: bytes, others: list[bytes]) -> bytes:
    d = seed
    for _ in range(1 + rng.randrange(4)):
        n = len(d)
        at = rng.randrange(n) if n else 0
        op = rng.randrange(8)
        if op == 0 and n:
            d = d[:at] + bytes([d[at] ^ (1 << rng.randrange(8))]) + d[at + 1:]
        elif op == 1 and n:
            d = d[:at] + bytes([rng.choice(_EXTREMES + (rng.randrange(256),))]) + d[at + 1:]
        elif op == 2:
            d = d[:at] + bytes([rng.randrange(256)]) + d[at:]
        elif op == 3 and n:
            d = d[:at] + d[at + 1 + rng.randrange(4):]
        elif op == 4 and n:
            k = 1 + rng.randrange(min(16, n - at))
            d = d[:at] + d[at:at + k] * (1 + rng.randrange(3)) + d[at:]
        elif op == 5 and n:
            d = d[:at]
        elif op == 6:
            o = rng.choice(others)
            d = d[:at] + o[rng.randrange(len(o) + 1):]
        elif op == 7 and n:  # a JSON value swapped for another type
            d = d.replace(rng.choice([b'"aq-0001"', b'"stadsnod-bundle/1"']),
                          rng.choice([b"5", b"null", b"[]", b"{}", b'"'], ), 1)
    return d


def bundle_target() -> tuple[Callable[[bytes], object], list[bytes]]:
    """open_bundle with a fresh city signer and bundle key, and real sealed bundles as seeds."""
    signer = ec.generate_private_key(ec.SECP256R1())
    pub = signer.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    key = new_bundle_key()
    seeds = [seal("aq-0001", {"device_id": "aq-0001", "wifi": {"ssid": "city", "psk": "x"}},
                  key, signer),
             seal("aq-0001", {"device_id": "aq-0001"}, key, signer)]
    return (lambda data: open_bundle(data, key, pub)), seeds


def fuzz_bundle(count: int, seed: int = 1) -> tuple[int, int, int, list[str]]:
    """(inputs, failures, accepted, the first failing inputs with their errors)."""
    rng = random.Random(seed)
    parse, seeds = bundle_target()
    for s in seeds:
        parse(s)  # the seeds themselves must open
    failures = accepted = 0
    shown: list[str] = []
    for i in range(count):
        data = mutate(rng, seeds[i % len(seeds)], seeds)
        try:
            parse(data)
            accepted += 1
        except BundleError:
            pass
        except Exception as e:  # noqa: BLE001 -- anything else is what the fuzzer looks for
            failures += 1
            if len(shown) < 3:
                shown.append(f"fail bundle {data.hex()} {e!r}")
    return count, failures, accepted, shown
