"""Rule table12: flow inputs + curvature features of a data set -> DSME-3D Table 12 (TSV/MD/TeX/
HTML), its scores and every prediction table (networks, SVMs, fused)."""

from pathlib import Path

import numpy as np
import pandas as pd

from microexp.evaluate.plan import table_context, write_table_files
from microexp.evaluate.table12 import dsme3d_table12, run_table12
from microexp.failures import read_failures
from microexp.learn.classes import DEFAULT_CLASS_SCHEMES, class_scheme
from microexp.learn.matrices import experiment_labels, feature_matrices
from microexp.learn.specs import CurvatureFeature, curvature_setting
from microexp.learn.svm import SVMParams
from microexp.runlog import rule_logger

log = rule_logger(snakemake.log[0])
entry = snakemake.params.entry
dataset = snakemake.wildcards.dataset

# Samples with flow inputs (failure markers are excluded with their record).
inputs, clips, with_flow = {}, {}, []
for path in snakemake.params.flow_files:
    sample = Path(path).stem
    # The flow file's arrays (docs/flow.md), read directly: this job needs no flow code.
    with np.load(path, allow_pickle=False) as npz:
        if "ok" in npz.files and not bool(npz["ok"]):
            continue
        inputs[sample], clips[sample] = npz["network_input"], npz["clip"]
    with_flow.append(sample)
setting = curvature_setting(entry["curvature"]["setting"])
descriptors = list(entry["curvature"]["descriptors"])
# The curvature files (params), one per sample named by the sample (as the flow files).
curvature_files = {
    f"curvature/{setting.name}": {Path(p).stem: p for p in snakemake.params.curvature_files}
}
matrices = feature_matrices(
    curvature_files, with_flow, [CurvatureFeature(setting, d) for d in descriptors]
)
usable = [s for s in with_flow if all(s in set(m.samples) for m in matrices)]
known = {**DEFAULT_CLASS_SCHEMES, **(snakemake.params.schemes or {})}
if entry["scheme"] not in known:
    raise ValueError(f"deep entry: unknown class scheme {entry['scheme']!r}; known {sorted(known)}")
spec = dict(known[entry["scheme"]])
if entry.get("min_class_size") is not None:
    spec["min_class_size"] = entry["min_class_size"]
scheme = class_scheme(spec, entry["scheme"])
labels, subjects, report = experiment_labels(
    snakemake.input.samples, scheme, entry["expression_types"], samples=usable
)
samples = list(labels.index)
log.info(
    "%d samples with flow and curvature; %d kept by %s", len(usable), len(samples), scheme.name
)
features3d = {}
for descriptor, matrix in zip(descriptors, matrices, strict=True):
    row = {s: k for k, s in enumerate(matrix.samples)}
    features3d[descriptor] = matrix.features[[row[s] for s in samples]]
result = run_table12(
    np.stack([inputs[s] for s in samples]),
    np.stack([clips[s] for s in samples]),
    features3d,
    samples,
    labels.tolist(),
    subjects.tolist(),
    report["classes"],
    entry["networks"],
    SVMParams(**entry["svm_3d"]),
    seed=snakemake.params.seed,
    alpha_step=entry["alpha_step"],
    criterion=entry["criterion"],
    n_threads=snakemake.threads,
)
result.scores.to_csv(snakemake.output.scores, sep="\t", index=False)
pd.concat(
    [table.assign(table=name) for name, table in result.predictions.items()], ignore_index=True
).to_parquet(snakemake.output.predictions, index=False)
dropped = report.get("unmapped_labels") or {}
notes = [f"classes {', '.join(report['classes'])}"] + (
    [f"labels left out by the scheme: {dropped}"] if dropped else []
)
failures = read_failures(snakemake.params.failures)
context = table_context(dataset, snakemake.params.layout, failures, notes)
write_table_files(
    dsme3d_table12(result.scores, context), Path(snakemake.output.tsv).with_suffix("")
)
log.info("table12: %s", result.scores.to_string())
