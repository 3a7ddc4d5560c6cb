"""The checker's table: one function per automatically verified requirement of the profile,
named by its id. Each reads what the run observed (`Seen`) and answers a verdict, the evidence
that decided it, and for a failure what to fix. A check that saw too little answers
INCONCLUSIVE -- never a pass. `make test` fails when a MUST verified `auto` has no check here,
or one here names no requirement (host_tests/test_conformance.py)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .catalogue import record_table

PASS, FAIL, MAYBE, NA, INCONCLUSIVE = "PASS", "FAIL", "MAYBE", "NA", "INCONCLUSIVE"
TOPICS = ("data", "status", "health", "cmd/result", "update/get")
HEALTH_NEEDS = ("uptime", "boot", "firmware", "clock_synced", "reset_cause")
MAX_RECORDS = 64


@dataclass
class Outcome:
    verdict: str
    evidence: str
    hint: str = ""


@dataclass
class Seen:
    """What one run saw of one device, phase by phase."""

    device: str
    root: str
    declaration: dict[str, Any]
    events: list[dict[str, Any]]  # the observer's record
    phases: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> what it found

    def of(self, kind: str, since: float = 0, until: float = float("inf")) -> list[dict]:
        return [e for e in self.events if e["kind"] == kind and since <= e["t"] < until
                and e.get("device") in (self.device, None)]

    def publishes(self, suffix: str | None = None) -> list[dict]:
        topic = f"{self.root}/{self.device}/{suffix}" if suffix else None
        return [e for e in self.of("publish") if topic is None or e["topic"] == topic]

    def packs(self, suffix: str) -> list[tuple[float, list[dict]]]:
        out = []
        for e in self.publishes(suffix):
            try:
                pack = json.loads(e["payload"])
            except (ValueError, UnicodeDecodeError):
                pack = None
            out.append((e["t"], pack))
        return out


CHECKS: dict[str, Callable[[Seen], Outcome]] = {}


def check(req_id: str):
    def register(fn: Callable[[Seen], Outcome]) -> Callable[[Seen], Outcome]:
        CHECKS[req_id] = fn
        return fn
    return register


def _short(x: Any, n: int = 160) -> str:
    s = x.decode("utf-8", "replace") if isinstance(x, bytes) else str(x)
    return s if len(s) <= n else s[:n] + "..."


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
def _records(pack: list[dict]) -> list[dict]:
    return [r for r in pack if isinstance(r, dict)]


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


# -- readings and sequence numbers
def _readings(s: Seen) -> dict[int, list[str]]:
    """seq -> the readings' values (as JSON) seen with it."""
    out: dict[int, list[str]] = {}
    for _t, pack in s.packs("data"):
        if not isinstance(pack, list):
            continue
        seq: Any = None
        values: list[list[Any]] = []
        for r in _records(pack) + [{"n": "seq", "v": None}]:
            if r.get("n") == "seq":
                if seq is not None:
                    out.setdefault(seq, []).append(json.dumps(values, sort_keys=True))
                seq, values = r.get("v"), []
            else:
                values.append([r.get("n"), r.get("v"), r.get("vb")])
    return out


@check("SN-SEQ-1")
def _seq(s: Seen) -> Outcome:
    readings = _readings(s)
    if not readings:
        return Outcome(INCONCLUSIVE, "no reading with a seq record seen")
    for seq, seen in sorted(readings.items()):
        if len(set(seen)) > 1:
            return Outcome(FAIL, f"seq {seq} stood for two different readings: "
                           f"{_short(seen[0], 80)} and {_short(seen[-1], 80)}",
                           "keep the sequence counter on flash: never start again at 1")
    restart = s.phases.get("restart")
    extra = ""
    if restart and restart.get("boot_before") is not None:
        extra = (f"; boot {restart['boot_before']} -> {restart['boot_after']}, numbering "
                 "went on")
    return Outcome(PASS, f"{len(readings)} readings, seq {min(readings)}..{max(readings)}, "
                   f"each number one reading{extra}")


@check("SN-SEQ-2")
def _nothing_lost(s: Seen) -> Outcome:
    phase = s.phases.get("broker-restart")
    if not phase:
        return Outcome(INCONCLUSIVE, "the broker was not restarted")
    seqs = sorted(k for k in _readings(s) if isinstance(k, int))
    if not seqs or max(seqs) <= phase.get("last_seq_before", 0):
        return Outcome(INCONCLUSIVE, "no reading after the broker came back")
    missing = sorted(set(range(seqs[0], seqs[-1] + 1)) - set(seqs))
    if missing:
        return Outcome(FAIL, f"seq {missing[:10]} never arrived (broker down "
                       f"{phase['down_s']:.0f} s)", "keep readings on flash until PUBACK")
    return Outcome(PASS, f"seq {seqs[0]}..{seqs[-1]} complete across a "
                   f"{phase['down_s']:.0f} s broker restart")


# -- health
def _health_values(s: Seen) -> list[dict[str, Any]]:
    out = []
    for _t, pack in s.packs("health"):
        if isinstance(pack, list):
            vals: dict[str, Any] = {}
            for r in _records(pack):
                vals[str(r.get("n"))] = r.get("v", r.get("vs", r.get("vb")))
            out.append(vals)
    return out


@check("SN-HLT-1")
def _health(s: Seen) -> Outcome:
    packs = _health_values(s)
    if not packs:
        return Outcome(INCONCLUSIVE, "no health pack seen")
    missing = [n for n in HEALTH_NEEDS if n not in packs[-1]]
    if missing:
        return Outcome(FAIL, f"health without {missing}", "see the wire contract, Health")
    return Outcome(PASS, f"{len(packs)} health packs with {', '.join(HEALTH_NEEDS)}")


@check("SN-HLT-2")
def _health_refusals(s: Seen) -> Outcome:
    packs = _health_values(s)
    if not packs:
        return Outcome(INCONCLUSIVE, "no health pack seen")
    if "cmd_rejected" not in packs[-1]:
        return Outcome(MAYBE, "health has no cmd_rejected", "count refused commands")
    cmd = s.phases.get("commands")
    if cmd and packs[-1]["cmd_rejected"] <= cmd.get("rejected_before", 0):
        return Outcome(MAYBE, f"cmd_rejected stayed {packs[-1]['cmd_rejected']} after "
                       "refused commands", "count every refused command")
    return Outcome(PASS, f"cmd_rejected {packs[-1]['cmd_rejected']}")


# -- resilience
def _backoff(s: Seen, phase_name: str, what: str) -> Outcome:
    phase = s.phases.get(phase_name)
    if not phase:
        return Outcome(INCONCLUSIVE, f"the run did not {what}")
    gaps = phase["waits"]
    if len(gaps) < 4:
        return Outcome(INCONCLUSIVE, f"{len(gaps) + 1} connect attempts while the checker "
                       f"would {what} (5 needed)")
    shown = ", ".join(f"{g:.1f}" for g in gaps)
    # waits from the end of one attempt to the next CONNECT: after four failures the last
    # must be at least twice the shortest (equal-jitter doubling gives four times)
    if gaps[-1] < 2 * min(gaps[:-1]):
        return Outcome(FAIL, f"seconds between attempts: {shown}",
                       "wait longer after each failed attempt (exponential backoff with "
                       "jitter), after a kick as after a refusal")
    return Outcome(PASS, f"seconds between attempts: {shown} (growing)")


@check("SN-RES-1")
def _backoff_refused(s: Seen) -> Outcome:
    return _backoff(s, "refuse", "refuse connects")


@check("SN-RES-2")
def _backoff_kicked(s: Seen) -> Outcome:
    return _backoff(s, "kick", "kick after CONNACK")


# -- commands
def _cmd_results(s: Seen, since: float) -> list[dict]:
    out = []
    for e in s.publishes("cmd/result"):
        if e["t"] >= since:
            try:
                out.append(json.loads(e["payload"]))
            except ValueError:
                pass
    return out


@check("SN-CMD-1")
def _unsigned(s: Seen) -> Outcome:
    phase = s.phases.get("commands")
    if not phase:
        return Outcome(INCONCLUSIVE, "no command was sent")
    results = _cmd_results(s, phase["since"])
    refused = [r for r in results if r.get("result") == "refused"]
    ran = [r for r in results if r.get("result") in ("accepted", "done")
           and r.get("seq") == phase["unsigned_seq"]]
    if ran:
        return Outcome(FAIL, f"an unsigned command was answered {ran[0]}",
                       "verify the signature before anything else")
    if not refused:
        return Outcome(FAIL if results else INCONCLUSIVE, "no refusal on cmd/result",
                       "answer each refused command with the reason")
    return Outcome(PASS, f"refused: {_short(refused[0].get('detail'), 100)}")


@check("SN-CMD-2")
def _replayed(s: Seen) -> Outcome:
    phase = s.phases.get("commands")
    if not phase or phase.get("signed_seq") is None:
        return Outcome(INCONCLUSIVE, "no signed command was sent")
    results = [r for r in _cmd_results(s, phase["since"]) if r.get("seq") == phase["signed_seq"]]
    done = [r for r in results if r.get("result") == "done"]
    if not done:
        return Outcome(INCONCLUSIVE, f"the signed command {phase['signed_seq']} never ran: "
                       f"{results}")
    if len(done) > 1 or [r for r in results if r.get("result") == "accepted"][1:]:
        return Outcome(FAIL, f"command {phase['signed_seq']} ran {len(done)} times",
                       "keep the last sequence number run on flash; refuse any not above it")
    if not any(r.get("result") == "refused" for r in results):
        return Outcome(INCONCLUSIVE, "no answer to the replayed command")
    return Outcome(PASS, f"command {phase['signed_seq']} ran once; its replay was refused")


@check("SN-CMD-3")
def _garbage(s: Seen) -> Outcome:
    phase = s.phases.get("garbage")
    if not phase:
        return Outcome(INCONCLUSIVE, "no malformed command was sent")
    if phase["boot_after"] is None:
        return Outcome(INCONCLUSIVE, "no health pack after the burst")
    if phase["boot_after"] != phase["boot_before"]:
        return Outcome(FAIL, f"boot {phase['boot_before']} -> {phase['boot_after']} after "
                       f"{phase['sent']} malformed messages", "validate every length and "
                       "field before use; refuse and carry on")
    return Outcome(PASS, f"{phase['sent']} malformed messages; still boot "
                   f"{phase['boot_after']}, still publishing")


# -- privacy
@check("SN-PRV-1")
def _privacy(s: Seen) -> Outcome:
    packs = [p for _t, p in s.packs("data") if isinstance(p, list)]
    if not packs:
        return Outcome(INCONCLUSIVE, "no data pack seen")
    for pack in packs:
        for r in _records(pack):
            if "vd" in r or isinstance(r.get("v"), list) or len(str(r.get("vs", ""))) > 64:
                return Outcome(FAIL, f"record {r.get('n')!r} carries data, not a scalar: "
                               f"{_short(r, 100)}", "publish the table's scalar values only")
        per_reading = max(len(chunk) for chunk in _split_readings(pack))
        if per_reading > MAX_RECORDS:
            return Outcome(FAIL, f"a reading of {per_reading} records",
                           f"at most {MAX_RECORDS} records per reading")
    return Outcome(PASS, f"{len(packs)} data packs of scalar records only")


def _split_readings(pack: list) -> list[list]:
    out: list[list] = [[]]
    for r in pack:
        if isinstance(r, dict) and r.get("n") == "seq" and out[-1]:
            out.append([])
        out[-1].append(r)
    return out


# -- local interfaces
@check("SN-LOC-1")
def _open_ports(s: Seen) -> Outcome:
    phase = s.phases.get("ports")
    if not phase:
        return Outcome(INCONCLUSIVE, "no port was probed")
    declared = {d["port"] for d in s.declaration.get("local_services", [])}
    extra = sorted(set(phase["open"]) - declared)
    if extra:
        return Outcome(FAIL, f"open at {phase['address']}: TCP {extra}, not declared",
                       "close debug services (WebREPL, telnet, web) in service, or declare them")
    return Outcome(PASS, f"probed {len(phase['probed'])} TCP ports at {phase['address']}: "
                   f"open {sorted(phase['open']) or 'none'}, all declared")


@check("SN-LOC-2")
def _default_passwords(s: Seen) -> Outcome:
    phase = s.phases.get("ports")
    if not phase:
        return Outcome(INCONCLUSIVE, "no port was probed")
    if phase["let_in"]:
        port, how = phase["let_in"][0]
        return Outcome(FAIL, f"port {port} let the checker in with {how}",
                       "require a per-unit credential; no factory default")
    return Outcome(PASS, f"declared services asked for credentials: {phase['asked']}")


# -- the declaration against what was seen
@check("SN-PAY-4")
def _declared_records(s: Seen) -> Outcome:
    packs = [p for _t, p in s.packs("data") if isinstance(p, list)]
    if not packs:
        return Outcome(INCONCLUSIVE, "no data pack seen")
    seen = {str(r.get("n")) for p in packs for r in _records(p)}
    declared = set(s.declaration["records"])
    undeclared, absent = sorted(seen - declared), sorted(declared - seen)
    if undeclared:
        return Outcome(FAIL, f"published but not declared: {undeclared}",
                       "declare every record name the device publishes")
    if absent:
        return Outcome(FAIL, f"declared but never published: {absent}",
                       "declare what the device publishes, nothing more")
    return Outcome(PASS, f"published exactly the {len(declared)} declared record names")


# the declaration's IXIT field that answers a requirement read rather than observed
DECLARED = {"SN-ID-2": "key_provisioning", "SN-CMD-4": "update_mechanism",
            "SN-DOC-1": "vulnerability_contact", "SN-DOC-2": "support_period",
            "SN-DOC-3": "erase"}


def declared(s: Seen, req_id: str) -> Outcome:
    text = s.declaration["ixit"].get(DECLARED[req_id])
    if not text:
        return Outcome(FAIL, f"the declaration has no ixit.{DECLARED[req_id]}",
                       f"describe it in ixit.{DECLARED[req_id]}")
    return Outcome(PASS, f"declared (ixit.{DECLARED[req_id]}): {_short(text, 120)} -- read "
                   "by a person; the checker confirms it is stated")
