"""RealSense recordings: write with the SDK, read back at sensor level
(docs/methods.md#capture-formats)."""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

rs = pytest.importorskip("pyrealsense2")

from microexp.camera import Intrinsics  # noqa: E402
from microexp.io.containers import frame_counts  # noqa: E402
from microexp.io.realsense import (  # noqa: E402 - after the importorskip
    DepthRegistration,
    RecordingError,
    iter_frames,
    read_clips,
    read_recording,
    recording_info,
)
from microexp.synthetic.recording import write_recording  # noqa: E402
from microexp.testing.recordings import fixture_frames, fixture_intrinsics  # noqa: E402

FIXTURES = Path(__file__).parents[1] / "fixtures" / "realsense"
BAG_FIXTURE = FIXTURES / "d415_like_64x48.bag"
# What tools/make_bag_fixture.py wrote into the fixture (keep in sync with it).
BAG_N, BAG_W, BAG_H = 8, 64, 48
W, H = 64, 48


def _write(path: Path, frames, **kw) -> Path:
    kw.setdefault("color_intrinsics", fixture_intrinsics(W, H))
    write_recording(path, iter(frames), **kw)
    return path


def _assert_frames_equal(rec, expected, registered_depth=None) -> None:
    assert len(rec) == len(expected)
    np.testing.assert_array_equal(rec.frame_numbers, [f.frame_number for f in expected])
    np.testing.assert_array_equal(rec.depth_frame_numbers, [f.depth_number for f in expected])
    np.testing.assert_array_equal(rec.timestamps_ms, [f.timestamp_ms for f in expected])
    np.testing.assert_array_equal(rec.depth_timestamps_ms, [f.depth_time_ms for f in expected])
    for i, f in enumerate(expected):
        np.testing.assert_array_equal(rec.color[i], f.color)
        want = f.depth if registered_depth is None else registered_depth(f.depth)
        np.testing.assert_array_equal(rec.depth[i], want)


@pytest.fixture(scope="module")
def db3(tmp_path_factory) -> Path:
    """A 12-frame .db3 written with the installed SDK (2.59 writes only .db3)."""
    return _write(tmp_path_factory.mktemp("rs") / "clip.db3", fixture_frames(12, W, H))


def test_db3_round_trip_every_frame_once(db3: Path) -> None:
    expected = fixture_frames(12, W, H)
    rec = read_recording(db3)
    _assert_frames_equal(rec, expected)
    assert not rec.dropped
    assert rec.depth_scale == 0.001
    assert rec.intrinsics == fixture_intrinsics(W, H)
    assert rec.depth_intrinsics == fixture_intrinsics(W, H)
    np.testing.assert_array_equal(rec.depth_to_color, np.eye(4))
    assert rec.color.dtype == np.uint8 and rec.depth.dtype == np.uint16
    assert rec.timestamps_ms.dtype == np.float64 and rec.frame_numbers.dtype == np.int64


def test_recording_info(db3: Path) -> None:
    info = recording_info(db3)
    assert info.container == "db3"
    assert set(info.streams) == {"depth", "color"}
    assert info.streams["depth"].format == "z16" and info.streams["color"].format == "rgb8"
    assert info.streams["color"].fps == 60
    assert (info.streams["color"].width, info.streams["color"].height) == (W, H)
    assert info.streams["depth"].frame_count == 12 and info.streams["color"].frame_count == 12
    assert frame_counts(db3) == {"depth": 12, "color": 12}


def test_frames_subset_returns_exactly_those(db3: Path) -> None:
    expected = fixture_frames(12, W, H)
    rec = read_recording(db3, frames=range(4, 8))
    _assert_frames_equal(rec, expected[3:7])
    assert not rec.dropped
    rec = read_recording(db3, frames=[2, 11, 40])
    _assert_frames_equal(rec, [expected[1], expected[10]])
    assert rec.dropped.missing_color == (40,)


def test_read_clips_one_pass(db3: Path) -> None:
    expected = fixture_frames(12, W, H)
    a, b = read_clips(db3, [range(1, 4), range(9, 12)])
    _assert_frames_equal(a, expected[0:3])
    _assert_frames_equal(b, expected[8:11])


def test_streaming_reader_stops_early_and_reports(db3: Path) -> None:
    with iter_frames(db3, frames=[1, 2]) as reader:
        numbers = [f.frame_number for f in reader]
    assert numbers == [1, 2]
    assert not reader.dropped


def test_pair_by_frame_number(tmp_path: Path) -> None:
    frames = fixture_frames(5, W, H, depth_frame_offset=0)
    path = _write(tmp_path / "same_counter.db3", frames)
    rec = read_recording(path, pair_by="frame_number")
    _assert_frames_equal(rec, frames)


def test_bag_fixture_reads_back_equal_to_fixture_frames() -> None:
    assert BAG_FIXTURE.stat().st_size < 1_000_000
    rec = read_recording(BAG_FIXTURE)
    _assert_frames_equal(rec, fixture_frames(BAG_N, BAG_W, BAG_H))
    assert not rec.dropped
    assert rec.depth_scale == 0.001
    assert rec.intrinsics == fixture_intrinsics(BAG_W, BAG_H)
    assert recording_info(BAG_FIXTURE).container == "bag"


def test_frames_dropped_in_one_stream_are_reported(tmp_path: Path) -> None:
    frames = fixture_frames(8, W, H)
    frames[2] = dataclasses.replace(frames[2], depth=None)  # depth frame lost
    frames[5] = dataclasses.replace(frames[5], color=None)  # color frame lost
    path = _write(tmp_path / "drops.db3", frames)
    rec = read_recording(path)
    kept = [f for i, f in enumerate(frames) if i not in (2, 5)]
    _assert_frames_equal(rec, kept)  # never paired with a neighbour
    assert rec.dropped.missing_depth == (frames[2].frame_number,)
    assert rec.dropped.missing_color == (frames[5].frame_number,)
    assert rec.dropped.unpaired_depth == (frames[5].depth_number,)
    assert rec.dropped.count == 2
    sub = read_recording(path, frames=[1, 2, 3, 4])
    assert sub.dropped.missing_depth == (3,) and sub.dropped.missing_color == ()
    assert sub.dropped.unpaired_depth == ()


@pytest.mark.parametrize("source", ["db3", "bag"])
def test_truncated_file_raises_naming_it(tmp_path: Path, db3: Path, source: str) -> None:
    src = db3 if source == "db3" else BAG_FIXTURE
    data = src.read_bytes()
    cut = tmp_path / f"cut.{source}"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(RecordingError, match=re.escape(str(cut))):
        read_recording(cut)


def test_garbage_and_missing_files_raise(tmp_path: Path) -> None:
    junk = tmp_path / "junk.bag"
    junk.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(RecordingError, match=r"junk\.bag"):
        read_recording(junk)
    fake = tmp_path / "fake.db3"
    shutil.copyfile(junk, fake)
    with pytest.raises(RecordingError, match=r"fake\.db3"):
        recording_info(fake)
    with pytest.raises(RecordingError, match=r"nothere\.db3"):
        read_recording(tmp_path / "nothere.db3")


def test_recording_without_depth_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "color_only.db3", fixture_frames(3, W, H), streams=("color",))
    with pytest.raises(RecordingError, match=r"color_only\.db3: no depth stream"):
        read_recording(path)


def test_bgr_recording_reads_back_as_rgb(tmp_path: Path) -> None:
    frames = fixture_frames(3, W, H)
    path = _write(tmp_path / "bgr.db3", frames, color_format="bgr8")
    assert recording_info(path).streams["color"].format == "bgr8"
    _assert_frames_equal(read_recording(path), frames)


def test_wrong_suffix_for_installed_sdk(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"records only \.db3"):
        _write(tmp_path / "x.bag", fixture_frames(1, W, H))
    assert not list(tmp_path.iterdir())


# --------------------------------------------------------------------------- registration


def _rs_intr(i: Intrinsics):
    out = rs.intrinsics()
    out.width, out.height, out.fx, out.fy, out.ppx, out.ppy = (
        i.width,
        i.height,
        i.fx,
        i.fy,
        i.cx,
        i.cy,
    )
    out.model = getattr(rs.distortion, i.model)
    out.coeffs = list(i.coeffs)
    return out


class _SdkAligner:
    """rs.align(rs.stream.color) on frames pushed through a software device and a syncer."""

    def __init__(self, di: Intrinsics, ci: Intrinsics, extr: np.ndarray, scale: float) -> None:
        self.dev = rs.software_device()
        self.ds, self.cs = self.dev.add_sensor("Stereo Module"), self.dev.add_sensor("RGB Camera")
        self.profiles = []
        for sensor, stype, fmt, bpp, intr, uid in (
            (self.ds, rs.stream.depth, rs.format.z16, 2, di, 0),
            (self.cs, rs.stream.color, rs.format.rgb8, 3, ci, 1),
        ):
            vs = rs.video_stream()
            vs.type, vs.index, vs.uid, vs.width, vs.height = stype, 0, uid, intr.width, intr.height
            vs.fps, vs.bpp, vs.fmt, vs.intrinsics = 30, bpp, fmt, _rs_intr(intr)
            self.profiles.append(sensor.add_video_stream(vs))
        self.ds.add_read_only_option(rs.option.depth_units, scale)
        ext = rs.extrinsics()
        ext.rotation = [float(v) for v in extr[:3, :3].T.reshape(-1)]
        ext.translation = [float(v) for v in extr[:3, 3]]
        self.profiles[0].register_extrinsics_to(self.profiles[1], ext)
        self.dev.create_matcher(rs.matchers.dlr_c)
        self.sync = rs.syncer(10)
        self.ds.open(self.profiles[0])
        self.cs.open(self.profiles[1])
        self.ds.start(self.sync)
        self.cs.start(self.sync)
        self.align = rs.align(rs.stream.color)
        self.color = np.zeros((ci.height, ci.width, 3), np.uint8)
        self.k = 0

    def _push(self, depth: np.ndarray, k: int) -> None:
        for sensor, pixels, bpp, prof in (
            (self.ds, depth, 2, self.profiles[0]),
            (self.cs, self.color, 3, self.profiles[1]),
        ):
            f = rs.software_video_frame()
            f.pixels, f.bpp, f.stride = pixels, bpp, pixels.shape[1] * bpp
            f.timestamp, f.domain, f.frame_number = k * 33.3, rs.timestamp_domain.hardware_clock, k
            f.profile = prof.as_video_stream_profile()
            sensor.on_video_frame(f)

    def __call__(self, depth: np.ndarray) -> np.ndarray:
        # The matcher releases a frame set once the next frames arrive: push a filler pair.
        for _ in range(4):
            k = self.k
            self.k += 2
            self._push(depth, k)
            self._push(np.zeros_like(depth), k + 1)
            while True:
                ok, fs = self.sync.try_wait_for_frames(500)
                if not ok:
                    break
                if fs.size() == 2 and fs.get_depth_frame().get_frame_number() == k:
                    aligned = self.align.process(fs).get_depth_frame()
                    return np.asanyarray(aligned.get_data()).copy()
        raise AssertionError("software device produced no frame set")


def _rotation_y(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


REGISTRATION_CASES = {
    # D415-like: color camera 15 mm to the side, slightly rotated, denser pixels (rectangles).
    "rotated_upsampled": (
        Intrinsics(64, 48, 40.0, 40.0, 31.7, 23.2),
        Intrinsics(96, 72, 70.0, 70.0, 48.1, 35.9),
        0.03,
        (0.015, 0.002, -0.001),
    ),
    # Sparser color pixels: one target pixel per depth pixel.
    "downsampled": (
        Intrinsics(64, 48, 60.0, 60.0, 31.7, 23.2),
        Intrinsics(32, 24, 28.0, 28.0, 16.1, 11.9),
        0.0,
        (-0.015, 0.0, 0.0),
    ),
    # Same camera model, pure translation.
    "shifted": (
        Intrinsics(64, 48, 60.0, 60.6, 31.5, 23.5),
        Intrinsics(64, 48, 62.0, 62.0, 32.3, 23.1),
        0.0,
        (0.015, 0.0, 0.0),
    ),
}


@pytest.mark.parametrize("case", sorted(REGISTRATION_CASES))
def test_registration_matches_rs_align(case: str) -> None:
    di, ci, angle, t = REGISTRATION_CASES[case]
    extr = np.eye(4)
    extr[:3, :3], extr[:3, 3] = _rotation_y(angle), t
    ours = DepthRegistration(di, ci, extr, 0.001)
    sdk = _SdkAligner(di, ci, extr, 0.001)
    rng = np.random.default_rng(7)
    ys, xs = np.mgrid[0 : di.height, 0 : di.width]
    dome = (450 + 0.1 * ((xs - 32) ** 2 + (ys - 24) ** 2)).astype(np.uint16)
    noisy = rng.integers(300, 900, (di.height, di.width)).astype(np.uint16)
    noisy[rng.random(noisy.shape) < 0.1] = 0  # holes stay holes
    for depth in (dome, noisy):
        np.testing.assert_array_equal(ours(depth), sdk(depth))


def test_registration_hand_computed_point() -> None:
    """One depth pixel through a 10 mm baseline lands where the pinhole model says."""
    di = Intrinsics(32, 24, 30.0, 30.0, 15.5, 11.5)
    extr = np.eye(4)
    extr[0, 3] = 0.010  # color camera sees the point 10 mm further along +x
    depth = np.zeros((24, 32), np.uint16)
    depth[12, 16] = 500  # z = 0.5 m; its top-left corner (15.5, 11.5) is the principal point
    out = DepthRegistration(di, di, extr, 0.001)(depth)
    # x = 0 m -> 0.010 m: u = 30 * 0.010 / 0.5 + 15.5 = 16.1 -> trunc(16.6) = column 16.
    assert np.argwhere(out).tolist() == [[12, 16]] and out[12, 16] == 500
    depth[12, 16] = 200  # z = 0.2 m: u = 30 * 0.010 / 0.2 + 15.5 = 17.0 -> column 17
    out = DepthRegistration(di, di, extr, 0.001)(depth)
    assert np.argwhere(out).tolist() == [[12, 17]] and out[12, 17] == 200
    # Two depth pixels onto one color pixel: the nearer wins (z-buffer).
    depth[12, 16] = 500  # column 16 as above
    depth[12, 15] = 250  # corner 14.5: u = 14.5 + 30 * 0.010 / 0.25 = 15.7 -> trunc(16.2) = 16
    out = DepthRegistration(di, di, extr, 0.001)(depth)
    assert np.argwhere(out).tolist() == [[12, 16]] and out[12, 16] == 250


def test_identity_registration_is_a_copy() -> None:
    di = fixture_intrinsics(W, H)
    depth = fixture_frames(1, W, H)[0].depth
    out = DepthRegistration(di, di, np.eye(4), 0.001)(depth)
    np.testing.assert_array_equal(out, depth)
    assert out is not depth


def test_reader_registers_depth_with_recorded_extrinsics(tmp_path: Path) -> None:
    di, ci, angle, t = REGISTRATION_CASES["rotated_upsampled"]
    extr = np.eye(4)
    extr[:3, :3], extr[:3, 3] = _rotation_y(angle), t
    small = fixture_frames(4, di.width, di.height)
    frames = [
        dataclasses.replace(f, color=np.zeros((ci.height, ci.width, 3), np.uint8)) for f in small
    ]
    path = tmp_path / "extr.db3"
    write_recording(
        path, iter(frames), color_intrinsics=ci, depth_intrinsics=di, depth_to_color=extr
    )
    rec = read_recording(path)
    assert rec.depth.shape == (4, ci.height, ci.width)
    np.testing.assert_allclose(rec.depth_to_color, extr, atol=1e-6)
    register = DepthRegistration(di, ci, rec.depth_to_color, 0.001)
    _assert_frames_equal(rec, frames, registered_depth=register)
    raw = read_recording(path, register=False)
    np.testing.assert_array_equal(raw.depth, np.stack([f.depth for f in frames]))


def test_stalled_playback_raises_instead_of_hanging(db3: Path, monkeypatch) -> None:
    from microexp.io import playback

    monkeypatch.setattr(playback.Playback, "start", lambda self, streams: None)
    with pytest.raises(RecordingError, match=r"clip\.db3: playback stalled"):
        read_recording(db3, stall_timeout_s=0.5)


def test_reader_iterates_once(db3: Path) -> None:
    reader = iter_frames(db3, frames=[1])
    with reader:
        assert [f.frame_number for f in reader] == [1]
    with pytest.raises(RuntimeError, match="once"):
        list(reader)


def _corrupt_copy(src: Path, dst: Path, where: float, size: int) -> Path:
    data = bytearray(src.read_bytes())
    start = int(len(data) * where)
    data[start : start + size] = np.random.default_rng(3).integers(0, 256, size, np.uint8).tobytes()
    dst.write_bytes(bytes(data))
    return dst


@pytest.mark.parametrize("source", ["db3", "bag"])
def test_corrupt_index_raises_naming_file(tmp_path: Path, source: str) -> None:
    src = _write(tmp_path / "a.db3", fixture_frames(48, W, H)) if source == "db3" else BAG_FIXTURE
    bad = _corrupt_copy(src, tmp_path / f"bad.{source}", 0.5, 4096)
    with pytest.raises(RecordingError, match=re.escape(f"{bad}: corrupt or truncated")):
        read_recording(bad)


def test_corrupt_frame_data_raises_with_frame_numbers(tmp_path: Path) -> None:
    """The SDK ends playback quietly at a frame it cannot decode; the index tells us."""
    src = _write(
        tmp_path / "a.db3",
        fixture_frames(40, 128, 96),
        color_intrinsics=fixture_intrinsics(128, 96),
    )
    bad = _corrupt_copy(src, tmp_path / "bad.db3", 0.5, 1024)
    with pytest.raises(
        RecordingError, match=r"bad\.db3: playback returned \d+ of the 40 .* frame \d+"
    ):
        read_recording(bad)
    # A clip before the damage still reads: playback stops once the clip is complete.
    np.testing.assert_array_equal(
        read_recording(bad, frames=range(1, 6)).frame_numbers, range(1, 6)
    )


# --------------------------------------------------------------------------- out-of-order files


def _restamp(path: Path, stream: str, order: list[int]) -> None:
    """Give the messages of `stream`'s frames the capture times of the frames in `order`.

    `order[i]` is the (0-based) frame whose capture time frame i takes: the file then stores
    the frames in that order, as the SDK recorder does to a few frames after `resume()`.
    """
    import sqlite3

    con = sqlite3.connect(path)
    topic = "Color_0" if stream == "color" else "Depth_0"
    ids = [
        i
        for (i,) in con.execute(
            "SELECT id FROM topics WHERE name LIKE ? AND name LIKE '%/image/%'", (f"%{topic}%",)
        )
    ]
    stamps = sorted(
        {
            t
            for (t,) in con.execute(
                f"SELECT timestamp FROM messages WHERE topic_id IN ({','.join('?' * len(ids))})",
                ids,
            )
        }
    )
    assert len(stamps) >= len(order)
    for frame, source in enumerate(order):
        if frame != source:
            con.execute(
                f"UPDATE messages SET timestamp = ? WHERE timestamp = ? AND topic_id IN "
                f"({','.join('?' * len(ids))})",
                (-1 - frame, stamps[frame], *ids),
            )
    for frame, source in enumerate(order):
        if frame != source:
            con.execute(
                f"UPDATE messages SET timestamp = ? WHERE timestamp = ? AND topic_id IN "
                f"({','.join('?' * len(ids))})",
                (stamps[source], -1 - frame, *ids),
            )
    con.commit()
    con.close()


def test_frames_stored_out_of_order_are_read_in_order(tmp_path: Path) -> None:
    """The SDK recorder stores a few frames after each pause/resume out of order (it stamps
    them before the resume takes effect); playback follows the file's order, the reader must
    not (3,000-frame recordings failed with "color timestamps do not increase")."""
    import sqlite3

    expected = fixture_frames(20, W, H)
    path = _write(tmp_path / "swapped.db3", expected)
    color_order = list(range(20))
    color_order[5], color_order[6] = 6, 5  # colour frame 7 stored before frame 6
    depth_order = list(range(20))
    depth_order[10:13] = [11, 12, 10]  # depth frame 11 stored after 12 and 13
    _restamp(path, "color", color_order)
    _restamp(path, "depth", depth_order)
    con = sqlite3.connect(path)
    stored = [
        t
        for (t,) in con.execute(
            "SELECT m.timestamp FROM messages m JOIN topics t ON t.id = m.topic_id "
            "WHERE t.name LIKE '%Color_0/image/data%' ORDER BY m.id"
        )
    ]
    con.close()
    assert stored[6] < stored[5]  # the file really plays frame 7 before frame 6
    rec = read_recording(path)
    _assert_frames_equal(rec, expected)
    assert not rec.dropped


def test_frame_pairer_reorders_within_its_window_only() -> None:
    from microexp.io.playback import FramePairer

    pairer = FramePairer("timestamp", 5.0, max_pending=8, reorder=2)
    for n in (1, 3, 2):  # color frame 3 arrives before 2: within the window
        pairer.add("color", n, 10.0 * n, None)
    for n in (2, 1, 3, 4):
        pairer.add("depth", n, 10.0 * n, None)
    pairs = [(c.number, d.number) for c, d in pairer.pairs(final=True)]
    assert pairs == [(1, 1), (2, 2), (3, 3)]
    assert pairer.unpaired_depth == [(4, 40.0)]

    late = FramePairer("timestamp", 5.0, max_pending=8, reorder=1)
    for n in (2, 3, 4):
        late.add("color", n, 10.0 * n, None)
    with pytest.raises(ValueError, match=r"color timestamps do not increase \(frame 1 .*at most 1"):
        late.add("color", 1, 10.0, None)  # three frames late, window of one
    repeated = FramePairer("frame_number", 0.0, max_pending=8, reorder=4)
    repeated.add("depth", 5, 50.0, None)
    with pytest.raises(ValueError, match="depth frame numbers do not increase"):
        repeated.add("depth", 5, 51.0, None)


def test_writer_restores_write_order_beyond_the_readers_window(tmp_path: Path) -> None:
    """Under CPU load the recorder's stale capture times can cover many frames after a resume:
    here frames 5 and 6 are stamped after frame 19 (13 frames late, beyond the reader's window
    of 8). The writer puts each frame's messages back in write order (row ids)."""
    from microexp.synthetic.recording import restore_write_order

    expected = fixture_frames(24, W, H)
    path = _write(tmp_path / "late.db3", expected)
    late = [0, 1, 2, 3, 18, 19, *range(4, 18), 20, 21, 22, 23]
    _restamp(path, "color", late)
    _restamp(path, "depth", late)
    with pytest.raises(RecordingError, match="timestamps do not increase"):
        read_recording(path)
    # colour and depth frames 7..20 (14 each) move behind the stale frames 5 and 6
    assert restore_write_order(path) == 28
    assert restore_write_order(path) == 0  # in order now
    rec = read_recording(path)
    _assert_frames_equal(rec, expected)
    assert not rec.dropped
