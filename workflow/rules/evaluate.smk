# Paper tables and their figures (SPEC.md 7; workflow/microexp/evaluate/): which tables exist
# is known from the config when the workflow is parsed (microexp.evaluate.plan), so each table
# is one job, `paper_table`, reading the scores of the entries that fill it.


def table_plan(wildcards):
    return TABLE_PLANS[wildcards.dataset][wildcards.table]


def entry_outputs(dataset: str, entry: str, suffix: str) -> str:
    return f"{RESULTS}/{dataset}/scores/{entry}{suffix}"


def paper_table_inputs(wildcards) -> dict[str, list[str]]:
    plan = table_plan(wildcards)
    experiments = [
        e for entry in plan.entries for e in CLASSIFY_ENTRIES.get(entry, []) if e.kind == plan.kind
    ]
    return {
        "scores": [entry_outputs(plan.dataset, e, ".tsv") for e in plan.entries],
        "summaries": [entry_outputs(plan.dataset, e, ".json") for e in plan.entries],
        "predictions": prediction_files(experiments),
    }


def table_targets() -> list[str]:
    targets = []
    for dataset, plans in TABLE_PLANS.items():
        for table in plans:
            targets += expand(
                f"{RESULTS}/tables/{dataset}/{table}.{{suffix}}", suffix=TABLE_SUFFIXES
            )
    for dataset in dict.fromkeys([*TABLE_PLANS, *config["datasets"]]):
        targets.append(f"{RESULTS}/tables/{dataset}/excluded_samples.html")
    return targets


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
        plan=table_plan,
        layout=lambda wildcards: config["datasets"][wildcards.dataset]["layout"],
        failures=lambda wildcards: f"{RESULTS}/{wildcards.dataset}/failures",
        results=RESULTS,
        captions=lambda wildcards: Captions(
            f"{RESULTS}/figures/{wildcards.dataset}/{wildcards.table}/captions.json"
        ),
    script:
        "../scripts/paper_table.py"


def excluded_inputs(wildcards) -> list[str]:
    """Everything that can exclude a sample of the data set: every per-sample output (failure
    records are written beside them) and the experiments' exclusion lists."""
    files = face_targets_of(wildcards.dataset)
    for entry, experiments in CLASSIFY_ENTRIES.items():
        if experiments[0].dataset == wildcards.dataset:
            files.append(entry_outputs(wildcards.dataset, entry, ".excluded.tsv"))
    for entry, fusion in FUSION_ENTRIES.items():
        if fusion.dataset == wildcards.dataset:
            files.append(entry_outputs(wildcards.dataset, entry, ".excluded.tsv"))
    return files


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
