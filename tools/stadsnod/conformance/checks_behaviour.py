"""The checks of behaviour over time and under faults: readings and sequence numbers, health,
backoff, commands, privacy, local services, and the declaration against what was seen."""

from __future__ import annotations

import json

from .seen import (
    FAIL,
    HEALTH_NEEDS,
    INCONCLUSIVE,
    MAX_RECORDS,
    MAYBE,
    PASS,
    Outcome,
    Seen,
    _health_values,
    _readings,
    _records,
    _short,
    _split_readings,
    check,
)


# -- readings and sequence numbers
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
    return Outcome(PASS, f"{len(readings)} readings, seq {min(readings)}..{max(readings)}, "
                   "each number one reading")


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
    after = [p.get("cmd_rejected", 0) for p in _health_values(s, cmd["since"])] if cmd else []
    if cmd and max(after or [0]) <= cmd.get("rejected_before", 0):
        return Outcome(MAYBE, f"cmd_rejected stayed {cmd.get('rejected_before', 0)} after "
                       "refused commands", "count every refused command")
    return Outcome(PASS, f"cmd_rejected rose to {max(after or [packs[-1]['cmd_rejected']])}")


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
