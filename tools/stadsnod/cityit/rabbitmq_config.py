"""The city broker as RabbitMQ with its MQTT plugin (`stadsnod broker config --kind rabbitmq`):
the same contract as the mosquitto configuration (broker_config.py). TLS 1.2 with client
certificates whose common name is the user (`ssl_cert_login`, no passwords), every device and
the platform a user, and topic permissions that keep each node under its own id. RabbitMQ maps
MQTT topics to routing keys on `amq.topic` with "/" as ".", so the patterns below are
routing-key regular expressions. A revoked device is left out of the users (RabbitMQ refuses a
certificate whose CN is no user) and its serial is in the CRL the TLS listener checks."""

from __future__ import annotations

import json
import re
from pathlib import Path

from .broker_config import PLATFORM_USER

CONF = """# stadsnod broker configuration for RabbitMQ (tools/stadsnod/cityit/rabbitmq_config.py)
listeners.tcp = none
loopback_users = none
mqtt.listeners.tcp = none
mqtt.listeners.ssl.default = {bind}:{port}
mqtt.allow_anonymous = false
mqtt.ssl_cert_login = true
ssl_cert_login_from = common_name
mqtt.vhost = /
mqtt.exchange = amq.topic
ssl_options.cacertfile = {ca}
ssl_options.certfile = {cert}
ssl_options.keyfile = {key}
ssl_options.verify = verify_peer
ssl_options.fail_if_no_peer_cert = true
ssl_options.versions.1 = tlsv1.2
load_definitions = {definitions}
log.file.level = info
log.console = false
"""

# the CRL: Erlang's ssl reads it from a folder of CRLs named by their issuer's hash
ADVANCED = """[{{rabbit, [{{ssl_options, [{{crl_check, peer}},
  {{crl_cache, {{ssl_crl_hash_dir, {{internal, [{{dir, "{crl_dir}"}}]}}}}}}]}}]}}].
"""


def _node_permissions(root: str, user: str) -> dict:
    key = re.escape(f"{root}.{user}.")
    return {"user": user, "vhost": "/", "exchange": "amq.topic",
            "write": f"^{key}(data|status|health|cmd\\.result|update\\.get)$",
            "read": f"^{key}(cmd|update\\.data)$"}


def definitions(root: str, devices: list[str]) -> dict:
    """Users (certificate login only: no password hash), their queue permissions (the MQTT
    plugin declares a queue per subscribing client) and their topic permissions."""
    users = [*devices, PLATFORM_USER]
    r = re.escape(root)
    topic = [_node_permissions(root, d) for d in devices]
    topic.append({"user": PLATFORM_USER, "vhost": "/", "exchange": "amq.topic",
                  "write": f"^{r}\\.[^.]+\\.(cmd|update\\.data)$", "read": f"^{r}\\..*"})
    return {
        "users": [{"name": u, "password_hash": "", "tags": ""} for u in users],
        "vhosts": [{"name": "/"}],
        "permissions": [{"user": u, "vhost": "/", "configure": "^mqtt-subscription-.*",
                         "write": "^(amq\\.topic|mqtt-subscription-.*)$",
                         "read": "^(amq\\.topic|mqtt-subscription-.*)$"} for u in users],
        "topic_permissions": topic,
        # every MQTT session's queue lives on every node of a cluster: losing a node loses
        # none of what waits for the platform, and a node's subscription is not stuck on a
        # dead cluster node (RabbitMQ 3.10's MQTT plugin declares classic queues; mirroring
        # is how they survive a node)
        "policies": [{"vhost": "/", "name": "sessions-on-every-node",
                      "pattern": "^mqtt-subscription-",
                      "apply-to": "queues", "priority": 0,
                      "definition": {"ha-mode": "all", "ha-sync-mode": "automatic"}}],
    }


def write_rabbitmq_config(out: Path, *, port: int, root: str, ca: Path, cert: Path, key: Path,
                          devices: list[str], crl_dir: Path | None = None,
                          bind: str = "127.0.0.1", cluster: list[str] | None = None) -> Path:
    """rabbitmq.conf, advanced.config (the CRL), enabled_plugins and definitions.json in
    `out`; returns rabbitmq.conf. `cluster`: the Erlang node names of a cluster this node
    forms with (classic peer discovery)."""
    out.mkdir(parents=True, exist_ok=True)
    defs = out / "definitions.json"
    defs.write_text(json.dumps(definitions(root, devices), indent=1))
    (out / "enabled_plugins").write_text("[rabbitmq_mqtt].\n")
    if crl_dir is not None:
        (out / "advanced.config").write_text(ADVANCED.format(crl_dir=crl_dir))
    conf = out / "rabbitmq.conf"
    text = CONF.format(bind=bind, port=port, ca=ca, cert=cert, key=key, definitions=defs)
    if cluster:
        text += "cluster_formation.peer_discovery_backend = classic_config\n" + "".join(
            f"cluster_formation.classic_config.nodes.{i} = {n}\n"
            for i, n in enumerate(cluster, 1))
    conf.write_text(text)
    return conf
