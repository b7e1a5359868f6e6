# Capture ingestion (workflow/microexp/io/): annotation sheets -> samples.tsv; each sample's
# frames (RealSense recording or frame folder) -> one clip file with registered depth.


rule ingest_samples:
    input:
        annotation_inputs,
    output:
        samples=f"{RESULTS}/{{dataset}}/samples.tsv",
        summary=f"{RESULTS}/{{dataset}}/ingest/summary.json",
    log:
        f"{LOGS}/{{dataset}}/ingest_samples.log",
    conda:
        "../../envs/ingest.yaml"
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
    conda:
        "../../envs/ingest.yaml"
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        row=sample_row_of,
        dataset=lambda wildcards: config["datasets"][wildcards.dataset],
        failure=failure_file("ingest"),
        version=config["versions"]["ingest"],
    script:
        "../scripts/ingest_clip.py"
