"""The shipped configs validate and every stage section parses into its parameters."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from snakemake.utils import update_config, validate

from microexp.cloud3d.stage import Cloud3DParams
from microexp.face2d.stage import Face2DParams
from microexp.features.sample import CurvatureSetting, LbptopSetting

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = str(ROOT / "workflow/schemas/config.schema.yaml")


def merged(*overlays: Path) -> dict:
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    for overlay in overlays:
        update_config(config, yaml.safe_load(overlay.read_text()))  # as --configfile merges
    validate(config, SCHEMA)
    return config


@pytest.mark.parametrize(
    "overlays", [(), (ROOT / "presets/paper.yaml",), (ROOT / "tests/integration/config.yaml",)]
)
def test_shipped_configs_validate_and_parse(overlays):
    config = merged(*overlays)
    Face2DParams.from_config(config["face2d"])
    Cloud3DParams.from_config(config["cloud3d"])
    for spec in config["features"]["lbptop"]:
        LbptopSetting.from_config(spec)
    for spec in config["features"]["curvature"]:
        CurvatureSetting.from_config(spec)
    assert len(config["features"]["landmarks"]) == 23


def test_a_typo_in_a_stage_section_is_an_error():
    config = merged()
    broken = copy.deepcopy(config["cloud3d"])
    broken["crop_radius"] = 90
    with pytest.raises(ValueError, match="crop_radius"):
        Cloud3DParams.from_config(broken)
    config["datasets"]["synthetic"]["layout"] = "dsme-3d"
    with pytest.raises(Exception, match="dsme-3d"):
        validate(config, SCHEMA)


def test_the_old_casme2_layout_name_names_its_new_name():
    from microexp.io.annotations import check_layout
    from microexp.io.samples import annotation_sources

    with pytest.raises(ValueError, match=r"'casme2' is now called 'casme_sq' \(CAS\(ME\)\^2"):
        check_layout("casme2")
    with pytest.raises(ValueError, match="now called 'casme_sq'"):
        annotation_sources({"layout": "casme2", "root": "/data/CASME_sq"})
    for layout in ("casme_sq", "casme_ii", "samm"):
        assert check_layout(layout) == layout


def test_the_readme_data_set_entries_validate():
    """The data-set entries README.md shows (CAS(ME)^3 A/C, CAS(ME)^2, CASME II, SAMM...)
    pass the config schema and say what they mean: depth or not, where the frames are."""
    from microexp.io.datasets import frame_layout, has_depth
    from microexp.io.samples import annotation_sources

    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Your own data") :]
    block = section[section.index("```yaml\n") + 8 : section.index("```\n", 10)]
    entries = yaml.safe_load(block)["datasets"]
    assert {"casme3_a", "casme3_c", "casme_sq", "casme_ii", "samm"} <= set(entries)
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    config["datasets"].update(copy.deepcopy(entries))
    validate(config, SCHEMA)
    assert [name for name, entry in entries.items() if not has_depth(entry)] == [
        "casme_sq", "casme_ii", "casme_ii_cropped", "samm",
    ]  # fmt: skip
    assert frame_layout(entries["casme3_a"]) == ("color", "depth")
    assert frame_layout(entries["samm"]) == (".", None)
    assert len(entries["casme3_a"]["exceptions"]) == 2
    for entry in entries.values():
        assert annotation_sources(entry)


def test_a_synthetic_part_without_samples_has_no_sheet_to_read():
    """`synthetic.realsense_subjects: 0` writes no RealSense sheet: the workflow names the
    parts that have samples and only their sheets are read (an empty sheet is an error)."""
    from microexp.io.samples import annotation_sources

    entry = {"layout": "synthetic", "root": "/data/synthetic"}
    both = annotation_sources(entry)
    assert [(s.path.name, s.layout) for s in both] == [
        ("micro-expression.xlsx", "dsme3d"),
        ("annotations.tsv", "generic"),
    ]
    frames_only = annotation_sources({**entry, "parts": ["frames"]})
    assert [(str(s.path), s.layout, s.source_pattern) for s in frames_only] == [
        ("/data/synthetic/dsme3d/micro-expression.xlsx", "dsme3d", "dsme3d/{subject}/{sample}")
    ]
    with pytest.raises(ValueError, match=r"unknown synthetic parts \['bag'\]"):
        annotation_sources({**entry, "parts": ["frames", "bag"]})


def test_the_workflow_reads_no_realsense_sheet_without_realsense_subjects(tmp_path):
    """The dry run's ingest_samples input lists only the frame-folder sheet then."""
    import subprocess
    import sys

    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    config["synthetic"]["realsense_subjects"] = 0
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    out = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--cores", "1", "--configfile", str(path),
         "--directory", str(tmp_path), "-s", str(ROOT / "Snakefile"),
         "--", "results/synthetic/samples.tsv"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    plan = out.stdout + out.stderr
    assert "rule ingest_samples" in plan and "dsme3d/micro-expression.xlsx" in plan
    assert "realsense/annotations.tsv" not in plan
