# Wall-clock time for the node: one SNTP query (RFC 4330) sets a base, a monotonic millisecond
# count (ticks_ms, unwrapped) carries it on. Until a sync succeeds the node stamps readings with
# that monotonic count, and re-stamps them once the clock is known. A sync that disagrees with
# the running clock by more than JUMP_S is a clock jump: counted and reported.
import asyncio
import random
import socket
import struct

from time import ticks_diff, ticks_ms

_NTP_TO_UNIX = 2208988800  # seconds from 1900-01-01 to 1970-01-01


class ClockError(Exception):
    pass


def request_packet(nonce):
    """48-byte client request: LI 0, VN 4, mode 3; our nonce as transmit timestamp."""
    pkt = bytearray(48)
    pkt[0] = 0x23
    struct.pack_into("!II", pkt, 40, nonce >> 32, nonce & 0xFFFFFFFF)
    return pkt


def parse_reply(pkt, nonce):
    """Unix seconds (float) from a server reply, or ClockError saying why it is unusable."""
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
    return secs - _NTP_TO_UNIX + frac / 4294967296


JUMP_S = 2


class Clock:
    def __init__(self):
        self.synced = False
        self._base_s = 0
        self._base_mono = 0
        self._mono = 0
        self._last_ticks = ticks_ms()
        self.jumps = 0
        self.last_jump_s = 0

    def mono_ms(self):
        """Milliseconds since boot. ticks_ms wraps (2**30 ms on most ports); this does not, as
        long as it is read more often than every few days (the aggregator reads it each
        interval)."""
        now = ticks_ms()
        self._mono += ticks_diff(now, self._last_ticks)
        self._last_ticks = now
        return self._mono

    def set(self, unix_s):
        mono = self.mono_ms()
        if self.synced:
            jump = unix_s - self.unix_at(mono)
            if abs(jump) > JUMP_S:
                self.jumps += 1
                self.last_jump_s = jump
        self._base_s = unix_s
        self._base_mono = mono
        self.synced = True

    def unix_at(self, mono):
        """Unix seconds at monotonic time `mono` of this boot (None while unsynchronised)."""
        if not self.synced:
            return None
        return self._base_s + (mono - self._base_mono) / 1000

    def now(self):
        """Unix seconds, or None while unsynchronised."""
        return self.unix_at(self.mono_ms())

    async def sync(self, host, port=123, timeout_ms=3000):
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
                self.set(parse_reply(reply, nonce))
                return
            raise ClockError("no SNTP reply from %s:%d" % (host, port))
        finally:
            s.close()


async def keep_synced(clock, net, ntp, log):
    """The clock's task: a sync every resync_s, retried within 10 s after a failure; a jump
    is logged as a warning (health counts it)."""
    from net import NetError

    while True:
        try:
            await net.up()
            jumps = clock.jumps
            await clock.sync(ntp["host"], ntp["port"])
            if clock.jumps > jumps:
                log.warning("clock", "jumped by %.1f s" % clock.last_jump_s)
            else:
                log.info("clock", "synchronised")
            await asyncio.sleep_ms(int(ntp["resync_s"] * 1000))
        except (ClockError, NetError, OSError) as e:
            retry = min(10, ntp["resync_s"])
            log.warning("clock", "%s; retrying in %d s" % (e, retry))
            await asyncio.sleep_ms(int(retry * 1000))
