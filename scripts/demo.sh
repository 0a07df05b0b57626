#!/usr/bin/env bash
# The main job: builds, starts a local daemon, trains a small CNN through it
# (client-python/examples/train_cnn.py), stops the daemon. Installs missing
# packages and the .venv first.
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$ROOT"
SOCK=$(mktemp -u /tmp/tensord-demo-XXXXXX.sock)
"$BUILD/bin/tensord" --listen "unix:$SOCK" --log-level warn --metrics-listen "" &
DAEMON=$!
trap 'kill $DAEMON 2>/dev/null; wait $DAEMON 2>/dev/null; rm -f "$SOCK"' EXIT
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
TENSORD_ADDR="unix:$SOCK" "$VENV/bin/python" client-python/examples/train_cnn.py
