"""The one mosquitto configuration every stadsnod broker runs: the city's (`stadsnod broker
config`), the demo's and the tests'. TLS 1.2 with client certificates whose CN is the MQTT user
name, the CRL, and an ACL that keeps every node under its own id."""

from __future__ import annotations

from pathlib import Path

BROKER_HOSTNAME = "broker.stadsnod.local"
PLATFORM_USER = "platform"  # the city platform's own client: reads everything, writes commands

ACL = """# Nodes: only their own subtree, and they may read only their own commands.
pattern write {root}/%u/data
pattern write {root}/%u/status
pattern write {root}/%u/health
pattern read {root}/%u/cmd
pattern write {root}/%u/cmd/result
pattern write {root}/%u/update/get
pattern read {root}/%u/update/data

user {platform}
topic read {root}/#
topic write {root}/+/cmd
topic write {root}/+/update/data
"""

CONF = """# stadsnod broker configuration (tools/stadsnod/cityit/broker_config.py).
per_listener_settings false
user {user}
pid_file {dir}/mosquitto.pid
allow_anonymous false
# Sessions and queued QoS 1 messages survive a broker restart: the platform's persistent
# session gets what nodes sent while it was away.
persistence true
persistence_location {dir}/
autosave_interval 60
# A high cap on a session's queue: mosquitto's default (1,000 messages) dropped readings for
# the platform when a 1,000-node fleet reconnected at once after a broker restart. Not 0
# ("no cap"): Debian's 2.0.11 (CVE-2023-28366 fix) then disconnects every client whose
# QoS 1 publish the ACL denies (mosquitto issue 3244, fixed upstream in 2.0.22).
max_queued_messages 1000000
log_dest file {dir}/mosquitto.log
log_type error
log_type warning
log_type notice
connection_messages true
acl_file {dir}/acl
listener {port} {bind}
cafile {ca}
certfile {cert}
keyfile {key}
{crl}require_certificate true
use_identity_as_username true
tls_version tlsv1.2
"""


def write_config(out: Path, *, port: int, user: str, root: str, ca: Path, cert: Path, key: Path,
                 crl: Path | None = None, bind: str = "127.0.0.1") -> Path:
    """mosquitto.conf and acl in `out`; returns the configuration file. `bind` is the address
    the listener takes: loopback for the demo and the tests, the city's interface (or 0.0.0.0)
    in production."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "acl").write_text(ACL.format(root=root, platform=PLATFORM_USER))
    conf = out / "mosquitto.conf"
    conf.write_text(CONF.format(dir=out, port=port, bind=bind, user=user, ca=ca, cert=cert,
                                key=key, crl=f"crlfile {crl}\n" if crl else ""))
    return conf
