"""Merging (coarse class 11): objects run into each other and become one; the parts leave the scene at the
moment of merging and the merged object (a new id) takes their place."""
from __future__ import annotations

import numpy as np

from tabench.synth.motions import motion
from tabench.synth.motions._geometry import unit
from tabench.synth.motions._layout import (REACH, across_picture, as_seen, clearance, draw, front_camera, on_stage,
                                          pick_shapes, rand_yaw)
from tabench.synth.motions._timing import min_span, progress, times
from tabench.synth.motions._tracks import Track, to_clip
from tabench.synth.motions._util import distinct_colors


def _converge(rng, ctx, t, starts, sizes, meet, t0: float, t_merge: float, shapes, colors, big: float | None):
    """Parts move in a straight line from `starts` to `meet`, arriving together at t_merge, when they are
    replaced by one object at `meet`: similar in size when `big` is None, else growing to `big` over a few
    frames (it swallows the parts)."""
    p = progress(t, t0, t_merge)[:, None]
    before = t < t_merge
    tracks = [Track(shapes[k], colors[k], starts[k] + p * (meet - starts[k]), sizes[k], rotation=rand_yaw(rng),
                    alive=before) for k in range(len(starts))]
    heir = int(rng.integers(len(starts)))  # the merged object keeps this part's shape and colour
    if big is None:
        size = float(np.mean(sizes) * rng.uniform(1.0, 1.12))
        merged_size = np.full(len(t), size)
    else:
        size = big
        grow = progress(t, t_merge, t_merge + max(0.06, min_span(ctx, 3)))
        merged_size = max(sizes) + (big - max(sizes)) * grow
    tracks.append(Track(shapes[heir], colors[heir], np.tile(meet, (len(t), 1)), merged_size,
                        rotation=tracks[heir].rotation[0], alive=~before))
    return tracks, size


def _big_size(sizes) -> float:
    """A merged object clearly bigger than any part (at least its volume sum), but not stage-filling."""
    return float(min(max(1.45 * max(sizes), np.cbrt(np.sum(np.asarray(sizes) ** 3))), 0.95))


@motion("two_objects_merging_into_one_similar_sized_object_while_moving_towards_each_other")
def two_merge_head_on(rng, ctx):
    t = times(ctx)
    shapes, colors = pick_shapes(rng, ctx, 2), distinct_colors(rng, 2)

    def sample():
        sizes = rng.uniform(0.45, 0.6) * rng.uniform(0.93, 1.07, 2)
        u = across_picture(rng, ctx, 30)
        meet = np.array([rng.uniform(-0.8, 0.8), rng.uniform(-0.5, 1.5)])
        dist = rng.uniform(3.6, 5.0)
        t0, t_merge = rng.uniform(0.03, 0.15), rng.uniform(0.5, 0.7)
        starts = np.array([meet - dist / 2 * u, meet + dist / 2 * u])
        tracks, size = _converge(rng, ctx, t, starts, sizes, meet, t0, t_merge, shapes, colors, None)
        params = dict(sizes=sizes, merged_size=size, start_distance=dist, meet=meet, start=t0, merge=t_merge,
                      shapes=shapes)
        return tracks, params, on_stage(tracks)

    tracks, params = draw(rng, sample, "two objects merging")
    return to_clip(tracks, params)


@motion("multiple_objects_merging_into_one_big_object")
def many_merge_into_one(rng, ctx):
    t = times(ctx)
    n = int(rng.integers(3, 5))
    shapes, colors = pick_shapes(rng, ctx, n), distinct_colors(rng, n)

    def sample():
        sizes = rng.uniform(0.38, 0.5, n)
        meet = np.array([rng.uniform(-0.4, 0.4), rng.uniform(-0.1, 0.5)])
        angles = rng.uniform(0, 2 * np.pi) + 2 * np.pi * np.arange(n) / n + rng.uniform(-0.25, 0.25, n)
        starts = meet + rng.uniform(2.0, 2.6, n)[:, None] * unit(angles)
        t0, t_merge = rng.uniform(0.03, 0.15), rng.uniform(0.5, 0.7)
        tracks, size = _converge(rng, ctx, t, starts, sizes, meet, t0, t_merge, shapes, colors, _big_size(sizes))
        start_gap = min(np.linalg.norm(starts[i] - starts[j]) - REACH * (sizes[i] + sizes[j])
                        for i in range(n) for j in range(i))
        params = dict(sizes=sizes, merged_size=size, meet=meet, starts=starts, start=t0, merge=t_merge, shapes=shapes)
        return tracks, params, on_stage(tracks) and start_gap > 0.3

    tracks, params = draw(rng, sample, "many objects merging into one")
    return to_clip(tracks, params)


@motion("faster_object_merging_with_slower_object_into_one_similar_sized_object_while_moving_in_same_direction")
def fast_catches_slow(rng, ctx):
    """Both move the same way; the one behind is faster, catches up and they merge; the merged object goes on
    at the momentum-weighted speed."""
    t = times(ctx)
    shapes, colors = pick_shapes(rng, ctx, 2), distinct_colors(rng, 2)
    rots = [rand_yaw(rng), rand_yaw(rng)]

    def sample():
        sizes = rng.uniform(0.42, 0.55) * rng.uniform(0.93, 1.07, 2)  # [fast, slow]
        u = across_picture(rng, ctx, 20)
        c = np.array([rng.uniform(-0.3, 0.3), rng.uniform(-0.5, 1.2)])
        s_fast0, s_slow0 = rng.uniform(-3.0, -2.6), rng.uniform(-1.3, -0.5)
        t0, t_merge = rng.uniform(0.0, 0.08), rng.uniform(0.5, 0.7)
        v_slow = rng.uniform(1.0, 1.8)  # stage units per clip
        v_fast = v_slow + (s_slow0 - s_fast0) / (t_merge - t0)
        mass = sizes ** 3
        v_merged = (mass[0] * v_fast + mass[1] * v_slow) / mass.sum()
        dt = np.clip(t - t0, 0, None)
        before = t < t_merge
        s_merge = s_slow0 + v_slow * (t_merge - t0)
        s_merged = s_merge + v_merged * np.clip(t - t_merge, 0, None)
        merged_size = float(sizes.mean() * rng.uniform(1.0, 1.12))
        heir = int(rng.integers(2))
        tracks = [Track(shapes[0], colors[0], c + (s_fast0 + v_fast * dt)[:, None] * u, sizes[0], rotation=rots[0],
                        alive=before),
                  Track(shapes[1], colors[1], c + (s_slow0 + v_slow * dt)[:, None] * u, sizes[1], rotation=rots[1],
                        alive=before),
                  Track(shapes[heir], colors[heir], c + s_merged[:, None] * u, merged_size, rotation=rots[heir],
                        alive=~before)]
        params = dict(sizes=sizes, merged_size=merged_size, speeds=[v_fast, v_slow], merged_speed=v_merged,
                      direction_deg=np.degrees(np.arctan2(u[1], u[0])), start=t0, merge=t_merge, shapes=shapes)
        return tracks, params, on_stage(tracks) and v_fast > 1.8 * v_slow

    tracks, params = draw(rng, sample, "faster object merging with slower")
    return to_clip(tracks, params)


@motion("multiple_objects_merging_into_multiple_big_objects")
def groups_merge(rng, ctx):
    """Two groups of 2-3 objects, one nearer the camera and one farther, to the left and right of each other;
    each group merges into its own big object. The parts of a group come from both sides (one from one side
    and one or two from the other), so their moves run across the picture; the two groups use the stage's
    depth, leaving each part 1.4-2 units to go. (Side by side, two groups share the stage's width and moved
    1.1-1.5 units from every direction: 0.07 of the front picture, the depth moves hardly moving on screen.)
    From the front the layout is turned to face the camera (`as_seen`)."""
    t = times(ctx)
    counts = [int(rng.integers(2, 4)) for _ in range(2)]
    n = sum(counts)
    shapes, colors = pick_shapes(rng, ctx, n), distinct_colors(rng, n)

    def sample():
        tracks, bigs, params = [], [], dict(groups=[])
        k = 0
        near = int(rng.integers(2))  # the group nearer the camera
        side = rng.choice([-1.0, 1.0])  # the near group's side
        for g, cnt in enumerate(counts):
            x = (side if g == near else -side) * rng.uniform(0.8, 1.4)
            meet = np.array([x, rng.uniform(-1.2, -0.4) if g == near else rng.uniform(1.0, 1.8)])
            sizes = rng.uniform(0.36, 0.46, cnt)
            base = rng.choice([0.0, np.pi]) + np.radians(rng.uniform(-20, 20))  # a part from one side
            angles = base + 2 * np.pi * np.arange(cnt) / cnt + rng.uniform(-0.15, 0.15, cnt)
            starts = meet + rng.uniform(1.4, 2.0, cnt)[:, None] * unit(angles)
            if front_camera(ctx):
                starts, meet = as_seen(ctx, starts), as_seen(ctx, meet)
            t0, t_merge = rng.uniform(0.03, 0.15), rng.uniform(0.45, 0.7)
            group, size = _converge(rng, ctx, t, starts, sizes, meet, t0, t_merge, shapes[k:k + cnt],
                                    colors[k:k + cnt], _big_size(sizes))
            tracks += group[:-1]
            bigs.append(group[-1])
            params["groups"].append(dict(sizes=sizes, merged_size=size, meet=meet, start=t0, merge=t_merge,
                                         near=g == near))
            k += cnt
        tracks += bigs
        members = [range(counts[0]), range(counts[0], n)]
        group_of = {i: g for g, m in enumerate(members) for i in m} | {n: 0, n + 1: 1}
        cross = [(i, j) for i in range(n + 2) for j in range(i) if group_of[i] != group_of[j]]
        start_gap = min(np.linalg.norm(tracks[i].position[0] - tracks[j].position[0])
                        - REACH * (tracks[i].size[0] + tracks[j].size[0])
                        for m in members for i in m for j in m if j < i)
        params["shapes"] = shapes
        return tracks, params, on_stage(tracks) and clearance(tracks, pairs=cross) > 0.2 and start_gap > 0.25

    tracks, params = draw(rng, sample, "groups merging into big objects")
    return to_clip(tracks, params)
