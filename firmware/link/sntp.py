# One SNTP query (RFC 4330). Needed once per resync: the clock imports it for the query and
# drops it afterwards. NTP's 32-bit seconds and 64-bit nonces are long ints on a 32-bit board;
# that is acceptable here, once per sync, and the result comes out as small ints.
import asyncio
import random
import socket
import struct

from time import ticks_diff, ticks_ms

from clock import EPOCH, ClockError

_NTP_TO_EPOCH = 2208988800 + EPOCH  # seconds from 1900-01-01 to the node's epoch


def request_packet(nonce):
    """48-byte client request: LI 0, VN 4, mode 3; our nonce as transmit timestamp."""
    pkt = bytearray(48)
    pkt[0] = 0x23
    struct.pack_into("!II", pkt, 40, nonce >> 32, nonce & 0xFFFFFFFF)
    return pkt


def parse_reply(pkt, nonce):
    """(seconds since the node's epoch, milliseconds) of a server reply, or ClockError saying
    why it is unusable."""
    if len(pkt) < 48:
        raise ClockError("short SNTP reply")
    li, mode, stratum = pkt[0] >> 6, pkt[0] & 7, pkt[1]
    if mode != 4:
        raise ClockError("SNTP reply is not from a server (mode %d)" % mode)
    if stratum == 0 or li == 3:
        raise ClockError("SNTP server is unsynchronised (kiss-o'-death or LI=3)")
    hi, lo = struct.unpack_from("!II", pkt, 24)
    if (hi << 32 | lo) != nonce:
        raise ClockError("SNTP reply does not answer our request")
    secs, frac = struct.unpack_from("!II", pkt, 40)
    if secs == 0:
        raise ClockError("SNTP reply has no transmit time")
    return secs - _NTP_TO_EPOCH, (frac * 1000) >> 32


async def query(host, port=123, timeout_ms=3000):
    """The server's time as (seconds since the epoch, ms), or ClockError."""
    addr = socket.getaddrinfo(host, port, 0, socket.SOCK_DGRAM)[0][-1]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    nonce = (random.getrandbits(32) << 32) | random.getrandbits(32) | 1
    try:
        s.sendto(request_packet(nonce), addr)
        start = ticks_ms()
        while ticks_diff(ticks_ms(), start) < timeout_ms:
            try:
                reply = s.recv(64)
            except OSError:  # EAGAIN: nothing yet
                await asyncio.sleep_ms(20)
                continue
            return parse_reply(reply, nonce)
        raise ClockError("no SNTP reply from %s:%d" % (host, port))
    finally:
        s.close()
