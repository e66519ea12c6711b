"""A Telemetry (or Logs) API extension as AWS's Python sample writes one: register, start a listener on
sandbox.localdomain, subscribe during init, write every batch it receives to /tmp/telemetry/, leave on SHUTDOWN.
What it subscribes with is in subscription.json beside it; the answers to the requests in probes.json (bad
requests) go to /tmp/telemetry/answers.json."""

import json
import os
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

API = os.environ["AWS_LAMBDA_RUNTIME_API"]
NAME = "telemetry-ext"
HERE = os.path.dirname(__file__)
OUT = "/tmp/telemetry"
os.makedirs(OUT, exist_ok=True)
batches = [0]


def request(method, path, body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://{API}{path}", data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req) as answer:
            return answer.status, dict(answer.headers), answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


class Listener(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.end_headers()
        batches[0] += 1
        with open(f"{OUT}/batch-{batches[0]:04d}.json", "wb") as out:
            out.write(body)

    def log_message(self, *args):
        pass


status, headers, _ = request(
    "POST", "/2020-01-01/extension/register", {"events": ["INVOKE", "SHUTDOWN"]}, {"Lambda-Extension-Name": NAME}
)
identifier = headers["Lambda-Extension-Identifier"]
server = HTTPServer(("sandbox.localdomain", 4243), Listener)
threading.Thread(target=server.serve_forever, daemon=True).start()
print("telemetry-ext listening", flush=True)

with open(os.path.join(HERE, "subscription.json")) as f:
    subscription = json.load(f)
answers = []
for probe in subscription.get("probes", []):
    headers = {"Lambda-Extension-Identifier": probe.get("id", identifier)} if probe.get("id") != "" else {}
    answers.append(request("PUT", probe["path"], probe["body"], headers)[0::2])
answers.append(request("PUT", subscription["path"], subscription["body"], {"Lambda-Extension-Identifier": identifier})[0::2])
with open(f"{OUT}/answers.json", "w") as out:
    json.dump(answers, out)

while True:
    status, _, body = request("GET", "/2020-01-01/extension/event/next", None, {"Lambda-Extension-Identifier": identifier})
    if status != 200:
        raise SystemExit(1)
    if json.loads(body)["eventType"] == "SHUTDOWN":
        raise SystemExit(0)
