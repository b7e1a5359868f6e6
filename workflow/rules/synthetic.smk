# The embedded synthetic RGB-D micro-expression data set (workflow/microexp/synthetic/).
# One job per sample renders it and writes it in its capture format with its truth; the
# annotation sheets and per-subject figures are gathered from the truth files.


rule synthetic:
    input:
        synthetic_targets(),


rule synthetic_frame_folder:
    output:
        folder=directory(f"{SYNTHETIC_RAW}/dsme3d/{{subject}}/{{subject}}_{{video}}"),
        truth=f"{SYNTHETIC_RAW}/truth/{{subject}}_{{video}}.npz",
    log:
        f"{LOGS}/generate/{{subject}}_{{video}}.log",
    benchmark:
        f"{BENCHMARKS}/generate/{{subject}}_{{video}}.tsv"
    wildcard_constraints:
        subject=subjects_regex(FORMAT_FRAMES),
    group:
        "sample"
    conda:
        "../../envs/synthetic.yaml"
    threads: 1
    # measured on the default run: max RSS 303 MB, max 19 s (72 samples)
    resources:
        mem_mb=lambda wildcards, attempt: 700 * attempt,
        runtime=lambda wildcards, attempt: 3 * attempt,
    params:
        root=lambda wildcards, output: raw_root(output.truth),
        fingerprint=synthetic_plan_fingerprint,
    script:
        "../scripts/synthetic_sample.py"


rule synthetic_recording:
    output:
        recording=f"{SYNTHETIC_RAW}/realsense/{{subject}}/{{subject}}_{{video}}.db3",
        truth=f"{SYNTHETIC_RAW}/truth/{{subject}}_{{video}}.npz",
    log:
        f"{LOGS}/generate/{{subject}}_{{video}}.log",
    benchmark:
        f"{BENCHMARKS}/generate/{{subject}}_{{video}}.tsv"
    wildcard_constraints:
        subject=subjects_regex(FORMAT_REALSENSE),
    group:
        "sample"
    conda:
        "../../envs/synthetic.yaml"
    threads: 1
    # measured on the default run: max RSS 303 MB, max 19 s (72 samples)
    resources:
        mem_mb=lambda wildcards, attempt: 700 * attempt,
        runtime=lambda wildcards, attempt: 3 * attempt,
    params:
        root=lambda wildcards, output: raw_root(output.truth),
        fingerprint=synthetic_plan_fingerprint,
    script:
        "../scripts/synthetic_sample.py"


rule synthetic_dsme3d_sheet:
    input:
        synthetic_truth(FORMAT_FRAMES),
    output:
        f"{SYNTHETIC_RAW}/dsme3d/micro-expression.xlsx",
    log:
        f"{LOGS}/generate/dsme3d_sheet.log",
    group:
        "dataset"
    conda:
        "../../envs/synthetic.yaml"
    threads: 1
    # measured on the default run: 123 MB, 1 s (63 samples)
    resources:
        mem_mb=300,
        runtime=2,
    params:
        root=lambda wildcards, output: raw_root(output[0]),
    script:
        "../scripts/synthetic_annotations.py"


rule synthetic_recording_sheet:
    input:
        synthetic_truth(FORMAT_REALSENSE),
    output:
        f"{SYNTHETIC_RAW}/realsense/annotations.tsv",
    log:
        f"{LOGS}/generate/realsense_sheet.log",
    group:
        "dataset"
    conda:
        "../../envs/synthetic.yaml"
    threads: 1
    # measured on the default run: 120 MB, 1 s (9 samples)
    resources:
        mem_mb=300,
        runtime=2,
    params:
        root=lambda wildcards, output: raw_root(output[0]),
    script:
        "../scripts/synthetic_annotations.py"


rule synthetic_subject_figure:
    input:
        lambda wildcards: expand(
            f"{SYNTHETIC_RAW}/truth/{{sample}}.npz",
            sample=[s for s, p in SYNTHETIC_PLANS.items() if p.subject == wildcards.subject],
        ),
    output:
        # full size, on disk; the report shows some as thumbnails (report.smk)
        f"{RESULTS}/synthetic/figures/subject_{{subject}}.png",
    log:
        f"{LOGS}/generate/figure_{{subject}}.log",
    group:
        "dataset"
    conda:
        "../../envs/synthetic.yaml"
    threads: 1
    # measured on the default run: max RSS 238 MB, 4 s (9 samples each)
    resources:
        mem_mb=500,
        runtime=2,
    params:
        fingerprint=lambda wildcards: fingerprint(SYNTHETIC.camera, config["versions"]),
    script:
        "../scripts/synthetic_figure.py"
