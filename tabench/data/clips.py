"""Clips for training and evaluation: frame sampling, spatial transforms, and `ClipDataset`.

Sampling (frame indices into a video of L frames):
  segment  TSN: the video is cut into N equal segments and one frame is taken from each, at a random
           offset when training, at the centre at test time (clip k of `num_clips` takes offset (k + .5) / num_clips).
  dense    one window of N frames `frame_interval` apart, at a random start when training, centred at
           test time (clip k of `num_clips` starts at (k + .5) / num_clips of the possible starts, as in mmaction2).

Spatial pipeline: frames are decoded with their short side at `scale_size(size)` = round(size * 8 / 7)
(128 for 112, 256 for 224, the usual resize-then-crop ratio). Two crop modes:
  center  (default; the Kinetics/SSv2 recipe) training takes a random resized crop (area `crop_scale`, 25-100 %
          by default, aspect 3/4-4/3, one crop for the whole clip) resized to size x size; test takes the centre
          size x size crop, or with `num_crops=3` the two ends and the centre of the long side.
  full    the whole frame, squashed to size x size, is the test view; training takes a random crop of
          `crop_scale` of its area at the frame's own aspect (+-10 %). For Syn-TA, whose 16:9 frames put objects
          anywhere: a centre crop drops 44 % of the width, and with it the object of "moving left to right".
Horizontal flip is off unless asked for: it turns "moving left to right" into "moving right to left".

The transforms are written here in torch because pytorchvideo's transforms import torchvision, which this
project does not install; they are a few tensor slices and one `F.interpolate` per clip.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from tabench import TabenchError
from tabench.data.format import LEVELS, SPLITS, open_dataset
from tabench.data.cache import scale_size  # noqa: F401 - the short side frames are decoded at
from tabench.data.video import VideoReader

SAMPLINGS = ("segment", "dense")
CROPS = ("center", "full")
CROP_SCALE = (0.25, 1.0)
CROP_RATIO = (3 / 4, 4 / 3)


# ----------------------------------------------------------------- sampling
def segment_indices(num_video_frames: int, num_frames: int, train: bool, rng: np.random.Generator | None = None,
                    clip: int = 0, num_clips: int = 1) -> np.ndarray:
    """TSN sampling: one frame in each of `num_frames` equal segments (frames repeat when the video is shorter)."""
    L = max(1, int(num_video_frames))
    if train:
        offsets = (rng or np.random.default_rng()).random(num_frames)
    else:
        offsets = np.full(num_frames, (clip + 0.5) / num_clips)
    idx = np.floor((np.arange(num_frames) + offsets) * (L / num_frames)).astype(np.int64)
    return np.clip(idx, 0, L - 1)


def dense_indices(num_video_frames: int, num_frames: int, frame_interval: int, train: bool,
                  rng: np.random.Generator | None = None, clip: int = 0, num_clips: int = 1) -> np.ndarray:
    """One window of `num_frames` frames, `frame_interval` apart; past the end of a short video, the last frame repeats."""
    L = max(1, int(num_video_frames))
    span = (num_frames - 1) * frame_interval + 1
    max_start = max(0, L - span)
    if train:
        start = int((rng or np.random.default_rng()).integers(0, max_start + 1))
    else:
        start = int((clip + 0.5) * (max_start + 1) / num_clips)
    return np.minimum(start + np.arange(num_frames, dtype=np.int64) * frame_interval, L - 1)


def sample_indices(sampling: str, num_video_frames: int, num_frames: int, frame_interval: int, train: bool,
                   rng: np.random.Generator | None = None, clip: int = 0, num_clips: int = 1) -> np.ndarray:
    if sampling == "segment":
        return segment_indices(num_video_frames, num_frames, train, rng, clip, num_clips)
    if sampling == "dense":
        return dense_indices(num_video_frames, num_frames, frame_interval, train, rng, clip, num_clips)
    raise TabenchError(f"unknown sampling {sampling!r} (use segment or dense)")


def nearest_positions(positions: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """For each wanted frame index, the position (row) in sorted `positions` of the nearest one (ties: earlier)."""
    positions = np.asarray(positions)
    j = np.clip(np.searchsorted(positions, wanted), 1, max(1, len(positions) - 1))
    if len(positions) == 1:
        return np.zeros(len(wanted), dtype=np.int64)
    left, right = positions[j - 1], positions[j]
    return np.where(np.abs(wanted - left) <= np.abs(right - wanted), j - 1, j)


# ----------------------------------------------------------------- spatial transforms
def random_resized_crop_box(h: int, w: int, rng: np.random.Generator, scale=CROP_SCALE, ratio=CROP_RATIO):
    """(top, left, height, width) of a random crop covering `scale` of the area with aspect in `ratio`."""
    area = h * w
    log_r = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        target = area * rng.uniform(*scale)
        r = math.exp(rng.uniform(*log_r))
        cw, ch = int(round(math.sqrt(target * r))), int(round(math.sqrt(target / r)))
        if 0 < cw <= w and 0 < ch <= h:
            return int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1)), ch, cw
    s = min(h, w)
    return (h - s) // 2, (w - s) // 2, s, s


def full_frame_crop_box(h: int, w: int, rng: np.random.Generator, scale=(0.6, 1.0)):
    """(top, left, height, width) of a random crop of `scale` of the area, at the frame's aspect +-10 %."""
    aspect = w / h
    return random_resized_crop_box(h, w, rng, scale=scale, ratio=(aspect / 1.1, aspect * 1.1))


def crop_boxes(h: int, w: int, size: int, num_crops: int) -> list[tuple[int, int, int, int]]:
    """Test-time crops of size x size: the centre, or with 3 crops both ends and the centre of the long side."""
    ch, cw = min(size, h), min(size, w)
    centre = ((h - ch) // 2, (w - cw) // 2, ch, cw)
    if num_crops == 1:
        return [centre]
    if num_crops == 3:
        if w >= h:
            return [(centre[0], 0, ch, cw), centre, (centre[0], w - cw, ch, cw)]
        return [(0, centre[1], ch, cw), centre, (h - ch, centre[1], ch, cw)]
    raise TabenchError(f"num_crops must be 1 or 3, got {num_crops}")


def to_clip_tensor(frames: np.ndarray, box, size: int, mean: torch.Tensor, std: torch.Tensor,
                   flip: bool = False) -> torch.Tensor:
    """uint8 (T, H, W, 3) frames -> normalised float32 (3, T, size, size) of the crop `box`."""
    top, left, ch, cw = box
    # (3, T, h, w): interpolate treats (3, T) as (batch, channels), so the result needs no final permute
    x = torch.from_numpy(frames[:, top:top + ch, left:left + cw]).permute(3, 0, 1, 2).float()
    if (ch, cw) != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=ch > size or cw > size)
    if flip:
        x = x.flip(-1)
    return x.sub_((mean * 255).view(3, 1, 1, 1)).mul_((1 / (std * 255)).view(3, 1, 1, 1)).contiguous()


# ----------------------------------------------------------------- the dataset
class ClipDataset(torch.utils.data.Dataset):
    """Clips of one (set, split) of a dataset directory, labelled at the coarse or the (set-local) fine level.

    Items are dicts: video (3, T, H, W) float32, or (V, 3, T, H, W) with V = num_clips * num_crops views;
    label, fine_label (the set-local fine id, whatever the level: the disentangled models' fine branch trains on
    it), index (into `entries`) and path (as in the manifest). With `cache_dir`, frames come from a
    pre-decoded uint8 cache (tabench.data.cache), built on first use and reused while the dataset is unchanged.
    """

    def __init__(self, root, set_id: int = 1, split: str = "train", level: str = "coarse", num_frames: int = 8,
                 size: int = 112, train: bool = True, sampling: str = "segment", frame_interval: int = 2,
                 num_clips: int = 1, num_crops: int = 1, mean: Sequence[float] = (0.45, 0.45, 0.45),
                 std: Sequence[float] = (0.225, 0.225, 0.225), hflip: bool = False, cache_dir=None,
                 skip_corrupt: bool = False, seed: int = 0, cache_workers: int | None = None,
                 crop: str = "center", crop_scale: Sequence[float] | None = None):
        if crop not in CROPS:
            raise TabenchError(f"crop must be one of {', '.join(CROPS)}, got {crop!r}")
        if crop == "full" and num_crops != 1:
            raise TabenchError("crop 'full' evaluates the whole frame: use num_crops=1")
        crop_scale = tuple(crop_scale) if crop_scale is not None else (CROP_SCALE if crop == "center" else (0.6, 1.0))
        if not (len(crop_scale) == 2 and 0 < crop_scale[0] <= crop_scale[1] <= 1):
            raise TabenchError(f"crop_scale must be [min, max] with 0 < min <= max <= 1, got {list(crop_scale)}")
        if split not in SPLITS:
            raise TabenchError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
        if level not in LEVELS:
            raise TabenchError(f"level must be one of {', '.join(LEVELS)}, got {level!r}")
        if sampling not in SAMPLINGS:
            raise TabenchError(f"sampling must be one of {', '.join(SAMPLINGS)}, got {sampling!r}")
        if num_frames < 1 or size < 1 or frame_interval < 1 or num_clips < 1:
            raise TabenchError("num_frames, size, frame_interval and num_clips must be positive")
        if num_crops not in (1, 3):
            raise TabenchError(f"num_crops must be 1 or 3, got {num_crops}")
        if train and num_clips * num_crops > 1:
            raise TabenchError("multi-view (num_clips or num_crops > 1) is for evaluation: use train=False")
        ds = open_dataset(root)
        self.root = ds.root
        self.taxonomy = ds.taxonomy
        self.set_id, self.split, self.level = int(set_id), split, level
        if self.set_id not in (1, 2):
            raise TabenchError(f"set must be 1 or 2, got {set_id}")
        self.entries = ds.select(self.set_id, split)
        if not self.entries:
            raise TabenchError(f"{root}: no {split} videos in set {set_id}")
        self.num_classes = self.taxonomy.num_classes(self.set_id, level)
        self.num_frames, self.size, self.train = int(num_frames), int(size), bool(train)
        self.sampling, self.frame_interval = sampling, int(frame_interval)
        self.num_clips, self.num_crops = int(num_clips), int(num_crops)
        self.mean = torch.tensor(mean, dtype=torch.float32)
        self.std = torch.tensor(std, dtype=torch.float32)
        self.hflip, self.skip_corrupt, self.seed = bool(hflip), bool(skip_corrupt), int(seed)
        self.crop, self.crop_scale = crop, (float(crop_scale[0]), float(crop_scale[1]))
        self.epoch = 0
        self.decode_threads = "adaptive"  # see tabench.data.video.THREADS_MIN_PIXELS
        # positions of the kept entries in the (set, split) selection: clip randomness and the clip cache are
        # keyed by them, so leaving a video out changes nothing about the others
        self._positions = list(range(len(self.entries)))
        self.skipped_problems = []
        if self.skip_corrupt:
            # every video is decoded once up front (cached per manifest); a bad one is left out, never replaced
            # by another video, which would score that one twice
            from tabench.data.integrity import verify_dataset

            self.skipped_problems = verify_dataset(self.root, self.entries, progress=False)
            bad = {p.path for p in self.skipped_problems}
            self._positions = [k for k, e in enumerate(self.entries) if e.path not in bad]
            self.entries = [self.entries[k] for k in self._positions]
            if not self.entries:
                raise TabenchError(f"{root}: every {split} video of set {set_id} is unreadable "
                                   f"(first: {self.skipped_problems[0]})")
        self.cache = None
        if cache_dir is not None:
            from tabench.data.cache import build_clip_cache, open_clip_cache

            kw = dict(set_id=self.set_id, split=split, num_frames=self.num_frames, size=self.size,
                      sampling=sampling, frame_interval=self.frame_interval)
            self.cache = open_clip_cache(self.root, cache_dir, **kw)
            if self.cache is None:
                build_clip_cache(self.root, cache_dir=cache_dir, workers=cache_workers, **kw)
                self.cache = open_clip_cache(self.root, cache_dir, **kw)

    def __len__(self) -> int:
        return len(self.entries)

    def set_epoch(self, epoch: int) -> None:
        """Vary the train-time randomness per epoch, reproducibly (same seed and epoch -> same clips)."""
        self.epoch = int(epoch)

    @property
    def skipped(self) -> list[tuple[str, str]]:
        """(path, reason) of every video left out because it is missing or does not decode (skip_corrupt)."""
        return [(p.path, f"{p.kind}: {p.detail}") for p in self.skipped_problems]

    def __getitem__(self, i: int) -> dict:
        return self._load(i)

    # ----- internals -----
    def _rng(self, i: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.epoch, i])

    def _indices(self, num_video_frames: int, rng) -> list[np.ndarray]:
        return [sample_indices(self.sampling, num_video_frames, self.num_frames, self.frame_interval,
                               self.train, rng, clip=c, num_clips=self.num_clips) for c in range(self.num_clips)]

    def _load(self, i: int) -> dict:
        e = self.entries[i]
        k = self._positions[i]
        rng = self._rng(k)
        if self.cache is not None:
            positions, frames, L = self.cache.get(k)
            views_idx = self._indices(L, rng)
            clips = [frames[nearest_positions(positions, idx)] for idx in views_idx]
        else:
            with VideoReader(self.root / e.path, threads=self.decode_threads) as r:
                views_idx = self._indices(r.info.num_frames, rng)
                allidx = np.concatenate(views_idx)
                got = r.read(allidx, short_side=scale_size(self.size))
            clips = np.split(got, self.num_clips)
        views = []
        for frames in clips:
            h, w = frames.shape[1:3]
            if self.train:
                if self.crop == "full":
                    box = full_frame_crop_box(h, w, rng, self.crop_scale)
                else:
                    box = random_resized_crop_box(h, w, rng, self.crop_scale)
                flip = self.hflip and rng.random() < 0.5
                views.append(to_clip_tensor(frames, box, self.size, self.mean, self.std, flip))
            elif self.crop == "full":
                views.append(to_clip_tensor(frames, (0, 0, h, w), self.size, self.mean, self.std))
            else:
                for box in crop_boxes(h, w, self.size, self.num_crops):
                    views.append(to_clip_tensor(frames, box, self.size, self.mean, self.std))
        video = views[0] if len(views) == 1 else torch.stack(views)
        return {"video": video, "label": e.label(self.level), "fine_label": e.fine_id, "index": i, "path": e.path}
