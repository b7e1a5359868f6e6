# Shared by all rule files -- the sample lists, input functions and wildcard constraints.
# The sample lists are computed once, when the workflow is parsed.
import hashlib
import json
import re
from pathlib import Path

from snakemake.logging import logger

from microexp.evaluate.plan import TABLE_SUFFIXES, planned_tables
from microexp.learn.entries import (
    classify_chunks,
    classify_entries,
    entries_needing_depth,
    feature_settings,
    fusion_entries,
    lbptop_batches,
)
from microexp.report.captions import Captions
from microexp.io.clips import CLIP_COLUMNS
from microexp.io.datasets import has_depth
from microexp.io.samples import annotation_sources, read_sample_sheet
from microexp.synthetic.generate import sample_row
from microexp.synthetic.schedule import (
    FORMAT_FRAMES,
    FORMAT_REALSENSE,
    SyntheticSettings,
    plan_samples,
)

RESULTS = "results"
LOGS = f"{RESULTS}/logs"
BENCHMARKS = f"{RESULTS}/benchmarks"


def fingerprint(*parts) -> str:
    """A short stable hash of JSON-able parts: a rule's params carry it so that a changed
    setting reruns exactly the jobs it affects."""
    text = json.dumps(parts, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


SYNTHETIC = SyntheticSettings.from_config(config)
SYNTHETIC_PLANS = {plan.sample: plan for plan in plan_samples(SYNTHETIC)}


def synthetic_samples(fmt: str | None = None) -> list[str]:
    """Synthetic sample ids, optionally only those written in one format."""
    return [s for s, p in SYNTHETIC_PLANS.items() if fmt is None or p.format == fmt]


def synthetic_subjects(fmt: str | None = None) -> list[str]:
    return list(dict.fromkeys(SYNTHETIC_PLANS[s].subject for s in synthetic_samples(fmt)))


def synthetic_plan_fingerprint(sample: str) -> str:
    """What decides a synthetic sample's bytes: its plan, the camera, the PLY choice and the
    stage version. Changing the number of subjects does not touch existing samples."""
    plan = SYNTHETIC_PLANS[sample]
    return fingerprint(
        repr(plan),
        SYNTHETIC.camera,
        SYNTHETIC.depth_scale,
        SYNTHETIC.ply_frames,
        config["versions"]["synthetic"],
    )


# --- synthetic data set -----------------------------------------------------------
SYNTHETIC_RAW = f"{RESULTS}/synthetic/raw"


def folder_above(path: str, levels: int) -> str:
    """The folder `levels` above an output's folder, for a script's params: the results/ root
    above results/{dataset}/scores/x.tsv (2), the raw data set above raw/truth/x.npz (1). The
    layout is spelled here, in the rules; taken from the output, the path stays right where
    Snakemake maps outputs to storage."""
    return str(Path(path).parents[levels])


def synthetic_source(sample: str):
    """Where a synthetic sample is written: its frame folder (a directory output) or its
    RealSense recording, under results/synthetic/raw/."""
    plan = SYNTHETIC_PLANS[sample]
    if plan.format == FORMAT_FRAMES:
        return directory(f"{SYNTHETIC_RAW}/dsme3d/{plan.subject}/{sample}")
    return f"{SYNTHETIC_RAW}/realsense/{plan.subject}/{sample}.db3"


def synthetic_truth(fmt: str | None = None) -> list[str]:
    return expand(f"{SYNTHETIC_RAW}/truth/{{sample}}.npz", sample=synthetic_samples(fmt))


def synthetic_targets() -> list[str]:
    targets = expand(
        f"{RESULTS}/synthetic/figures/subject_{{subject}}.png", subject=synthetic_subjects()
    )
    if synthetic_samples(FORMAT_FRAMES):
        targets.append(f"{SYNTHETIC_RAW}/dsme3d/micro-expression.xlsx")
    if synthetic_samples(FORMAT_REALSENSE):
        targets.append(f"{SYNTHETIC_RAW}/realsense/annotations.tsv")
    return targets


# --- scheduling ----------------------------------------------------------------------------
def drop_default_job_rate_limit(workflow) -> bool:
    """Local runs: remove Snakemake's default job rate limit (100 jobs per 1 s) from the
    scheduler before it starts (the Snakefile's `onstart`, which says why). Returns whether it
    was removed; a limit other than the default, or a cluster executor, is left alone."""
    scheduler = getattr(workflow, "scheduler", None)
    limiter = getattr(scheduler, "job_rate_limiter", None)
    if limiter is None or not workflow.local_exec:
        return False
    if (limiter.max_jobs, limiter.timespan) != (100, 1):
        return False
    scheduler.job_rate_limiter = None
    logger.info("local run: Snakemake's default job rate limit (100 jobs/1 s) is not applied")
    return True


# --- data sets and their samples ---------------------------------------------------------
def dataset_samples(name: str) -> dict[str, dict]:
    """Every sample of a configured data set and its samples.tsv row, known when the workflow
    is parsed: the synthetic set's from its plan, a real one's from its annotation sheets (a
    sheet that cannot be read stops here, with the reader's message). Per-sample jobs get
    their row as params, so editing one annotation row reruns that sample only."""
    dataset = config["datasets"][name]
    if dataset["layout"] == "synthetic":
        root = Path(dataset["root"])
        return {s: sample_row(p, SYNTHETIC, root) for s, p in SYNTHETIC_PLANS.items()}
    table = read_sample_sheet(name, dataset).table
    return {row["sample"]: row for row in table.to_dict("records")}


DATASET_SAMPLES = {name: dataset_samples(name) for name in config["datasets"]}


def samples_of(dataset: str) -> list[str]:
    return list(DATASET_SAMPLES[dataset])


def clip_row(row: dict) -> dict:
    """The columns of a samples.tsv row a clip is cut from (`microexp.io.clips.CLIP_COLUMNS`):
    a clip job's params, so that editing a sample's labels reruns no per-sample stage."""
    return {k: row.get(k) for k in CLIP_COLUMNS}


def dataset_config(name: str) -> dict:
    """A data set's config entry; the synthetic set's also names the parts that have samples
    (`parts`), so that a part with none (`synthetic.realsense_subjects: 0`) is not read."""
    dataset = dict(config["datasets"][name])
    if dataset["layout"] == "synthetic":
        dataset["parts"] = [f for f in (FORMAT_FRAMES, FORMAT_REALSENSE) if synthetic_samples(f)]
    return dataset


def annotation_inputs(wildcards) -> list[str]:
    """The annotation files a data set's sample sheet is built from."""
    return [str(a.path) for a in annotation_sources(dataset_config(wildcards.dataset))]


# --- per-sample stages, packed into jobs ------------------------------------------------
# Each per-sample stage (ingest_clip, face2d, cloud3d, depth_flow, lbptop, curvature) runs in
# jobs of `jobs.samples_per_job` samples, consecutive in sheet order: a job's start-up (a Python
# process, the imports, the detector model) is paid once per job, not once per sample, and
# every sample still gets its own output file, failure record and log lines. The rules are
# generated per data set and chunk (`<stage>_<dataset>_<k>`), with the chunk's files spelled
# out, so every path below is written here and passed to the scripts.
SAMPLES_PER_JOB = config["jobs"]["samples_per_job"]


def sample_chunks(dataset: str) -> list[list[str]]:
    """A data set's samples in sheet order, cut into jobs of `jobs.samples_per_job`. A sample
    added at the end changes the last chunk only."""
    samples = samples_of(dataset)
    return [samples[i : i + SAMPLES_PER_JOB] for i in range(0, len(samples), SAMPLES_PER_JOB)]


SAMPLE_CHUNKS = {name: sample_chunks(name) for name in config["datasets"]}


def chunk_rule(stage: str, dataset: str, k: int) -> str:
    """The name of a per-sample stage's rule for chunk k of a data set."""
    return f"{stage}_{rule_name(dataset)}_{k}"


# Each chunk job also declares a marker, results/{dataset}/chunks/<stage>/<k>.done, touched by
# Snakemake once the job has finished (every sample of the chunk then has its file, or its
# marker file and failure record). Jobs that read a stage's files of every sample (rule all,
# the next stage's chunk, classification, the tables, the QC gallery) take the stage's chunk
# markers as inputs and the per-sample paths as params: the DAG resolves one file per chunk
# instead of one per sample, which is most of a dry run's time at CAS(ME)^3 size (README, "DAG
# at scale"). A missing per-sample file still reruns its chunk: Snakemake remakes the missing
# files that some job requests, and `rule all` requests every output of every chunk job
# (`chunk_job_outputs`); the chunk's new marker then reruns the jobs after it.
# The marker is a chunk rule's first output: Snakemake tries a rule's outputs in order when it
# looks a file's producer up.
def chunk_done(dataset: str, stage: str, k: int) -> str:
    """Chunk k's marker of a per-sample stage (`stage`: ingest, face2d, cloud3d, flow,
    depth_flow, lbptop/<setting or sweep entry>, curvature/<setting>)."""
    return f"{RESULTS}/{dataset}/chunks/{stage}/{k}.done"


def chunks_done(dataset: str, stage: str) -> list[str]:
    """Every chunk marker of a per-sample stage of a data set."""
    return [chunk_done(dataset, stage, k) for k in range(len(SAMPLE_CHUNKS[dataset]))]


def chunk_job_outputs() -> list:
    """Every output of every chunk job (markers, per-sample files, QC pictures, PLY folders),
    requested by the default target, as Snakemake remakes only the missing outputs that some
    job requests. Taken from the rules (`rules.<name>.output`), each names its producer, so
    the DAG skips the producer look-up for them."""
    files = []
    for defined in workflow.rules:
        output = getattr(rules, defined.name).output
        done = getattr(output, "done", None)
        if isinstance(done, str) and "/chunks/" in done:
            files += list(output)
    return files


def stage_files(dataset: str, folder: str, samples, suffix: str = ".npz") -> list[str]:
    """results/{dataset}/<folder>/<sample><suffix> of each sample."""
    return [f"{RESULTS}/{dataset}/{folder}/{s}{suffix}" for s in samples]


def failure_files(dataset: str, stage: str, samples) -> list[str]:
    """Where each sample's failure record for `stage` goes: the one spelling of that path
    (results/{dataset}/failures/<stage>/<sample>.json)."""
    return [f"{RESULTS}/{dataset}/failures/{stage}/{s}.json" for s in samples]


def source_inputs(dataset: str, samples) -> list[str]:
    """The samples' sources as inputs: clip jobs read them, and so do face2d and cloud3d (clip
    files index the source's frames, they hold no pixels). Synthetic sources come from the
    generator (their truth file is written last). A real source that does not exist is not
    an input (it would stop the whole DAG): the clip job records the sample's failure and the
    run goes on."""
    if config["datasets"][dataset]["layout"] == "synthetic":
        return [f"{SYNTHETIC_RAW}/truth/{s}.npz" for s in samples]
    rows = DATASET_SAMPLES[dataset]
    sources = [rows[s]["source"] for s in samples]
    return list(dict.fromkeys(src for src in sources if Path(src).exists()))


def ingest_targets() -> list[str]:
    """Each data set's sample sheet and its clip jobs' markers (every sample's clip file)."""
    targets = []
    for name in config["datasets"]:
        targets.append(f"{RESULTS}/{name}/samples.tsv")
        targets += chunks_done(name, "ingest")
    return targets


# --- per-sample face and feature stages ---------------------------------------------------
# The experiments and fusion studies (classify.smk), parsed once: a config error stops here
# with the parser's message. Every feature setting they read is computed, listed or not.
CLASSIFY_ENTRIES = classify_entries(config)
FUSION_ENTRIES = fusion_entries(config)
# A data set without depth (CASME II, SAMM, CAS(ME)^2) runs the 2D stages and LBP-TOP only: its
# 3D stages, curvature and fusion entries are skipped, said once per data set in the log.
DATASETS_2D = frozenset(n for n, d in config["datasets"].items() if not has_depth(d))
SKIPPED_FOR_DEPTH = entries_needing_depth(CLASSIFY_ENTRIES, FUSION_ENTRIES, DATASETS_2D)
# Each classify entry's experiments in chunks of `settings_per_job` (one job each; one chunk
# when the entry has no such key).
CLASSIFY_CHUNKS = classify_chunks(config)
for _entry in [e for entries in SKIPPED_FOR_DEPTH.values() for e in entries]:
    CLASSIFY_ENTRIES.pop(_entry, None)
    CLASSIFY_CHUNKS.pop(_entry, None)
    FUSION_ENTRIES.pop(_entry, None)
for _dataset in sorted(DATASETS_2D):
    _skipped = SKIPPED_FOR_DEPTH.get(_dataset, [])
    logger.info(
        f"data set {_dataset}: no depth -> 2D stages and LBP-TOP only; cloud3d, curvature "
        "and fusion are skipped for it"
        + (f" (entries not run: {', '.join(_skipped)})" if _skipped else "")
    )
TABLE_PLANS = planned_tables(CLASSIFY_ENTRIES, FUSION_ENTRIES)
LBPTOP_SETTINGS, CURVATURE_SETTINGS = feature_settings(config)
# Sweeps' own LBP-TOP settings, computed in one job per sample (features.smk, lbptop_<entry>).
LBPTOP_BATCHES = lbptop_batches(config)
LBPTOP_BATCHED = {name for names in LBPTOP_BATCHES.values() for name in names}


def rule_name(entry: str) -> str:
    """A config entry name as part of a rule name (letters, digits, underscores)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", entry)


def failure_file(stage: str):
    """params function of a wildcard rule: where a sample's failure record for `stage` goes
    (the spelling of `failure_files`)."""
    return lambda wildcards: failure_files(wildcards.dataset, stage, [wildcards.sample])[0]


def names_regex(names) -> str:
    return "|".join(re.escape(n) for n in names) or "(?!)"


def face2d_params(dataset: str) -> dict:
    """The face2d config, with the data set's `precropped:` (face crops that fill the frame)."""
    if config["datasets"][dataset].get("precropped", False):
        return {**config["face2d"], "precropped": True}
    return config["face2d"]


def lbptop_stage(setting: str) -> str:
    """The marker folder of the jobs that write an LBP-TOP setting's files: the setting's own,
    or the sweep's that computes it with its other settings (`lbptop_batches`)."""
    for entry, names in LBPTOP_BATCHES.items():
        if setting in names:
            return f"lbptop/{entry}"
    return f"lbptop/{setting}"


def face_stages(dataset: str) -> list[str]:
    """The per-sample face and feature stages of a data set, as marker folders: face2d,
    cloud3d (with depth), each LBP-TOP setting's (or sweep's) and curvature setting's jobs."""
    stages = ["face2d"] if dataset in DATASETS_2D else ["face2d", "cloud3d"]
    stages += list(dict.fromkeys(lbptop_stage(lbp) for lbp in LBPTOP_SETTINGS))
    if dataset not in DATASETS_2D:
        stages += [f"curvature/{curv}" for curv in CURVATURE_SETTINGS]
    return stages


def face_targets_of(dataset: str) -> list[str]:
    """The chunk markers of every per-sample face and feature output of a data set (each
    sample's files and QC pictures are the outputs of those chunks' jobs)."""
    return [done for stage in face_stages(dataset) for done in chunks_done(dataset, stage)]


def flow_targets_of(dataset: str) -> list[str]:
    """The flow jobs' markers of a data set (every sample's flow file and QC picture)."""
    return chunks_done(dataset, "flow")


def table12_entry(dataset: str) -> dict:
    """The config ``deep`` entry whose data set is ``dataset`` (one per data set)."""
    for entry in config.get("deep", {}).values():
        if entry["dataset"] == dataset:
            return entry
    raise ValueError(f"no deep entry for data set {dataset!r}")


def table12_curvature_setting(wildcards) -> str:
    return table12_entry(wildcards.dataset)["curvature"]["setting"]


def table12_targets() -> list[str]:
    return [
        f"{RESULTS}/tables/{entry['dataset']}/table12.{suffix}"
        for entry in config.get("deep", {}).values()
        for suffix in ("tsv", "md", "tex", "html")
    ]


def face_targets() -> list[str]:
    """Every per-sample face and feature output of every data set, with QC pictures."""
    return [t for name in config["datasets"] for t in face_targets_of(name)]


# --- classification and fusion (classify.smk) ----------------------------------------------
def feature_file_map(dataset: str, experiments) -> dict[str, dict[str, str]]:
    """The files the experiments read, as microexp.learn.matrices takes them: source key
    (`lbptop/<setting>`, `curvature/<setting>`; `face2d` for the ROIs) -> sample -> file."""
    files = {}
    for folder, name in dict.fromkeys(e.feature.source for e in experiments):
        files[f"{folder}/{name}"] = {
            s: f"{RESULTS}/{dataset}/features/{folder}/{name}/{s}.npz" for s in samples_of(dataset)
        }
    if any(e.feature.kind == "lbptop_rois" for e in experiments):
        files["face2d"] = {s: f"{RESULTS}/{dataset}/face2d/{s}.npz" for s in samples_of(dataset)}
    return files


def feature_chunks_done(dataset: str, experiments) -> list[str]:
    """The chunk markers of every per-sample file the experiments read (`feature_file_map`:
    feature files; face2d for the ROIs), the jobs' inputs."""
    stages = []
    for key in feature_file_map(dataset, experiments):
        folder, _, name = key.partition("/")
        stages.append(lbptop_stage(name) if folder == "lbptop" else key)
    return [done for stage in dict.fromkeys(stages) for done in chunks_done(dataset, stage)]


def prediction_file_map(experiments) -> dict[str, dict[str, str]]:
    """experiment -> protocol -> its out-of-fold prediction file."""
    return {
        e.name: {p: f"{RESULTS}/{e.dataset}/predictions/{e.name}/{p}.parquet" for p in e.protocols}
        for e in experiments
    }


def prediction_files(experiments) -> list[str]:
    return [f for files in prediction_file_map(experiments).values() for f in files.values()]


def chunk_outputs(dataset: str, entry: str, k: int) -> dict[str, str]:
    """A chunk's scores, excluded samples and summary (merged into the entry's own)."""
    base = f"{RESULTS}/{dataset}/scores/chunks/{entry}/{k}"
    return {"scores": f"{base}.tsv", "excluded": f"{base}.excluded.tsv", "summary": f"{base}.json"}


def classify_targets() -> list[str]:
    targets = []
    for entry, experiments in CLASSIFY_ENTRIES.items():
        targets.append(f"{RESULTS}/{experiments[0].dataset}/scores/{entry}.tsv")
    for entry, fusion in FUSION_ENTRIES.items():
        targets.append(f"{RESULTS}/{fusion.dataset}/scores/{entry}.tsv")
    return targets


# --- paper tables (evaluate.smk) ---------------------------------------------------------
def table_plan(wildcards):
    return TABLE_PLANS[wildcards.dataset][wildcards.table]


def entry_outputs(dataset: str, entry: str, suffix: str) -> str:
    return f"{RESULTS}/{dataset}/scores/{entry}{suffix}"


def table_experiments(wildcards) -> list:
    """The experiments whose scores fill a paper table."""
    plan = table_plan(wildcards)
    return [
        e for entry in plan.entries for e in CLASSIFY_ENTRIES.get(entry, []) if e.kind == plan.kind
    ]


def paper_table_inputs(wildcards) -> dict[str, list[str]]:
    plan = table_plan(wildcards)
    experiments = table_experiments(wildcards)
    return {
        "scores": [entry_outputs(plan.dataset, e, ".tsv") for e in plan.entries],
        "summaries": [entry_outputs(plan.dataset, e, ".json") for e in plan.entries],
        "predictions": prediction_files(experiments),
    }


def table_targets() -> list[str]:
    targets = []
    for dataset, plans in TABLE_PLANS.items():
        for table in plans:
            targets += expand(
                f"{RESULTS}/tables/{dataset}/{table}.{{suffix}}", suffix=TABLE_SUFFIXES
            )
    for dataset in dict.fromkeys([*TABLE_PLANS, *config["datasets"]]):
        targets.append(f"{RESULTS}/tables/{dataset}/excluded_samples.html")
    return targets


# --- report (report.smk) ---------------------------------------------------------------------
def report_targets() -> list[str]:
    """What `snakemake --report` shows of the per-sample QC pictures, per data set."""
    targets = [f"{RESULTS}/{name}/report/qc_pictures.html" for name in config["datasets"]]
    if synthetic_subjects():
        targets.append(f"{RESULTS}/synthetic/report/subjects")
    return targets


def qc_gallery_inputs(wildcards) -> list[str]:
    """The chunk markers of each QC stage (no 3D stage without depth)."""
    stages = qc_stages(wildcards.dataset)
    return [done for stage in stages for done in chunks_done(wildcards.dataset, stage)]


def qc_gallery_files(wildcards) -> dict[str, list[str]]:
    """Each QC stage's outputs and pictures of every sample, in sheet order."""
    samples = samples_of(wildcards.dataset)
    files = {}
    for stage in qc_stages(wildcards.dataset):
        files[stage] = stage_files(wildcards.dataset, stage, samples)
        files[f"{stage}_pictures"] = stage_files(wildcards.dataset, f"{stage}/qc", samples, ".png")
    return files


def qc_stages(dataset: str) -> list[str]:
    """The stages whose QC pictures the report shows: no 3D stage without depth; depth flow
    for the data sets it runs on."""
    stages = ["face2d"] if dataset in DATASETS_2D else ["face2d", "cloud3d"]
    return stages + (["depth_flow"] if dataset in depth_flow_datasets() else [])


def excluded_inputs(wildcards) -> list[str]:
    """Everything that can exclude a sample of the data set: the sample sheet (annotation rows
    recognition cannot use get their failure records there), every per-sample output (failure
    records are written beside them) and the experiments' exclusion lists."""
    files = [f"{RESULTS}/{wildcards.dataset}/samples.tsv", *face_targets_of(wildcards.dataset)]
    if wildcards.dataset in depth_flow_datasets():  # its failure records too, every run
        files += chunks_done(wildcards.dataset, "depth_flow")
    for entry, experiments in CLASSIFY_ENTRIES.items():
        if experiments[0].dataset == wildcards.dataset:
            files.append(entry_outputs(wildcards.dataset, entry, ".excluded.tsv"))
    for entry, fusion in FUSION_ENTRIES.items():
        if fusion.dataset == wildcards.dataset:
            files.append(entry_outputs(wildcards.dataset, entry, ".excluded.tsv"))
    return files


# --- depth flow (depth_flow.smk) ----------------------------------------------------------


def depth_flow_datasets() -> list[str]:
    """The configured data sets the depth_flow stage and the RGB vs RGB-D study run on."""
    return [d for d in config["depth_flow"]["datasets"] if d in config["datasets"]]


def depth_flow_params() -> dict:
    """What a depth_flow job computes with (flow and feature settings): the study's settings
    (`datasets`, `expression_types`) are not among them, so changing them reruns no sample."""
    study = ("datasets", "expression_types")
    return {k: v for k, v in config["depth_flow"].items() if k not in study}


def depth_flow_files(wildcards) -> list[str]:
    """Every sample's depth_flow file of a data set (the study reads them all)."""
    return stage_files(wildcards.dataset, "depth_flow", samples_of(wildcards.dataset))


def depth_flow_targets() -> list[str]:
    targets = []
    for name in depth_flow_datasets():
        targets += chunks_done(name, "depth_flow")
        targets += expand(
            f"{RESULTS}/tables/{name}/rgbd_vs_rgb.{{suffix}}", suffix=[*TABLE_SUFFIXES, "json"]
        )
    return targets
