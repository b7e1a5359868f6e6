# What the HTML report shows of the per-sample QC pictures (workflow/microexp/report/gallery.py):
# every failure picture, `report: qc_pictures` others per stage as thumbnails, and a listing
# of every full-size picture on disk. The full-size pictures themselves are not in the report:
# embedding them all made it grow with the data set (90 MB for 72 samples).


rule qc_gallery:
    input:
        face2d=lambda wildcards: expand(
            stage_file("face2d"), dataset=wildcards.dataset, sample=samples_of(wildcards.dataset)
        ),
        face2d_pictures=lambda wildcards: expand(
            f"{RESULTS}/{{dataset}}/face2d/qc/{{sample}}.png",
            dataset=wildcards.dataset,
            sample=samples_of(wildcards.dataset),
        ),
        cloud3d=lambda wildcards: expand(
            stage_file("cloud3d"), dataset=wildcards.dataset, sample=samples_of(wildcards.dataset)
        ),
        cloud3d_pictures=lambda wildcards: expand(
            f"{RESULTS}/{{dataset}}/cloud3d/qc/{{sample}}.png",
            dataset=wildcards.dataset,
            sample=samples_of(wildcards.dataset),
        ),
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
        n_shown=config["report"]["qc_pictures"],
        width=config["report"]["thumbnail_px"],
    script:
        "../scripts/qc_gallery.py"
