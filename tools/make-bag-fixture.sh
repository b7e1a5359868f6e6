#!/usr/bin/env bash
# Regenerate tests/fixtures/realsense/*.bag with the last SDK that records ROS1 .bag files.
# Makes a throwaway virtual environment under /tmp (PyPI: numpy + pyrealsense2 2.55.1.6486,
# which has wheels for CPython 3.8-3.11 on x86-64 Linux) and runs tools/make_bag_fixture.py.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON311:-python3.11}"
venv="${BAG_FIXTURE_VENV:-/tmp/microexp-rs255}"
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet "pyrealsense2==2.55.1.6486" "numpy>=1.24"
fi
exec "$venv/bin/python" "$here/tools/make_bag_fixture.py" "$@"
