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
    conda:
        "../../envs/face.yaml"
    resources:
        mem_mb=3000,
        runtime=10,
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
    conda:
        "../../envs/face.yaml"
    script:
        "../scripts/cloud3d_qc.py"
