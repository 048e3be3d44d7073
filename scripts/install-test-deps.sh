#!/usr/bin/env bash
# Installs the real servers the tests start on loopback, from Debian's packages:
#   mosquitto          the central platform's broker (upstream), and mosquitto_pub/sub
#   victoria-metrics   a time-series server that speaks InfluxDB's /api/v2/write
#   influxdb           InfluxDB 1.6, for the 1.x /write API and its field type conflicts
#   openssl            makes the certificates the TLS tests use
#   chromium           a real browser for the console page test (driven by playwright-core)
#   fonts-wqy-zenhei   a CJK font, so the console's Chinese renders in that browser (and plates in scenes)
#   fonts-dejavu-core  a second face for the rendered plates' letters and digits (the tests read plates
#                      in more than one font)
#   ffmpeg             decodes camera streams (the gateway uses it at run time too)
#   GStreamer RTSP     the simulated camera's real RTSP server: gir1.2-gst-rtsp-server-1.0, python3-gi,
#                      plugins base/good (JPEG, RTP) and ugly (x264), run by /usr/bin/python3
#   darknet            real scene photos (people, vehicles) the simulated cameras show
#   redis-server       the shared state of an HA pair of gateway nodes (broker.cluster)
#   sip-tester         SIPp, an independent SIP implementation: a GB/T 28181 device and an upper
#                      platform the gateway did not write
#   python3-paho-mqtt  Eclipse Paho, a platform-side MQTT client we did not write, for the evidence
#                      reassembler in docs/examples (run by /usr/bin/python3)
# Idempotent: installs only what is missing. The packages' own system services are kept from
# starting (policy-rc.d), so nothing listens on 1883 or 8428 behind the tests' back.
set -euo pipefail

missing=()
[ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
command -v mosquitto_pub >/dev/null 2>&1 || missing+=(mosquitto-clients)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)   # certificates for the TLS tests
command -v victoria-metrics >/dev/null 2>&1 || missing+=(victoria-metrics)
[ -x /usr/bin/influxd ] || missing+=(influxdb)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -e /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ] || missing+=(fonts-wqy-zenhei)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf ] || missing+=(fonts-dejavu-core)
command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import gi' 2>/dev/null || missing+=(python3-gi)
ls /usr/lib/*/girepository-1.0/GstRtspServer-1.0.typelib >/dev/null 2>&1 || missing+=(gir1.2-gst-rtsp-server-1.0)
gst_plugins=$(ls -d /usr/lib/*/gstreamer-1.0 2>/dev/null | head -1)
[ -n "$gst_plugins" ] && [ -e "$gst_plugins/libgstapp.so" ] || missing+=(gstreamer1.0-plugins-base)
[ -n "$gst_plugins" ] && [ -e "$gst_plugins/libgstrtp.so" ] && [ -e "$gst_plugins/libgstjpeg.so" ] || missing+=(gstreamer1.0-plugins-good)
[ -n "$gst_plugins" ] && [ -e "$gst_plugins/libgstx264.so" ] || missing+=(gstreamer1.0-plugins-ugly)
[ -e /usr/share/darknet/data/person.jpg ] || missing+=(darknet)
command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || missing+=(redis-server)
command -v sipp >/dev/null 2>&1 || missing+=(sip-tester)
command -v curl >/dev/null 2>&1 || missing+=(curl)   # an HTTP client we did not write, for the push sources
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import paho.mqtt' 2>/dev/null || missing+=(python3-paho-mqtt)

if [ ${#missing[@]} -eq 0 ]; then
  echo "test dependencies present: mosquitto, mosquitto-clients, openssl, victoria-metrics, influxdb, chromium, fonts-wqy-zenhei,"
  echo "  fonts-dejavu-core, ffmpeg, GStreamer RTSP server, darknet photos, redis-server, sip-tester (SIPp), curl, python3-paho-mqtt"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
  echo "install-test-deps: need root (or sudo) to install: ${missing[*]}" >&2
  exit 1
fi

echo "installing: ${missing[*]}"
policy=/usr/sbin/policy-rc.d
placed_policy=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod +x "$policy"
  placed_policy=1
fi
cleanup() { if [ -n "$placed_policy" ]; then $sudo rm -f "$policy"; fi; }
trap cleanup EXIT

$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "installed: ${missing[*]}"
