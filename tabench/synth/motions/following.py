"""Following (coarse class 10): one or more objects keep behind a leader, on the leader's own path."""
from __future__ import annotations

import numpy as np

from tabench.synth.motions import motion
from tabench.synth.motions._geometry import along, perp, rot2
from tabench.synth.motions._layout import (REACH, across_picture, clearance, draw, on_stage, pick_shapes, rand_yaw,
                                          screen_bend)
from tabench.synth.motions._timing import eased, progress, times
from tabench.synth.motions._tracks import Track, to_clip
from tabench.synth.motions._util import distinct_colors, smoothstep

MIN_BEND = 0.06  # frame widths: how far a "complex path" must bend away from a straight line on screen


def _queue(rng, ctx, n_followers: int):
    """A leader and followers in single file, each a fixed gap behind the one before, all moving at once."""
    t = times(ctx)
    n = n_followers + 1
    shapes = pick_shapes(rng, ctx, n)
    colors = distinct_colors(rng, n)
    rots = [rand_yaw(rng) for _ in range(n)]
    # A longer queue needs smaller objects and gaps to leave room for travel on the stage.
    size_lo, size_hi, margin, travel_lo = {2: (0.4, 0.6, 0.45, 3.0),
                                           3: (0.38, 0.48, 0.35, 2.2)}.get(n, (0.35, 0.42, 0.3, 1.8))

    def sample():
        sizes = rng.uniform(size_lo, size_hi, n)  # sizes[0] is the leader
        gaps = [REACH * (sizes[k] + sizes[k + 1]) + rng.uniform(0.15, margin) for k in range(n - 1)]
        travel = rng.uniform(travel_lo, 4.2)
        u = across_picture(rng, ctx, 30)
        c = np.array([rng.uniform(-0.3, 0.3), rng.uniform(-0.6, 1.4)])
        t0, t1 = rng.uniform(0.0, 0.1), rng.uniform(0.88, 1.0)
        offsets = np.r_[0.0, np.cumsum(gaps)]  # distance of each object behind the leader
        lead0 = c + (offsets[-1] - (offsets[-1] + travel) / 2) * u
        lead = lead0 + (travel * eased(t, t0, t1))[:, None] * u
        tracks = [Track(shapes[k], colors[k], lead - offsets[k] * u, sizes[k], rotation=rots[k]) for k in range(n)]
        params = dict(sizes=sizes, gaps=gaps, travel=travel, direction_deg=np.degrees(np.arctan2(u[1], u[0])),
                      center=c, start=t0, end=t1, shapes=shapes)
        return tracks, params, on_stage(tracks) and clearance(tracks) > 0.1

    tracks, params = draw(rng, sample, "following in a straight line")
    return to_clip(tracks, params)


@motion("single_object_following_another_object_all_the_time_while_moving_in_a_straight_line")
def follow_straight(rng, ctx):
    return _queue(rng, ctx, 1)


@motion("multiple_objects_following_one_object_all_the_time_in_a_straight_line")
def follow_straight_many(rng, ctx):
    return _queue(rng, ctx, int(rng.integers(2, 4)))


@motion("single_object_following_another_object_for_some_time_while_moving_in_straight_line_then_follows_another_path")
def follow_then_turn_away(rng, ctx):
    """The follower keeps behind the leader for part of the way, then turns off onto its own path while the
    leader goes on straight; both keep the same speed."""
    t = times(ctx)
    shapes, colors = pick_shapes(rng, ctx, 2), distinct_colors(rng, 2)
    rots = [rand_yaw(rng), rand_yaw(rng)]

    def sample():
        s_lead, s_fol = rng.uniform(0.42, 0.6, 2)
        gap = REACH * (s_lead + s_fol) + rng.uniform(0.3, 0.6)
        travel = rng.uniform(3.6, 4.6)
        split = rng.uniform(0.38, 0.55)  # share of the way the follower stays behind the leader
        turn = np.radians(rng.uniform(65, 110)) * rng.choice([-1, 1])
        u = across_picture(rng, ctx, 20)
        c = np.array([rng.uniform(-0.3, 0.3), rng.uniform(-1.0, 1.5)])
        t0, t1 = rng.uniform(0.0, 0.08), rng.uniform(0.9, 1.0)
        fol0 = c - (gap + travel) / 2 * u
        # The follower's path: straight along u, then a short rounded turn (0.5 units of arc) onto a new heading.
        ds = np.linspace(0.0, travel, 600)
        heading = np.arctan2(u[1], u[0]) + turn * smoothstep((ds - split * travel) / 0.5)
        steps = np.diff(ds)[:, None] * np.stack([np.cos(heading[:-1]), np.sin(heading[:-1])], axis=1)
        path = fol0 + np.vstack([[0.0, 0.0], np.cumsum(steps, axis=0)])
        d = travel * progress(t, t0, t1)
        lead = fol0 + (gap + d)[:, None] * u
        tracks = [Track(shapes[0], colors[0], lead, s_lead, rotation=rots[0]),
                  Track(shapes[1], colors[1], along(path, d), s_fol, rotation=rots[1])]
        params = dict(sizes=[s_lead, s_fol], gap=gap, travel=travel, split=split, turn_deg=np.degrees(turn),
                      direction_deg=np.degrees(np.arctan2(u[1], u[0])), center=c, start=t0, end=t1, shapes=shapes)
        return tracks, params, on_stage(tracks) and clearance(tracks) > 0.1

    tracks, params = draw(rng, sample, "following then another path")
    return to_clip(tracks, params)


def _complex_path(rng, lead: float):
    """A curvy ground path (dense polyline) that bends one way and then the other, both bends lying beyond
    the first `lead` units (where the follower starts, behind the leader): a wave across the stage, or a
    figure eight through one end loop, its crossing and the other end loop."""
    kind = str(rng.choice(["wave", "figure_eight"]))
    if kind == "wave":
        a = rng.uniform(2.6, 2.9)
        crest = -a + 0.85 * lead + rng.uniform(0.4, 0.8)  # first bend, just after the leader's start
        omega = np.pi / max(a - 0.4 - crest, 0.5)  # the opposite bend half a period later, before the end
        amp = min(rng.uniform(0.6, 0.9), 1.3 / omega ** 2)  # curvature amp * omega^2 <= 1.3
        x = np.linspace(-a, a, 800)
        pts = np.c_[x, amp * np.cos(omega * (x - crest))]
    else:
        # x = sin(th), y = sin(2 th): end loops at th = -pi/2 and pi/2, the crossing at th = 0
        th0 = -rng.uniform(0.85, 1.0) * np.pi
        th = th0 + np.linspace(0.0, rng.uniform(1.6, 1.8) * np.pi, 800)
        pts = np.c_[rng.uniform(2.2, 2.7) * np.sin(th), rng.uniform(1.0, 1.4) * np.sin(2 * th)]
    if rng.random() < 0.5:
        pts[:, 0] *= -1
    if rng.random() < 0.5:
        pts[:, 1] *= -1
    pts = rot2(pts, rng.uniform(0, 2 * np.pi))  # any heading; the caller keeps those whose bends show on screen
    return kind, pts + [rng.uniform(-0.3, 0.3), rng.uniform(-0.2, 0.6)]


@motion("single_object_following_another_object_all_the_time_in_a_complex_path")
def follow_complex_path(rng, ctx):
    """Both objects travel the same curvy path at the same even speed, the follower a fixed arc length behind."""
    t = times(ctx)
    shapes, colors = pick_shapes(rng, ctx, 2), distinct_colors(rng, 2)
    rots = [rand_yaw(rng), rand_yaw(rng)]

    def sample():
        s_lead, s_fol = rng.uniform(0.4, 0.55, 2)
        gap = REACH * (s_lead + s_fol) + rng.uniform(0.5, 0.9)  # along the path
        kind, path = _complex_path(rng, gap)
        total = np.linalg.norm(np.diff(path, axis=0), axis=1).sum()
        t0, t1 = rng.uniform(0.0, 0.08), rng.uniform(0.92, 1.0)
        d = (total - gap) * progress(t, t0, t1)
        tracks = [Track(shapes[0], colors[0], along(path, d + gap), s_lead, rotation=rots[0]),
                  Track(shapes[1], colors[1], along(path, d), s_fol, rotation=rots[1])]
        params = dict(path=kind, sizes=[s_lead, s_fol], gap_along_path=gap, path_length=total, start=t0, end=t1,
                      shapes=shapes)
        # the path must look curvy from the video's camera: from the nearly level front view a wave whose bends
        # lie along the line of sight projects to an almost straight line (half the front videos bent < 0.03)
        curvy = screen_bend(ctx, tracks[0].position) >= MIN_BEND
        return tracks, params, curvy and on_stage(tracks) and clearance(tracks) > 0.1

    tracks, params = draw(rng, sample, "following in a complex path")
    return to_clip(tracks, params)


@motion("single_object_not_following_another_object_at_first_but_later_starts_following")
def starts_following_later(rng, ctx):
    """The leader crosses the stage; the other object first drifts its own way (against the leader's
    direction), then swings in behind the leader and follows it to the end."""
    t = times(ctx)
    shapes, colors = pick_shapes(rng, ctx, 2), distinct_colors(rng, 2)
    rots = [rand_yaw(rng), rand_yaw(rng)]

    def sample():
        s_lead, s_fol = rng.uniform(0.42, 0.58, 2)
        gap = REACH * (s_lead + s_fol) + rng.uniform(0.3, 0.6)
        u = across_picture(rng, ctx, 20)
        side = rng.choice([-1.0, 1.0])
        c = np.array([rng.uniform(-0.3, 0.3), rng.uniform(-0.3, 0.8)])
        travel = rng.uniform(4.6, 5.2)
        t0, t1 = rng.uniform(0.0, 0.06), rng.uniform(0.94, 1.0)
        t_join0 = rng.uniform(0.3, 0.42)
        t_join1 = t_join0 + rng.uniform(0.2, 0.28)
        lead = c + (-travel / 2 + travel * progress(t, t0, t1))[:, None] * u
        behind = lead - gap * u
        own_dir = rot2(-u, side * np.radians(rng.uniform(0, 60)))  # 120-180 degrees away from the leader's
        speed = rng.uniform(0.35, 0.6) * travel / (t1 - t0)
        start = c + rng.uniform(-1.0, 1.0) * u + side * rng.uniform(1.7, 2.3) * perp(u)
        own = start + (speed * t)[:, None] * own_dir
        w = eased(t, t_join0, t_join1)[:, None]
        fol = (1 - w) * own + w * behind
        tracks = [Track(shapes[0], colors[0], lead, s_lead, rotation=rots[0]),
                  Track(shapes[1], colors[1], fol, s_fol, rotation=rots[1])]
        params = dict(sizes=[s_lead, s_fol], gap=gap, travel=travel, direction_deg=np.degrees(np.arctan2(u[1], u[0])),
                      own_direction_deg=np.degrees(np.arctan2(own_dir[1], own_dir[0])), join_start=t_join0,
                      join_end=t_join1, start=t0, end=t1, shapes=shapes)
        return tracks, params, on_stage(tracks) and clearance(tracks) > 0.1

    tracks, params = draw(rng, sample, "starts following later")
    return to_clip(tracks, params)
