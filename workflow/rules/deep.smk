# DSME-3D Table 12 (workflow/microexp/learn/deep/, evaluate/table12.py): the deep 2D networks
# on the flow stage's inputs, alone and fused with the 3D curvature SVMs (oracle and nested a),
# three classes, LOSO. One job per data set: the folds' networks train together in its threads
# (learn/deep/__init__.py: three ways to train).


rule table12:
    input:
        samples=f"{RESULTS}/{{dataset}}/samples.tsv",
        # the flow and curvature jobs' chunk markers (common.smk, chunk_done); the files: params
        flow=lambda wildcards: chunks_done(wildcards.dataset, "flow"),
        curvature=lambda wildcards: chunks_done(
            wildcards.dataset, f"curvature/{table12_curvature_setting(wildcards)}"
        ),
    output:
        tsv=f"{RESULTS}/tables/{{dataset}}/table12.tsv",
        md=f"{RESULTS}/tables/{{dataset}}/table12.md",
        tex=f"{RESULTS}/tables/{{dataset}}/table12.tex",
        html=report(
            f"{RESULTS}/tables/{{dataset}}/table12.html",
            caption="../report/table12.rst",
            category="Tables",
            subcategory="{dataset}",
            labels={"table": "table12"},
        ),
        scores=f"{RESULTS}/{{dataset}}/scores/table12.tsv",
        predictions=f"{RESULTS}/{{dataset}}/table12/predictions.parquet",
    log:
        f"{LOGS}/{{dataset}}/table12.log",
    benchmark:
        f"{BENCHMARKS}/{{dataset}}/table12.tsv"
    conda:
        "../../envs/classify.yaml"
    threads: 2
    resources:
        mem_mb=lambda wildcards, attempt: 4000 * attempt,
        runtime=lambda wildcards, attempt: 60 * attempt,
    params:
        entry=lambda wildcards: table12_entry(wildcards.dataset),
        flow_files=lambda wildcards: stage_files(
            wildcards.dataset, "flow", samples_of(wildcards.dataset)
        ),
        curvature_files=lambda wildcards: stage_files(
            wildcards.dataset,
            f"features/curvature/{table12_curvature_setting(wildcards)}",
            samples_of(wildcards.dataset),
        ),
        schemes=config.get("class_schemes", {}),
        seed=config["seed"],
        layout=lambda wildcards: config["datasets"][wildcards.dataset]["layout"],
        failures=lambda wildcards: f"{RESULTS}/{wildcards.dataset}/failures",
        version=config["versions"]["deep"],
    script:
        "../scripts/table12.py"
