# Paper tables and their figures (docs/tables.md; workflow/microexp/evaluate/): which tables exist
# is known from the config when the workflow is parsed (microexp.evaluate.plan), so each table
# is one job, `paper_table`, reading the scores of the entries that fill it.


rule paper_table:
    input:
        unpack(paper_table_inputs),
    output:
        tsv=f"{RESULTS}/tables/{{dataset}}/{{table}}.tsv",
        md=f"{RESULTS}/tables/{{dataset}}/{{table}}.md",
        tex=f"{RESULTS}/tables/{{dataset}}/{{table}}.tex",
        html=report(
            f"{RESULTS}/tables/{{dataset}}/{{table}}.html",
            caption="../report/table.rst",
            category="Tables",
            subcategory="{dataset}",
            labels={"table": "{table}"},
        ),
        figures=report(
            directory(f"{RESULTS}/figures/{{dataset}}/{{table}}"),
            patterns=["{name}.png"],
            caption="../report/figure.rst",
            category="Figures",
            subcategory="{dataset}",
        ),
    log:
        f"{LOGS}/{{dataset}}/tables/{{table}}.log",
    benchmark:
        f"{BENCHMARKS}/{{dataset}}/tables/{{table}}.tsv"
    wildcard_constraints:
        table=r"(dsme3d|casme2)_[A-Za-z0-9_.-]+",
    conda:
        "../../envs/classify.yaml"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=10,
    params:
        prediction_files=lambda wildcards: prediction_file_map(table_experiments(wildcards)),
        plan=table_plan,
        layout=lambda wildcards: config["datasets"][wildcards.dataset]["layout"],
        failures=lambda wildcards: f"{RESULTS}/{wildcards.dataset}/failures",
        captions=lambda wildcards: Captions(
            f"{RESULTS}/figures/{wildcards.dataset}/{wildcards.table}/captions.json"
        ),
    script:
        "../scripts/paper_table.py"


rule excluded_samples:
    input:
        excluded_inputs,
    output:
        tsv=f"{RESULTS}/tables/{{dataset}}/excluded_samples.tsv",
        md=f"{RESULTS}/tables/{{dataset}}/excluded_samples.md",
        captions=f"{RESULTS}/tables/{{dataset}}/excluded_samples.captions.json",
        html=report(
            f"{RESULTS}/tables/{{dataset}}/excluded_samples.html",
            caption="../report/table.rst",
            category="Excluded samples",
            subcategory="{dataset}",
        ),
    log:
        f"{LOGS}/{{dataset}}/tables/excluded_samples.log",
    conda:
        "../../envs/classify.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        failures=lambda wildcards: f"{RESULTS}/{wildcards.dataset}/failures",
        captions=lambda wildcards: Captions(
            f"{RESULTS}/tables/{wildcards.dataset}/excluded_samples.captions.json"
        ),
    script:
        "../scripts/excluded_samples.py"
