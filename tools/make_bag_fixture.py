"""Write the ROS1 `.bag` test fixture with an old RealSense SDK (docs/methods.md#capture-formats).

Real D415 databases were recorded as ROS1 `.bag` files (SDK < 2.58); the pinned SDK records only
ROS2 `.db3`. This script must therefore run under an old pyrealsense2 (see
tools/make-bag-fixture.sh, which makes a throwaway environment for it). It writes the frames of
`microexp.testing.recordings.fixture_frames` with the package's own writer, so the tests can
regenerate the expected content and compare exactly.

The old environment has only numpy and pyrealsense2: the package is put on `sys.path` (it is
not installed there) and only its writer and the fixture frames, which need nothing else, are
imported.

    python tools/make_bag_fixture.py [--frames 8] [--width 64] [--height 48] [OUT.bag]
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "tests" / "fixtures" / "realsense" / "d415_like_64x48.bag"


def load_writer():
    """The writer and the fixture frames, from the source tree (the package is not installed
    here)."""
    sys.path.insert(0, str(ROOT / "workflow"))
    recording = importlib.import_module("microexp.synthetic.recording")
    fixtures = importlib.import_module("microexp.testing.recordings")
    return recording, fixtures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--height", type=int, default=48)
    args = parser.parse_args(argv)
    rec, fixtures = load_writer()
    version = rec.sdk_version()
    if version is None or version[:2] >= rec.FIRST_DB3_SDK:
        print(
            f"pyrealsense2 {version} records .db3 only; run tools/make-bag-fixture.sh",
            file=sys.stderr,
        )
        return 2
    frames = fixtures.fixture_frames(args.frames, args.width, args.height)
    summary = rec.write_recording(
        args.out,
        iter(frames),
        color_intrinsics=fixtures.fixture_intrinsics(args.width, args.height),
        depth_scale=0.001,
        fps=60,
        compress=True,
    )
    print(
        f"{summary.path}: {summary.size_bytes} bytes, {summary.color_frames} color + "
        f"{summary.depth_frames} depth frames, pyrealsense2 {'.'.join(map(str, version))}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
