# What the HTML report shows of the per-sample QC pictures (workflow/microexp/report/gallery.py):
# every failure picture, `report: qc_pictures` others per stage as thumbnails, and a listing
# of every full-size picture on disk. The full-size pictures themselves are not in the report:
# embedding them all made it grow with the data set (90 MB for 72 samples).


rule qc_gallery:
    input:
        qc_gallery_inputs,
    output:
        face2d=report(
            directory(f"{RESULTS}/{{dataset}}/report/qc/face2d"),
            patterns=["{name}.jpg", "{name}.png"],
            caption="../report/face2d_qc.rst",
            category="2D face QC",
            subcategory="{dataset}",
        ),
        cloud3d=report(
            directory(f"{RESULTS}/{{dataset}}/report/qc/cloud3d"),
            patterns=["{name}.jpg", "{name}.png"],
            caption="../report/cloud3d_qc.rst",
            category="3D face QC",
            subcategory="{dataset}",
        ),
        depth_flow=report(
            directory(f"{RESULTS}/{{dataset}}/report/qc/depth_flow"),
            patterns=["{name}.jpg", "{name}.png"],
            caption="../report/depth_flow_qc.rst",
            category="Depth flow QC",
            subcategory="{dataset}",
        ),
        listing=report(
            f"{RESULTS}/{{dataset}}/report/qc_pictures.html",
            caption="../report/qc_listing.rst",
            category="QC pictures on disk",
            subcategory="{dataset}",
        ),
        tsv=f"{RESULTS}/{{dataset}}/report/qc_pictures.tsv",
    log:
        f"{LOGS}/{{dataset}}/report/qc_gallery.log",
    conda:
        "../../envs/classify.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=lambda wildcards: 5 + len(samples_of(wildcards.dataset)) // 500,
    params:
        samples=lambda wildcards: samples_of(wildcards.dataset),
        stages=lambda wildcards: qc_stages(wildcards.dataset),
        # each stage's files and pictures; the inputs are the stages' chunk markers
        files=qc_gallery_files,
        n_shown=config["report"]["qc_pictures"],
        width=config["report"]["thumbnail_px"],
    script:
        "../scripts/qc_gallery.py"


# The synthetic data set's subject figures grow with its subjects (33 in presets/paper.yaml,
# 0.4 MB each): the report shows `report: qc_pictures` of them, evenly spaced, as thumbnails.
rule synthetic_figures_gallery:
    input:
        lambda wildcards: expand(
            f"{RESULTS}/synthetic/figures/subject_{{subject}}.png", subject=synthetic_subjects()
        ),
    output:
        report(
            directory(f"{RESULTS}/synthetic/report/subjects"),
            patterns=["{name}.jpg"],
            caption="../report/synthetic_subject.rst",
            category="Synthetic data set",
        ),
    log:
        f"{LOGS}/generate/figures_gallery.log",
    conda:
        "../../envs/classify.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        n_shown=config["report"]["qc_pictures"],
        width=2 * config["report"]["thumbnail_px"],
    script:
        "../scripts/synthetic_figures_gallery.py"
