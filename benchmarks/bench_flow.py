"""Benchmark: the flow stage per sample (two 168 x 168 frames), speed and accuracy.

Speed: CPU time (process time, one thread: OMP/OpenBLAS limited to 1 before numpy loads) of
``flow_from_frames`` on an onset/apex pair, split into TV-L1, strain and network inputs (aim:
<= 50 ms per sample on one core). Accuracy: the mean endpoint error of TV-L1 against a known
smooth sub-pixel motion of a face crop (scikit-image's astronaut, moved by two Gaussian bumps
of 0.8 px and 0.6 px) for the stage's settings and scikit-image's defaults.

The machine is shared (2 cores, several engineers): CPU time is less sensitive to load than
wall time but still suffers from a busy neighbour core; the load average is recorded.

Writes flow.json and flow.tsv to `out_dir`. Run: python -m benchmarks bench_flow
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from skimage import color, data, transform  # noqa: E402

from microexp.flow.network_input import megc_input, resample_clip  # noqa: E402
from microexp.flow.optical import TVL1Params, optical_strain, tvl1_flow  # noqa: E402

REPEATS = 20


def face_pair(size: int = 168):
    face = color.rgb2gray(data.astronaut())[30:230, 150:350]
    onset = transform.resize(face, (size, size), anti_aliasing=True).astype(np.float32)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    u = 0.8 * np.exp(-((xx - 84) ** 2 + (yy - 110) ** 2) / (2 * 20**2))
    v = -0.6 * np.exp(-((xx - 60) ** 2 + (yy - 60) ** 2) / (2 * 15**2))
    apex = cv2.remap(onset, xx - u, yy - v, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    to8 = lambda im: (np.clip(im, 0, 1) * 255).round().astype(np.uint8)  # noqa: E731
    return to8(onset), to8(apex), u, v


def cpu_ms(function, repeats: int = REPEATS) -> float:
    function()
    started = time.process_time()
    for _ in range(repeats):
        function()
    return (time.process_time() - started) / repeats * 1000


def main(out_dir: Path) -> None:
    cv2.setNumThreads(1)
    out_dir.mkdir(parents=True, exist_ok=True)
    onset, apex, u_true, v_true = face_pair()
    clip = np.stack([onset] * 3 + [apex] * 3)
    inner = (slice(10, -10), slice(10, -10))
    report = {"load_average_start": os.getloadavg(), "repeats": REPEATS, "settings": {}}
    rows = []
    for label, params in {
        "stage (2 warps x 3 iterations)": TVL1Params(),
        "2 warps x 5 iterations (flow version 1)": TVL1Params(num_warp=2, num_iter=5),
        "scikit-image defaults (5 x 10)": TVL1Params(num_warp=5, num_iter=10),
    }.items():
        u, v = tvl1_flow(onset, apex, params)
        epe = float(np.hypot(u - u_true, v - v_true)[inner].mean())
        tvl1 = cpu_ms(lambda p=params: tvl1_flow(onset, apex, p))
        strain = cpu_ms(lambda u=u, v=v: optical_strain(u, v))
        s = optical_strain(u, v)
        inputs = cpu_ms(lambda u=u, v=v, s=s: (megc_input(u, v, s), resample_clip(clip)))
        total = tvl1 + strain + inputs
        report["settings"][label] = {
            "endpoint_error_px": epe,
            "tvl1_ms": tvl1,
            "strain_ms": strain,
            "inputs_ms": inputs,
            "total_ms": total,
        }
        rows.append(f"{label}\t{epe:.4f}\t{tvl1:.1f}\t{strain:.2f}\t{inputs:.2f}\t{total:.1f}")
        print(rows[-1], flush=True)
    report["mean_motion_px"] = float(np.hypot(u_true, v_true)[inner].mean())
    report["load_average_end"] = os.getloadavg()
    (out_dir / "flow.json").write_text(json.dumps(report, indent=2) + "\n")
    header = "settings\tendpoint_error_px\ttvl1_ms\tstrain_ms\tinputs_ms\ttotal_ms"
    (out_dir / "flow.tsv").write_text("\n".join([header, *rows]) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("results/bench"))
