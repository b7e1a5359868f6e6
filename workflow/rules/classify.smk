# Classification and fusion (docs/methods.md#svm; workflow/microexp/learn/): one job per config
# entry of `experiments:` (classify_<entry>) and of `fusion:` (fusion_<entry>). A sweep's
# experiments share one job, because they share its work: each feature file is read once, every grid /
# overlap variant is evaluated on the same folds and SVM settings share Gram matrices. An entry
# with `settings_per_job: n` runs in chunks of n experiments (classify_<entry>_chunk<k>, one job
# each, for several cores or cluster nodes) and classify_<entry> merges the chunks' files into
# the entry's, identical to the unchunked job's. A fusion entry runs in one job
# (fusion_<entry>_all) or, with `split_jobs: true`, one per (scheme, protocol)
# (fusion_<entry>_<scheme>_<protocol>: the paper's nested a is the costliest part of a run, and
# the pairs share no work); fusion_<entry> joins their files and figures the same way.
# The rules give the scripts every path: the feature files as params, their chunk jobs'
# markers as inputs (common.smk, chunk_done).


CLASSIFY_JOBS = []  # (entry, data set, experiments, chunk k, rule-name / log suffix, outputs)
for _entry, _chunks in CLASSIFY_CHUNKS.items():
    _dataset = _chunks[0][0].dataset
    _final = {
        "scores": f"{RESULTS}/{_dataset}/scores/{_entry}.tsv",
        "excluded": f"{RESULTS}/{_dataset}/scores/{_entry}.excluded.tsv",
        "summary": f"{RESULTS}/{_dataset}/scores/{_entry}.json",
    }
    if len(_chunks) == 1:
        CLASSIFY_JOBS.append((_entry, _dataset, _chunks[0], 0, "", _final))
        continue
    for _k, _experiments in enumerate(_chunks):
        _outputs = chunk_outputs(_dataset, _entry, _k)
        CLASSIFY_JOBS.append((_entry, _dataset, _experiments, _k, f"_chunk{_k}", _outputs))
    _parts = [chunk_outputs(_dataset, _entry, k) for k in range(len(_chunks))]

    rule:
        name:
            f"classify_{rule_name(_entry)}"
        input:
            scores=[part["scores"] for part in _parts],
            excluded=[part["excluded"] for part in _parts],
            summary=[part["summary"] for part in _parts],
        output:
            **_final,
        log:
            f"{LOGS}/{_dataset}/classify/{_entry}.log",
        conda:
            "../../envs/classify.yaml"
        threads: 1
        resources:
            mem_mb=500,
            runtime=5,
        params:
            entry=_entry,
        script:
            "../scripts/classify_merge.py"


for _entry, _dataset, _experiments, _k, _suffix, _outputs in CLASSIFY_JOBS:

    rule:
        name:
            f"classify_{rule_name(_entry)}{_suffix}"
        input:
            samples=f"{RESULTS}/{_dataset}/samples.tsv",
            features=feature_chunks_done(_dataset, _experiments),
        output:
            **_outputs,
            predictions=prediction_files(_experiments),
        log:
            f"{LOGS}/{_dataset}/classify/{_entry}{_suffix}.log",
        benchmark:
            f"{BENCHMARKS}/{_dataset}/classify/{_entry}{_suffix}.tsv"
        conda:
            "../../envs/classify.yaml"
        threads: 1
        resources:
            mem_mb=lambda wildcards, attempt: 2000 * attempt,
            runtime=60,
        params:
            entry=_entry,
            chunk=_k,
            feature_files=feature_file_map(_dataset, _experiments),
            prediction_files=prediction_file_map(_experiments),
            fingerprint=fingerprint([e.as_config() for e in _experiments]),
            version=config["versions"]["classify"],
        script:
            "../scripts/classify.py"


for _entry, _fusion in FUSION_ENTRIES.items():
    _dataset = _fusion.dataset
    _parts = []  # (k, its (scheme, protocol) pairs, rule-name suffix, chunk files, runs folders)
    for _k, _pairs in enumerate(_fusion.part_jobs()):
        _suffix = "_".join(map(rule_name, _pairs[0])) if len(_pairs) == 1 else "all"
        _runs = [f"{RESULTS}/{_dataset}/fusion/{_entry}/{s}/{p}" for s, p in _pairs]
        _parts.append((_k, _pairs, _suffix, chunk_outputs(_dataset, _entry, _k), _runs))

    for _k, _pairs, _suffix, _outputs, _runs in _parts:

        rule:
            name:
                f"fusion_{rule_name(_entry)}_{_suffix}"
            input:
                samples=f"{RESULTS}/{_dataset}/samples.tsv",
                features=feature_chunks_done(_dataset, _fusion.experiments()),
            output:
                **_outputs,
                runs=[directory(runs) for runs in _runs],
            log:
                f"{LOGS}/{_dataset}/fusion/{_entry}_{_suffix}.log",
            benchmark:
                f"{BENCHMARKS}/{_dataset}/fusion/{_entry}_{_suffix}.tsv"
            # split parts start before the sweep chunks that become ready with them: at the
            # paper's size they are the longest jobs (~210-290 CPU-s each against ~135-180 for
            # a 58-setting chunk), and a long job started last leaves a core idle
            priority: 1 if _fusion.split_jobs else 0
            conda:
                "../../envs/classify.yaml"
            threads: 1
            resources:
                mem_mb=lambda wildcards, attempt: 2000 * attempt,
                runtime=60,
            params:
                entry=_entry,
                parts=_pairs,
                # the entry's runs folder: each pair's is <out_dir>/<scheme>/<protocol>
                out_dir=lambda wildcards, output: str(Path(output.runs[0]).parents[1]),
                feature_files=feature_file_map(_dataset, _fusion.experiments()),
                fingerprint=fingerprint(_fusion.as_config()),
                version=config["versions"]["classify"],
            script:
                "../scripts/fusion.py"

    rule:
        name:
            f"fusion_{rule_name(_entry)}"
        input:
            scores=[part[3]["scores"] for part in _parts],
            excluded=[part[3]["excluded"] for part in _parts],
            summary=[part[3]["summary"] for part in _parts],
            runs=[runs for part in _parts for runs in part[4]],
        output:
            scores=f"{RESULTS}/{_dataset}/scores/{_entry}.tsv",
            excluded=f"{RESULTS}/{_dataset}/scores/{_entry}.excluded.tsv",
            summary=f"{RESULTS}/{_dataset}/scores/{_entry}.json",
            figures=report(
                directory(f"{RESULTS}/figures/{_dataset}/fusion_{_entry}"),
                patterns=["{name}.png"],
                caption="../report/figure.rst",
                category="Fusion (DSME-3D Table 11)",
                subcategory=_dataset,
            ),
        log:
            f"{LOGS}/{_dataset}/fusion/{_entry}.log",
        conda:
            "../../envs/classify.yaml"
        threads: 1
        resources:
            mem_mb=500,
            runtime=5,
        params:
            entry=_entry,
            captions=Captions(f"{RESULTS}/figures/{_dataset}/fusion_{_entry}/captions.json"),
        script:
            "../scripts/fusion_merge.py"
