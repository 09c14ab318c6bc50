# rtpengine from Debian 12 (10.5.x): the version watrunk's flag sets are tested against.
# Userspace forwarding only (--table=-1): no kernel module needed in the container.
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends rtpengine-daemon \
 && rm -rf /var/lib/apt/lists/*
ENTRYPOINT ["rtpengine", "--config-file=none", "--table=-1", "--foreground", "--log-stderr"]
