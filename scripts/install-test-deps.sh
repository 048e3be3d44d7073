#!/usr/bin/env bash
# Installs the real servers the tests start on loopback, from Debian's packages:
#   mosquitto          the central platform's broker (upstream), and mosquitto_pub/sub
#   victoria-metrics   a time-series server that speaks InfluxDB's /api/v2/write
#   openssl            makes the certificates the TLS tests use
#   chromium           a real browser for the console page test (driven by playwright-core)
#   fonts-wqy-zenhei   a CJK font, so the console's Chinese renders in that browser
# Idempotent: installs only what is missing. The packages' own system services are kept from
# starting (policy-rc.d), so nothing listens on 1883 or 8428 behind the tests' back.
set -euo pipefail

missing=()
[ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
command -v mosquitto_pub >/dev/null 2>&1 || missing+=(mosquitto-clients)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)   # certificates for the TLS tests
command -v victoria-metrics >/dev/null 2>&1 || missing+=(victoria-metrics)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -e /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ] || missing+=(fonts-wqy-zenhei)

if [ ${#missing[@]} -eq 0 ]; then
  echo "test dependencies present: mosquitto, mosquitto-clients, openssl, victoria-metrics, chromium, fonts-wqy-zenhei"
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
