# Flow stage (workflow/microexp/flow/): onset-apex TV-L1 optical flow on the aligned gray crop,
# optical strain, the 28 x 28 x 3 network input and the resampled clip (docs/flow.md), and the
# sample's QC picture, drawn by the same job from what it holds in memory.


rule flow:
    input:
        face2d=stage_file("face2d"),
    output:
        flow=stage_file("flow"),
        # Not embedded in the report one by one (its size would grow with the data set).
        picture=f"{RESULTS}/{{dataset}}/flow/qc/{{sample}}.png",
    log:
        f"{LOGS}/{{dataset}}/flow/{{sample}}.log",
    benchmark:
        f"{BENCHMARKS}/{{dataset}}/flow/{{sample}}.tsv"
    group:
        "sample"
    conda:
        "../../envs/face.yaml"
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: 600 * attempt,
        runtime=lambda wildcards, attempt: 2 * attempt,
    params:
        flow=config["flow"],
        failure=failure_file("flow"),
        version=config["versions"]["flow"],
    script:
        "../scripts/flow.py"
