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
        dataset=lambda wildcards: config["datasets"][wildcards.dataset],
        failures=lambda wildcards: f"{RESULTS}/{wildcards.dataset}/failures/ingest",
        version=config["versions"]["ingest"],
    script:
        "../scripts/ingest_samples.py"


rule ingest_clip:
    input:
        clip_inputs,
    output:
        f"{RESULTS}/{{dataset}}/clips/{{sample}}.npz",
    log:
        f"{LOGS}/{{dataset}}/ingest/{{sample}}.log",
    benchmark:
        f"{BENCHMARKS}/{{dataset}}/ingest/{{sample}}.tsv"
    group:
        "sample"
    conda:
        "../../envs/ingest.yaml"
    threads: 1
    # measured on the default run: RSS 153 MB + 2.2 x clip MB, max 398 MB, max 20 s (72 samples);
    # the clip's size is known only after the job, so a bigger one is retried with more
    resources:
        mem_mb=lambda wildcards, attempt: 800 * attempt,
        runtime=lambda wildcards, attempt: 3 * attempt,
    params:
        row=sample_row_of,
        dataset=lambda wildcards: config["datasets"][wildcards.dataset],
        failure=failure_file("ingest"),
        version=config["versions"]["ingest"],
    script:
        "../scripts/ingest_clip.py"
