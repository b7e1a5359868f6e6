# 2D face stage (workflow/microexp/face2d/): landmarks on every frame, alignment on the first
# frame's inner eye corners, the 6 x 6-block crop; a QC picture per sample.


rule face2d:
    input:
        clip=stage_file("clips"),
    output:
        stage_file("face2d"),
    log:
        f"{LOGS}/{{dataset}}/face2d/{{sample}}.log",
    benchmark:
        f"{BENCHMARKS}/{{dataset}}/face2d/{{sample}}.tsv"
    group:
        "sample"
    conda:
        "../../envs/face.yaml"
    threads: 1
    # measured on the default run: RSS 182 MB + 2.5 x input MB, max 421 MB, max 4 s (72 samples)
    resources:
        mem_mb=lambda wildcards, input, attempt: attempt * max(900, 400 + 5 * input.size_mb),
        runtime=lambda wildcards, attempt: 2 * attempt,
    params:
        face2d=config["face2d"],
        failure=failure_file("face2d"),
        version=config["versions"]["face2d"],
    script:
        "../scripts/face2d.py"


rule face2d_qc:
    input:
        clip=stage_file("clips"),
        face2d=stage_file("face2d"),
    output:
        report(
            f"{RESULTS}/{{dataset}}/face2d/qc/{{sample}}.png",
            caption="../report/face2d_qc.rst",
            category="QC: 2D face",
            subcategory="{dataset}",
        ),
    log:
        f"{LOGS}/{{dataset}}/face2d_qc/{{sample}}.log",
    group:
        "sample"
    conda:
        "../../envs/face.yaml"
    threads: 1
    # measured on the default run: max RSS 450 MB, 4 s (the 4 largest clips)
    resources:
        mem_mb=lambda wildcards, input, attempt: attempt * max(900, 400 + 5 * input.size_mb),
        runtime=lambda wildcards, attempt: 2 * attempt,
    script:
        "../scripts/face2d_qc.py"
