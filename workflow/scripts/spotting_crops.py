"""Rule spotting_crops: stream one whole video, track the face, keep crops and block depths."""

from pathlib import Path

import numpy as np

from microexp.camera import Intrinsics
from microexp.face2d.stage import Face2DParams
from microexp.failures import SampleFailure, run_sample_stage
from microexp.runlog import rule_logger
from microexp.spotting.video import crop_video, iter_frame_folder, iter_recording, save_video_crops

log = rule_logger(snakemake.log[0])
source = Path(snakemake.input.source)
params = Face2DParams.from_config(snakemake.config["face2d"])
# the spotters' grid, read from the config here: importing the spotters would load numba and
# scipy into this job for nothing (~200 MB)
grid = tuple(snakemake.config["spotting"].get("grid", (6, 6)))
intrinsics = (
    Intrinsics.from_any(snakemake.params.intrinsics) if snakemake.params.intrinsics else None
)


def icp_params():
    # recordings carry intrinsics; a frame folder only where its entry gives `intrinsics:`
    if snakemake.params.depth_registration != "icp" or not (source.is_file() or intrinsics):
        return None  # open3d is loaded only when needed
    from microexp.cloud3d.icp import IcpParams

    return IcpParams.from_config(snakemake.params.icp)


def work() -> None:
    color_dir, depth_dir = snakemake.params.frame_layout
    frames = (
        iter_recording(source)
        if source.is_file()
        else iter_frame_folder(
            source, color_dir, depth_dir,
            depth_scale=float(snakemake.params.depth_scale), intrinsics=intrinsics,
        )
    )  # fmt: skip
    try:
        crops = crop_video(
            frames, params, grid=grid,
            smoothing_frames=int(snakemake.params.smoothing),
            depth_registration=snakemake.params.depth_registration,
            icp=icp_params(), icp_step=int(snakemake.params.icp_step),
        )  # fmt: skip
    except (OSError, ValueError, RuntimeError) as error:
        raise SampleFailure(f"cannot read the video: {error}", file=source) from error
    if not crops.face_found.any():
        raise SampleFailure("no face found in any frame", file=source)
    save_video_crops(snakemake.output.crops, crops, source=str(source))
    lost = crops.frames_without_face
    log.info(
        "%s: %d frames, %d without face%s, %d re-detections, depth: %s",
        source, len(crops.frame_numbers), len(lost),
        f" (first {lost[:10].tolist()})" if len(lost) else "",
        int(crops.detected.sum()) - 1, crops.depth_registration,
    )  # fmt: skip
    if crops.icp_fitness is not None:
        failed = int(np.isnan(crops.icp_fitness[crops.face_found]).sum())
        log.info(
            "3D registration: median ICP fitness %.3f, %d frames with a face not registered "
            "(no depth block values there)",
            float(np.nanmedian(crops.icp_fitness)), failed,
        )  # fmt: skip


run_sample_stage(
    work,
    dataset=snakemake.wildcards.spot_set,
    sample=snakemake.wildcards.spot_video,
    stage="spotting",
    output=snakemake.output.crops,
    failure_file=snakemake.params.failure,
    log=log,
)
