"""An HTTP server that misbehaves on cue, for the remote-read tests.

python faults.py ROOT PORTFILE: serves the files under ROOT on a free loopback port
(written to PORTFILE). The first part of the path says how to misbehave:

  /ok/F          ranges answered as nginx does
  /drop/F        every GET sends its headers and half its body, then hangs up
  /drop-once/F   the first GET of each file does that; the rest are whole
  /flaky/F       every other request is a 500
  /norange/F     Range is ignored: always 200 with the whole file
  /lie/F         Content-Length (HEAD and GET) says 1000 bytes more than there are
  /stall/F       HEAD answers; GET never does
"""

import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = sys.argv[1]
COUNTS: dict[str, int] = {}
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *args):
        pass

    def target(self):
        mode, _, rel = self.path.lstrip("/").partition("/")
        return mode, os.path.join(ROOT, rel)

    def count(self) -> int:
        with LOCK:
            COUNTS[self.path] = COUNTS.get(self.path, 0) + 1
            return COUNTS[self.path]

    def do_HEAD(self):
        mode, path = self.target()
        if not os.path.isfile(path):
            self.send_error(404)
            return
        if mode == "flaky" and self.count() % 2 == 1:
            self.send_error(500)
            return
        size = os.path.getsize(path) + (1000 if mode == "lie" else 0)
        self.send_response(200)
        self.send_header("Content-Length", str(size))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()

    def do_GET(self):
        mode, path = self.target()
        if not os.path.isfile(path):
            self.send_error(404)
            return
        if mode == "stall":
            time.sleep(3600)
            return
        n = self.count()
        if mode == "flaky" and n % 2 == 1:
            self.send_error(500)
            return
        with open(path, "rb") as f:
            data = f.read()
        size = len(data)
        start, end = 0, size
        m = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        partial = m is not None and mode != "norange"
        if partial:
            start = int(m.group(1))
            end = min(size, int(m.group(2)) + 1) if m.group(2) else size
            if start >= size:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.end_headers()
                return
        body = data[start:end]
        self.send_response(206 if partial else 200)
        claimed = len(body) + (1000 if mode == "lie" else 0)
        self.send_header("Content-Length", str(claimed))
        if partial:
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
        self.end_headers()
        if mode == "drop" or (mode == "drop-once" and n == 1):
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.connection.shutdown(2)
            return
        self.wfile.write(body)


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    with open(sys.argv[2] + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(sys.argv[2] + ".tmp", sys.argv[2])
    server.serve_forever()


if __name__ == "__main__":
    main()
