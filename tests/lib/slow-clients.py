#!/usr/bin/env python3
"""slow-clients.py PORT READY_FILE LIMIT_S: slowloris against tmc-httpd
(tests/integration/71-http-slow.t). Opens 200 connections to 127.0.0.1:PORT
from the loopback addresses 127.0.0.2..127.0.0.11 (20 each): half send
nothing, half send a request head one byte a second and never finish it.
Touches READY_FILE once all are connected, then watches them until every
one was closed by the server (EOF or reset) or LIMIT_S seconds pass, and
prints "closed N of 200, last after S s"."""
import os
import select
import socket
import sys
import time

port, ready, limit = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
HEAD = b"GET /api/?act=status&seq=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: " + b"a" * 400

socks = []  # [socket, trickles, bytes sent, closed at]
for i in range(200):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.%d" % (2 + i % 10), 0))
    s.settimeout(10)
    try:
        s.connect(("127.0.0.1", port))
    except OSError:
        s.close()
        socks.append([None, False, 0, 0.0])  # refused outright: closed at 0
        continue
    s.setblocking(False)
    socks.append([s, i % 2 == 1, 0, None])
start = time.monotonic()
open(ready, "w").close()

next_byte = start
while time.monotonic() - start < limit:
    open_ = [c for c in socks if c[3] is None]
    if not open_:
        break
    now = time.monotonic()
    if now >= next_byte:
        next_byte = now + 1
        for c in open_:
            if c[1] and c[2] < len(HEAD):
                try:
                    c[2] += c[0].send(HEAD[c[2]:c[2] + 1])
                except OSError:
                    c[3] = now - start
    r, _, _ = select.select([c[0] for c in open_ if c[3] is None], [], [], 0.2)
    for s in r:
        c = next(c for c in socks if c[0] is s)
        try:
            data = s.recv(4096)
        except OSError:
            data = b""
        if not data:
            c[3] = time.monotonic() - start
closed = [c[3] for c in socks if c[3] is not None]
print("closed %d of %d, last after %.1f s" % (len(closed), len(socks), max(closed or [0])))
