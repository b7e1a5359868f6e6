# microexp: RGB-D micro-expression recognition, from RealSense captures to the paper tables.
# The order of work, caching and the cluster belong to Snakemake; the science lives in the
# Python package `microexp` (workflow/microexp/). See README.md.
import os

from snakemake.utils import min_version, validate

from microexp.io.annotations import check_layout

min_version("9.0")


configfile: "config.yaml"


# The conda envs (--software-deployment-method conda) install this package from here:
# envs/install-package.sh, run by Snakemake in each env it creates, reads the variable.
os.environ.setdefault("MICROEXP_SOURCE", workflow.basedir)


# a renamed layout (casme2 -> casme_sq) is named before the schema's generic message
for _entry in config.get("datasets", {}).values():
    if isinstance(_entry.get("layout"), str) and _entry["layout"] != "synthetic":
        check_layout(_entry["layout"])


validate(config, "workflow/schemas/config.schema.yaml")


report: "workflow/report/workflow.rst"


wildcard_constraints:
    subject=r"[0-9]+",
    video=r"[0-9]+",
    dataset="|".join(config["datasets"]),
    sample=r"[^/]+",


include: "workflow/rules/common.smk"
include: "workflow/rules/synthetic.smk"
include: "workflow/rules/ingest.smk"
include: "workflow/rules/face2d.smk"
include: "workflow/rules/cloud3d.smk"
include: "workflow/rules/flow.smk"
include: "workflow/rules/features.smk"
include: "workflow/rules/classify.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/spotting_plan.smk"
include: "workflow/rules/spotting.smk"
include: "workflow/rules/depth_flow.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/deep.smk"


# Snakemake 9's job rate limit (by default 100 jobs a second) makes its local scheduler start a
# 1-s timer after every pass that leaves jobs waiting for a core, and the timer's pass starts
# the next timer: each finished job adds a chain of passes that lasts as long as jobs wait, and
# each pass checks the inputs of every waiting job. At the paper preset's size (README, "Jobs,
# disk and reruns") that kept Snakemake itself at 30-50 % of a core, ~16 % of the run's CPU,
# and it grows with the number of jobs. A local run submits nothing, so the default limit is
# dropped; a limit set on the command line or in a profile is kept, and so are cluster runs'.
onstart:
    drop_default_job_rate_limit(workflow)


rule all:
    default_target: True
    input:
        synthetic_targets(),
        # every chunk job's outputs (each sample's files), named through their rules
        chunk_job_outputs(),
        ingest_targets(),
        face_targets(),
        [t for name in config["datasets"] for t in flow_targets_of(name)],
        classify_targets(),
        table_targets(),
        spotting_targets() if config.get("spotting", {}).get("in_default_run", True) else [],
        depth_flow_targets(),
        report_targets(),
        table12_targets(),
