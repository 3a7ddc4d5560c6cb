# RSASSA-PSS verification (RFC 8017 8.1.2 with EMSA-PSS-VERIFY 9.1.2): SHA-256, MGF1 with
# SHA-256, a 32-byte salt, public exponent 65537. It is the one public-key check stock
# MicroPython runs in C (pow() on long ints, ../shared/reference/updates.md); ECC in Python
# churns megabytes. Every length is checked before any arithmetic; any mismatch is False.
from hashlib import sha256

from micropython import const

E = const(65537)
_HLEN = const(32)  # SHA-256
_SLEN = const(32)  # salt length: the hash length (cryptography's PSS.DIGEST_LENGTH)


def mgf1_xor(buf, end, seed):
    """buf[0:end] ^= MGF1-SHA-256(seed, end), in place (no mask buffer)."""
    counter = 0
    i = 0
    c = bytearray(4)
    while i < end:
        c[0] = counter >> 24
        c[1] = (counter >> 16) & 0xFF
        c[2] = (counter >> 8) & 0xFF
        c[3] = counter & 0xFF
        h = sha256(seed)
        h.update(c)
        for b in h.digest():
            if i == end:
                break
            buf[i] ^= b
            i += 1
        counter += 1


def verify(n, nbits, digest, sig):
    """True when `sig` (bytes) is an RSASSA-PSS signature by the key (n, nbits) over the
    message whose SHA-256 is `digest`."""
    k = (nbits + 7) // 8
    if len(sig) != k or len(digest) != _HLEN or nbits < 1024:
        return False
    s = int.from_bytes(sig, "big")
    if s >= n:  # RFC 8017 5.2.2: a representative out of range is no signature
        return False
    em_bits = nbits - 1
    em_len = (em_bits + 7) // 8
    em = bytearray(pow(s, E, n).to_bytes(k, "big"))
    if k > em_len:  # modulus of 8m+1 bits: the representative's top byte must be 0
        if em[0]:
            return False
        em = em[1:]
    if em_len < _HLEN + _SLEN + 2 or em[em_len - 1] != 0xBC:
        return False
    db_len = em_len - _HLEN - 1
    h = bytes(em[db_len:db_len + _HLEN])
    spare = 8 * em_len - em_bits  # the leftmost bits that must be zero
    if em[0] & (0xFF00 >> spare) & 0xFF:
        return False
    mgf1_xor(em, db_len, h)
    em[0] &= 0xFF >> spare
    ps_len = em_len - _HLEN - _SLEN - 2
    for i in range(ps_len):
        if em[i]:
            return False
    if em[ps_len] != 1:
        return False
    m = sha256(b"\x00\x00\x00\x00\x00\x00\x00\x00")
    m.update(digest)
    m.update(em[db_len - _SLEN:db_len])
    return m.digest() == h
