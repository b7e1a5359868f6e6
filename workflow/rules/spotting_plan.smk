# Spotting data sets, their videos and target lists (used by workflow/rules/spotting.smk);
# computed once, when the workflow is parsed.
from microexp.io.datasets import frame_layout, spotting_video_sources
from microexp.synthetic.long_video import LongVideoSettings, plan_long_videos

SPOTTING = config.get("spotting", {})
SPOT_SYNTHETIC = LongVideoSettings.from_config(SPOTTING.get("synthetic", {}))
SPOT_PLANS = {plan.video: plan for plan in plan_long_videos(SYNTHETIC, SPOT_SYNTHETIC)}
SPOT_RAW = f"{SYNTHETIC_RAW}/spotting"


def spot_sources(spot_set: str) -> dict[str, str]:
    """video id -> its frame folder or recording, for a spotting data set."""
    entry = SPOTTING["datasets"][spot_set]
    root = Path(entry["root"])
    if entry.get("synthetic"):
        return {
            video: str(
                root
                / entry["source"]
                .format(subject=plan.subject, video=video)
                .replace(f"{video}*", plan.folder_name)
            )
            for video, plan in SPOT_PLANS.items()
        }
    try:
        return spotting_video_sources(root, entry["source"], entry["layout"])
    except ValueError as error:
        raise ValueError(f"spotting data set {spot_set}: {error}") from None


SPOT_SOURCES = {name: spot_sources(name) for name in SPOTTING.get("datasets", {})}


def spot_frame_layout(spot_set: str) -> tuple[str, str | None]:
    """(color, depth) sub-folders of a frame-folder video: CAS(ME)^3 Part A's color/ and depth/,
    an entry's own color_dir / depth_dir, else the color frames in the folder itself."""
    entry = SPOTTING["datasets"][spot_set]
    if entry["layout"] == "casme3_a" or "color_dir" in entry or "depth_dir" in entry:
        return frame_layout(entry)
    return ".", None


def spot_method_files(spot_set: str, suffix: str, video: str | None = None) -> list[str]:
    entry = SPOTTING["datasets"][spot_set]
    videos = [video] if video else sorted(SPOT_SOURCES[spot_set])
    return [
        f"{RESULTS}/{spot_set}/spotting/{method}/{v}.{suffix}"
        for method in entry["methods"]
        for v in videos
    ]


def spotting_targets() -> list[str]:
    targets = []
    for spot_set in SPOTTING.get("datasets", {}):
        targets.append(f"{RESULTS}/tables/{spot_set}/spotting.tsv")
        targets += expand(
            f"{RESULTS}/figures/{spot_set}/spotting/videos/{{video}}.png",
            video=sorted(SPOT_SOURCES[spot_set]),
        )
    return targets


def spot_sheet(wildcards) -> str:
    entry = SPOTTING["datasets"][wildcards.spot_set]
    return str(Path(entry["root"]) / entry["annotations"])
