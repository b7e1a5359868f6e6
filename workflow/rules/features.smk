# Features (workflow/microexp/features/): LBP-TOP integral histograms per code setting (every
# block grid / overlap is a lookup on them) and curvature descriptors per setting. One job per
# chunk of samples (common.smk, SAMPLE_CHUNKS) and setting; a sweep's own LBP-TOP settings in
# one job per chunk (lbptop_<entry>_<dataset>_<k>).


for _dataset, _chunks in SAMPLE_CHUNKS.items():
    for _k, _samples in enumerate(_chunks):

        rule:
            name:
                chunk_rule("lbptop", _dataset, _k)
            input:
                face2d=stage_files(_dataset, "face2d", _samples),
            output:
                stage_files(_dataset, "features/lbptop/{lbp}", _samples),
            log:
                f"{LOGS}/{_dataset}/lbptop/{{lbp}}/chunk_{_k}.log",
            benchmark:
                f"{BENCHMARKS}/{_dataset}/lbptop/{{lbp}}/chunk_{_k}.tsv"
            wildcard_constraints:
                lbp=names_regex([n for n in LBPTOP_SETTINGS if n not in LBPTOP_BATCHED]),
            group:
                "sample"
            conda:
                "../../envs/features.yaml"
            threads: 1
            # measured on the default run, one sample a job: RSS 351 MB + 11 x input MB, max
            # 386 MB, max 5 s (72 samples); memory from `attempt`, not the input's size:
            # sizing every job from its files costs the DAG a file-system round trip per job
            resources:
                mem_mb=lambda wildcards, attempt: 800 * attempt,
                runtime=lambda wildcards, attempt, n=len(_samples): attempt * (2 + n // 4),
            params:
                samples=_samples,
                dataset_name=_dataset,
                setting=lambda wildcards: LBPTOP_SETTINGS[wildcards.lbp],
                failures=lambda wildcards, d=_dataset, s=_samples: failure_files(
                    d, f"lbptop/{wildcards.lbp}", s
                ),
                version=config["versions"]["features"],
            script:
                "../scripts/lbptop.py"

        for _entry, _names in LBPTOP_BATCHES.items():

            rule:
                name:
                    chunk_rule(f"lbptop_{rule_name(_entry)}", _dataset, _k)
                input:
                    face2d=stage_files(_dataset, "face2d", _samples),
                output:
                    # setting-major: the chunk's files of the first setting, then the next
                    [
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

        rule:
            name:
                chunk_rule("curvature", _dataset, _k)
            input:
                face2d=stage_files(_dataset, "face2d", _samples),
                cloud3d=stage_files(_dataset, "cloud3d", _samples),
            output:
                stage_files(_dataset, "features/curvature/{curv}", _samples),
            log:
                f"{LOGS}/{_dataset}/curvature/{{curv}}/chunk_{_k}.log",
            benchmark:
                f"{BENCHMARKS}/{_dataset}/curvature/{{curv}}/chunk_{_k}.tsv"
            wildcard_constraints:
                curv=names_regex(CURVATURE_SETTINGS),
            group:
                "sample"
            conda:
                "../../envs/features.yaml"
            threads: 1
            # measured on the default run, one sample a job: RSS 371 MB + 8 x input MB, max
            # 419 MB, max 3 s (72 samples)
            resources:
                mem_mb=lambda wildcards, attempt: 900 * attempt,
                runtime=lambda wildcards, attempt, n=len(_samples): attempt * (2 + n // 4),
            params:
                samples=_samples,
                dataset_name=_dataset,
                setting=lambda wildcards: CURVATURE_SETTINGS[wildcards.curv],
                landmarks=config["features"]["landmarks"],
                failures=lambda wildcards, d=_dataset, s=_samples: failure_files(
                    d, f"curvature/{wildcards.curv}", s
                ),
                version=config["versions"]["features"],
            script:
                "../scripts/curvature.py"
