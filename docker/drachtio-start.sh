#!/bin/sh
# Starts drachtio-server in docker-compose.yml's drachtio service with the arguments it is given,
# plus a SIP-over-TLS listener (Meta's SIP mode, docs/tls.md) when certificate files are mounted:
#
#   $SIP_TLS_DIR/cert.pem      the server certificate (a full chain works too: the first one is used)
#   $SIP_TLS_DIR/privkey.pem   its private key
#   $SIP_TLS_DIR/chain.pem     the intermediate certificate(s); drachtio needs this file
#
# SIP_TLS_DIR defaults to /etc/watrunk/sip-tls (docker-compose.yml mounts WATRUNK_SIP_TLS_DIR
# there); SIP_TLS_PORT defaults to 5061. Without privkey.pem drachtio starts with its other
# listeners only. drachtio reads the files at start-up: restart the service after a renewal.
# DRACHTIO_START_BIN names the binary (default: drachtio from PATH).
set -eu

dir="${SIP_TLS_DIR:-/etc/watrunk/sip-tls}"
port="${SIP_TLS_PORT:-5061}"

if [ -e "$dir/privkey.pem" ]; then
  for f in cert.pem privkey.pem chain.pem; do
    if [ ! -r "$dir/$f" ]; then
      echo "drachtio-start: $dir/$f is missing or unreadable; SIP over TLS needs cert.pem, privkey.pem and chain.pem (docs/tls.md)" >&2
      exit 1
    fi
  done
  # sips: and not sip:...;transport=tls, which drachtio refuses for a second contact (docs/tls.md).
  set -- "$@" --contact "sips:*:${port};transport=tls" \
    --key-file "$dir/privkey.pem" --cert-file "$dir/cert.pem" --chain-file "$dir/chain.pem" \
    --min-tls-version 1.2
  echo "drachtio-start: SIP over TLS on port ${port} with the certificate in $dir" >&2
else
  echo "drachtio-start: no $dir/privkey.pem: SIP over TLS is off (docs/tls.md)" >&2
fi

exec "${DRACHTIO_START_BIN:-drachtio}" "$@"
