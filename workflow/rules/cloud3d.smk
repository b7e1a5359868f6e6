# 3D face stage (workflow/microexp/cloud3d/): depth filters, point clouds, 3D landmarks, the
# nose-tip sphere crop and ICP onto the first frame; the QC picture and the onset/apex PLY
# files come from the same job (what it holds in memory). One job per chunk of samples
# (common.smk, SAMPLE_CHUNKS).


for _dataset, _chunks in SAMPLE_CHUNKS.items():
    if _dataset in DATASETS_2D:  # no depth: no 3D stage (common.smk)
        continue
    for _k, _samples in enumerate(_chunks):

        rule:
            name:
                chunk_rule("cloud3d", _dataset, _k)
            input:
                # the clip and face2d jobs' markers (common.smk, chunk_done); files: params.files
                done=[chunk_done(_dataset, stage, _k) for stage in ("ingest", "face2d")],
                # clip files index the source's frames; the pixels are read from the source
                sources=source_inputs(_dataset, _samples),
            output:
                done=touch(chunk_done(_dataset, "cloud3d", _k)),
                cloud3d=stage_files(_dataset, "cloud3d", _samples),
                # full size, on disk; the report shows thumbnails of some (rule qc_gallery)
                pictures=stage_files(_dataset, "cloud3d/qc", _samples, ".png"),
                ply=[
                    directory(folder)
                    for folder in stage_files(_dataset, "cloud3d/ply", _samples, "")
                ],
            log:
                f"{LOGS}/{_dataset}/cloud3d/chunk_{_k}.log",
            benchmark:
                f"{BENCHMARKS}/{_dataset}/cloud3d/chunk_{_k}.tsv"
            group:
                "sample"
            conda:
                "../../envs/face.yaml"
            threads: 1
            # measured on the default run, one sample a job: RSS 240 MB + 2.8 x clip MB, max
            # 515 MB, max 7 s; the QC picture and PLYs max 256 MB, 3 s (72 samples). Samples
            # run one after another: memory is one sample's, runtime grows with the chunk.
            resources:
                mem_mb=lambda wildcards, attempt: 1100 * attempt,
                runtime=lambda wildcards, attempt, n=len(_samples): attempt * (2 + n),
            params:
                samples=_samples,
                files={
                    "clips": stage_files(_dataset, "clips", _samples),
                    "face2d": stage_files(_dataset, "face2d", _samples),
                },
                dataset_name=_dataset,
                cloud3d=config["cloud3d"],
                failures=failure_files(_dataset, "cloud3d", _samples),
                version=config["versions"]["cloud3d"],
            script:
                "../scripts/cloud3d.py"
