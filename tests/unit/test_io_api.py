"""The documented API path: ``from microexp.io import read_annotations, read_recording``."""

import os
import subprocess
import sys
from pathlib import Path

import microexp.io.annotations
import microexp.io.realsense


def test_public_names_are_the_defining_functions():
    from microexp.io import read_annotations, read_recording

    assert read_annotations is microexp.io.annotations.read_annotations
    assert read_recording is microexp.io.realsense.read_recording


def test_unknown_name_is_an_attribute_error():
    import microexp.io

    try:
        microexp.io.no_such_reader  # noqa: B018
    except AttributeError as err:
        assert "no_such_reader" in str(err)
    else:
        raise AssertionError("microexp.io.no_such_reader did not raise AttributeError")


def test_package_import_stays_light():
    # importing the package (e.g. for microexp.io.clips) must not pull pandas or pyrealsense2
    code = (
        "import sys, microexp.io; "
        "heavy = [m for m in ('pandas', 'pyrealsense2', 'python_calamine') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    package_root = str(Path(microexp.io.__file__).parents[2])  # this checkout's workflow/
    env = {**os.environ, "PYTHONPATH": package_root}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.strip() == ""
