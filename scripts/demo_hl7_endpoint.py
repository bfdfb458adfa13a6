#!/usr/bin/python3
"""The demo's hospital: an HL7 v2 MLLP listener (python3-hl7) that prints what healthtwin-feeds
sends it, readably, and acknowledges every message with AA.

For each message: the type, MSH-10 (the control id, stable across resends), the patient (PID-3)
and, for an alert (ORU^R40, IHE PCD-04), the alert id (OBR-3) and the alarm OBX set by name
(priority, type, phase, state, inactivation state, text) with the triggering observation; for
vitals (ORU^R01, PCD-01), the number of observations. --record appends one JSON line per
message (the demo's headless check reads it).

    /usr/bin/python3 scripts/demo_hl7_endpoint.py --port 0 --port-file F [--record R.jsonl]
"""

import argparse
import asyncio
import json
import os
import signal

import hl7
import hl7.mllp

# IHE PCD-04 alarm attributes, keyed by their ISO/IEEE 11073-10101 reference id; the numeric
# codes are those of ../shared/notes/hospital-feeds.md (older samples use other numbers, so the
# name is the key). Matched on OBX-3 component 2 (the reference id) or 1 (the code).
ALARM_ATTRIBUTES = {
    "MDC_EVT_ALARM": ("event", "196616"),
    "MDC_ATTR_ALERT_SOURCE": ("source", "68480"),
    "MDC_ATTR_EVENT_PHASE": ("phase", "68481"),
    "MDC_ATTR_ALARM_STATE": ("state", "68482"),
    "MDC_ATTR_ALARM_INACTIVATION_STATE": ("inactivation", "68483"),
    "MDC_ATTR_ALARM_PRIORITY": ("priority", "68484"),
    "MDC_ATTR_ALERT_TYPE": ("type", "68485"),
    "MDC_ATTR_ALERT_TEXT": ("text", "68546"),
}
BY_CODE = {code: name for name, (_, code) in ALARM_ATTRIBUTES.items()}
PRIORITY = {"PH": "high", "PM": "medium", "PL": "low", "PN": "none"}
TYPE = {"SP": "physiological", "ST": "technical", "SA": "advisory"}


def component(segment, field_num, comp=1):
    """One component of a segment's field, unescaped by python3-hl7; '' when absent."""
    try:
        return segment.extract_field(1, field_num, 1, comp)
    except (IndexError, KeyError):
        return ""


def first(msg, name):
    try:
        return msg.segment(name)
    except KeyError:
        return None


def summarise(msg):
    msh, pid, obr = first(msg, "MSH"), first(msg, "PID"), first(msg, "OBR")
    entry = {
        "message_type": str(msh(9)),
        "control_id": component(msh, 10),
        "patient_id": component(pid, 3) if pid else "",
        "alert_id": component(obr, 3) if obr else "",
        "alarm": {},
        "observations": [],
    }
    for obx in msg.segments("OBX") if first(msg, "OBX") else []:
        code, refid = component(obx, 3, 1), component(obx, 3, 2)
        name = refid if refid in ALARM_ATTRIBUTES else BY_CODE.get(code)
        value = component(obx, 5, 1)
        if entry["message_type"].startswith("ORU^R40") and name:
            entry["alarm"][ALARM_ATTRIBUTES[name][0]] = value
        else:
            entry["observations"].append({"code": refid or code, "value": value, "unit": component(obx, 6, 2)})
    return entry


def show(e):
    head = f"[hospital] {e['message_type']}  MSH-10 {e['control_id']}  patient {e['patient_id']}"
    if not e["message_type"].startswith("ORU^R40"):
        print(f"{head}  {len(e['observations'])} observations", flush=True)
        return
    a = e["alarm"]
    print(f"{head}  alert {e['alert_id']}", flush=True)
    print(
        f"[hospital]     {PRIORITY.get(a.get('priority'), a.get('priority'))} priority"
        f" {TYPE.get(a.get('type'), a.get('type'))} alarm, phase {a.get('phase')}, state {a.get('state')},"
        f" {a.get('inactivation')}: {a.get('text')}",
        flush=True,
    )
    for o in e["observations"]:
        print(f"[hospital]     trigger {o['code']} = {o['value']} {o['unit']}", flush=True)


class Endpoint:
    def __init__(self, record):
        self.record = record

    async def handle(self, reader, writer):
        try:
            while True:
                msg = await reader.readmessage()
                entry = summarise(msg)
                if self.record:
                    with open(self.record, "a") as f:
                        f.write(json.dumps(entry) + "\n")
                show(entry)
                writer.writemessage(msg.create_ack("AA"))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file", help="write the bound port here once listening")
    p.add_argument("--record", help="append one JSON line per message")
    args = p.parse_args()
    endpoint = Endpoint(args.record)
    # limit: asyncio's default (64 KiB) is below a large ORU^R01 batch.
    server = await hl7.mllp.start_hl7_server(endpoint.handle, host=args.host, port=args.port, limit=16 << 20)
    port = server.sockets[0].getsockname()[1]
    # The demo stops its processes with SIGTERM and counts anything but exit 0 as unclean.
    # signal.signal, not loop.add_signal_handler: asyncio puts SIG_DFL back when the loop
    # closes, so a SIGTERM arriving during shutdown (Ctrl-C reaches the whole process group,
    # then the demo sends TERM) would kill the endpoint instead of being absorbed.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def request_stop(signum, frame):
        # The demo sends TERM to every service at once and then once more to each as it waits
        # for it. Python's finalization puts SIG_DFL back for signals that have a Python handler
        # (but leaves SIG_IGN alone), so a second TERM during the interpreter's exit would kill
        # the endpoint: ignore both from the first request on.
        for s in (signal.SIGTERM, signal.SIGINT):
            signal.signal(s, signal.SIG_IGN)
        try:
            loop.call_soon_threadsafe(stop.set)
        except RuntimeError:  # the loop has already closed: we are on the way out anyway
            pass

    # Before the port file, which tells the demo it may stop us.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, request_stop)
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(f"{port}\n")
        os.replace(args.port_file + ".tmp", args.port_file)
    print(f"[hospital] HL7 v2 MLLP endpoint listening on {args.host}:{port}", flush=True)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
