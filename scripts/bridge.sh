#!/usr/bin/env bash
# `npm run bridge`: runs watrunk on a fresh machine, installing what it needs.
#  - system packages (rtpengine) from Debian, npm packages, then builds;
#  - without real Meta credentials (WATRUNK_META_TOKEN unset): demo mode, with the simulator
#    (config/simulator.yaml) as the WhatsApp side and demo secrets;
#  - starts a local rtpengine on 127.0.0.1:22222 when none is listening;
#  - starts a local drachtio-server when a `drachtio` binary is on PATH (it is not packaged in
#    Debian; production runs the drachtio/drachtio-server Docker image, see docker-compose.yml).
# Everything started here is stopped when the bridge stops.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p var

bash scripts/install-deps.sh
# `npm ci`: the complete lockfile gives every machine the same tree.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run build --silent

CONFIG="${WATRUNK_CONFIG:-config/watrunk.yaml}"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

if [ -z "${WATRUNK_META_TOKEN:-}" ]; then
  echo "bridge: WATRUNK_META_TOKEN is not set: demo mode, the simulator plays WhatsApp (http://127.0.0.1:8090)"
  export WATRUNK_META_TOKEN=demo-token WATRUNK_APP_SECRET=demo-app-secret WATRUNK_VERIFY_TOKEN=demo-verify-token
  export WATRUNK_ADMIN_TOKEN="${WATRUNK_ADMIN_TOKEN:-demo-admin-token-change-me}"
  node dist/cli.js simulate --config config/simulator.yaml > var/simulator.log 2>&1 &
  pids+=($!)
fi
export WATRUNK_DRACHTIO_SECRET="${WATRUNK_DRACHTIO_SECRET:-cymru}"

udp_listening() { ss -Hlun "sport = :$1" 2>/dev/null | grep -q .; }
tcp_listening() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

if command -v rtpengine >/dev/null 2>&1 && ! udp_listening 22222; then
  echo "bridge: starting rtpengine on 127.0.0.1:22222 (log: var/rtpengine.log)"
  rtpengine --config-file=none --table=-1 --interface=127.0.0.1 --listen-ng=127.0.0.1:22222 \
    --port-min=30000 --port-max=30999 --foreground --log-stderr --log-level=5 --delete-delay=0 \
    > var/rtpengine.log 2>&1 &
  pids+=($!)
fi

DRACHTIO="${DRACHTIO_BIN:-$(command -v drachtio || true)}"
if [ -n "$DRACHTIO" ] && ! tcp_listening 9022; then
  echo "bridge: starting drachtio-server: SIP on 127.0.0.1:5060 udp+tcp, admin 127.0.0.1:9022 (log: var/drachtio.log)"
  printf '<drachtio><admin port="9022" secret="%s">127.0.0.1</admin><logging><console/><loglevel>info</loglevel></logging></drachtio>\n' \
    "$WATRUNK_DRACHTIO_SECRET" > var/drachtio.conf.xml
  "$DRACHTIO" -f var/drachtio.conf.xml --contact "sip:127.0.0.1:5060;transport=udp,tcp" > var/drachtio.log 2>&1 &
  pids+=($!)
elif [ -z "$DRACHTIO" ]; then
  echo "bridge: no drachtio-server binary (DRACHTIO_BIN or PATH): the SIP side stays down and /readyz (internal listener, http://127.0.0.1:8081/readyz) says so." >&2
  echo "bridge: webhooks and the Calling API work; run the drachtio/drachtio-server image for SIP (see README)." >&2
fi

echo "bridge: starting watrunk with $CONFIG"
node dist/cli.js start --config "$CONFIG" &
pids+=($!)
wait "${pids[-1]}"
