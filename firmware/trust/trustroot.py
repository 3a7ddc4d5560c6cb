# The node's trust root: the signed root document city IT put in its provisioning bundle. It
# names every key the node trusts and what each role may sign: root (signs roots), release
# (release manifests), timestamp (the short-lived "newest release" statement) and command
# (commands and configuration, within its `ops`). A new root is taken only as version N+1 and
# only when a threshold of version N's root keys and a threshold of its own signed it (TUF's
# rotation), so one stolen key cannot replace it and no version can be skipped.
import json

from micropython import const

import store
from envelope import TrustError, body_json, unwrap, verified

ROOT_FILE = "certs/trust.root"  # from the provisioning bundle, beside the identity
MAX_ROOT = const(16384)
ROLES = ("root", "release", "timestamp", "command")
TYPE = "stadsnod-root"


class Root:
    def __init__(self, doc):
        self.doc = doc
        self.version = doc["version"]
        self.keys = {}
        for kid, k in doc["keys"].items():
            self.keys[kid] = (int(k["n"], 16), k["bits"])

    def role(self, name):
        return self.doc["roles"][name]


def _parse(body):
    try:
        return _parse_doc(json.loads(bytes(body)))
    except ValueError as e:
        raise TrustError("malformed root: %r" % (e,))


def _parse_doc(doc):
    try:
        if doc.get("type") != TYPE:
            raise TrustError("not a root document")
        v = doc["version"]
        if not isinstance(v, int) or v < 1:
            raise TrustError("root version %r" % (v,))
        for name in ROLES:
            r = doc["roles"][name]
            if not isinstance(r["threshold"], int) or not 0 < r["threshold"] <= len(r["keys"]):
                raise TrustError("role %s: threshold %r of %d keys"
                                 % (name, r["threshold"], len(r["keys"])))
            for kid in r["keys"]:
                if kid not in doc["keys"]:
                    raise TrustError("role %s names unknown key %s" % (name, kid))
        return Root(doc)
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise TrustError("malformed root: %r" % (e,))


def _self_signed(data):
    """A root whose own root keys signed it with their threshold (the one in a bundle)."""
    body, sigs = unwrap(data, MAX_ROOT)
    root = _parse(body)
    if verified(body, sigs, root.keys, root.role("root")) < root.role("root")["threshold"]:
        raise TrustError("root v%d is not signed by its own root keys" % root.version)
    return root


def load(path=ROOT_FILE):
    """The installed root, or None when the node has none (it then refuses all it is sent).
    It was verified when it was installed (install_first, rotate) and the flash is the node's
    own, so it is read as a stream and not checked again (two RSA checks a load)."""
    if not store.exists(path):
        return None
    return _parse_doc(body_json(path, MAX_ROOT))


def install_first(data, path=ROOT_FILE):
    """Provisioning: the bundle's root, checked against itself and written atomically."""
    root = _self_signed(data)
    store.write_atomic(path, data)
    return root


def rotate(current, data, path=ROOT_FILE):
    """Version N+1 signed by a threshold of N's root keys and of its own; written atomically
    (a cut leaves N or N+1). Returns the new Root; TrustError, changing nothing, otherwise."""
    new = _self_signed(data)
    if new.version != current.version + 1:
        raise TrustError("root v%d cannot follow v%d (one version at a time)"
                         % (new.version, current.version))
    body, sigs = unwrap(data, MAX_ROOT)
    old_role = current.role("root")
    if verified(body, sigs, current.keys, old_role) < old_role["threshold"]:
        raise TrustError("root v%d is not signed by v%d's root keys"
                         % (new.version, current.version))
    store.write_atomic(path, data)
    return new
