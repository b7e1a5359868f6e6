# 3D face stage (workflow/microexp/cloud3d/): depth filters, point clouds, 3D landmarks, the
# nose-tip sphere crop and ICP onto the first frame; the QC picture and the onset/apex PLY
# files come from the same job (what it holds in memory; one job per sample fewer).


rule cloud3d:
    input:
        clip=stage_file("clips"),
        face2d=stage_file("face2d"),
        source=clip_inputs,
    output:
        cloud3d=stage_file("cloud3d"),
        # full size, on disk; the report shows thumbnails of some (rule qc_gallery)
        picture=f"{RESULTS}/{{dataset}}/cloud3d/qc/{{sample}}.png",
        ply=directory(f"{RESULTS}/{{dataset}}/cloud3d/ply/{{sample}}"),
    log:
        f"{LOGS}/{{dataset}}/cloud3d/{{sample}}.log",
    benchmark:
        f"{BENCHMARKS}/{{dataset}}/cloud3d/{{sample}}.tsv"
    group:
        "sample"
    conda:
        "../../envs/face.yaml"
    threads: 1
    # measured on the default run: RSS 240 MB + 2.8 x clip MB, max 515 MB, max 7 s; the QC
    # picture and PLYs max 256 MB, 3 s (72 samples). A bigger clip is retried with more.
    resources:
        mem_mb=lambda wildcards, attempt: 1100 * attempt,
        runtime=lambda wildcards, attempt: 3 * attempt,
    params:
        cloud3d=config["cloud3d"],
        failure=failure_file("cloud3d"),
        version=config["versions"]["cloud3d"],
    script:
        "../scripts/cloud3d.py"
