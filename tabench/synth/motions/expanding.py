"""Expanding (coarse 8): small objects grow, standing on the ground, to the size the class names.

Relative sizes: "medium" is about twice the start size, "large" about three times; objects are placed far
enough apart for their final size.
"""
from __future__ import annotations

from tabench.synth.motions import motion
from tabench.synth.motions._layout import FOOTPRINT, GAP, across_screen, pick_shapes
from tabench.synth.motions._timing import ramp
from tabench.synth.motions._tracks import describe, standing_objects, to_clip
from tabench.synth.motions._util import distinct_colors, random_color, timeline

MEDIUM = (1.8, 2.2)  # final / start size
LARGE = (3.0, 3.4)


def _grow(rng, ctx, starts, finals, shapes, colors):
    """Objects growing from `starts` to `finals` sizes over one shared window, bottoms on the ground. Two
    objects stand side by side across the picture at one distance from the camera, so that their sizes
    compare on screen as they are ("similar" / "different bigger sizes"), not as perspective makes them."""
    t = timeline(ctx.num_frames)
    xy = None
    if len(starts) == 2:
        half = (FOOTPRINT * sum(finals) + GAP) / 2 + rng.uniform(0.2, 0.5)  # spaced for the final sizes
        xy = across_screen(ctx, [-half, half], rng.uniform(-0.6, 0.9))
    objs = standing_objects(rng, ctx, len(starts), sizes=finals, colors=colors, xy=xy)
    t0, t1 = rng.uniform(0.1, 0.3), rng.uniform(0.7, 0.85)
    for obj, s0, s1, shape in zip(objs, starts, finals, shapes):
        obj.shape = shape
        obj.size = s0 + (s1 - s0) * ramp(t, t0, t1)
        obj.position = obj.position.copy()
        obj.position[:, 2] = obj.size
    params = {"objects": describe(objs), "start_sizes": starts, "final_sizes": finals, "grow": [t0, t1]}
    return to_clip(objs, params)


@motion("small_single_object_expanding_into_medium_object")
def small_object_to_medium(rng, ctx):
    s0 = rng.uniform(0.25, 0.32)
    return _grow(rng, ctx, [s0], [s0 * rng.uniform(*MEDIUM)], pick_shapes(rng, ctx, 1), [random_color(rng)])


@motion("small_single_object_expanding_into_large_object")
def small_object_to_large(rng, ctx):
    s0 = rng.uniform(0.25, 0.28)
    return _grow(rng, ctx, [s0], [s0 * rng.uniform(*LARGE)], pick_shapes(rng, ctx, 1), [random_color(rng)])


@motion("two_different_small_objects_expanding_into_similar_larger_size")
def two_different_objects_to_similar_size(rng, ctx):
    """Different shapes, colours and start sizes; the same final size."""
    starts = list(rng.uniform(0.22, 0.32, size=2))
    final = rng.uniform(0.6, 0.7)
    return _grow(rng, ctx, starts, [final, final], pick_shapes(rng, ctx, 2, distinct=True), distinct_colors(rng, 2))


@motion("two_same_small_objects_expanding_into_different_bigger_sizes")
def two_same_objects_to_different_sizes(rng, ctx):
    """Identical small objects (shape, colour, size); one grows to about twice, the other to about three times."""
    s0 = rng.uniform(0.25, 0.28)
    factors = [rng.uniform(*MEDIUM), rng.uniform(*LARGE)]
    factors = [factors[i] for i in rng.permutation(2)]
    shape, color = pick_shapes(rng, ctx, 1)[0], random_color(rng)
    return _grow(rng, ctx, [s0, s0], [s0 * f for f in factors], [shape, shape], [color, color])
