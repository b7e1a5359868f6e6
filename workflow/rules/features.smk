# Features (workflow/microexp/features/): LBP-TOP integral histograms per code setting (every
# block grid / overlap is a lookup on them) and curvature descriptors per setting. One job per
# chunk of samples (common.smk, SAMPLE_CHUNKS) and setting; a sweep's own LBP-TOP settings in
# one job per chunk (lbptop_<entry>_<dataset>_<k>).


for _dataset, _chunks in SAMPLE_CHUNKS.items():
    for _k, _samples in enumerate(_chunks):
        # one rule per setting, every path spelled out: a wildcard in the outputs would make
        # each feature file a candidate of every chunk's rule (the DAG would try them all)
        for _lbp in [n for n in LBPTOP_SETTINGS if n not in LBPTOP_BATCHED]:

            rule:
                name:
                    chunk_rule(f"lbptop_{rule_name(_lbp)}", _dataset, _k)
                input:
                    # the face2d job's marker (common.smk, chunk_done); the files: params.files
                    done=chunk_done(_dataset, "face2d", _k),
                output:
                    done=touch(chunk_done(_dataset, f"lbptop/{_lbp}", _k)),
                    features=stage_files(_dataset, f"features/lbptop/{_lbp}", _samples),
                log:
                    f"{LOGS}/{_dataset}/lbptop/{_lbp}/chunk_{_k}.log",
                benchmark:
                    f"{BENCHMARKS}/{_dataset}/lbptop/{_lbp}/chunk_{_k}.tsv"
                group:
                    "sample"
                conda:
                    "../../envs/features.yaml"
                threads: 1
                # measured on the default run, one sample a job: RSS 351 MB + 11 x input MB,
                # max 386 MB, max 5 s (72 samples); memory from `attempt`, not the input's
                # size: sizing every job from its files costs the DAG a file-system round
                # trip per job
                resources:
                    mem_mb=lambda wildcards, attempt: 800 * attempt,
                    runtime=lambda wildcards, attempt, n=len(_samples): attempt * (2 + n // 4),
                params:
                    samples=_samples,
                    files={"face2d": stage_files(_dataset, "face2d", _samples)},
                    dataset_name=_dataset,
                    setting_name=_lbp,
                    setting=LBPTOP_SETTINGS[_lbp],
                    failures=failure_files(_dataset, f"lbptop/{_lbp}", _samples),
                    version=config["versions"]["features"],
                script:
                    "../scripts/lbptop.py"

        for _entry, _names in LBPTOP_BATCHES.items():

            rule:
                name:
                    chunk_rule(f"lbptop_{rule_name(_entry)}", _dataset, _k)
                input:
                    # the face2d job's marker (common.smk, chunk_done); the files: params.files
                    done=chunk_done(_dataset, "face2d", _k),
                output:
                    done=touch(chunk_done(_dataset, f"lbptop/{_entry}", _k)),
                    # setting-major: the chunk's files of the first setting, then the next
                    features=[
                        path
                        for name in _names
                        for path in stage_files(_dataset, f"features/lbptop/{name}", _samples)
                    ],
                log:
                    f"{LOGS}/{_dataset}/lbptop/{_entry}/chunk_{_k}.log",
                benchmark:
                    f"{BENCHMARKS}/{_dataset}/lbptop/{_entry}/chunk_{_k}.tsv"
                group:
                    "sample"
                conda:
                    "../../envs/features.yaml"
                threads: 1
                # as lbptop, max 5 s per setting and sample
                resources:
                    mem_mb=lambda wildcards, attempt: 800 * attempt,
                    runtime=lambda wildcards, attempt, n=len(_samples) * len(_names): attempt
                    * (2 + n // 6),
                params:
                    samples=_samples,
                    files={"face2d": stage_files(_dataset, "face2d", _samples)},
                    dataset_name=_dataset,
                    settings=[LBPTOP_SETTINGS[name] for name in _names],
                    failures=[
                        path
                        for name in _names
                        for path in failure_files(_dataset, f"lbptop/{name}", _samples)
                    ],
                    version=config["versions"]["features"],
                script:
                    "../scripts/lbptop_batch.py"

        if _dataset in DATASETS_2D:  # no depth: no curvature (common.smk)
            continue
        for _curv in CURVATURE_SETTINGS:

            rule:
                name:
                    chunk_rule(f"curvature_{rule_name(_curv)}", _dataset, _k)
                input:
                    # the face2d and cloud3d jobs' markers (common.smk); files: params.files
                    done=[chunk_done(_dataset, stage, _k) for stage in ("face2d", "cloud3d")],
                output:
                    done=touch(chunk_done(_dataset, f"curvature/{_curv}", _k)),
                    features=stage_files(_dataset, f"features/curvature/{_curv}", _samples),
                log:
                    f"{LOGS}/{_dataset}/curvature/{_curv}/chunk_{_k}.log",
                benchmark:
                    f"{BENCHMARKS}/{_dataset}/curvature/{_curv}/chunk_{_k}.tsv"
                group:
                    "sample"
                conda:
                    "../../envs/features.yaml"
                threads: 1
                # measured on the default run, one sample a job: RSS 371 MB + 8 x input MB,
                # max 419 MB, max 3 s (72 samples)
                resources:
                    mem_mb=lambda wildcards, attempt: 900 * attempt,
                    runtime=lambda wildcards, attempt, n=len(_samples): attempt * (2 + n // 4),
                params:
                    samples=_samples,
                    files={
                        "face2d": stage_files(_dataset, "face2d", _samples),
                        "cloud3d": stage_files(_dataset, "cloud3d", _samples),
                    },
                    dataset_name=_dataset,
                    setting_name=_curv,
                    setting=CURVATURE_SETTINGS[_curv],
                    landmarks=config["features"]["landmarks"],
                    failures=failure_files(_dataset, f"curvature/{_curv}", _samples),
                    version=config["versions"]["features"],
                script:
                    "../scripts/curvature.py"
