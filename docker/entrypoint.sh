#!/bin/sh
# Starts watrunk in the container. Without real Meta credentials (WATRUNK_META_TOKEN unset) the
# bridge talks to the bundled simulator service, so `docker compose up` works out of the box.
set -e
if [ "$1" = "start" ]; then
  shift
  if [ -z "${WATRUNK_CONFIG:-}" ]; then
    if [ -z "${WATRUNK_META_TOKEN:-}" ]; then
      echo "watrunk: WATRUNK_META_TOKEN is not set: using the simulator as the WhatsApp side" >&2
      export WATRUNK_META_TOKEN=sim-token WATRUNK_APP_SECRET=sim-app-secret WATRUNK_VERIFY_TOKEN=sim-verify-token
      WATRUNK_CONFIG=/app/docker/watrunk.compose.yaml
    else
      WATRUNK_CONFIG=/etc/watrunk/watrunk.yaml
    fi
  fi
  exec node /app/dist/cli.js start --config "$WATRUNK_CONFIG" "$@"
fi
exec node /app/dist/cli.js "$@"
