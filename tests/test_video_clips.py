"""Decoding, clip sampling, transforms, corrupt files and the clip cache, on real videos written here.

Frame k of every test video is uniformly grey with brightness 8 + 4k, so the sampled frame indices can be
read back from the clip tensor (codec and resize error is a couple of levels, far below the step of 4).
"""
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import pytest
import torch

from tabench import TabenchError
from tabench.data import cache as cache_mod
from tabench.data.clips import ClipDataset, dense_indices, segment_indices
from tabench.data.format import VideoEntry, check_dataset, write_dataset
from tabench.data.video import VideoReader, probe, write_video
from tabench.taxonomy import load

MEAN, STD = 0.45, 0.225


def frames_with_index(n, h=32, w=48):
    v = (8 + 4 * np.arange(n)).astype(np.uint8)
    return np.broadcast_to(v[:, None, None, None], (n, h, w, 3)).copy()


def indices_of(video: torch.Tensor) -> list[int]:
    """Frame indices of a (3, T, H, W) normalised clip made of frames_with_index frames."""
    px = (video[0, :, video.shape[2] // 2, video.shape[3] // 2] * STD + MEAN) * 255
    return [int(round((float(v) - 8) / 4)) for v in px]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """Syn-TA-shaped dataset: set 1 train (3 mp4 of 40 frames, 1 webm of 40 frames), set 1 val (2 mp4),
    set 2 train (1 mp4 + 1 corrupt file)."""
    root = tmp_path_factory.mktemp("ds")
    tax = load("syn-ta")
    f1 = tax.fine_of_set(1)
    f2 = tax.fine_of_set(2)
    entries = []

    def add(set_id, split, fine, name, frames, fps=25):
        rel = f"videos/{fine.slug}/{name}"
        write_video(root / rel, frames, fps=fps)
        entries.append(VideoEntry(rel, set_id, split, fine.coarse_id, fine.id))

    for k in range(3):
        add(1, "train", f1[k], f"a{k}.mp4", frames_with_index(40))
    add(1, "train", f1[3], "b.webm", frames_with_index(40), fps=12)
    for k in range(2):
        add(1, "val", f1[k], f"v{k}.mp4", frames_with_index(40))
    add(2, "train", f2[0], "good.mp4", frames_with_index(20))
    bad = root / f"videos/{f2[1].slug}/bad.mp4"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(2000))
    entries.append(VideoEntry(f"videos/{f2[1].slug}/bad.mp4", 2, "train", f2[1].coarse_id, f2[1].id))
    write_dataset(root, tax, entries)
    return root


def test_dataset_fixture_is_valid(dataset):
    assert check_dataset(dataset).ok


def test_reader_exact_frames_with_seek(tmp_path):
    # 60 frames with a keyframe every 8: reading from frame 50 seeks, and must still land on the right frames
    p = tmp_path / "long.mp4"
    write_video(p, frames_with_index(60), fps=25, options={"g": "8"})
    with VideoReader(p) as r:
        assert r.info.num_frames == 60 and r.info.exact
        x = r.read([59, 50, 50, 55])
    got = [int(round((int(v) - 8) / 4)) for v in x[:, 10, 10, 0]]
    assert got == [59, 50, 50, 55]
    x = VideoReader(p).read([0, 3], short_side=16)
    assert x.shape == (2, 16, 24, 3)


def test_webm_frame_count_is_estimated(tmp_path):
    p = tmp_path / "clip.webm"
    write_video(p, frames_with_index(30), fps=12)
    info = probe(p)
    assert abs(info.num_frames - 30) <= 1
    with VideoReader(p) as r:
        x = r.read([0, 29, 200])  # past the end -> last frame
    assert [int(round((int(v) - 8) / 4)) for v in x[:, 5, 5, 0]] == [0, 29, 29]


def test_segment_and_dense_index_rules():
    assert segment_indices(40, 4, train=False).tolist() == [5, 15, 25, 35]
    assert segment_indices(40, 4, train=False, clip=0, num_clips=2).tolist() == [2, 12, 22, 32]
    rng = np.random.default_rng(0)
    for _ in range(50):
        idx = segment_indices(40, 4, train=True, rng=rng)
        assert all(10 * i <= v < 10 * (i + 1) for i, v in enumerate(idx))
    assert segment_indices(3, 8, train=False).tolist() == [0, 0, 0, 1, 1, 2, 2, 2]
    assert dense_indices(40, 4, 3, train=False).tolist() == [15, 18, 21, 24]
    assert dense_indices(5, 4, 3, train=False).tolist() == [0, 3, 4, 4]


def test_test_time_items_sample_the_expected_frames(dataset):
    ds = ClipDataset(dataset, set_id=1, split="train", level="fine", num_frames=4, size=16, train=False)
    assert len(ds) == 4 and ds.num_classes == 53
    for i in range(len(ds)):
        item = ds[i]
        assert item["video"].shape == (3, 4, 16, 16) and item["video"].dtype == torch.float32
        assert indices_of(item["video"]) == [5, 15, 25, 35], item["path"]  # mp4 and webm alike
        assert item["index"] == i and item["path"] == ds.entries[i].path
        assert item["label"] == ds.entries[i].fine_id
    dense = ClipDataset(dataset, set_id=1, split="val", num_frames=4, size=16, train=False, sampling="dense",
                        frame_interval=3)
    assert indices_of(dense[0]["video"]) == [15, 18, 21, 24]
    assert dense.num_classes == 20 and dense[1]["label"] == dense.entries[1].coarse_id


def test_train_time_sampling_is_random_within_segments_and_reproducible(dataset):
    ds = ClipDataset(dataset, set_id=1, split="train", num_frames=4, size=16, train=True, seed=3)
    seen = set()
    for epoch in range(6):
        ds.set_epoch(epoch)
        idx = indices_of(ds[0]["video"])
        assert all(10 * i <= v < 10 * (i + 1) for i, v in enumerate(idx)), idx
        seen.add(tuple(idx))
    assert len(seen) > 1
    ds.set_epoch(2)
    a = ds[1]["video"]
    assert torch.equal(a, ds[1]["video"])
    dense = ClipDataset(dataset, set_id=1, split="train", num_frames=4, size=16, train=True, sampling="dense",
                        frame_interval=3)
    starts = set()
    for epoch in range(6):
        dense.set_epoch(epoch)
        idx = indices_of(dense[0]["video"])
        assert np.diff(idx).tolist() == [3, 3, 3] and 0 <= idx[0] <= 30
        starts.add(idx[0])
    assert len(starts) > 1


def test_multi_view_shapes(dataset):
    ds = ClipDataset(dataset, set_id=1, split="val", num_frames=4, size=16, train=False, num_clips=2, num_crops=3)
    v = ds[0]["video"]
    assert v.shape == (6, 3, 4, 16, 16)
    assert indices_of(v[0]) == [2, 12, 22, 32] and indices_of(v[3]) == [7, 17, 27, 37]
    with pytest.raises(TabenchError):
        ClipDataset(dataset, set_id=1, split="val", train=True, num_clips=2)


def test_hflip_is_opt_in(tmp_path):
    # left half dark, right half bright: without hflip, training crops never swap the sides
    fr = np.zeros((8, 32, 48, 3), np.uint8)
    fr[:, :, 24:] = 255
    tax = load("syn-ta")
    f = tax.fine_of_set(1)[0]
    write_video(tmp_path / "videos/x/a.mp4", fr)
    write_dataset(tmp_path, tax, [VideoEntry("videos/x/a.mp4", 1, "train", f.coarse_id, f.id)])
    flips = {False: 0, True: 0}
    for hflip in (False, True):
        ds = ClipDataset(tmp_path, num_frames=2, size=16, train=True, hflip=hflip)
        for epoch in range(12):
            ds.set_epoch(epoch)
            v = ds[0]["video"][0, 0]
            flips[hflip] += int(v[:, 0].mean() > v[:, -1].mean())
    assert flips[False] == 0 and flips[True] > 0


def test_corrupt_video_error_names_file_or_is_left_out(dataset):
    ds = ClipDataset(dataset, set_id=2, split="train", num_frames=4, size=16, train=False)
    bad = [i for i, e in enumerate(ds.entries) if e.path.endswith("bad.mp4")][0]
    with pytest.raises(TabenchError, match="bad.mp4"):
        ds[bad]
    # skip_corrupt leaves the bad video out (never substitutes a neighbour, which would be scored twice)
    ds = ClipDataset(dataset, set_id=2, split="train", num_frames=4, size=16, train=False, skip_corrupt=True)
    assert len(ds) == 1 and ds[0]["path"].endswith("good.mp4")
    assert [p for p, _ in ds.skipped] == [e.path for e in ClipDataset(dataset, set_id=2, split="train").entries
                                          if e.path.endswith("bad.mp4")]
    # a worker process gets the same list (spawned: a forked worker hung in the whole suite, after earlier tests
    # had left threads behind in this process)
    batches = list(torch.utils.data.DataLoader(ds, batch_size=2, num_workers=1, multiprocessing_context="spawn"))
    assert len(batches) == 1 and batches[0]["video"].shape == (1, 3, 4, 16, 16)
    # the good video's clip is the same with or without the bad one in the split
    full = ClipDataset(dataset, set_id=2, split="train", num_frames=4, size=16, train=True, seed=5)
    kept = ClipDataset(dataset, set_id=2, split="train", num_frames=4, size=16, train=True, seed=5, skip_corrupt=True)
    good = [i for i, e in enumerate(full.entries) if e.path.endswith("good.mp4")][0]
    torch.testing.assert_close(kept[0]["video"], full[good]["video"])


def test_cache_matches_direct_decoding_and_is_reused(dataset, tmp_path, monkeypatch):
    kw = dict(set_id=1, split="train", num_frames=4, size=16, train=False)
    direct = ClipDataset(dataset, **kw)
    cached = ClipDataset(dataset, cache_dir=tmp_path, cache_workers=1, **kw)
    assert cached.cache is not None and len(cached.cache) == 4
    for i in range(len(direct)):
        torch.testing.assert_close(cached[i]["video"], direct[i]["video"], atol=1e-5, rtol=0)
    # training from the cache: still one frame per segment, still random
    tr = ClipDataset(dataset, cache_dir=tmp_path, set_id=1, split="train", num_frames=4, size=16, train=True)
    seen = set()
    for epoch in range(8):
        tr.set_epoch(epoch)
        idx = indices_of(tr[0]["video"])
        assert all(10 * i <= v < 10 * (i + 1) for i, v in enumerate(idx))
        seen.add(tuple(idx))
    assert len(seen) > 1
    # a second run reuses the cache: building anything now would fail
    monkeypatch.setattr(cache_mod, "_build_chunk", lambda job: pytest.fail("cache rebuilt"))
    again = ClipDataset(dataset, cache_dir=tmp_path, cache_workers=1, **kw)
    torch.testing.assert_close(again[2]["video"], direct[2]["video"], atol=1e-5, rtol=0)


def test_cache_dense_and_stale_detection(tmp_path):
    tax = load("syn-ta")
    f = tax.fine_of_set(1)
    root = tmp_path / "ds"
    for k in range(2):
        write_video(root / f"videos/c/{k}.mp4", frames_with_index(40))
    write_dataset(root, tax, [VideoEntry(f"videos/c/{k}.mp4", 1, "val", f[k].coarse_id, f[k].id) for k in range(2)])
    kw = dict(set_id=1, split="val", num_frames=4, size=16, train=False, sampling="dense", frame_interval=3)
    ds = ClipDataset(root, cache_dir=tmp_path / "cache", cache_workers=1, **kw)
    assert indices_of(ds[1]["video"]) == [15, 18, 21, 24]
    # the dataset changes (a video is re-encoded with other content): the cache notices and rebuilds
    fr = frames_with_index(40)[::-1].copy()
    write_video(root / "videos/c/1.mp4", fr)
    ds = ClipDataset(root, cache_dir=tmp_path / "cache", cache_workers=1, **kw)
    assert indices_of(ds[1]["video"]) == [39 - 15, 39 - 18, 39 - 21, 39 - 24]


def test_cache_records_corrupt_video(dataset, tmp_path):
    ds = ClipDataset(dataset, set_id=2, split="train", num_frames=4, size=16, train=False, cache_dir=tmp_path,
                     cache_workers=2)
    assert [p for p, _ in ds.cache.errors] == [e.path for e in ds.entries if e.path.endswith("bad.mp4")]
    bad = [i for i, e in enumerate(ds.entries) if e.path.endswith("bad.mp4")][0]
    with pytest.raises(TabenchError, match="bad.mp4"):
        ds[bad]
    assert indices_of(ds[1 - bad]["video"]) == [2, 7, 12, 17]


def test_cache_build_resumes_after_interruption(dataset, tmp_path, monkeypatch):
    kw = dict(set_id=1, split="train", num_frames=4, size=16, sampling="segment", cache_dir=tmp_path,
              workers=1, chunk_size=1, progress=False)
    folder = cache_mod.build_clip_cache(dataset, **kw)
    assert sorted(p.name for p in folder.glob("chunk_*.u8")) == [f"chunk_{c:05d}.u8" for c in range(4)]
    # an interrupted build: the index and the last chunk were never written
    (folder / "index.json").unlink()
    (folder / "chunk_00003.json").unlink()
    built = []
    real = cache_mod._build_chunk
    monkeypatch.setattr(cache_mod, "_build_chunk", lambda job: built.append(job["chunk"]) or real(job))
    cache_mod.build_clip_cache(dataset, **kw)
    assert built == [3]
    c = cache_mod.open_clip_cache(dataset, tmp_path, 1, "train", 4, 16)
    assert c is not None and len(c) == 4 and not c.errors


def test_full_frame_crop_keeps_both_ends_of_a_wide_frame(tmp_path):
    # a 16:9 frame with a bright bar at each end: the centre crop loses both, crop="full" keeps both
    fr = np.full((4, 36, 64, 3), 40, np.uint8)
    fr[:, :, :12] = 250
    fr[:, :, -12:] = 250
    tax = load("syn-ta")
    f = tax.fine_of_set(1)[0]
    write_video(tmp_path / "videos/x/a.mp4", fr)
    write_dataset(tmp_path, tax, [VideoEntry("videos/x/a.mp4", 1, "val", f.coarse_id, f.id)])

    def ends(v):  # mean brightness (0-255) of the outer columns of a (3, T, H, W) clip
        px = (v[0] * STD + MEAN) * 255
        return float(px[..., :2].mean()), float(px[..., -2:].mean())

    centre = ClipDataset(tmp_path, split="val", num_frames=2, size=16, train=False)[0]["video"]
    full = ClipDataset(tmp_path, split="val", num_frames=2, size=16, train=False, crop="full")[0]["video"]
    assert centre.shape == full.shape == (3, 2, 16, 16)
    assert max(ends(centre)) < 100 and min(ends(full)) > 150
    train = ClipDataset(tmp_path, split="val", num_frames=2, size=16, train=True, crop="full", crop_scale=(0.9, 1.0))
    assert min(ends(train[0]["video"])) > 120  # 90-100 % of the area at the frame's aspect: both bars stay
    with pytest.raises(TabenchError, match="crop"):
        ClipDataset(tmp_path, split="val", train=False, crop="corner")
    with pytest.raises(TabenchError, match="num_crops"):
        ClipDataset(tmp_path, split="val", train=False, crop="full", num_crops=3)
