#!/usr/bin/python3
"""A DJI dock played with Eclipse Paho (a client gridedge did not write), DJI Cloud API style.

It logs in as the dock (client id = username = serial number), subscribes to its services topic,
reports its flight task in_progress, answers live_start_push with the RTSP address it was given
in services_reply `output`, and reports the task ok when a line "end" arrives on stdin; it answers
live_stop_push and exits. Every service call it receives is printed as one JSON line.
"""
import argparse
import json
import sys
import threading
import time
import uuid
from urllib.parse import urlparse

import paho.mqtt.client as mqtt

parser = argparse.ArgumentParser()
parser.add_argument("--url", required=True)
parser.add_argument("--sn", required=True)
parser.add_argument("--secret", required=True)
parser.add_argument("--rtsp", required=True)
args = parser.parse_args()

done = threading.Event()


def envelope(method, data, tid=None, bid=None):
    return json.dumps({
        "tid": tid or str(uuid.uuid4()),
        "bid": bid or str(uuid.uuid4()),
        "timestamp": int(time.time() * 1000),
        "method": method,
        "data": data,
        "gateway": args.sn,
    })


def task(status, percent):
    output = {"status": status, "progress": {"percent": percent}, "ext": {"flight_id": "paho-flight-1"}}
    client.publish(f"thing/product/{args.sn}/events", envelope("flighttask_progress", {"output": output}), qos=1)


def on_connect(c, _userdata, _flags, rc):
    if rc != 0:
        print(json.dumps({"error": f"connect refused {rc}"}), flush=True)
        done.set()
        return
    c.subscribe(f"thing/product/{args.sn}/services", qos=1)


def on_subscribe(_c, _userdata, _mid, _granted):
    print(json.dumps({"subscribed": True}), flush=True)
    task("in_progress", 5)


def on_message(c, _userdata, msg):
    call = json.loads(msg.payload.decode())
    print(json.dumps({"call": call}), flush=True)
    method = call.get("method")
    data = {"result": 0}
    if method == "live_start_push":
        data["output"] = args.rtsp
    c.publish(f"thing/product/{args.sn}/services_reply", envelope(method, data, call.get("tid"), call.get("bid")), qos=1)
    if method == "live_stop_push":
        done.set()


url = urlparse(args.url)
client = mqtt.Client(client_id=args.sn, protocol=mqtt.MQTTv311)
client.username_pw_set(args.sn, args.secret)
client.on_connect = on_connect
client.on_subscribe = on_subscribe
client.on_message = on_message
client.connect(url.hostname, url.port or 1883)
client.loop_start()


def wait_for_end():
    for line in sys.stdin:
        if line.strip() == "end":
            task("ok", 100)
            return


threading.Thread(target=wait_for_end, daemon=True).start()
ok = done.wait(60)
time.sleep(0.3)  # let the last reply go out
client.loop_stop()
client.disconnect()
sys.exit(0 if ok else 1)
