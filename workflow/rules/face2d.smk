# 2D face stage (workflow/microexp/face2d/): landmarks on every frame, alignment on the first
# frame's inner eye corners, the 6 x 6-block crop, and the sample's QC picture. The picture is
# drawn by the same job from what it holds in memory: a separate QC job would read the clip
# again. One job per chunk of samples (common.smk, SAMPLE_CHUNKS), the detector model loaded
# once per job.


for _dataset, _chunks in SAMPLE_CHUNKS.items():
    for _k, _samples in enumerate(_chunks):

        rule:
            name:
                chunk_rule("face2d", _dataset, _k)
            input:
                # the clip job's marker (common.smk, chunk_done); the clip files: params.files
                done=chunk_done(_dataset, "ingest", _k),
                # clip files index the source's frames; the pixels are read from the source
                sources=source_inputs(_dataset, _samples),
            output:
                done=touch(chunk_done(_dataset, "face2d", _k)),
                face2d=stage_files(_dataset, "face2d", _samples),
                # full size, on disk; the report shows thumbnails of some (rule qc_gallery)
                pictures=stage_files(_dataset, "face2d/qc", _samples, ".png"),
            log:
                f"{LOGS}/{_dataset}/face2d/chunk_{_k}.log",
            benchmark:
                f"{BENCHMARKS}/{_dataset}/face2d/chunk_{_k}.tsv"
            group:
                "sample"
            conda:
                "../../envs/face.yaml"
            threads: 1
            # measured on the default run, one sample a job: RSS 182 MB + 2.5 x clip MB, max
            # 421 MB, max 4 s; the QC picture max 450 MB, 4 s (72 samples). Samples run one
            # after another: memory is one sample's, runtime grows with the chunk.
            resources:
                mem_mb=lambda wildcards, attempt: 900 * attempt,
                runtime=lambda wildcards, attempt, n=len(_samples): attempt * (2 + n),
            params:
                samples=_samples,
                files={"clips": stage_files(_dataset, "clips", _samples)},
                dataset_name=_dataset,
                face2d=face2d_params(_dataset),
                failures=failure_files(_dataset, "face2d", _samples),
                version=config["versions"]["face2d"],
            script:
                "../scripts/face2d.py"
