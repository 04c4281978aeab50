"""Shrinking (coarse class 18): large objects (size 0.8-0.97) get smaller, resting on the ground throughout.

Named end sizes: "medium" is 50-65 % of the start; "very small" is 0.13-0.19 units (under a quarter of it,
still a few pixels at 112 px); "same smaller size" ends both objects at one size; "different smaller sizes"
ends them at least 0.15 apart.
"""
from __future__ import annotations

import numpy as np

from tabench.synth.motions import motion
from tabench.synth.motions._layout import across_screen, clearance, draw, on_stage, pick_shapes, rand_yaw
from tabench.synth.motions._timing import eased, times
from tabench.synth.motions._tracks import Track, to_clip
from tabench.synth.motions._util import distinct_colors


def _shrink(rng, ctx, start_sizes, end_sizes, what: str):
    """Objects of `start_sizes` shrink together (one smooth change) to `end_sizes`."""
    t = times(ctx)
    n = len(start_sizes)
    shapes, colors = pick_shapes(rng, ctx, n, distinct=True), distinct_colors(rng, n)
    rots = [rand_yaw(rng) for _ in range(n)]
    t0, t1 = rng.uniform(0.1, 0.25), rng.uniform(0.65, 0.85)
    p = eased(t, t0, t1)

    def sample():
        if n == 1:
            spots = [np.array([rng.uniform(-1.0, 1.0), rng.uniform(-0.5, 1.5)])]
        else:
            # side by side across the picture at one distance from the camera: on screen their sizes compare
            # as they are ("same" / "different smaller size"), not as perspective makes them
            spots = list(across_screen(ctx, [-rng.uniform(1.4, 1.8), rng.uniform(1.4, 1.8)], rng.uniform(-0.6, 0.9)))
        tracks = [Track(shapes[k], colors[k], np.tile(spots[k], (len(t), 1)),
                        start_sizes[k] + (end_sizes[k] - start_sizes[k]) * p, rotation=rots[k]) for k in range(n)]
        params = dict(start_sizes=start_sizes, end_sizes=end_sizes, positions=spots, start=t0, end=t1, shapes=shapes)
        return tracks, params, on_stage(tracks) and clearance(tracks) > 0.2

    tracks, params = draw(rng, sample, what)
    return to_clip(tracks, params)


def _two_large(rng) -> list[float]:
    """Two clearly different large sizes (at least 0.08 apart), in random order."""
    sizes = [rng.uniform(0.8, 0.86), rng.uniform(0.92, 0.97)]
    return sizes if rng.random() < 0.5 else sizes[::-1]


@motion("large_single_object_shrinking_into_medium_sized_object")
def shrink_to_medium(rng, ctx):
    s0 = rng.uniform(0.82, 0.97)
    return _shrink(rng, ctx, [s0], [s0 * rng.uniform(0.5, 0.65)], "shrinking to medium")


@motion("large_single_object_shrinking_into_very_small_object")
def shrink_to_very_small(rng, ctx):
    return _shrink(rng, ctx, [rng.uniform(0.82, 0.97)], [rng.uniform(0.13, 0.19)], "shrinking to very small")


@motion("two_different_large_objects_shrinking_into_same_smaller_size")
def shrink_two_same(rng, ctx):
    end = rng.uniform(0.35, 0.5)
    return _shrink(rng, ctx, _two_large(rng), [end, end], "two shrinking to the same size")


@motion("two_different_large_objects_shrinking_into_different_smaller_sizes")
def shrink_two_different(rng, ctx):
    ends = [rng.uniform(0.45, 0.58), rng.uniform(0.15, 0.28)]
    if rng.random() < 0.5:
        ends.reverse()
    return _shrink(rng, ctx, _two_large(rng), ends, "two shrinking to different sizes")
