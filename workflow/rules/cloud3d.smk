# 3D face stage (workflow/microexp/cloud3d/): depth filters, point clouds, 3D landmarks, the
# nose-tip sphere crop and ICP onto the first frame; QC picture and onset/apex PLY files.


rule cloud3d:
    input:
        clip=stage_file("clips"),
        face2d=stage_file("face2d"),
    output:
        stage_file("cloud3d"),
    log:
        f"{LOGS}/{{dataset}}/cloud3d/{{sample}}.log",
    benchmark:
        f"{BENCHMARKS}/{{dataset}}/cloud3d/{{sample}}.tsv"
    group:
        "sample"
    conda:
        "../../envs/face.yaml"
    threads: 1
    # measured on the default run: RSS 240 MB + 2.8 x input MB, max 515 MB, max 7 s (72 samples)
    resources:
        mem_mb=lambda wildcards, input, attempt: attempt * max(1100, 500 + 6 * input.size_mb),
        runtime=lambda wildcards, attempt: 2 * attempt,
    params:
        cloud3d=config["cloud3d"],
        failure=failure_file("cloud3d"),
        version=config["versions"]["cloud3d"],
    script:
        "../scripts/cloud3d.py"


rule cloud3d_qc:
    input:
        clip=stage_file("clips"),
        cloud3d=stage_file("cloud3d"),
    output:
        picture=report(
            f"{RESULTS}/{{dataset}}/cloud3d/qc/{{sample}}.png",
            caption="../report/cloud3d_qc.rst",
            category="QC: 3D face",
            subcategory="{dataset}",
        ),
        ply=directory(f"{RESULTS}/{{dataset}}/cloud3d/ply/{{sample}}"),
    log:
        f"{LOGS}/{{dataset}}/cloud3d_qc/{{sample}}.log",
    group:
        "sample"
    conda:
        "../../envs/face.yaml"
    threads: 1
    # measured on the default run: max RSS 256 MB, 3 s (the 4 largest clips)
    resources:
        mem_mb=lambda wildcards, attempt: 600 * attempt,
        runtime=lambda wildcards, attempt: 2 * attempt,
    script:
        "../scripts/cloud3d_qc.py"
