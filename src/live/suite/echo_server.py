"""echo_server.py ADDRESS PORT NAME: stands in for the Prose web app (8080) and the Dashboard
(8081) behind nginx. Answers every request with JSON describing it (method, path, headers), 404
for a path under /not-here, and sends X-Powered-By and X-Frame-Options so that nginx's hiding
of upstream headers is visible."""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NAME = sys.argv[3]


class Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = json.dumps({"server": NAME, "method": self.command, "path": self.path,
                           "headers": dict(self.headers.items())}).encode()
        self.send_response(404 if self.path.startswith("/not-here") else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Powered-By", "echo")
        self.send_header("X-Frame-Options", "ALLOWALL")
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_OPTIONS = do_HEAD = answer

    def log_message(self, *args):
        pass


ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), Echo).serve_forever()
