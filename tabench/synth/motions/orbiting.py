"""Orbiting (coarse class 15): an object circles another at a constant distance.

Senses are as the viewer sees them: on the horizontal plane "clockwise" is seen from above (the signed angle
in the x-y plane decreases); on the vertical plane the circle lies in the x-z plane facing the camera and
"clockwise" means the signed angle in the x-z plane (x right, z up) decreases. The vertical orbit's centre
object floats high enough for the orbit to clear the ground.
"""
from __future__ import annotations

import numpy as np

from tabench.synth.motions import motion
from tabench.synth.motions._geometry import unit
from tabench.synth.motions._layout import clearance, draw, on_stage, pick_shapes, rand_yaw, reach
from tabench.synth.motions._timing import eased, progress, times
from tabench.synth.motions._tracks import Track, to_clip
from tabench.synth.motions._util import distinct_colors

CW, CCW = -1.0, 1.0


def _spin(angle: np.ndarray) -> np.ndarray:
    """Turn the orbiter about z with its travel, so it shows the same face to the centre (like the Moon)."""
    return np.c_[np.zeros_like(angle), np.zeros_like(angle), angle]


def _horizontal(rng, ctx, angle_of_t):
    """A centre object on the ground and an orbiter on the ground circling it; `angle_of_t(t, rng)` gives
    the orbiter's angle change (radians, counter-clockwise positive) over normalised time."""
    t = times(ctx)
    shapes, colors = pick_shapes(rng, ctx, 2), distinct_colors(rng, 2)  # [orbiter, centre]
    rot_c = rand_yaw(rng)

    def sample():
        s_orb, s_cen = rng.uniform(0.35, 0.5), rng.uniform(0.5, 0.75)
        center = np.array([rng.uniform(-0.5, 0.5), rng.uniform(-0.1, 0.5)])
        touching = reach(shapes[0]) * s_orb + reach(shapes[1]) * s_cen
        radius = max(touching + rng.uniform(0.5, 0.9), rng.uniform(1.6, 2.3))
        a0 = rng.uniform(0, 2 * np.pi)
        delta, timing = angle_of_t(t, rng)
        ang = a0 + delta
        tracks = [Track(shapes[0], colors[0], center + radius * unit(ang), s_orb, rotation=_spin(ang)),
                  Track(shapes[1], colors[1], np.tile(center, (len(t), 1)), s_cen, rotation=rot_c)]
        params = dict(sizes=[s_orb, s_cen], center=center, radius=radius, start_angle_deg=np.degrees(a0),
                      shapes=shapes, **timing)
        return tracks, params, on_stage(tracks) and clearance(tracks) > 0.2

    tracks, params = draw(rng, sample, "horizontal orbit")
    return to_clip(tracks, params)


def _steady(sense: float):
    """Constant angular speed, 1 to 1.75 turns in the given sense."""
    def angle(t, rng):
        turns, t0, t1 = rng.uniform(1.0, 1.75), rng.uniform(0.0, 0.08), rng.uniform(0.92, 1.0)
        return sense * 2 * np.pi * turns * progress(t, t0, t1), dict(turns=turns, sense="cw" if sense < 0 else "ccw",
                                                                      start=t0, end=t1)
    return angle


def _there_and_back(t, rng):
    """Clockwise, slowing to a stop, then counter-clockwise (each leg 0.6-1 turn)."""
    t0, t_rev, t1 = rng.uniform(0.0, 0.06), rng.uniform(0.44, 0.56), rng.uniform(0.94, 1.0)
    cw_turns, ccw_turns = rng.uniform(0.6, 1.0), rng.uniform(0.6, 1.0)
    delta = 2 * np.pi * (-cw_turns * eased(t, t0, t_rev) + ccw_turns * eased(t, t_rev, t1))
    return delta, dict(cw_turns=cw_turns, ccw_turns=ccw_turns, start=t0, reverse=t_rev, end=t1)


@motion("single_object_orbiting_another_object_in_the_center_in_clockwise_direction_on_horizontal_plane")
def orbit_cw_horizontal(rng, ctx):
    return _horizontal(rng, ctx, _steady(CW))


@motion("single_object_orbiting_another_object_in_the_center_in_counter_clockwise_direction_on_horizontal_plane")
def orbit_ccw_horizontal(rng, ctx):
    return _horizontal(rng, ctx, _steady(CCW))


@motion("single_object_orbiting_another_object_in_the_center_in_clockwise_direction_first_and_then_counter_clockwise_direction_on_horizontal_plane")
def orbit_cw_then_ccw_horizontal(rng, ctx):
    return _horizontal(rng, ctx, _there_and_back)


def _vertical(rng, ctx, sense: float):
    """A floating centre object and an orbiter circling it in the x-z plane (facing the camera)."""
    t = times(ctx)
    shapes, colors = pick_shapes(rng, ctx, 2), distinct_colors(rng, 2)  # [orbiter, centre]
    rot_c = rand_yaw(rng)

    def sample():
        s_orb, s_cen = rng.uniform(0.3, 0.4), rng.uniform(0.4, 0.55)
        touching = reach(shapes[0]) * s_orb + reach(shapes[1]) * s_cen
        radius = max(touching + rng.uniform(0.25, 0.45), rng.uniform(1.1, 1.5))
        cz = radius + s_orb + rng.uniform(0.15, 0.35)  # lowest point of the orbit clears the ground
        center = np.array([rng.uniform(-0.6, 0.6), rng.uniform(-0.3, 0.8), cz])
        turns, t0, t1 = rng.uniform(1.0, 1.75), rng.uniform(0.0, 0.08), rng.uniform(0.92, 1.0)
        a0 = rng.uniform(0, 2 * np.pi)
        ang = a0 + sense * 2 * np.pi * turns * progress(t, t0, t1)
        pos = center + radius * np.c_[np.cos(ang), np.zeros_like(ang), np.sin(ang)]
        tumble = np.c_[np.zeros_like(ang), -ang, np.zeros_like(ang)]  # turns with the orbit, in its plane
        tracks = [Track(shapes[0], colors[0], pos, s_orb, rotation=tumble),
                  Track(shapes[1], colors[1], np.tile(center, (len(t), 1)), s_cen, rotation=rot_c)]
        params = dict(sizes=[s_orb, s_cen], center=center, radius=radius, turns=turns,
                      sense="cw" if sense < 0 else "ccw", start_angle_deg=np.degrees(a0), start=t0, end=t1,
                      shapes=shapes)
        # the top of the circle may go a little higher than other motions (z 3.8 is still in frame)
        return tracks, params, on_stage(tracks, z_max=3.8) and clearance(tracks) > 0.15

    tracks, params = draw(rng, sample, "vertical orbit")
    return to_clip(tracks, params)


@motion("single_object_orbiting_another_object_in_the_center_in_clockwise_direction_on_vertical_plane")
def orbit_cw_vertical(rng, ctx):
    return _vertical(rng, ctx, CW)


@motion("single_object_orbiting_another_object_in_the_center_in_counter_clockwise_direction_on_vertical_plane")
def orbit_ccw_vertical(rng, ctx):
    return _vertical(rng, ctx, CCW)


@motion("single_object_orbiting_another_object_in_clockwise_direction_then_second_object_orbiting_first_object_in_clockwise_direction_on_horizontal_plane")
def orbit_then_orbited(rng, ctx):
    """First A circles B clockwise while B stands still; then A stands still and B circles A clockwise."""
    t = times(ctx)
    shapes, colors = pick_shapes(rng, ctx, 2), distinct_colors(rng, 2)  # [A, B]

    def sample():
        sizes = rng.uniform(0.4, 0.55, 2)
        touching = reach(shapes[0]) * sizes[0] + reach(shapes[1]) * sizes[1]
        radius = max(touching + rng.uniform(0.5, 0.8), rng.uniform(1.4, 1.8))
        b0 = np.array([rng.uniform(-1.2, 1.2), rng.uniform(-0.6, 1.2)])
        t0, t_mid, t1 = rng.uniform(0.0, 0.05), rng.uniform(0.45, 0.5), rng.uniform(0.95, 1.0)
        pause = rng.uniform(0.03, 0.08)
        turns = rng.uniform(0.75, 1.1, 2)
        a_start = rng.uniform(0, 2 * np.pi)
        ang_a = a_start - 2 * np.pi * turns[0] * progress(t, t0, t_mid)  # A around B
        a_stop = b0 + radius * unit(a_start - 2 * np.pi * turns[0])
        b_start = np.arctan2(*(b0 - a_stop)[::-1])
        ang_b = b_start - 2 * np.pi * turns[1] * progress(t, t_mid + pause, t1)  # B around A
        second = (t >= t_mid)[:, None]
        a = np.where(second, a_stop, b0 + radius * unit(ang_a))
        b = np.where(second, a_stop + radius * unit(ang_b), b0)
        tracks = [Track(shapes[0], colors[0], a, sizes[0], rotation=_spin(np.where(second[:, 0], ang_a[-1], ang_a))),
                  Track(shapes[1], colors[1], b, sizes[1], rotation=_spin(np.where(second[:, 0], ang_b, ang_b[0])))]
        params = dict(sizes=sizes, radius=radius, turns=turns, first_center=b0, second_center=a_stop,
                      start=t0, switch=t_mid, second_start=t_mid + pause, end=t1, shapes=shapes)
        return tracks, params, on_stage(tracks) and clearance(tracks) > 0.2

    tracks, params = draw(rng, sample, "orbit then orbited")
    return to_clip(tracks, params)
