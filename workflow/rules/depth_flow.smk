# Depth flow (CAS(ME)^3 Sec. 5; docs/depth_flow.md; workflow/microexp/features/lk3d.py,
# rgbd.py, depth_sample.py): RGB-D tensors of the aligned onset and apex face crops, pyramidal
# 3D Lucas-Kanade flow between them, the 2D optical flow of the same crops, their block
# histograms and the QC picture, for the data sets listed under depth_flow.datasets.


rule depth_flow:
    input:
        clip=stage_file("clips"),
        face2d=stage_file("face2d"),
    output:
        flow=stage_file("depth_flow"),
        # Not embedded in the report one by one (its size would grow with the data set).
        picture=f"{RESULTS}/{{dataset}}/depth_flow/qc/{{sample}}.png",
    log:
        f"{LOGS}/{{dataset}}/depth_flow/{{sample}}.log",
    benchmark:
        f"{BENCHMARKS}/{{dataset}}/depth_flow/{{sample}}.tsv"
    group:
        "sample"
    conda:
        "../../envs/features.yaml"
    threads: 1
    # a 168 x 168 x ~120 tensor pair: ~2 s on one core, well under 1 GB (benchmarks/
    # bench_depth_flow.py: 200 x 200 x 400 within 1 GB).
    resources:
        mem_mb=lambda wildcards, attempt: 1500 * attempt,
        runtime=lambda wildcards, attempt: 5 * attempt,
    params:
        depth_flow=config["depth_flow"],
        failure=failure_file("depth_flow"),
        version=config["versions"]["depth_flow"],
    script:
        "../scripts/depth_flow.py"


# The RGB vs RGB-D study of a data set (microexp.evaluate.rgbd_study): 4- and 7-class, LOSO,
# 2D-flow vs depth-flow histograms and their nested / oracle probability fusion.
rule rgbd_table:
    input:
        samples=f"{RESULTS}/{{dataset}}/samples.tsv",
        flows=depth_flow_inputs,
    output:
        tsv=f"{RESULTS}/tables/{{dataset}}/rgbd_vs_rgb.tsv",
        md=f"{RESULTS}/tables/{{dataset}}/rgbd_vs_rgb.md",
        json=f"{RESULTS}/tables/{{dataset}}/rgbd_vs_rgb.json",
    log:
        f"{LOGS}/{{dataset}}/tables/rgbd_vs_rgb.log",
    benchmark:
        f"{BENCHMARKS}/{{dataset}}/tables/rgbd_vs_rgb.tsv"
    group:
        "dataset"
    conda:
        "../../envs/classify.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        seed=config["seed"],
        class_schemes=config["class_schemes"],
        version=config["versions"]["depth_flow"],
    script:
        "../scripts/rgbd_table.py"
