# Reads the subject common name out of an X.509 certificate (DER or PEM), so the node can
# check at boot that its certificate really is its own (device id == certificate CN).
import binascii

_OID_CN = b"\x55\x04\x03"  # 2.5.4.3 id-at-commonName


class CertError(ValueError):
    pass


def _tlv(der, pos):
    """Returns (tag, start of value, end of value) of the DER element at pos."""
    if pos + 2 > len(der):
        raise CertError("truncated DER")
    tag = der[pos]
    n = der[pos + 1]
    pos += 2
    if n & 0x80:
        count = n & 0x7F
        if count == 0 or count > 3 or pos + count > len(der):
            raise CertError("bad DER length")
        n = 0
        for i in range(count):
            n = (n << 8) | der[pos + i]
        pos += count
    if pos + n > len(der):
        raise CertError("DER element overruns")
    return tag, pos, pos + n


def to_der(data):
    if data[:5] == b"-----":
        lines = data.split(b"\n")
        body = b"".join(x.strip() for x in lines if x and not x.startswith(b"-----"))
        try:
            return binascii.a2b_base64(body)
        except ValueError:
            raise CertError("PEM body is not base64")
    return data


def subject_cn(data):
    der = to_der(bytes(data))
    tag, pos, _ = _tlv(der, 0)  # Certificate
    if tag != 0x30:
        raise CertError("not a certificate")
    tag, pos, end = _tlv(der, pos)  # tbsCertificate
    if tag != 0x30:
        raise CertError("not a certificate")
    fields = []
    while pos < end:
        tag, vstart, vend = _tlv(der, pos)
        fields.append((tag, vstart, vend))
        pos = vend
    if fields and fields[0][0] == 0xA0:  # [0] version
        fields.pop(0)
    # serial, signature algorithm, issuer, validity, subject
    if len(fields) < 5 or fields[4][0] != 0x30:
        raise CertError("certificate has no subject")
    _, pos, end = fields[4]
    while pos < end:  # RDNSequence: SET { SEQUENCE { OID, value } }
        _, spos, send = _tlv(der, pos)
        while spos < send:
            _, apos, aend = _tlv(der, spos)
            otag, opos, oend = _tlv(der, apos)
            if otag == 0x06 and der[opos:oend] == _OID_CN:
                _, vpos, vend = _tlv(der, oend)
                return der[vpos:vend].decode()
            spos = aend
        pos = send
    raise CertError("certificate subject has no CN")
