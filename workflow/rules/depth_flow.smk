# Depth flow (CAS(ME)^3 Sec. 5; docs/depth_flow.md; workflow/microexp/features/lk3d.py,
# rgbd.py, depth_sample.py): RGB-D tensors of the aligned onset and apex face crops, pyramidal
# 3D Lucas-Kanade flow between them, the 2D optical flow of the same crops, their block
# histograms and the QC picture, for the data sets listed under depth_flow.datasets. One job per
# chunk of samples (common.smk, SAMPLE_CHUNKS): start-up and numba compilation once per job.


for _dataset in depth_flow_datasets():
    for _k, _samples in enumerate(SAMPLE_CHUNKS[_dataset]):

        rule:
            name:
                chunk_rule("depth_flow", _dataset, _k)
            input:
                # the clip and face2d jobs' markers (common.smk, chunk_done); files: params.files
                done=[chunk_done(_dataset, stage, _k) for stage in ("ingest", "face2d")],
                # clip files index the source's frames; the depth is read from the source
                sources=source_inputs(_dataset, _samples),
            output:
                done=touch(chunk_done(_dataset, "depth_flow", _k)),
                flows=stage_files(_dataset, "depth_flow", _samples),
                # Not embedded in the report one by one (rule qc_gallery shows some).
                pictures=stage_files(_dataset, "depth_flow/qc", _samples, ".png"),
            log:
                f"{LOGS}/{_dataset}/depth_flow/chunk_{_k}.log",
            benchmark:
                f"{BENCHMARKS}/{_dataset}/depth_flow/chunk_{_k}.tsv"
            group:
                "sample"
            conda:
                "../../envs/features.yaml"
            threads: 1
            # a 168 x 168 x ~120 tensor pair: ~2 s on one core, well under 1 GB (benchmarks/
            # bench_depth_flow.py: 200 x 200 x 400 within 1 GB). Samples run one after
            # another: memory is one sample's, runtime grows with the chunk.
            resources:
                mem_mb=lambda wildcards, attempt: 1500 * attempt,
                runtime=lambda wildcards, attempt, n=len(_samples): attempt * (2 + n),
            params:
                samples=_samples,
                files={
                    "clips": stage_files(_dataset, "clips", _samples),
                    "face2d": stage_files(_dataset, "face2d", _samples),
                },
                dataset_name=_dataset,
                depth_flow=depth_flow_params(),
                failures=failure_files(_dataset, "depth_flow", _samples),
                version=config["versions"]["depth_flow"],
            script:
                "../scripts/depth_flow.py"


# The RGB vs RGB-D study of a data set (microexp.evaluate.rgbd_study): 4- and 7-class, LOSO,
# 2D-flow vs depth-flow histograms and their nested / oracle probability fusion.
rule rgbd_table:
    input:
        samples=f"{RESULTS}/{{dataset}}/samples.tsv",
        # the depth_flow jobs' chunk markers (common.smk, chunk_done); the files: params.flows
        flows=lambda wildcards: chunks_done(wildcards.dataset, "depth_flow"),
    output:
        tsv=f"{RESULTS}/tables/{{dataset}}/rgbd_vs_rgb.tsv",
        md=f"{RESULTS}/tables/{{dataset}}/rgbd_vs_rgb.md",
        tex=f"{RESULTS}/tables/{{dataset}}/rgbd_vs_rgb.tex",
        html=report(
            f"{RESULTS}/tables/{{dataset}}/rgbd_vs_rgb.html",
            caption="../report/rgbd_table.rst",
            category="Tables",
            subcategory="{dataset}",
            labels={"table": "rgbd_vs_rgb"},
        ),
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
        flows=depth_flow_files,
        seed=config["seed"],
        class_schemes=config["class_schemes"],
        expression_types=config["depth_flow"]["expression_types"],
        layout=lambda wildcards: config["datasets"][wildcards.dataset]["layout"],
        version=config["versions"]["depth_flow"],
    script:
        "../scripts/rgbd_table.py"
