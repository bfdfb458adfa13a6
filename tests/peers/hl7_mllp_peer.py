#!/usr/bin/python3
"""A hospital's HL7 v2 receiver for tests and the demo: an MLLP listener built on python3-hl7.

Every message is parsed with hl7.parse; what it carried (control id, type, patient id, OBX
codes and values, unescaped text) is printed and appended as one JSON line to --record. It
answers AA by default; --answer-script "AE,AE,AA" answers the first messages in that order,
and a --mode-file (re-read for every message) overrides both. Answers: AA AE AR CA CE CR,
"none" (read the message, never answer), "close" (close the connection unanswered), "split"
(AA after stray bytes, in three pieces) and "wrong-id" (AA echoing another MSH-10).

--light (for healthtwin-feeds-bench): hl7.parse reads only the MSH segment (MSH-10, MSH-9 and
the ACK come from it) and the other segments are only counted. hl7.parse of a whole ORU^R01 of
100 OBX costs about 6-12 ms of CPU, which caps one receiver connection at 8-16k samples/s, below
the feed's own rate; the light mode measures the feed, the default mode checks the content.

    /usr/bin/python3 tests/peers/hl7_mllp_peer.py --port 0 --port-file /tmp/port \\
        --record /tmp/received.jsonl [--tls-cert C --tls-key K [--tls-client-ca CA]]
"""

import argparse
import asyncio
import json
import os
import ssl
import sys
import time

import hl7
import hl7.mllp

# "split": AA sent after stray bytes, in three pieces; "wrong-id": AA whose MSA-2 is not the
# message's MSH-10.
ANSWERS = {"AA", "AE", "AR", "CA", "CE", "CR", "none", "close", "split", "wrong-id"}


def field(container, segment, field_num, component=1):
    """Text of one component, unescaped by python3-hl7 (extract_field unescapes), or ''.
    `container` is the message (first `segment`) or one segment (then `segment` is unused)."""
    try:
        if isinstance(container, hl7.Segment):
            return container.extract_field(1, field_num, 1, component)
        return container.extract_field(segment, 1, field_num, 1, component)
    except (IndexError, KeyError):
        return ""


def has_segment(msg, name):
    try:
        msg.segment(name)
        return True
    except KeyError:
        return False


def describe(msg):
    record = {
        "control_id": field(msg, "MSH", 10),
        "message_type": str(msg.segment("MSH")(9)),
        "sending_application": field(msg, "MSH", 3),
        "patient_id": field(msg, "PID", 3) if has_segment(msg, "PID") else "",
        "enhanced": field(msg, "MSH", 15) != "",
        "obr3": field(msg, "OBR", 3) if has_segment(msg, "OBR") else "",
        "obx": [],
    }
    for obx in msg.segments("OBX") if has_segment(msg, "OBX") else []:
        record["obx"].append(
            {
                "set_id": field(obx, "OBX", 1),
                "type": field(obx, "OBX", 2),
                "code": field(obx, "OBX", 3, 1),
                "refid": field(obx, "OBX", 3, 2),
                "value": field(obx, "OBX", 5, 1),
                "unit": field(obx, "OBX", 6, 2),
                "status": field(obx, "OBX", 11),
            }
        )
    texts = [o["value"] for o in record["obx"] if o["code"] == "68546"]
    record["alert_text"] = texts[0] if texts else ""
    return record


def light_describe(msh, segments):
    """What --light records: the MSH fields and how many segments of each kind arrived."""
    counts = {}
    for seg in segments:
        counts[seg[:3]] = counts.get(seg[:3], 0) + 1
    return {
        "control_id": field(msh, "MSH", 10),
        "message_type": str(msh.segment("MSH")(9)),
        "segments": counts,
        "patient_id": "",
        "obx": [],
    }


def reject_unparsable(text, error):
    """An AR for a message hl7.parse refused, echoing its MSH-10 if one can be found."""
    fields = text.split("\r", 1)[0].split("|")
    control_id = fields[9] if len(fields) > 9 and fields[0] == "MSH" else ""
    now = time.strftime("%Y%m%d%H%M%S", time.gmtime())
    reason = error.replace("\\", "\\E\\").replace("|", "\\F\\").replace("^", "\\S\\")
    reason = reason.replace("~", "\\R\\").replace("&", "\\T\\").replace("\r", " ")
    return f"MSH|^~\\&|PEER||||{now}||ACK|AR{now}|P|2.6\rMSA|AR|{control_id}|{reason}\r"


class Peer:
    def __init__(self, args):
        self.args = args
        self.script = [a.strip() for a in args.answer_script.split(",") if a.strip()] if args.answer_script else []
        for a in self.script + [args.default_answer]:
            if a not in ANSWERS:
                sys.exit(f"hl7_mllp_peer: unknown answer '{a}' (one of {sorted(ANSWERS)})")
        self.count = 0

    def next_answer(self):
        if self.args.mode_file and os.path.exists(self.args.mode_file):
            with open(self.args.mode_file) as f:
                mode = f.read().strip()
            if mode in ANSWERS:
                return mode
        if self.count < len(self.script):
            return self.script[self.count]
        return self.args.default_answer

    def record(self, entry):
        if self.args.record:
            with open(self.args.record, "a") as f:
                f.write(json.dumps(entry) + "\n")

    async def handle(self, reader, writer):
        peer = writer.get_extra_info("peername")
        print(f"[peer] connection from {peer[0]}:{peer[1]}", flush=True)
        try:
            while True:
                block = await reader.readblock()
                text = block.decode("utf-8", errors="replace")
                answer = self.next_answer()
                self.count += 1
                try:
                    if self.args.light:
                        segments = [seg for seg in text.split("\r") if seg]
                        msg = hl7.parse(segments[0] + "\r")
                    else:
                        msg = hl7.parse(text)
                except Exception as e:  # a message hl7.parse refuses is recorded as such
                    msg = None
                    entry = {"parsed": False, "error": f"hl7.parse: {e}", "raw": text}
                else:
                    try:
                        if self.args.light:
                            entry = light_describe(msg, segments)
                        else:
                            entry = describe(msg)
                        entry["parsed"] = True
                    except Exception as e:  # parsed, but the segments are not what we expect
                        entry = {"parsed": False, "error": f"segments: {e}", "raw": text}
                entry["answer"] = answer
                entry["received_at"] = time.time()
                self.record(entry)
                self.print_entry(entry)
                if answer == "close":
                    break
                if answer == "none":
                    continue
                if msg is None:  # what hl7.parse refuses is rejected, as a real receiver would
                    writer.writeblock(reject_unparsable(text, entry["error"]).encode("utf-8"))
                    await writer.drain()
                    continue
                if answer == "split":
                    frame = b"\x0b" + str(msg.create_ack("AA")).encode("utf-8") + b"\x1c\x0d"
                    third = len(frame) // 3
                    for piece in (b"stray\r\n" + frame[:third], frame[third : 2 * third], frame[2 * third :]):
                        writer.write(piece)
                        await writer.drain()
                        await asyncio.sleep(0.05)
                    continue
                if answer == "wrong-id":
                    ack = msg.create_ack("AA")
                    ack.segment("MSA").assign_field("not-" + field(msg, "MSH", 10), 2)
                    writer.writemessage(ack)
                    await writer.drain()
                    continue
                ack = msg.create_ack(answer)
                if answer in ("AE", "AR", "CE", "CR"):
                    ack.segment("MSA").assign_field(f"test peer answered {answer}", 3)
                writer.writemessage(ack)
                await writer.drain()
        except asyncio.IncompleteReadError:
            pass
        except ConnectionError:
            pass
        finally:
            writer.close()
            print(f"[peer] connection from {peer[0]}:{peer[1]} closed", flush=True)

    def print_entry(self, e):
        if not e.get("parsed"):
            print(f"[peer] UNPARSABLE message: {e['error']} -> {e['answer']}", flush=True)
            return
        print(f"[peer] {e['message_type']} {e['control_id']} patient={e['patient_id']!r} -> {e['answer']}", flush=True)
        shown = e["obx"][: self.args.print_obx]
        for o in shown:
            unit = f" {o['unit']}" if o["unit"] else ""
            value = o["value"].replace("\r", "\\r")
            print(f"         OBX {o['set_id']:>2} {o['refid'] or o['code']}: {value}{unit}", flush=True)
        if len(e["obx"]) > len(shown):
            print(f"         ... and {len(e['obx']) - len(shown)} more OBX", flush=True)


async def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file", help="write the bound port here once listening")
    p.add_argument("--record", help="append one JSON line per received message")
    p.add_argument("--answer-script", default="", help='answers for the first messages, e.g. "AE,AE,AA"')
    p.add_argument("--default-answer", default="AA")
    p.add_argument("--mode-file", help="if present, its content (one answer) overrides the script")
    p.add_argument("--print-obx", type=int, default=12, help="print at most this many OBX per message")
    p.add_argument("--light", action="store_true", help="parse only MSH with hl7.parse, count the other segments")
    p.add_argument("--max-message-bytes", type=int, default=16 << 20)
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--tls-client-ca", help="require client certificates signed by this CA")
    args = p.parse_args()

    context = None
    if args.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        if args.tls_client_ca:
            context.load_verify_locations(args.tls_client_ca)
            context.verify_mode = ssl.CERT_REQUIRED

    peer = Peer(args)
    # limit: asyncio's default (64 KiB) is below a large ORU^R01 batch.
    server = await hl7.mllp.start_hl7_server(
        peer.handle, host=args.host, port=args.port, ssl=context, limit=args.max_message_bytes
    )
    port = server.sockets[0].getsockname()[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.replace(tmp, args.port_file)
    print(f"[peer] HL7 MLLP receiver listening on {args.host}:{port}{' (TLS)' if context else ''}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
