"""The visibility rule of Syn-TA scenes, from the renderer's own masks.

A scene must show what its class names: every object is visible (at least `MIN_VISIBLE_SHARE` of its
unoccluded silhouette inside the frame is frontmost) in at least `MIN_VISIBLE_FRAMES` of the frames in
which it is in view, and objects that must not touch (the not-colliding classes) keep a gap of at least
`MIN_GAP_PX` pixels between their silhouettes at a 112 px frame height (scaled with the height). The
generator checks each scene at the reference size `CHECK_SIZE`, so whether a scene is kept does not depend
on --size, and re-draws a scene that breaks the rule from the next random streams of its seed.

Occlusion classes are exempt from the visible-frames part (hiding an object is their event); their numbers
are still recorded. Why masks rather than geometry: a projected bounding sphere over- or under-states what
is seen (a torus edge-on, a cone from above); the id pass is exactly what the pixels show.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_VISIBLE_SHARE = 0.3
MIN_VISIBLE_FRAMES = 0.6
MIN_GAP_PX = 3.0  # at a frame height of 112 px
CHECK_SIZE = 112
MAX_ATTEMPTS = 25
APART_COARSE = ("not colliding",)  # classes whose objects must never touch, on screen included
EXEMPT_COARSE = ("occlusion",)  # classes whose event is hiding an object


@dataclass
class Coverage:
    """Masks of one clip seen by one camera: `masks` (T, H, W) uint8, 0 background and id + 1 where object
    id is frontmost; `alone` (T, K, H, W) bool, the silhouette of object ids[k] drawn alone."""

    ids: list[int]
    masks: np.ndarray
    alone: np.ndarray


def _edge_points(sil: np.ndarray) -> np.ndarray:
    """Pixel coordinates (N, 2) of a silhouette's boundary (pixels with a 4-neighbour outside it)."""
    p = np.pad(sil, 1)
    inner = p[1:-1, 1:-1] & p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]
    return np.argwhere(sil & ~inner).astype(float)


def gap_px(a: np.ndarray, b: np.ndarray) -> float:
    """Free pixels between two silhouettes (0 when they overlap or touch)."""
    if (a & b).any():
        return 0.0
    pa, pb = _edge_points(a), _edge_points(b)
    if not len(pa) or not len(pb):
        return float("inf")
    d = np.sqrt(((pa[:, None, :] - pb[None, :, :]) ** 2).sum(-1)).min()
    return float(max(d - 1.0, 0.0))


def evaluate(cov: Coverage, apart: bool, exempt: bool) -> dict:
    """The rule on one clip's coverage. Returns the numbers and whether the scene passes."""
    T, K = cov.alone.shape[:2]
    h = cov.masks.shape[1]
    full = cov.alone.reshape(T, K, -1).sum(-1)  # unoccluded silhouette inside the frame, px
    seen = np.stack([(cov.masks == min(i + 1, 255)).reshape(T, -1).sum(-1) for i in cov.ids], 1) if K else full
    shares = []
    for k in range(K):
        in_view = full[:, k] > 0
        if in_view.any():
            ok = seen[in_view, k] >= MIN_VISIBLE_SHARE * full[in_view, k]
            shares.append(float(ok.mean()))
    min_frames = min(shares) if shares else 1.0
    min_gap = None
    need_gap = MIN_GAP_PX * h / 112.0
    if apart and K > 1:
        min_gap = float("inf")
        for t in range(T):
            here = [k for k in range(K) if full[t, k] > 0]
            for x in range(len(here)):
                for y in range(x + 1, len(here)):
                    min_gap = min(min_gap, gap_px(cov.alone[t, here[x]], cov.alone[t, here[y]]))
                    if min_gap < need_gap:
                        break
    passed = (exempt or min_frames >= MIN_VISIBLE_FRAMES) and (min_gap is None or min_gap >= need_gap)
    return {"passed": bool(passed), "min_visible_frames": round(min_frames, 4),
            "min_gap_px": None if min_gap is None else (round(min_gap, 2) if np.isfinite(min_gap) else None)}
