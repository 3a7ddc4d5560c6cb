# Pure-logic firmware tests that run unchanged under MicroPython (as mpy_test_* items) and under
# CPython (host_tests/test_shared_cpython.py imports this module): the two must agree.
import json

import config
import mqttpkt as pk
import reading
import senml
from clock import EPOCH, ClockError, unix_text
from sntp import parse_reply, request_packet

# MQTT 3.1.1 (OASIS mqtt-v3.1.1-os) table 2.4: Remaining Length boundaries.
REMAINING_LENGTH_TABLE = (
    (0, b"\x00"), (127, b"\x7f"),
    (128, b"\x80\x01"), (16383, b"\xff\x7f"),
    (16384, b"\x80\x80\x01"), (2097151, b"\xff\xff\x7f"),
    (2097152, b"\x80\x80\x80\x01"), (268435455, b"\xff\xff\xff\x7f"),
)


def test_remaining_length_table():
    for value, encoded in REMAINING_LENGTH_TABLE:
        assert pk.encode_length(value) == encoded, value
        assert pk.decode_length(encoded) == (value, len(encoded)), value
    for bad in (-1, 268435456):
        try:
            pk.encode_length(bad)
        except pk.MQTTProtocolError:
            pass
        else:
            raise AssertionError("accepted length %d" % bad)


def test_five_byte_length_is_malformed():
    try:
        pk.decode_length(b"\xff\xff\xff\xff\x01")
    except pk.MQTTProtocolError:
        return
    raise AssertionError("5-byte remaining length accepted")


def test_connect_packet_layout():
    # Spec 3.1.2: protocol name "MQTT", level 4, flags, keepalive; payload order 3.1.3.
    p = pk.connect("node-1", 30, True, ("t/status", "offline", 1, True))
    assert p[0] == 0x10
    length, used = pk.decode_length(p[1:])
    body = p[1 + used:]
    assert len(body) == length
    assert body[:7] == b"\x00\x04MQTT\x04"
    assert body[7] == 0x02 | 0x04 | (1 << 3) | 0x20  # clean, will, will QoS 1, will retain
    assert body[8:10] == b"\x00\x1e"
    assert body[10:18] == b"\x00\x06node-1"
    assert body[18:28] == b"\x00\x08t/status"
    assert body[28:] == b"\x00\x07offline"


def test_publish_roundtrip_and_rules():
    p = pk.publish("a/b", b"xyz", qos=1, retain=True, dup=True, pid=258)
    assert p[0] == 0x30 | 0x08 | 0x02 | 0x01
    _, used = pk.decode_length(p[1:])
    got = pk.parse_publish(p[0] & 0x0F, p[1 + used:])
    assert got == ("a/b", b"xyz", 1, 258, True, True), got
    for topic in ("", "a/+", "a/#"):
        try:
            pk.publish(topic, b"", 0)
        except pk.MQTTProtocolError:
            continue
        raise AssertionError("published to %r" % topic)


def test_malformed_inbound_publish_is_an_error_not_a_crash():
    for flags, body in ((0x06, b"\x00\x01a"), (0, b"\x00"), (0, b"\x00\x09abc"),
                        (0x02, b"\x00\x01a\x00")):
        try:
            pk.parse_publish(flags, body)
        except pk.MQTTProtocolError:
            continue
        raise AssertionError("accepted %r" % body)


def test_senml_pack():
    bn = senml.base_name(32473, "sthlm-aq-0001")
    text = senml.encode(bn, [("temperature", "Cel", 21.5), ("presence", None, True),
                             ("problem", None, 'say "hi"')], bt=(1700000000 - EPOCH, 0))
    pack = json.loads(text)
    assert pack[0] == {"bn": "urn:dev:org:32473-sthlm-aq-0001:", "bt": 1700000000,
                       "n": "temperature", "u": "Cel", "v": 21.5}, pack[0]
    assert pack[1] == {"n": "presence", "vb": True}
    assert pack[2] == {"n": "problem", "vs": 'say "hi"'}
    nobt = json.loads(senml.encode(bn, [("co2", "ppm", 415)]))
    assert "bt" not in nobt[0]


def test_senml_times_are_exact_to_the_millisecond():
    # Unix 1795790341.512 is what a float32 clock reads as 1795790400.0 (micropython.md)
    bt = (1795790341 - EPOCH, 512)
    text = senml.encode("x:", [("a", None, 1)], bt=bt)
    assert '"bt":1795790341.512,' in text, text
    rows = [(7, bt, [("a", None, 1)]), (8, (bt[0] + 59, 999), [("a", None, 2)]),
            (9, (bt[0] - 1, 600), [("a", None, 3)])]
    text = senml.encode_readings("x:", rows)
    assert '"n":"seq","t":59.487,' in text and '"n":"seq","t":-0.912,' in text, text
    assert unix_text(-1, 999) == "1704067199.999" and unix_text(0, 7) == "1704067200.007"


def test_stored_values_go_out_as_the_decimals_measured():
    # a reading keeps hundredths; on a float32 board 2153 / 100 would print 21.53000069
    cases = ((2153, "21.53"), (2150, "21.5"), (2100, "21"), (-5, "-0.05"), (-2150, "-21.5"),
             (0, "0"), (10065600, "100656"), (7, "0.07"))
    for x100, text in cases:
        assert senml.x100_text(x100) == text, (x100, senml.x100_text(x100))
    rows = [(1, None, [("temperature", "Cel", 2153), ("presence", None, True)])]
    pack = json.loads(senml.encode_readings("x:", rows))
    assert pack[1]["v"] == 21.53 and pack[2]["vb"] is True and pack[0]["v"] == 1, pack


def test_senml_rejects_bad_names_and_relative_base_time():
    for name in ("bad name", "_x", "a\"b"):
        try:
            senml.encode("", [(name, None, 1)])
        except ValueError:
            continue
        raise AssertionError("accepted name %r" % name)
    try:
        senml.encode("x:", [("a", None, 1)], bt=100)  # a bare number: relative, or float time
    except ValueError:
        pass
    else:
        raise AssertionError("relative bt accepted")
    try:
        senml.encode("x:", [("a", None, 1)], bt=(0, 1000))
    except ValueError:
        return
    raise AssertionError("bt with 1000 ms accepted")


GOOD = {
    "device_id": "sthlm-aq-0001", "board": "host",
    "wifi": {"ssid": "city-iot"},
    "broker": {"host": "127.0.0.1", "server_hostname": "broker.example"},
    "sensors": [{"driver": "bme280", "bus": "i2c0", "address": 118}],
}


def _copy(d):
    return json.loads(json.dumps(d))


def test_config_defaults_filled():
    cfg = config.validate(_copy(GOOD))
    assert cfg["broker"]["port"] == 8883
    assert cfg["interval_s"] == 60
    assert cfg["tls"]["cert"] == "certs/device.der"
    assert cfg["sensors"][0]["every_s"] == 5


def test_config_errors_name_the_field():
    cases = []
    c = _copy(GOOD)
    c["device_id"] = "Bad_ID"
    cases.append((c, "config.device_id"))
    c = _copy(GOOD)
    c["broker"]["port"] = 70000
    cases.append((c, "config.broker.port"))
    c = _copy(GOOD)
    c["broker"]["port"] = True
    cases.append((c, "config.broker.port"))
    c = _copy(GOOD)
    del c["wifi"]
    cases.append((c, "config.wifi"))
    c = _copy(GOOD)
    c["sensors"][0]["address"] = 0x80
    cases.append((c, "config.sensors[0].address"))
    c = _copy(GOOD)
    c["colour"] = "blue"
    cases.append((c, "colour"))
    c = _copy(GOOD)
    c["sensors"][0]["driver"] = "bme680"
    cases.append((c, "config.sensors[0].driver must be one of bme280, bmp280, ics43434"))
    c = _copy(GOOD)
    c["sensors"][0]["options"] = {"osrs_t": 2, "gain": 4}
    cases.append((c, "'gain' is not an option of bme280"))
    c = _copy(GOOD)
    c["sensors"][0]["options"] = {"osrs_t": "x2"}
    cases.append((c, "options.osrs_t must be a number"))
    c = _copy(GOOD)
    c["presence_fusion"] = "either"
    cases.append((c, "config.presence_fusion must be one of any, both, got 'either'"))
    c = _copy(GOOD)
    c["sensors"][0]["options"] = [1]
    cases.append((c, "config.sensors[0].options must be an object"))
    for cfg, words in cases:
        try:
            config.validate(cfg)
        except config.ConfigError as e:
            assert words in str(e), (words, str(e))
            continue
        raise AssertionError("accepted config with bad %s" % words)
    try:
        config.parse("{not json")
    except config.ConfigError as e:
        assert "not valid JSON" in str(e)
    else:
        raise AssertionError("accepted broken JSON")


class _Log:
    def __init__(self):
        self.lines = []

    def error(self, where, msg):
        self.lines.append(msg)

    warning = info = error


def test_config_falls_back_to_last_good():
    files = {}

    def read(path):
        if path not in files:
            raise OSError(2)
        return files[path]

    def write(path, text):
        files[path] = text

    log = _Log()
    files["config.json"] = json.dumps(GOOD)
    assert config.load(read, write, log)["device_id"] == "sthlm-aq-0001"
    assert files["config.good.json"] == files["config.json"]
    files["config.json"] = '{"device_id": 5'
    cfg = config.load(read, write, log)
    assert cfg["device_id"] == "sthlm-aq-0001"
    assert "not valid JSON" in cfg["config_problem"]
    assert any("fix config.json" in line for line in log.lines), log.lines
    del files["config.good.json"]
    assert config.load(read, write, log) is None


def _server_reply(req, secs, stratum=2, mode=4, li=0, frac=0):
    out = bytearray(48)
    for i in range(4):
        out[44 + i] = (frac >> (24 - 8 * i)) & 0xFF
    out[0] = (li << 6) | (4 << 3) | mode
    out[1] = stratum
    out[24:32] = req[40:48]
    out[40] = (secs >> 24) & 0xFF
    out[41] = (secs >> 16) & 0xFF
    out[42] = (secs >> 8) & 0xFF
    out[43] = secs & 0xFF
    return bytes(out)


def test_sntp_reply_parsing():
    nonce = 0x0123456789ABCDEF
    req = request_packet(nonce)
    assert req[0] == 0x23 and len(req) == 48
    # RFC 4330: 1970-01-01 is 2208988800 s after the NTP era start.
    assert parse_reply(_server_reply(req, 2208988800 + 1700000000), nonce) == \
        (1700000000 - EPOCH, 0)
    # the fraction is 2**-32 s units: 0.512 s is 2199023256 (floor to the millisecond)
    assert parse_reply(_server_reply(req, 2208988800 + 1795790341, frac=2199023256), nonce) == \
        (1795790341 - EPOCH, 512)
    bad = (
        _server_reply(req, 3900000000, stratum=0),  # kiss-o'-death
        _server_reply(req, 3900000000, li=3),  # unsynchronised
        _server_reply(req, 3900000000, mode=3),  # not a server
        _server_reply(request_packet(nonce + 1), 3900000000),  # not our request
    )
    for reply in bad:
        try:
            parse_reply(reply, nonce)
        except ClockError:
            continue
        raise AssertionError("accepted a bad SNTP reply")



def test_a_stored_reading_with_a_damaged_old_time_is_an_error_on_every_float():
    # found by the fuzzer on the board VM: this double is inf as float32, and int(inf) raised
    # OverflowError past the outbox; on a 64-bit double it decoded to a time 1e300 s away
    for hexed in ("01feda8c1a881000008043010000000866", "017ff00000000000000003010000000866"):
        try:
            reading.decode(bytes.fromhex(hexed))
        except ValueError:
            continue
        raise AssertionError("decoded a reading stamped %s" % hexed)


def test_config_broker_endpoints_are_host_port_pairs():
    c = _copy(GOOD)
    c["broker"]["endpoints"] = ["127.0.0.2:8883", "broker-b.stadsnod.local:8884"]
    assert config.validate(c)["broker"]["endpoints"] == c["broker"]["endpoints"]
    assert "endpoints" not in config.validate(_copy(GOOD))["broker"]  # none unless listed
    for bad in (["127.0.0.2"], ["h:0"], ["h:65536"], ["h:88x"], ["a:1:2"], [":8883"], "h:1",
                ["a:1", "b:2", "c:3", "d:4", "e:5"], [8883]):
        c = _copy(GOOD)
        c["broker"]["endpoints"] = bad
        try:
            config.validate(c)
        except config.ConfigError as e:
            assert "config.broker.endpoints" in str(e), e
            continue
        raise AssertionError("accepted endpoints %r" % (bad,))
