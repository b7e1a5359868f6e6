# Spotting in long videos (workflow/microexp/spotting/, evaluate/spotting.py): synthetic long
# videos with truth, whole-video ingestion (stream, track, crop), one job per method and
# video for the score curves and intervals, then per data set the table under both countings,
# the F1-vs-threshold curve and a picture per video. Data sets: config `spotting.datasets`.


wildcard_constraints:
    spot_set="|".join(SPOTTING.get("datasets", {})) or "no_spotting_set",
    spot_video=r"[^/]+",
    spot_subject=r"[^/]+",
    spot_folder="|".join(plan.folder_name for plan in SPOT_PLANS.values()) or "no_folder",
    method="|".join(["mdmd", "lbp", "depth", "lbp_depth"]),


rule spotting:
    input:
        spotting_targets(),


rule spotting_synthetic_video:
    input:
        photo_landmarks=rules.synthetic_photo_landmarks.output[0],
    output:
        frames=directory(f"{SPOT_RAW}/casme_sq/rawpic/{{spot_subject}}/{{spot_folder}}"),
        recording=f"{SPOT_RAW}/realsense/{{spot_subject}}/{{spot_folder}}.db3",
        truth=f"{SPOT_RAW}/truth/{{spot_subject}}/{{spot_folder}}.npz",
    log:
        f"{LOGS}/generate/spotting/{{spot_subject}}/{{spot_folder}}.log",
    benchmark:
        f"{BENCHMARKS}/generate/spotting/{{spot_subject}}/{{spot_folder}}.tsv"
    conda:
        "../../envs/synthetic.yaml"
    threads: 1
    # measured under load: 0.3 s and ~0.5 MB of recording a frame, RSS ~600 MB
    resources:
        mem_mb=lambda wildcards, attempt: 1500 * attempt,
        runtime=lambda wildcards, attempt: 30 * attempt,
    params:
        root=lambda wildcards, output: str(Path(output.truth).parents[2]),
        plan=lambda wildcards: repr(
            next(p for p in SPOT_PLANS.values() if p.folder_name == wildcards.spot_folder)
        ),
        version=config["versions"].get("spotting", 1),
    script:
        "../scripts/spotting_synthetic_video.py"


rule spotting_synthetic_sheets:
    output:
        casme_sq=f"{SPOT_RAW}/casme_sq/CAS(ME)^2code_final.xlsx",
        generic=f"{SPOT_RAW}/realsense/annotations.tsv",
    log:
        f"{LOGS}/generate/spotting/sheets.log",
    conda:
        "../../envs/synthetic.yaml"
    threads: 1
    resources:
        mem_mb=400,
        runtime=2,
    params:
        plans=repr(sorted(SPOT_PLANS.items())),
    script:
        "../scripts/spotting_synthetic_sheets.py"


rule spotting_truth:
    input:
        sheet=spot_sheet,
    output:
        truth=f"{RESULTS}/{{spot_set}}/spotting/truth.tsv",
    log:
        f"{LOGS}/{{spot_set}}/spotting/truth.log",
    conda:
        "../../envs/ingest.yaml"
    threads: 1
    resources:
        mem_mb=400,
        runtime=2,
    params:
        layout=lambda wildcards: SPOTTING["datasets"][wildcards.spot_set]["layout"],
    script:
        "../scripts/spotting_truth.py"


rule spotting_crops:
    input:
        source=lambda wildcards: SPOT_SOURCES[wildcards.spot_set][wildcards.spot_video],
    output:
        crops=f"{RESULTS}/{{spot_set}}/spotting/crops/{{spot_video}}.npz",
    log:
        f"{LOGS}/{{spot_set}}/spotting/crops/{{spot_video}}.log",
    benchmark:
        f"{BENCHMARKS}/{{spot_set}}/spotting/crops/{{spot_video}}.tsv"
    conda:
        "../../envs/face.yaml"
    threads: 1
    # whole videos streamed: memory grows by 28 KB a frame (crops) over ~300 MB of libraries
    resources:
        mem_mb=lambda wildcards, attempt: 1000 * attempt,
        runtime=lambda wildcards, attempt: 30 * attempt,
    params:
        face2d=config["face2d"],
        smoothing=SPOTTING.get("alignment_smoothing_frames", 3),
        # frame folders: (color, depth) sub-folders (casme3_a: color/, depth/)
        frame_layout=lambda wildcards: spot_frame_layout(wildcards.spot_set),
        depth_scale=lambda wildcards: SPOTTING["datasets"][wildcards.spot_set].get(
            "depth_scale", 0.001
        ),
        intrinsics=lambda wildcards: SPOTTING["datasets"][wildcards.spot_set].get("intrinsics"),
        depth_registration=lambda wildcards: SPOTTING["datasets"][wildcards.spot_set].get(
            "depth_registration", SPOTTING.get("depth_registration", "icp")
        ),
        icp_step=SPOTTING.get("icp_step", 6),
        icp={**config["cloud3d"]["icp"], **SPOTTING.get("icp", {})},
        failure=lambda wildcards: f"{RESULTS}/{wildcards.spot_set}/failures/spotting/{wildcards.spot_video}.json",
        version=config["versions"].get("spotting", 1),
    script:
        "../scripts/spotting_crops.py"


rule spotting_method:
    input:
        crops=rules.spotting_crops.output.crops,
    output:
        scores=f"{RESULTS}/{{spot_set}}/spotting/{{method}}/{{spot_video}}.npz",
        intervals=f"{RESULTS}/{{spot_set}}/spotting/{{method}}/{{spot_video}}.tsv",
    log:
        f"{LOGS}/{{spot_set}}/spotting/{{method}}/{{spot_video}}.log",
    benchmark:
        f"{BENCHMARKS}/{{spot_set}}/spotting/{{method}}/{{spot_video}}.tsv"
    conda:
        "../../envs/features.yaml"
    threads: 1
    resources:
        mem_mb=lambda wildcards, attempt: 800 * attempt,
        runtime=lambda wildcards, attempt: 10 * attempt,
    params:
        fps=lambda wildcards: SPOTTING["datasets"][wildcards.spot_set]["fps"],
        method=lambda wildcards: {
            key: value for key, value in SPOTTING.items() if key not in ("datasets", "synthetic")
        },
        failure=lambda wildcards: f"{RESULTS}/{wildcards.spot_set}/failures/spotting/{wildcards.method}_{wildcards.spot_video}.json",
        version=config["versions"].get("spotting", 1),
    script:
        "../scripts/spotting_method.py"


rule spotting_table:
    input:
        truth=rules.spotting_truth.output.truth,
        scores=lambda wildcards: spot_method_files(wildcards.spot_set, "npz"),
        intervals=lambda wildcards: spot_method_files(wildcards.spot_set, "tsv"),
    output:
        tsv=f"{RESULTS}/tables/{{spot_set}}/spotting.tsv",
        md=f"{RESULTS}/tables/{{spot_set}}/spotting.md",
        html=report(
            f"{RESULTS}/tables/{{spot_set}}/spotting.html",
            caption="../report/spotting_table.rst",
            category="Spotting",
            subcategory="{spot_set}",
        ),
        curve_tsv=f"{RESULTS}/tables/{{spot_set}}/spotting_f1_threshold.tsv",
        curve_png=report(
            f"{RESULTS}/figures/{{spot_set}}/spotting/f1_threshold.png",
            caption="../report/spotting_curve.rst",
            category="Spotting",
            subcategory="{spot_set}",
        ),
    log:
        f"{LOGS}/{{spot_set}}/spotting/table.log",
    conda:
        "../../envs/features.yaml"
    threads: 1
    resources:
        mem_mb=800,
        runtime=10,
    params:
        methods=lambda wildcards: SPOTTING["datasets"][wildcards.spot_set]["methods"],
        videos=lambda wildcards: sorted(SPOT_SOURCES[wildcards.spot_set]),
        method_dir=lambda wildcards: f"{RESULTS}/{wildcards.spot_set}/spotting",
    script:
        "../scripts/spotting_table.py"


rule spotting_video_figure:
    input:
        truth=rules.spotting_truth.output.truth,
        scores=lambda wildcards: spot_method_files(wildcards.spot_set, "npz", wildcards.spot_video),
        intervals=lambda wildcards: spot_method_files(
            wildcards.spot_set, "tsv", wildcards.spot_video
        ),
    output:
        report(
            f"{RESULTS}/figures/{{spot_set}}/spotting/videos/{{spot_video}}.png",
            caption="../report/spotting_video.rst",
            category="Spotting",
            subcategory="{spot_set}",
        ),
    log:
        f"{LOGS}/{{spot_set}}/spotting/figures/{{spot_video}}.log",
    conda:
        "../../envs/features.yaml"
    threads: 1
    resources:
        mem_mb=600,
        runtime=5,
    params:
        methods=lambda wildcards: SPOTTING["datasets"][wildcards.spot_set]["methods"],
    script:
        "../scripts/spotting_video_figure.py"
