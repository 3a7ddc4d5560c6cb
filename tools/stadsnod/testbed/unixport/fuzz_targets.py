# The parsers fuzz_run.py feeds, each as the node calls it, with the error its caller
# handles. Byte-stream drivers read through a UART that hands the input over in the chunks a
# real UART buffer gives; I2C drivers read it as the bus's answer.
import config
import envelope
import ld2410
import mqttpkt
import pms5003
import reading
import release
import sensirion
import sntp
from clock import ClockError
from sensor_error import SensorError

SNTP_NONCE = 0x0123456789ABCDEF  # the request's transmit timestamp the seed reply echoes


class BytesUART:
    """A UART whose receive buffer holds `data`; readinto gives at most `burst` bytes."""

    def __init__(self, data, burst=23):
        self.data = data
        self.at = 0
        self.burst = burst

    def any(self):
        return len(self.data) - self.at

    def readinto(self, buf, n=None):
        n = min(len(buf) if n is None else n, self.burst, len(self.data) - self.at)
        for i in range(n):
            buf[i] = self.data[self.at + i]
        self.at += n
        return n or None

    def write(self, b):
        return len(b)


def _stream(cls, data):
    s = cls(BytesUART(data))
    for _ in range(len(data) + 8):  # each poll consumes input; more calls than bytes is a hang
        try:
            got = s.poll()
        except SensorError:
            got = True  # a frame out of range: reported, the stream goes on
        if not got and not s.uart.any():
            break
    else:
        raise AssertionError("the parser kept returning frames from %d bytes" % len(data))
    if not 0 <= s.pending_bytes() <= len(s._buf):
        raise AssertionError("frame buffer count out of range")


def pms(data):
    _stream(pms5003.PMS5003, data)


def ld(data):
    _stream(ld2410.LD2410, data)


class AnswerI2C:
    """An I2C bus whose device answers every read with `data` (padded with 0xFF, as a
    released bus reads, when shorter)."""

    def __init__(self, data):
        self.data = data

    def writeto(self, addr, buf):
        return len(buf)

    def readfrom_into(self, addr, buf):
        for i in range(len(buf)):
            buf[i] = self.data[i] if i < len(self.data) else 0xFF

    def scan(self):
        return [0x62]


def sensirion_words(data):
    s = sensirion.SensirionI2C(AnswerI2C(data), 0x62, (3,), "SCD4x")
    s.send(0xEC05)
    s.receive(3)
    for i in range(3):
        s.word(i)


def sntp_reply(data):
    sntp.parse_reply(data, SNTP_NONCE)


class BytesStream:
    """What the MQTT client reads from: readexactly raises EOFError at the end, as
    asyncio's does."""

    def __init__(self, data):
        self.data = data
        self.at = 0

    async def readexactly(self, n):
        if self.at + n > len(self.data):
            raise EOFError
        self.at += n
        return self.data[self.at - n:self.at]


def _run(coro):
    try:
        while True:
            coro.send(None)
    except StopIteration as e:
        return e.value


def mqtt_in(data):
    r = BytesStream(data)
    while r.at < len(data):
        ptype, flags, body = _run(mqttpkt.read_packet(r.readexactly, 12288))
        if ptype == mqttpkt.PUBLISH:
            mqttpkt.parse_publish(flags & 0x0F, body)
        elif ptype == mqttpkt.CONNACK:
            mqttpkt.parse_connack(body)
        elif ptype in (mqttpkt.PUBACK, mqttpkt.SUBACK):
            mqttpkt.parse_pid(body)


def config_json(data):
    config.parse(data)


def signed_envelope(data):
    envelope.unwrap(data, 16384)


def stored_reading(data):
    reading.decode(data)


def file_list_line(data):
    release.entry(data.decode())


def release_body(data):
    release.timestamp(data, (92000000, 0), 0)  # node time (s, ms): link/clock.py


TARGETS = (
    ("pms5003", (pms, ())),
    ("ld2410", (ld, ())),
    ("sensirion", (sensirion_words, (SensorError,))),
    ("sntp", (sntp_reply, (ClockError,))),
    # the client's read loop ends the session on these (a broker speaking nonsense)
    ("mqtt", (mqtt_in, (EOFError, ValueError))),
    ("config", (config_json, (config.ConfigError,))),
    ("envelope", (signed_envelope, (envelope.TrustError,))),
    ("reading", (stored_reading, (ValueError,))),
    ("file_list", (file_list_line, (release.UpdateError, UnicodeError))),
    ("timestamp", (release_body, (release.UpdateError,))),
)
