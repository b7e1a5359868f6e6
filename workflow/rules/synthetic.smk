# The embedded synthetic RGB-D micro-expression data set (workflow/microexp/synthetic/).
# One job per subject builds the subject's face once (seconds) and renders each of its
# samples, written in the subject's capture format with its truth, and draws the subject's
# figure from the face it holds (a job of its own would build the face again); the annotation
# sheets are gathered from the truth files. The source photograph's landmarks are calibrated
# with dlib once a run, not once a subject job.


rule synthetic:
    input:
        synthetic_targets(),


rule synthetic_photo_landmarks:
    output:
        f"{RESULTS}/synthetic/photo_landmarks.npy",
    log:
        f"{LOGS}/generate/photo_landmarks.log",
    benchmark:
        f"{BENCHMARKS}/generate/photo_landmarks.tsv"
    # no group: every subject job reads its file, so in group "synthetic" it would join all
    # subjects into one connected component, i.e. one cluster job
    conda:
        "../../envs/synthetic.yaml"
    threads: 1
    # dlib's detector and 68-point predictor on 24 copies of a 512 x 512 photograph
    resources:
        mem_mb=500,
        runtime=2,
    params:
        version=config["versions"]["synthetic"],
    script:
        "../scripts/synthetic_photo.py"


for _subject in synthetic_subjects():
    _samples = [s for s, p in SYNTHETIC_PLANS.items() if p.subject == _subject]

    rule:
        name:
            f"synthetic_subject_{_subject}"
        input:
            photo_landmarks=rules.synthetic_photo_landmarks.output[0],
        output:
            # frame folders (DSME-3D layout) or .db3 recordings, as the subject's format says
            sources=[synthetic_source(s) for s in _samples],
            truth=[f"{SYNTHETIC_RAW}/truth/{s}.npz" for s in _samples],
            # full size, on disk; the report shows some as thumbnails (report.smk)
            figure=f"{RESULTS}/synthetic/figures/subject_{_subject}.png",
        log:
            f"{LOGS}/generate/subject_{_subject}.log",
        benchmark:
            f"{BENCHMARKS}/generate/subject_{_subject}.tsv"
        # not "sample": a subject's samples feed several chunks of the per-sample stages, and
        # one group would join every chunk of the data set into one cluster job
        group:
            "synthetic"
        conda:
            "../../envs/synthetic.yaml"
        threads: 1
        # measured on the default run, one sample a job: max RSS 303 MB, max 19 s (72 samples);
        # samples are written one after another, so memory is one sample's
        resources:
            mem_mb=lambda wildcards, attempt: 700 * attempt,
            runtime=lambda wildcards, attempt, n=len(_samples): attempt * (2 + n),
        params:
            samples=_samples,
            root=lambda wildcards, output: folder_above(output.truth[0], 1),
            fingerprints=[synthetic_plan_fingerprint(s) for s in _samples],
        script:
            "../scripts/synthetic_subject.py"


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
        root=lambda wildcards, output: folder_above(output[0], 1),
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
        root=lambda wildcards, output: folder_above(output[0], 1),
    script:
        "../scripts/synthetic_annotations.py"
