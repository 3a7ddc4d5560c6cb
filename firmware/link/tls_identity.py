# The node's TLS identity: its own certificate, which must name this node, and the CA that
# signs the broker, verified (CERT_REQUIRED).
import ssl
import sys

import store


class TLSSetupError(Exception):
    pass


def tls_context(cfg):
    """The TLS client context for the broker, from the files provisioning wrote."""
    tls = cfg["tls"]
    try:
        ca = store.read_bytes(tls["ca"])
        cert = store.read_bytes(tls["cert"])
        key = store.read_bytes(tls["key"])
    except OSError as e:
        raise TLSSetupError("missing TLS file (%s): provision this node" % e)
    import certid  # needed once per TLS setup; its RAM goes back afterwards

    try:
        cn = certid.subject_cn(cert)
    except certid.CertError as e:
        raise TLSSetupError("%s is not a usable certificate: %s" % (tls["cert"], e))
    finally:
        del sys.modules["certid"]
    if cn != cfg["device_id"]:
        raise TLSSetupError("certificate is for '%s', not this node '%s'"
                            % (cn, cfg["device_id"]))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.verify_mode = ssl.CERT_REQUIRED  # the wrapper's default is CERT_NONE
    try:
        ctx.load_verify_locations(cadata=ca)
        ctx.load_cert_chain(cert, key)
    except (ValueError, OSError) as e:
        raise TLSSetupError("TLS material rejected: %s" % e)
    return ctx
