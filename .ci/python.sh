#!/bin/sh
# Installs python3 when missing: tests/maelstrom.rs and the book's Maelstrom chapter run the
# Python example nodes of maelstrom/python/ (standard library only). Fails when python3 cannot
# be installed, so those tests are never skipped in silence.
set -eu
if command -v python3 >/dev/null 2>&1; then
    python3 --version
    exit 0
fi
echo "python.sh: python3 missing, installing Debian's python3"
if ! (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3); then
    echo "python.sh: cannot install python3 (no root or no network); tests/maelstrom.rs needs it" >&2
    exit 1
fi
python3 --version
