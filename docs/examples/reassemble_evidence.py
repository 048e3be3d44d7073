#!/usr/bin/env python3
"""Platform side of gridedge's `mqtt` evidence sink, in Python with Eclipse Paho.

Subscribes to gridedge/v1/+/+/evidence/+ on the platform's broker, reassembles each object's
chunks by sha256 (see docs/evidence.md), checks the sha256 of the whole, and writes it to
OUT/<sha256>.<ext>, printing one line of JSON per object. Chunks may arrive twice (QoS 1 is
at least once) or out of order across a reconnect; both are handled.

    python3 reassemble_evidence.py --url mqtt://127.0.0.1:1883 --out ./evidence [--count N] [--session ID]
"""
import argparse
import hashlib
import json
import os
import sys
from urllib.parse import urlparse

import paho.mqtt.client as mqtt

EXT = {"image/jpeg": ".jpg", "image/png": ".png", "video/mp4": ".mp4"}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--topic", default="gridedge/v1/+/+/evidence/+")
    ap.add_argument("--count", type=int, default=0, help="exit after this many objects (0: run until stopped)")
    ap.add_argument("--session", default="", help="a persistent session id (the broker keeps chunks while we are away)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    url = urlparse(args.url)
    partial = {}  # sha256 -> {"header": ..., "parts": {index: bytes}}
    done = set()

    def on_connect(client, _userdata, _flags, rc):
        if rc != 0:
            print(json.dumps({"error": f"connect refused: {rc}"}), flush=True)
            return
        client.subscribe(args.topic, qos=1)
        print(json.dumps({"subscribed": args.topic}), flush=True)

    def on_message(client, _userdata, msg):
        nl = msg.payload.find(b"\n")
        if nl < 0:
            return print(json.dumps({"refused": "no header line", "topic": msg.topic}), flush=True)
        try:
            h = json.loads(msg.payload[:nl].decode("utf-8"))
        except ValueError:
            return print(json.dumps({"refused": "header is not JSON", "topic": msg.topic}), flush=True)
        if h.get("schema") != "gridedge.evidence-chunk/v1":
            return print(json.dumps({"refused": "unknown schema", "topic": msg.topic}), flush=True)
        sha = h["sha256"]
        if sha in done:
            return
        entry = partial.setdefault(sha, {"header": h, "parts": {}})
        entry["parts"][h["index"]] = msg.payload[nl + 1 :]
        if len(entry["parts"]) < h["count"]:
            return
        data = b"".join(entry["parts"][i] for i in range(h["count"]))
        del partial[sha]
        if len(data) != h["size"] or hashlib.sha256(data).hexdigest() != sha:
            return print(json.dumps({"refused": "sha256 mismatch", "sha256": sha}), flush=True)
        done.add(sha)
        path = os.path.join(args.out, sha + EXT.get(h.get("mime"), ""))
        with open(path + ".tmp", "wb") as f:
            f.write(data)
        os.replace(path + ".tmp", path)
        said = {"sha256": sha, "bytes": len(data), "gateway": h.get("gatewayId"), "camera": h.get("camera"), "file": path}
        print(json.dumps(said), flush=True)
        if args.count and len(done) >= args.count:
            client.disconnect()

    client = mqtt.Client(client_id=args.session, clean_session=not args.session)
    client.on_connect = on_connect
    client.on_message = on_message
    if url.username:
        client.username_pw_set(url.username, url.password)
    client.connect(url.hostname or "127.0.0.1", url.port or 1883, keepalive=30)
    client.loop_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
