# Runs on the MicroPython unix port: what one more TLS client connection costs. mbedTLS
# allocates with the C allocator on this port (on the Pico W it takes the GC heap), so the
# process's resident size grows by its buffers; measured on a second connection, when the code
# pages are already in. Prints "gc_bytes rss_bytes".
import gc
import os
import socket
import ssl


def rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) * 1024
    return 0


def connect(ctx, port):
    s = socket.socket()
    s.connect(socket.getaddrinfo("127.0.0.1", port)[0][-1])
    return ctx.wrap_socket(s, server_hostname=os.getenv("HOSTNAME_TLS"))


def main():
    certs = os.getenv("CERTS")
    port = int(os.getenv("PORT"))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.verify_mode = ssl.CERT_REQUIRED
    with open(certs + "/ca.der", "rb") as f:
        ctx.load_verify_locations(cadata=f.read())
    with open(certs + "/device.der", "rb") as c, open(certs + "/device.key.der", "rb") as k:
        ctx.load_cert_chain(c.read(), k.read())
    first = connect(ctx, port)
    gc.collect()
    g, r = gc.mem_alloc(), rss()
    second = connect(ctx, port)
    gc.collect()
    print("%d %d" % (gc.mem_alloc() - g, rss() - r))
    first.close()
    second.close()


main()
