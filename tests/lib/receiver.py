#!/usr/bin/env python3
"""receiver.py - a callback receiver for the tmc-notify tests.

    receiver.py PORTFILE LOGFILE [PORT]

Listens on 127.0.0.1, on PORT or a free port, written to PORTFILE, and appends one
JSON line per request to LOGFILE: {"path", "headers" (lower-case names),
"body" (latin-1 text), "fields" (the multipart form fields)}. The answer
depends on the path's first component:

    /ok/...        200 {"code":1}
    /fail2/...     500 for the first two requests to that exact path, then {"code":1}
    /no/...        200 {"code":0}
    /hang/...      never answers (the connection stays open)
    /redirect/...  302 to file:///etc/passwd (a scheme tmc-notify must refuse)
"""
import json
import sys
import threading
import time
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

portfile, logfile = sys.argv[1], sys.argv[2]
lock = threading.Lock()
counts = {}


def fields_of(ctype, body):
    if not ctype.startswith("multipart/form-data"):
        return {}
    msg = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body)
    out = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        out[name] = part.get_payload(decode=True).decode("latin-1")
    return out


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, code, body, headers=()):
        data = body.encode()
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        ctype = self.headers.get("Content-Type", "")
        rec = {"path": self.path, "time": time.time(),
               "headers": {k.lower(): v for k, v in self.headers.items()},
               "body": body.decode("latin-1"), "fields": fields_of(ctype, body)}
        with lock:
            with open(logfile, "a") as f:
                f.write(json.dumps(rec) + "\n")
            counts[self.path] = counts.get(self.path, 0) + 1
            count = counts[self.path]
        kind = self.path.split("/")[1] if self.path.count("/") >= 1 else ""
        if kind == "ok":
            self.answer(200, '{"code":1}')
        elif kind == "fail2":
            if count <= 2:
                self.answer(500, '{"error":"try later"}')
            else:
                self.answer(200, '{"code":1}')
        elif kind == "no":
            self.answer(200, '{"code":0}')
        elif kind == "hang":
            time.sleep(3600)
        elif kind == "redirect":
            self.answer(302, "", [("Location", "file:///etc/passwd")])
        else:
            self.answer(404, '{"code":0}')

    do_GET = do_POST


server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[3]) if len(sys.argv) > 3 else 0), Handler)
server.daemon_threads = True
with open(portfile + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os
os.rename(portfile + ".tmp", portfile)
server.serve_forever()
