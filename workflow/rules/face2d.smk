# 2D face stage (workflow/microexp/face2d/): landmarks on every frame, alignment on the first
# frame's inner eye corners, the 6 x 6-block crop, and the sample's QC picture. The picture is
# drawn by the same job from what it holds in memory: a separate QC job per sample would read
# the clip again and add a job per sample to every DAG.


rule face2d:
    input:
        clip=stage_file("clips"),
        # the clip file indexes the source's frames; the pixels are read from the source
        source=clip_inputs,
    output:
        face2d=stage_file("face2d"),
        # full size, on disk; the report shows thumbnails of some (rule qc_gallery)
        picture=f"{RESULTS}/{{dataset}}/face2d/qc/{{sample}}.png",
    log:
        f"{LOGS}/{{dataset}}/face2d/{{sample}}.log",
    benchmark:
        f"{BENCHMARKS}/{{dataset}}/face2d/{{sample}}.tsv"
    group:
        "sample"
    conda:
        "../../envs/face.yaml"
    threads: 1
    # measured on the default run: RSS 182 MB + 2.5 x clip MB, max 421 MB, max 4 s; the QC
    # picture max 450 MB, 4 s (72 samples). Clips hold the expression window only, so the
    # size varies little; a bigger one is retried with more.
    resources:
        mem_mb=lambda wildcards, attempt: 900 * attempt,
        runtime=lambda wildcards, attempt: 3 * attempt,
    params:
        face2d=lambda wildcards: face2d_params(wildcards.dataset),
        failure=failure_file("face2d"),
        version=config["versions"]["face2d"],
    script:
        "../scripts/face2d.py"
