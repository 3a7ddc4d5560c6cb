"""The checks of identity, TLS, topics and payloads: what the wire shows."""

from __future__ import annotations

import re

from .catalogue import record_table
from .seen import (
    FAIL,
    INCONCLUSIVE,
    PASS,
    TOPICS,
    Outcome,
    Seen,
    _health_values,
    _records,
    _short,
    check,
)


# -- identity
@check("SN-ID-1")
def _identity(s: Seen) -> Outcome:
    tls = [e for e in s.of("tls") if e["tls"] == "good"]
    connects = s.of("connect")
    if not connects:
        return Outcome(INCONCLUSIVE, "no CONNECT seen")
    bad_cn = [e["device"] for e in tls if e["device"] != s.device]
    bad_id = [c["client_id"] for c in connects if c["client_id"] != s.device]
    if bad_cn or bad_id:
        return Outcome(FAIL, f"certificate CN {bad_cn[:1]} / MQTT client id {bad_id[:1]} "
                       f"for device {s.device}",
                       "use the lab's client.crt for this device and its id as the client id")
    return Outcome(PASS, f"{len(connects)} CONNECT(s) with client id {s.device!r}, "
                   f"certificate CN {s.device!r}")


@check("SN-ID-3")
def _firmware(s: Seen) -> Outcome:
    want = s.declaration["firmware"]
    seen = {p.get("firmware") for p in _health_values(s)}
    if not seen:
        return Outcome(INCONCLUSIVE, "no health pack seen")
    if seen != {want}:
        return Outcome(FAIL, f"health says firmware {sorted(map(str, seen))}, the declaration "
                       f"{want!r}", "declare the version the device reports, exactly")
    return Outcome(PASS, f"health firmware {want!r} as declared")


# -- TLS
def _tls_fault(s: Seen, mode: str, what: str) -> Outcome:
    accepted = [e for e in s.events if e["kind"] == "accepted-bad-broker" and e["tls"] == mode]
    refused = [e for e in s.events if e["kind"] == "handshake-refused" and e["tls"] == mode]
    if accepted:
        return Outcome(FAIL, f"the device completed TLS with a broker presenting {what} and "
                       "sent CONNECT", "verify the broker's chain, validity and host name; "
                       "never fall back to an unverified connection")
    if refused:
        return Outcome(PASS, f"handshake with {what} refused by the device: "
                       f"{_short(refused[0]['error'], 100)}")
    return Outcome(INCONCLUSIVE, f"the device never tried the endpoint with {what}")


@check("SN-TLS-1")
def _tls_versions(s: Seen) -> Outcome:
    old = [e["version"] for e in s.of("tls") if e["tls"] == "good"
           and e["version"] not in ("TLSv1.2", "TLSv1.3")]
    if old:
        return Outcome(FAIL, f"negotiated {old[0]}", "allow TLS 1.2 and 1.3 only")
    return _tls_fault(s, "old", "TLS 1.0/1.1 only")


@check("SN-TLS-2")
def _tls_foreign(s: Seen) -> Outcome:
    return _tls_fault(s, "foreign", "a certificate from another CA")


@check("SN-TLS-3")
def _tls_expired(s: Seen) -> Outcome:
    return _tls_fault(s, "expired", "an expired certificate of the city's CA")


@check("SN-TLS-4")
def _tls_host(s: Seen) -> Outcome:
    return _tls_fault(s, "wrong-host", "a certificate for another host name")


# -- topics
@check("SN-TOP-1")
def _topics(s: Seen) -> Outcome:
    pubs = s.publishes()
    if not pubs:
        return Outcome(INCONCLUSIVE, "no PUBLISH seen")
    prefix = f"{s.root}/{s.device}/"
    bad = [p["topic"] for p in pubs
           if not p["topic"].startswith(prefix) or p["topic"][len(prefix):] not in TOPICS]
    if bad:
        return Outcome(FAIL, f"PUBLISH on {bad[0]!r}",
                       f"publish only on {prefix}{{{','.join(TOPICS)}}}")
    return Outcome(PASS, f"{len(pubs)} PUBLISH, all under {prefix}")


@check("SN-TOP-2")
def _data_qos(s: Seen) -> Outcome:
    data = s.publishes("data")
    if not data:
        return Outcome(INCONCLUSIVE, "no data PUBLISH seen")
    bad = [p for p in data if p["qos"] != 1 or p["retain"]]
    if bad:
        return Outcome(FAIL, f"data PUBLISH with QoS {bad[0]['qos']}, retain "
                       f"{bad[0]['retain']}", "publish readings at QoS 1, retain 0")
    return Outcome(PASS, f"{len(data)} data PUBLISH at QoS 1, none retained")


@check("SN-TOP-3")
def _status(s: Seen) -> Outcome:
    connects = s.of("connect")
    if not connects:
        return Outcome(INCONCLUSIVE, "no CONNECT seen")
    topic = f"{s.root}/{s.device}/status"
    for c in connects:
        will = c["will"]
        if not will or will["topic"] != topic or will["payload"] != b"offline" \
                or not will["retain"] or will["qos"] != 1:
            shown = {k: _short(v) for k, v in (will or {}).items()}
            return Outcome(FAIL, f"CONNECT will {shown or 'none'}",
                           f"set a last will: {topic} 'offline', QoS 1, retained")
    online = [p for p in s.publishes("status") if p["payload"] == b"online"]
    if not online:
        return Outcome(FAIL, "no 'online' on the status topic after CONNACK",
                       f"publish 'online', retained, on {topic} after each connect")
    if not all(p["retain"] for p in online):
        return Outcome(FAIL, "'online' published without retain",
                       "retain the status so that the platform knows it at once")
    return Outcome(PASS, f"{len(connects)} CONNECT(s) with the retained 'offline' will; "
                   f"'online' retained {len(online)} time(s)")


@check("SN-TOP-4")
def _subscriptions(s: Seen) -> Outcome:
    subs = [t for e in s.of("subscribe") for t in e["topics"]]
    prefix = f"{s.root}/{s.device}/"
    bad = [t for t in subs if not t.startswith(prefix)]
    if bad:
        return Outcome(FAIL, f"SUBSCRIBE {bad[0]!r}", f"subscribe only under {prefix}")
    return Outcome(PASS, f"subscriptions {sorted(set(subs))}" if subs else "no SUBSCRIBE")


# -- payloads
@check("SN-PAY-1")
def _senml(s: Seen) -> Outcome:
    packs = s.packs("data") + s.packs("health")
    if not packs:
        return Outcome(INCONCLUSIVE, "no data or health pack seen")
    bn = re.compile(rf"urn:dev:org:\d+-{re.escape(s.device)}:")
    for _t, pack in packs:
        if not isinstance(pack, list) or not pack or not isinstance(pack[0], dict):
            return Outcome(FAIL, f"not a SenML pack: {_short(pack)}",
                           "send a JSON array of SenML records (RFC 8428)")
        if not bn.fullmatch(str(pack[0].get("bn", ""))):
            return Outcome(FAIL, f"first record's bn {pack[0].get('bn')!r}",
                           f"bn urn:dev:org:<PEN>-{s.device}: (wire contract, Payloads)")
    return Outcome(PASS, f"{len(packs)} SenML packs with bn urn:dev:org:...-{s.device}:")


@check("SN-PAY-2")
def _names_units(s: Seen) -> Outcome:
    table = record_table()
    packs = [p for _t, p in s.packs("data") if isinstance(p, list)]
    if not packs:
        return Outcome(INCONCLUSIVE, "no data pack seen")
    for pack in packs:
        for r in _records(pack):
            name = r.get("n", "")
            key = "quality/" if name.startswith("quality/") else name
            if key not in table:
                return Outcome(FAIL, f"record {name!r} is not in the record table",
                               "use the wire contract's record names, or ask for a profile "
                               "change first")
            if r.get("u") != table[key]:
                return Outcome(FAIL, f"record {name!r} with unit {r.get('u')!r}, the table "
                               f"says {table[key]!r}", "SenML registered units only "
                               "(Cel, not C; dB, not dBA)")
    return Outcome(PASS, f"{sum(len(p) for p in packs)} records, names and units as the "
                   "table says")


@check("SN-PAY-3")
def _bt(s: Seen) -> Outcome:
    phase = s.phases.get("no-clock")
    if not phase:
        return Outcome(INCONCLUSIVE, "the run did not withhold SNTP")
    early = [p for t, p in s.packs("data") if t < phase["until"] and isinstance(p, list)
             and any("bt" in r for r in _records(p))]
    if early:
        return Outcome(FAIL, f"bt {early[0][0].get('bt')} sent while no SNTP server had "
                       "answered", "leave bt out until the clock is synchronised")
    later = [(t, p) for t, p in s.packs("data") if t >= phase["until"] and isinstance(p, list)
             and p and "bt" in p[0]]
    if not later:
        return Outcome(INCONCLUSIVE, "no pack with bt after SNTP answered")
    for t, p in later:
        newest = p[0]["bt"] + max([r.get("t", 0) for r in _records(p)] or [0])
        if not t - 3600 <= newest <= t + 5:
            return Outcome(FAIL, f"bt + t = {newest:.3f}, received at {t:.3f}",
                           "bt is Unix seconds from the synchronised clock")
    return Outcome(PASS, f"no bt before SNTP answered; {len(later)} packs after it with "
                   "bt within seconds of the checker's clock")
