"""Time profiles of the motion programs, all on normalised time t in [0, 1] (see `_util.timeline`), and the
paper's per-class clip lengths (`PAPER_FRAMES`, for `synth generate --timing paper`).

Working in normalised time makes the named event fit the clip whatever its length; `min_span` converts a
number of frames into normalised time where an event needs a minimum duration on screen. With the default
timing the clip length is drawn per video and the motion is stretched to it (its speed varies, the length says
nothing about the class); with paper timing every class has one length, so its motion one speed, as in the
paper's scripts (and the length names the class: a bias `tabench synth audit` measures).
"""
from __future__ import annotations

import numpy as np

from tabench.synth.motions import MotionContext
from tabench.synth.motions._util import smoothstep, timeline


# ----- clip lengths of `synth generate --timing paper` ------------------------------------------------------
# The paper's Blender scripts (Motion-Transfer, synta_generate_blender/<coarse>/<coarse><N>[_front].py) render
# each class at one length and speed, at 24 fps, read here from each class's front-view script. Per fine class:
# (frames at 24 fps, source): "frame_end", the scene's frame_end the script sets (frame_start is 1); "animation",
# the end of its animation where the read part of the script did not show frame_end being set.
# Over the 100 classes: mean 105.1 frames, std 46.5, 20-301 -- the paper reports 105 on average, std ~46.
PAPER_FPS = 24
PAPER_FRAMES: dict[str, tuple[int, str]] = {
    "single_object_appearing_by_increasing_opacity": (120, "animation"),  # appearing1
    "multiple_objects_all_appearing_simultaneously_by_increasing_opacity": (150, "frame_end"),  # appearing2
    "multiple_objects_all_appearing_one_by_one_by_increasing_opacity": (170, "frame_end"),  # appearing3
    "two_objects_appearing_among_two_other_objects": (90, "frame_end"),  # appearing4
    "single_object_arriving": (60, "frame_end"),  # arriving1
    "multiple_objects_arriving_simultaneously": (60, "frame_end"),  # arriving2
    "multiple_objects_arriving_one_by_one": (301, "frame_end"),  # arriving3
    "single_object_arriving_among_many_objects": (90, "frame_end"),  # arriving4
    "single_object_arriving_beside_another_single_object": (60, "frame_end"),  # arriving5
    "single_object_arriving_beside_another_single_object_pausing_then_going_away": (180, "frame_end"),  # arriving6
    "single_ball_bouncing_on_a_plain_surface_eventually_stops": (120, "frame_end"),  # bouncing1
    "multiple_objects_bouncing_on_plain_surface_at_almost_similar_heights_eventually_stop": (120, "frame_end"),  # bouncing2
    "multiple_balls_bouncing_on_plain_surface_at_very_different_heights_eventually_stop": (120, "frame_end"),  # bouncing3
    "single_object_imitating_the_motion_of_bouncing_against_a_wall": (120, "frame_end"),  # bouncing4
    "single_object_bouncing_and_going_forward": (100, "frame_end"),  # bouncing5
    "single_object_bouncing_on_a_plain_surface_perpetually": (160, "frame_end"),  # bouncing6
    "single_object_imitating_the_motion_of_bouncing_and_going_down_stairs": (250, "frame_end"),  # bouncing7
    "single_object_imitating_the_motion_of_bouncing_and_going_up_stairs": (100, "frame_end"),  # bouncing8
    "single_object_keeps_changing_colors": (120, "frame_end"),  # changing_color1
    "two_objects_changing_colors_by_switching_with_each_other": (120, "frame_end"),  # changing_color2
    "single_object_changing_from_bright_to_dark_color": (120, "frame_end"),  # changing_color3
    "single_object_changing_from_dark_to_bright_color": (120, "frame_end"),  # changing_color4
    "single_object_changing_color_then_returning_to_previous_one": (130, "frame_end"),  # changing_color5
    "single_object_of_other_shape_changes_into_pyramid": (60, "frame_end"),  # changing_shape1
    "single_object_of_other_shape_changes_into_cube": (60, "frame_end"),  # changing_shape2
    "single_object_of_other_shape_changes_into_sphere": (60, "frame_end"),  # changing_shape3
    "single_object_of_other_shape_changes_into_cylinder": (60, "animation"),  # changing_shape4
    "two_objects_changing_shapes_by_switching_with_each_other": (60, "animation"),  # changing_shape5
    "single_object_changing_into_another_shape_then_turning_back_to_original_shape": (60, "animation"),  # changing_shape6
    "single_object_cloning_into_two_identical_objects_both_going_in_same_direction": (80, "frame_end"),  # cloning1
    "single_object_cloning_into_two_identical_objects_both_going_in_different_directions": (80, "frame_end"),  # cloning2
    "single_object_cloning_into_multiple_identical_objects_one_by_one": (180, "frame_end"),  # cloning3
    "single_object_cloning_into_multiple_identical_objects_at_once": (120, "frame_end"),  # cloning4
    "single_object_cloning_into_one_identical_object_and_another_object_with_different_colour": (120, "frame_end"),  # cloning5
    "single_object_departing": (60, "frame_end"),  # departing1
    "multiple_objects_departing_simultaneously": (60, "frame_end"),  # departing2
    "multiple_objects_departing_one_by_one": (301, "frame_end"),  # departing3
    "single_object_departing_among_many_objects": (90, "frame_end"),  # departing4
    "single_object_departing_beside_another_single_object": (60, "frame_end"),  # departing5
    "single_object_departing_beside_another_single_object_then_coming_back_shortly": (160, "frame_end"),  # departing6
    "single_object_disappearing_by_decreasing_opacity": (120, "frame_end"),  # disappearing1
    "multiple_objects_all_disappearing_simultaneously_by_decreasing_opacity": (120, "frame_end"),  # disappearing2
    "multiple_objects_all_disappearing_one_by_one_by_decreasing_opacity": (150, "frame_end"),  # disappearing3
    "multiple_objects_some_disappearing_and_some_remaining": (70, "frame_end"),  # disappearing4
    "small_single_object_expanding_into_medium_object": (60, "frame_end"),  # expanding1
    "small_single_object_expanding_into_large_object": (60, "frame_end"),  # expanding2
    "two_different_small_objects_expanding_into_similar_larger_size": (60, "frame_end"),  # expanding3
    "two_same_small_objects_expanding_into_different_bigger_sizes": (60, "frame_end"),  # expanding4
    "single_object_falling_straight_down_without_changing_direction": (60, "frame_end"),  # falling1
    "single_object_falling_down_in_a_zigzag_pattern": (120, "animation"),  # falling2
    "single_object_falling_at_an_angle": (60, "animation"),  # falling3
    "single_object_falling_at_a_curved_path": (60, "frame_end"),  # falling4
    "single_object_following_another_object_all_the_time_while_moving_in_a_straight_line": (120, "frame_end"),  # following1
    "single_object_following_another_object_for_some_time_while_moving_in_straight_line_then_follows_another_path": (80, "frame_end"),  # following2
    "multiple_objects_following_one_object_all_the_time_in_a_straight_line": (120, "frame_end"),  # following3
    "single_object_following_another_object_all_the_time_in_a_complex_path": (120, "frame_end"),  # following4
    "single_object_not_following_another_object_at_first_but_later_starts_following": (120, "frame_end"),  # following5
    "two_objects_merging_into_one_similar_sized_object_while_moving_towards_each_other": (60, "frame_end"),  # merging1
    "faster_object_merging_with_slower_object_into_one_similar_sized_object_while_moving_in_same_direction": (60, "frame_end"),  # merging2
    "multiple_objects_merging_into_one_big_object": (75, "frame_end"),  # merging3
    "multiple_objects_merging_into_multiple_big_objects": (75, "frame_end"),  # merging4
    "single_object_moving_slowly_from_one_position_to_another_and_stopping": (120, "frame_end"),  # moving_in_a_path1
    "single_object_moving_quickly_from_one_position_to_another_and_stopping": (20, "frame_end"),  # moving_in_a_path2
    "single_object_moving_slowly_from_one_position_to_another_and_coming_back_to_original_position": (120, "frame_end"),  # moving_in_a_path3
    "two_objects_moving_and_switching_their_positions": (60, "frame_end"),  # moving_in_a_path4
    "single_object_moving_from_left_to_right": (120, "frame_end"),  # moving_in_a_path5
    "single_object_moving_from_right_to_left": (120, "frame_end"),  # moving_in_a_path6
    "two_objects_moving_towards_each_other_but_not_colliding": (130, "frame_end"),  # not_colliding1
    "single_object_moving_towards_single_stationary_object_but_not_colliding_with_it": (130, "frame_end"),  # not_colliding2
    "multiple_objects_moving_towards_each_other_but_not_colliding_among_themselves": (130, "frame_end"),  # not_colliding3
    "two_objects_moving_in_opposite_directions_in_circular_path_but_not_colliding_later": (120, "frame_end"),  # not_colliding4
    "one_object_moving_towards_multiple_stationary_objects_but_not_colliding": (130, "frame_end"),  # not_colliding5
    "small_object_coming_in_front_of_big_object_barely_occluding_it": (60, "frame_end"),  # occlusion1
    "big_object_coming_in_front_of_small_object_mostly_or_fully_occluding_it": (60, "frame_end"),  # occlusion2
    "object_which_is_occluding_another_object_switches_places_and_goes_behind_it": (90, "frame_end"),  # occlusion3
    "two_objects_partially_occluding_two_other_objects_switch_positions_with_the_latter_two_and_go_behind_them": (90, "frame_end"),  # occlusion4
    "single_object_orbiting_another_object_in_the_center_in_clockwise_direction_on_horizontal_plane": (120, "frame_end"),  # orbiting1
    "single_object_orbiting_another_object_in_the_center_in_counter_clockwise_direction_on_horizontal_plane": (120, "frame_end"),  # orbiting2
    "single_object_orbiting_another_object_in_the_center_in_clockwise_direction_first_and_then_counter_clockwise_direction_on_horizontal_plane": (120, "frame_end"),  # orbiting3
    "single_object_orbiting_another_object_in_clockwise_direction_then_second_object_orbiting_first_object_in_clockwise_direction_on_horizontal_plane": (180, "frame_end"),  # orbiting4
    "single_object_orbiting_another_object_in_the_center_in_clockwise_direction_on_vertical_plane": (120, "frame_end"),  # orbiting5
    "single_object_orbiting_another_object_in_the_center_in_counter_clockwise_direction_on_vertical_plane": (120, "frame_end"),  # orbiting6
    "single_object_rising_straight_up_without_changing_direction": (60, "animation"),  # rising1
    "single_object_rising_in_a_zigzag_pattern": (120, "animation"),  # rising2
    "single_object_rising_at_an_angle": (60, "animation"),  # rising3
    "single_object_rising_at_a_curved_path": (70, "frame_end"),  # rising4
    "shooting_projectile_from_one_corner_to_opposite_corner": (120, "frame_end"),  # shooting_projectile1
    "shooting_projectile_from_right_corner_to_left_corner": (120, "frame_end"),  # shooting_projectile2
    "shooting_projectile_from_left_corner_to_right_corner": (120, "frame_end"),  # shooting_projectile3
    "shooting_two_projectiles_from_same_position_to_opposite_corner": (120, "frame_end"),  # shooting_projectile4
    "shooting_two_projectiles_from_opposite_corners_switching_their_positions": (120, "frame_end"),  # shooting_projectile5
    "large_single_object_shrinking_into_medium_sized_object": (60, "frame_end"),  # shrinking1
    "large_single_object_shrinking_into_very_small_object": (60, "frame_end"),  # shrinking2
    "two_different_large_objects_shrinking_into_same_smaller_size": (60, "frame_end"),  # shrinking3
    "two_different_large_objects_shrinking_into_different_smaller_sizes": (60, "frame_end"),  # shrinking4
    "single_object_teleporting_from_one_corner_to_another": (120, "frame_end"),  # teleporting1
    "single_object_teleporting_from_one_corner_to_another_while_another_object_is_in_the_center": (120, "frame_end"),  # teleporting2
    "two_objects_in_opposite_corners_switch_places_by_teleporting": (120, "frame_end"),  # teleporting3
    "four_objects_in_four_corners_switch_places_by_teleporting": (120, "frame_end"),  # teleporting4
    "two_objects_together_in_one_corner_then_one_teleports_to_other_corner": (120, "frame_end"),  # teleporting5
}
PAPER_FRAMES_SOURCES = ("frame_end", "animation")


def paper_frames(slug: str, fps: int = PAPER_FPS) -> int:
    """The class's fixed clip length under paper timing at `fps` (the same duration, so the same speed)."""
    return max(1, int(round(PAPER_FRAMES[slug][0] * fps / PAPER_FPS)))


def times(ctx: MotionContext) -> np.ndarray:
    return timeline(ctx.num_frames)


def progress(t, t0: float, t1: float) -> np.ndarray:
    """Linear 0 -> 1 between normalised times t0 and t1 (constant speed)."""
    return np.clip((np.asarray(t, float) - t0) / max(t1 - t0, 1e-9), 0.0, 1.0)


def ramp(t, t0: float, t1: float, ease=smoothstep) -> np.ndarray:
    """0 before t0, 1 after t1, eased in between (smoothly by default: starts and stops gently)."""
    return ease(progress(t, t0, t1))


def eased(t, t0: float, t1: float) -> np.ndarray:
    """Smooth 0 -> 1 between t0 and t1 (the same as `ramp` with its default easing)."""
    return ramp(t, t0, t1)


def ease_in(u):
    """Starts at rest and speeds up (departing, falling)."""
    u = np.clip(u, 0.0, 1.0)
    return u * u


def ease_out(u):
    """Arrives fast and slows to rest (arriving)."""
    u = np.clip(u, 0.0, 1.0)
    return 1 - (1 - u) ** 2


def bump(x, lo: float = -1.0, hi: float = 1.0) -> np.ndarray:
    """A smooth single hump over [lo, hi] (cos^2 of the centred coordinate): 1 in the middle, falling to 0 at
    both ends, 0 outside. With the defaults, a window of half-width 1 around 0."""
    u = (np.asarray(x, float) - (lo + hi) / 2) / ((hi - lo) / 2)
    return np.where(np.abs(u) < 1, np.cos(np.pi * np.clip(u, -1, 1) / 2) ** 2, 0.0)


def min_span(ctx: MotionContext, frames: int) -> float:
    """A duration in normalised time that lasts at least `frames` frames."""
    return frames / max(ctx.num_frames - 1, 1)


def bounce_heights(t: np.ndarray, h0: float, e: float, t0: float, time_scale: float, min_h: float = 0.04):
    """Height above rest of an object dropped from rest at height h0 at time t0 that bounces with
    restitution e until the bounces are smaller than min_h. `time_scale` is the normalised duration of the
    first fall (sqrt(2 h0 / g)); the bounce durations follow from physics (each arc is e times the last).
    Returns (heights, stop_time)."""
    t = np.asarray(t, float)
    h = np.zeros_like(t)
    h[t < t0] = h0
    tau = t - t0  # first fall: h = h0 (1 - (tau / T0)^2)
    fall = (tau >= 0) & (tau < time_scale)
    h[fall] = h0 * (1 - (tau[fall] / time_scale) ** 2)
    start, k = t0 + time_scale, 1
    while h0 * e ** (2 * k) >= min_h:
        hk, dk = h0 * e ** (2 * k), 2 * time_scale * e ** k
        m = (t >= start) & (t < start + dk)
        u = (t[m] - start) / dk
        h[m] = 4 * hk * u * (1 - u)
        start += dk
        k += 1
    return h, start


def bounce_duration(e: float, h0: float, min_h: float = 0.04) -> float:
    """Duration of `bounce_heights` in units of the first fall's duration."""
    total, k = 1.0, 1
    while h0 * e ** (2 * k) >= min_h:
        total += 2 * e ** k
        k += 1
    return total


def hop(u: np.ndarray, z0: float, z1: float, apex: float) -> np.ndarray:
    """A parabolic hop from height z0 to z1 (u in [0, 1]) rising `apex` above the straight line."""
    u = np.clip(u, 0.0, 1.0)
    return z0 + (z1 - z0) * u + 4 * apex * u * (1 - u)
