# Signed envelopes: the one wire form of everything city IT signs for a node (its trust root,
# commands, configuration, release metadata). The signatures cover the body's exact bytes and
# are checked before the body is parsed; every length is capped before it is read.
#
#   b"SNS1" | body length (u32, big-endian) | body | count (u8)
#           | count x (key id (8 bytes) | signature length (u16) | signature)
#
# A key id is the first 8 bytes of SHA-256 over the key's modulus (big-endian, k bytes).
from hashlib import sha256

from micropython import const

import pss

MAGIC = b"SNS1"
_MAX_SIGS = const(8)


class TrustError(Exception):
    """Why signed bytes were refused: the text is what the node reports."""


def unwrap(data, max_body):
    """(body, [(key id, signature)]) of an envelope, memoryviews into `data`; TrustError when
    it is not one or a length passes its cap."""
    n = len(data)
    if n < 9 or bytes(data[:4]) != MAGIC:
        raise TrustError("not a signed envelope")
    size = int.from_bytes(data[4:8], "big")
    if size > max_body:
        raise TrustError("body of %d bytes over the %d-byte limit" % (size, max_body))
    end = 8 + size
    if end >= n:
        raise TrustError("truncated envelope")
    mv = memoryview(data)
    count = data[end]
    if not 0 < count <= _MAX_SIGS:
        raise TrustError("%d signatures" % count)
    sigs = []
    i = end + 1
    for _ in range(count):
        if i + 10 > n:
            raise TrustError("truncated envelope")
        length = int.from_bytes(data[i + 8:i + 10], "big")
        if i + 10 + length > n:
            raise TrustError("truncated envelope")
        sigs.append((bytes(data[i:i + 8]), mv[i + 10:i + 10 + length]))
        i += 10 + length
    if i != n:
        raise TrustError("%d bytes after the signatures" % (n - i))
    return mv[8:end], sigs


def verified(body, sigs, keys, role, digest=None):
    """How many distinct keys of `role` ({"keys": [hex id], "threshold": t}) signed `body`
    (or the message whose SHA-256 is `digest`) validly; `keys` maps hex id -> (n, bits)."""
    digest = digest or sha256(body).digest()
    allowed = role["keys"]
    good = []
    for kid, sig in sigs:
        hid = kid.hex()
        if hid in good or hid not in allowed or hid not in keys:
            continue
        n, bits = keys[hid]
        if pss.verify(n, bits, digest, sig):
            good.append(hid)
    return len(good)


def _enough(got, role, what):
    if got < role["threshold"]:
        raise TrustError("%s: %d valid signature(s) of the %d required"
                         % (what, got, role["threshold"]))


def open_signed(data, keys, role, max_body, what):
    """The body of an envelope that a threshold of `role`'s keys signed; TrustError if not."""
    body, sigs = unwrap(data, max_body)
    _enough(verified(body, sigs, keys, role), role, what)
    return body


def _body_pieces(f, max_body):
    """The body of the envelope open in `f`, in pieces of at most 256 bytes (one buffer,
    reused: use each piece before asking for the next); its length is capped first."""
    head = f.read(8)
    if len(head) < 8 or head[:4] != MAGIC:
        raise TrustError("not a signed envelope")
    size = int.from_bytes(head[4:8], "big")
    if size > max_body:
        raise TrustError("body of %d bytes over the %d-byte limit" % (size, max_body))
    mv = memoryview(bytearray(256))
    while size:
        n = f.readinto(mv[:min(size, 256)])
        if not n:
            raise TrustError("truncated envelope")
        yield mv[:n]
        size -= n


def open_signed_file(path, keys, role, max_body, what):
    """As open_signed, for an envelope on flash too big to hold in RAM at once (a release
    manifest): the body is hashed as it is read. Returns the body's SHA-256."""
    h = sha256()
    with open(path, "rb") as f:
        for piece in _body_pieces(f, max_body):
            h.update(piece)
        # the signatures: a few hundred bytes each. Read as many as there are, not a 4 KB
        # buffer: a fragmented heap with 43 KB free had no 4 KB in one piece (an update failed)
        at = f.seek(0, 1)
        rest = f.seek(0, 2) - at
        f.seek(at)
        tail = f.read(min(rest, 4096))
    _, sigs = unwrap(MAGIC + b"\x00\x00\x00\x00" + tail, 0)
    digest = h.digest()
    _enough(verified(None, sigs, keys, role, digest), role, what)
    return digest


def body_json(path, max_body):
    """The JSON body of an envelope on flash, parsed as a stream: no buffer the size of the
    file is needed (a heap with 76 KB free may have no 6 KB in one piece)."""
    import json
    import os

    tmp = path + ".json"
    with open(path, "rb") as src, open(tmp, "wb") as dst:
        for piece in _body_pieces(src, max_body):
            dst.write(piece)
    try:
        with open(tmp) as f:
            return json.load(f)
    except ValueError as e:
        raise TrustError("malformed body: %s" % e)
    finally:
        os.remove(tmp)
