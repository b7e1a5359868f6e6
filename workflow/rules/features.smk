# Features (workflow/microexp/features/): LBP-TOP integral histograms per code setting (every
# block grid / overlap is a lookup on them) and curvature descriptors per setting.


rule lbptop:
    input:
        face2d=stage_file("face2d"),
    output:
        f"{RESULTS}/{{dataset}}/features/lbptop/{{lbp}}/{{sample}}.npz",
    log:
        f"{LOGS}/{{dataset}}/lbptop/{{lbp}}/{{sample}}.log",
    benchmark:
        f"{BENCHMARKS}/{{dataset}}/lbptop/{{lbp}}/{{sample}}.tsv"
    wildcard_constraints:
        lbp=names_regex([n for n in LBPTOP_SETTINGS if n not in LBPTOP_BATCHED]),
    group:
        "sample"
    conda:
        "../../envs/features.yaml"
    threads: 1
    # measured on the default run: RSS 351 MB + 11 x input MB, max 386 MB, max 5 s (72 samples);
    # memory from `attempt`, not the input's size: sizing every job from its files costs the
    # DAG a file-system round trip per job (about 15 % of a dry run at 1,000 samples)
    resources:
        mem_mb=lambda wildcards, attempt: 800 * attempt,
        runtime=lambda wildcards, attempt: 2 * attempt,
    params:
        setting=lambda wildcards: LBPTOP_SETTINGS[wildcards.lbp],
        failure=lambda wildcards: (
            f"{RESULTS}/{wildcards.dataset}/failures/lbptop/{wildcards.lbp}/{wildcards.sample}.json"
        ),
        version=config["versions"]["features"],
    script:
        "../scripts/lbptop.py"


for _entry, _names in LBPTOP_BATCHES.items():

    rule:
        name:
            f"lbptop_{rule_name(_entry)}"
        input:
            face2d=stage_file("face2d"),
        output:
            [f"{RESULTS}/{{dataset}}/features/lbptop/{name}/{{sample}}.npz" for name in _names],
        log:
            f"{LOGS}/{{dataset}}/lbptop/{_entry}/{{sample}}.log",
        benchmark:
            f"{BENCHMARKS}/{{dataset}}/lbptop/{_entry}/{{sample}}.tsv"
        group:
            "sample"
        conda:
            "../../envs/features.yaml"
        threads: 1
        # as lbptop (one face2d input), max 5 s per setting: 10 s a setting with margin
        resources:
            mem_mb=lambda wildcards, attempt: 800 * attempt,
            runtime=lambda wildcards, attempt, n=len(_names): attempt * (2 + n // 6),
        params:
            settings=[LBPTOP_SETTINGS[name] for name in _names],
            version=config["versions"]["features"],
        script:
            "../scripts/lbptop_batch.py"


rule curvature:
    input:
        face2d=stage_file("face2d"),
        cloud3d=stage_file("cloud3d"),
    output:
        f"{RESULTS}/{{dataset}}/features/curvature/{{curv}}/{{sample}}.npz",
    log:
        f"{LOGS}/{{dataset}}/curvature/{{curv}}/{{sample}}.log",
    benchmark:
        f"{BENCHMARKS}/{{dataset}}/curvature/{{curv}}/{{sample}}.tsv"
    wildcard_constraints:
        curv=names_regex(CURVATURE_SETTINGS),
    group:
        "sample"
    conda:
        "../../envs/features.yaml"
    threads: 1
    # measured on the default run: RSS 371 MB + 8 x input MB, max 419 MB, max 3 s (72 samples)
    resources:
        mem_mb=lambda wildcards, attempt: 900 * attempt,
        runtime=lambda wildcards, attempt: 2 * attempt,
    params:
        setting=lambda wildcards: CURVATURE_SETTINGS[wildcards.curv],
        landmarks=config["features"]["landmarks"],
        failure=lambda wildcards: (
            f"{RESULTS}/{wildcards.dataset}/failures/curvature/{wildcards.curv}/{wildcards.sample}.json"
        ),
        version=config["versions"]["features"],
    script:
        "../scripts/curvature.py"
