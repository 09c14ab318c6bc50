#!/usr/bin/env bash
# Installs the system packages watrunk's tests and local runs use, from Debian's archive:
#   rtpengine-daemon  media engine (WebRTC <-> RTP, transcoding)
#   sip-tester        SIPp, the PBX stand-in in end-to-end tests
#   baresip-core      baresip, a real SIP phone (a=ssrc in its SDP), driven headless over ctrl_tcp
#   linphone-cli      linphonec, a second real SIP phone (liblinphone), driven over stdin
#   kamailio          a Record-Routing SIP proxy between phones and the bridge
#   kamailio-tls-modules  Kamailio's tls.so: the proxy's SIP-over-TLS listener (Meta SIP mode tests)
#   openssl           the openssl tool: the SIP-over-TLS tests make a private CA with it
# The phones and the proxy serve the real-phone media tests, which skip loudly without them.
# drachtio-server is not packaged in Debian: production uses the drachtio/drachtio-server Docker
# image; end-to-end tests use a binary named by DRACHTIO_BIN or found on PATH, and skip loudly without one.
set -euo pipefail

need=()
command -v rtpengine >/dev/null 2>&1 || need+=(rtpengine-daemon)
command -v sipp >/dev/null 2>&1 || need+=(sip-tester)
# baresip-core has the binary and the modules the tests load (ctrl_tcp, aufile, sndfile, g711,
# g722, opus); the 'baresip' metapackage only adds GUI and video modules on top.
command -v baresip >/dev/null 2>&1 || need+=(baresip-core)
command -v linphonec >/dev/null 2>&1 || need+=(linphone-cli)
# kamailio lives in /usr/sbin, which a non-root PATH may lack.
{ command -v kamailio || [ -x /usr/sbin/kamailio ]; } >/dev/null 2>&1 || need+=(kamailio)
# tls.so sits beside Kamailio's other modules (a multiarch directory on Debian).
{ compgen -G '/usr/lib/*/kamailio/modules/tls.so' || [ -e /usr/lib/kamailio/modules/tls.so ]; } >/dev/null 2>&1 || need+=(kamailio-tls-modules)
command -v openssl >/dev/null 2>&1 || need+=(openssl)

if [ ${#need[@]} -eq 0 ]; then
  echo "install-deps: system packages already present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-deps: WARNING: not root and no sudo; cannot install ${need[*]}." >&2
    echo "install-deps: tests that need them will be skipped (they say so)." >&2
    exit 0
  fi
fi
echo "install-deps: installing ${need[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
# The rtpengine and kamailio packages ship systemd units; watrunk's tests start their own daemons
# on private ports, so system instances are not needed (and are absent where systemd is not running).
