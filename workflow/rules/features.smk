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
        lbp=names_regex(LBPTOP_SETTINGS),
    conda:
        "../../envs/features.yaml"
    resources:
        mem_mb=1500,
        runtime=5,
    params:
        setting=lambda wildcards: LBPTOP_SETTINGS[wildcards.lbp],
        failure=lambda wildcards: (
            f"{RESULTS}/{wildcards.dataset}/failures/lbptop/{wildcards.lbp}/{wildcards.sample}.json"
        ),
        version=config["versions"]["features"],
    script:
        "../scripts/lbptop.py"


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
    conda:
        "../../envs/features.yaml"
    resources:
        mem_mb=2000,
        runtime=5,
    params:
        setting=lambda wildcards: CURVATURE_SETTINGS[wildcards.curv],
        landmarks=config["features"]["landmarks"],
        failure=lambda wildcards: (
            f"{RESULTS}/{wildcards.dataset}/failures/curvature/{wildcards.curv}/{wildcards.sample}.json"
        ),
        version=config["versions"]["features"],
    script:
        "../scripts/curvature.py"
