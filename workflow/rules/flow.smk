# Flow stage (workflow/microexp/flow/): onset-apex TV-L1 optical flow on the aligned gray crop,
# optical strain, the 28 x 28 x 3 network input and the resampled clip (docs/flow.md), and the
# sample's QC picture, drawn by the same job from what it holds in memory. One job per chunk of
# samples (common.smk, SAMPLE_CHUNKS): the imports are paid once per job.


for _dataset, _chunks in SAMPLE_CHUNKS.items():
    for _k, _samples in enumerate(_chunks):

        rule:
            name:
                chunk_rule("flow", _dataset, _k)
            input:
                # the face2d job's marker (common.smk, chunk_done); the files: params.files
                done=chunk_done(_dataset, "face2d", _k),
            output:
                done=touch(chunk_done(_dataset, "flow", _k)),
                flow=stage_files(_dataset, "flow", _samples),
                # Not embedded in the report one by one (its size would grow with the data set).
                pictures=stage_files(_dataset, "flow/qc", _samples, ".png"),
            log:
                f"{LOGS}/{_dataset}/flow/chunk_{_k}.log",
            benchmark:
                f"{BENCHMARKS}/{_dataset}/flow/chunk_{_k}.tsv"
            group:
                "sample"
            conda:
                "../../envs/face.yaml"
            threads: 1
            # one sample at a time: memory is one sample's (600 MB was the one-sample job's
            # request), runtime grows with the chunk (about 2 min a sample was allowed)
            resources:
                mem_mb=lambda wildcards, attempt: 600 * attempt,
                runtime=lambda wildcards, attempt, n=len(_samples): attempt * (2 + n),
            params:
                samples=_samples,
                files={"face2d": stage_files(_dataset, "face2d", _samples)},
                dataset_name=_dataset,
                flow=config["flow"],
                failures=failure_files(_dataset, "flow", _samples),
                version=config["versions"]["flow"],
            script:
                "../scripts/flow.py"
