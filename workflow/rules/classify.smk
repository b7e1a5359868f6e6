# Classification and fusion (docs/methods.md#svm; workflow/microexp/learn/): one job per config
# entry of `experiments:` (classify_<entry>) and of `fusion:` (fusion_<entry>). A sweep's
# experiments share one job, because they share its work: each feature file is read once, every grid /
# overlap variant is evaluated on the same folds and SVM settings share Gram matrices.


for _entry, _experiments in CLASSIFY_ENTRIES.items():
    _dataset = _experiments[0].dataset

    rule:
        name:
            f"classify_{rule_name(_entry)}"
        input:
            samples=f"{RESULTS}/{_dataset}/samples.tsv",
            features=feature_files(_dataset, _experiments),
        output:
            scores=f"{RESULTS}/{_dataset}/scores/{_entry}.tsv",
            excluded=f"{RESULTS}/{_dataset}/scores/{_entry}.excluded.tsv",
            summary=f"{RESULTS}/{_dataset}/scores/{_entry}.json",
            predictions=prediction_files(_experiments),
        log:
            f"{LOGS}/{_dataset}/classify/{_entry}.log",
        benchmark:
            f"{BENCHMARKS}/{_dataset}/classify/{_entry}.tsv"
        conda:
            "../../envs/classify.yaml"
        threads: 1
        resources:
            mem_mb=lambda wildcards, attempt: 2000 * attempt,
            runtime=60,
        params:
            results=lambda wildcards, output: folder_above(output.scores, 2),
            entry=_entry,
            fingerprint=fingerprint([e.as_config() for e in _experiments]),
            version=config["versions"]["classify"],
        script:
            "../scripts/classify.py"


for _entry, _fusion in FUSION_ENTRIES.items():
    _dataset = _fusion.dataset

    rule:
        name:
            f"fusion_{rule_name(_entry)}"
        input:
            samples=f"{RESULTS}/{_dataset}/samples.tsv",
            features=feature_files(_dataset, _fusion.experiments()),
        output:
            scores=f"{RESULTS}/{_dataset}/scores/{_entry}.tsv",
            excluded=f"{RESULTS}/{_dataset}/scores/{_entry}.excluded.tsv",
            summary=f"{RESULTS}/{_dataset}/scores/{_entry}.json",
            runs=directory(f"{RESULTS}/{_dataset}/fusion/{_entry}"),
            figures=report(
                directory(f"{RESULTS}/figures/{_dataset}/fusion_{_entry}"),
                patterns=["{name}.png"],
                caption="../report/figure.rst",
                category="Fusion (DSME-3D Table 11)",
                subcategory=_dataset,
            ),
        log:
            f"{LOGS}/{_dataset}/fusion/{_entry}.log",
        benchmark:
            f"{BENCHMARKS}/{_dataset}/fusion/{_entry}.tsv"
        conda:
            "../../envs/classify.yaml"
        threads: 1
        resources:
            mem_mb=lambda wildcards, attempt: 2000 * attempt,
            runtime=60,
        params:
            results=lambda wildcards, output: folder_above(output.scores, 2),
            entry=_entry,
            fingerprint=fingerprint(_fusion.as_config()),
            captions=Captions(f"{RESULTS}/figures/{_dataset}/fusion_{_entry}/captions.json"),
            version=config["versions"]["classify"],
        script:
            "../scripts/fusion.py"
