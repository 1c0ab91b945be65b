#!/usr/bin/env bash
# setup-venv.sh PYTHON VENV - the project's virtual environment, with BCC.
#
# BCC's Python package comes from Debian (python3-bpfcc) and lives in
# /usr/lib/python3/dist-packages; we link just that package into the venv so
# the rest of dist-packages stays out of the project's environment.
set -euo pipefail
PYTHON=${1:-python3}
VENV=${2:-.venv}

"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	|| { echo "setup-venv: Python >= 3.11 required ($PYTHON is $("$PYTHON" -V 2>&1))" >&2; exit 1; }
[[ -x $VENV/bin/python ]] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -e '.[dev]'

site=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
if [[ -d /usr/lib/python3/dist-packages/bcc ]]; then
	ln -sfn /usr/lib/python3/dist-packages/bcc "$site/bcc"
fi
"$VENV/bin/python" -c 'import bcc' 2>/dev/null \
	|| echo "setup-venv: warning: BCC (python3-bpfcc) is not importable from $VENV" >&2
echo "setup-venv: $VENV ready"
