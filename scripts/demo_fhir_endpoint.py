#!/usr/bin/python3
"""The demo's hospital FHIR R4 endpoint: an HTTPS receiver (python3 stdlib http.server + ssl)
for healthtwin-feeds' fhir-rest-hook feed, which POSTs Subscriptions Backport
`subscription-notification` Bundles to the feed's base URL.

Mutual TLS: the server presents a certificate of the demo hospital's own CA (--cert, --key) and
requires a client certificate signed by --client-ca (healthtwin's development CA); a client
without one fails the handshake, and only a certificate whose subject CN is --client-cn (the
feeds service, `feeds`) gets 200: any other one gets 403.

For each Bundle one line: the Bundle type, the notification type, the event numbers, and the
resource types of the entries, e.g.
    [fhir] Bundle history (event-notification) ht-feed-2-alerts events 1 of 1: Parameters, CommunicationRequest,
        DetectedIssue, Observation, Patient, Device; focus CommunicationRequest/ht-cr-<alert id>
--record appends one JSON line per Bundle (the demo's headless check reads it).

    /usr/bin/python3 scripts/demo_fhir_endpoint.py --cert S.pem --key S.key --client-ca CA.pem \
        --port 0 --port-file F [--record R.jsonl]
"""

import argparse
import http.server
import json
import os
import signal
import ssl
import threading


def parameter(params, name):
    for p in params:
        if p.get("name") == name:
            return p
    return None


def summarise(bundle):
    entries = [e.get("resource", {}) for e in bundle.get("entry", [])]
    status = entries[0] if entries and entries[0].get("resourceType") == "Parameters" else {}
    params = status.get("parameter", [])
    numbers, focus = [], []
    for p in params:
        if p.get("name") == "notification-event":
            n = parameter(p.get("part", []), "event-number")
            if n:
                numbers.append(int(n.get("valueString", "0")))
            f = parameter(p.get("part", []), "focus")
            if f:
                focus.append(f.get("valueReference", {}).get("reference", "").split("/fhir/r4/", 1)[-1])
    since = parameter(params, "events-since-subscription-start")
    kind = parameter(params, "type")
    subscription = parameter(params, "subscription")
    return {
        "bundle_id": bundle.get("id", ""),
        "bundle_type": bundle.get("type", ""),
        "notification_type": kind.get("valueCode", "") if kind else "",
        "subscription": subscription.get("valueReference", {}).get("reference", "") if subscription else "",
        "event_numbers": numbers,
        "events_since_start": int(since.get("valueString", "0")) if since else 0,
        "resource_types": [r.get("resourceType", "?") for r in entries],
        "focus": focus,
    }


def show(s):
    numbers = ",".join(str(n) for n in s["event_numbers"]) or "none"
    print(
        f"[fhir] Bundle {s['bundle_type']} ({s['notification_type']}) {s['subscription'].rsplit('/', 1)[-1]}"
        f" events {numbers} of {s['events_since_start']}: {', '.join(s['resource_types'])}"
        + (f"; focus {', '.join(s['focus'])}" if s["focus"] else ""),
        flush=True,
    )


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "demo-hospital-fhir/1"

    def log_message(self, fmt, *args):  # one line per Bundle is printed instead
        pass

    def answer(self, code, outcome=None):
        body = json.dumps(outcome).encode() if outcome else b""
        self.send_response(code)
        if body:
            self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def client_cn(self):
        cert = self.connection.getpeercert() or {}
        for rdn in cert.get("subject", ()):
            for key, value in rdn:
                if key == "commonName":
                    return value
        return ""

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        if self.client_cn() != self.server.client_cn:
            print(f"[fhir] refused a client certificate for '{self.client_cn()}' (403)", flush=True)
            self.answer(403)
            return
        try:
            bundle = json.loads(body)
        except ValueError:
            self.answer(400, {"resourceType": "OperationOutcome",
                              "issue": [{"severity": "error", "code": "invalid", "diagnostics": "not JSON"}]})
            return
        s = summarise(bundle)
        if self.server.record:
            with self.server.record_lock, open(self.server.record, "a") as f:
                f.write(json.dumps(s) + "\n")
        show(s)
        self.answer(200)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--cert", required=True, help="server certificate (PEM, chain)")
    p.add_argument("--key", required=True, help="server key (PEM)")
    p.add_argument("--client-ca", required=True, help="CA that signs the clients' certificates")
    p.add_argument("--client-cn", default="feeds", help="the only client certificate CN answered 200")
    p.add_argument("--port-file", help="write the bound port here once listening")
    p.add_argument("--record", help="append one JSON line per Bundle")
    args = p.parse_args()

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(args.cert, args.key)
    ctx.load_verify_locations(args.client_ca)
    ctx.verify_mode = ssl.CERT_REQUIRED
    server = http.server.ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    server.record, server.record_lock, server.client_cn = args.record, threading.Lock(), args.client_cn

    # As the HL7 endpoint: the demo stops its processes with SIGTERM (sometimes twice) and counts
    # anything but exit 0 as unclean, so the first request stops the server and later ones are
    # ignored.
    def request_stop(signum, frame):
        for s in (signal.SIGTERM, signal.SIGINT):
            signal.signal(s, signal.SIG_IGN)
        threading.Thread(target=server.shutdown, daemon=True).start()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, request_stop)
    port = server.server_address[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(f"{port}\n")
        os.replace(args.port_file + ".tmp", args.port_file)
    print(f"[fhir] FHIR R4 rest-hook endpoint (HTTPS, client certificate required) on {args.host}:{port}", flush=True)
    server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()
