# Capture ingestion (workflow/microexp/io/): annotation sheets -> samples.tsv; each sample's
# frames (RealSense recording or frame folder) are read and checked, and one clip file
# indexes them (frame numbers, timestamps, camera, markers; no pixels, so no second copy of
# the database): face2d and cloud3d read the pixels from the source at those frames.


rule ingest_samples:
    input:
        annotation_inputs,
    output:
        samples=f"{RESULTS}/{{dataset}}/samples.tsv",
        summary=f"{RESULTS}/{{dataset}}/ingest/summary.json",
        annotations=f"{RESULTS}/{{dataset}}/ingest/annotations.tsv",
    log:
        f"{LOGS}/{{dataset}}/ingest_samples.log",
    group:
        "dataset"
    conda:
        "../../envs/ingest.yaml"
    threads: 1
    # measured on the default run: 113 MB, 1 s (72 samples)
    resources:
        mem_mb=300,
        runtime=2,
    params:
        dataset=lambda wildcards: dataset_config(wildcards.dataset),
        failures=lambda wildcards: f"{RESULTS}/{wildcards.dataset}/failures/ingest",
        version=config["versions"]["ingest"],
    script:
        "../scripts/ingest_samples.py"


for _dataset, _chunks in SAMPLE_CHUNKS.items():
    for _k, _samples in enumerate(_chunks):

        rule:
            name:
                chunk_rule("ingest_clip", _dataset, _k)
            input:
                source_inputs(_dataset, _samples),
            output:
                done=touch(chunk_done(_dataset, "ingest", _k)),
                clips=stage_files(_dataset, "clips", _samples),
            log:
                f"{LOGS}/{_dataset}/ingest/chunk_{_k}.log",
            benchmark:
                f"{BENCHMARKS}/{_dataset}/ingest/chunk_{_k}.tsv"
            group:
                "sample"
            conda:
                "../../envs/ingest.yaml"
            threads: 1
            # measured on the default run, one sample a job: RSS 153 MB + 2.2 x clip MB (full
            # frames in memory), max 398 MB, max 20 s (72 samples); samples run one after
            # another, so memory is one sample's and runtime grows with the chunk
            resources:
                mem_mb=lambda wildcards, attempt: 800 * attempt,
                runtime=lambda wildcards, attempt, n=len(_samples): attempt * (2 + n),
            params:
                samples=_samples,
                # what a clip is cut from: a label edit does not rerun the clip
                rows=[clip_row(DATASET_SAMPLES[_dataset][s]) for s in _samples],
                dataset_name=_dataset,
                dataset=config["datasets"][_dataset],
                failures=failure_files(_dataset, "ingest", _samples),
                version=config["versions"]["ingest"],
            script:
                "../scripts/ingest_clip.py"
