"""The visibility rule (tabench.synth.visibility) on the renderer's own masks: it catches hidden objects and
near contacts, and every one of the 100 Syn-TA classes yields scenes that pass it; the cameras orbit as in
the paper and the named direction of directional classes holds on screen."""
from __future__ import annotations

import numpy as np
import pytest

from tabench.synth import visibility as V
from tabench.synth.generate import Job, Options, draw_scene, frame_size, plan_video, video_seed
from tabench.synth.backgrounds import load_pools
from tabench.synth.scene import (AZIMUTHS, FRONT_AZIMUTHS, Clip, ObjectState, camera_family, make_camera,
                                 orbit_camera)
from tabench.taxonomy import load

render_gl = pytest.importorskip("tabench.synth.render_gl")
_ok, _why = render_gl.gl_available()
pytestmark = pytest.mark.skipif(not _ok, reason=f"no EGL context: {_why}")

TAX = load("syn-ta")
W, H = frame_size(V.CHECK_SIZE)
FRONT = orbit_camera("front", 90.0, 9.0, 2.0)


def _clip(*frames_objects) -> Clip:
    return Clip(frames=[{i: s for i, s in enumerate(objs)} for objs in frames_objects])


def _coverage(clip, cam=FRONT):
    return render_gl.get_renderer().coverage(clip, cam, W, H)


def test_masks_count_hidden_and_unoccluded_pixels():
    near = ObjectState("cube", (0.0, -1.0, 0.6), 0.6, color=(1, 0, 0))
    far = ObjectState("cube", (0.0, 2.0, 0.4), 0.4, color=(0, 1, 0))  # right behind the near one
    cov = _coverage(_clip([near, far]))
    assert cov.ids == [0, 1] and cov.alone.shape == (1, 2, H, W)
    full = cov.alone[0].reshape(2, -1).sum(1)
    seen = [(cov.masks[0] == k + 1).sum() for k in range(2)]
    assert full[1] > 50 and seen[1] < 0.3 * full[1]  # drawn alone it is there; in the scene it is hidden
    assert seen[0] == full[0]
    res = V.evaluate(cov, apart=False, exempt=False)
    assert not res["passed"] and res["min_visible_frames"] == 0.0
    assert V.evaluate(cov, apart=False, exempt=True)["passed"]  # occlusion classes hide on purpose


def test_near_contact_on_screen_breaks_the_rule_and_a_clear_gap_passes():
    def pair(dx):
        return _clip([ObjectState("sphere", (-dx / 2, 0.0, 0.5), 0.5), ObjectState("sphere", (dx / 2, 0.0, 0.5), 0.5)])

    close = V.evaluate(_coverage(pair(1.05)), apart=True, exempt=False)
    apart = V.evaluate(_coverage(pair(2.0)), apart=True, exempt=False)
    assert close["min_gap_px"] < V.MIN_GAP_PX and not close["passed"]
    assert apart["min_gap_px"] >= V.MIN_GAP_PX and apart["passed"]
    assert V.evaluate(_coverage(pair(1.05)), apart=False, exempt=False)["passed"]  # only for must-not-touch


def test_gap_px():
    a = np.zeros((20, 20), bool)
    b = np.zeros((20, 20), bool)
    a[5:10, 2:5] = True
    b[5:10, 9:12] = True  # columns 5..8 free between them: 4 px
    assert V.gap_px(a, b) == 4.0
    b[5:10, 4:12] = True
    assert V.gap_px(a, b) == 0.0


@pytest.mark.parametrize("family", ["orbit", "directional", "lateral", "viewer"])
def test_cameras_are_the_papers(family):
    rng = np.random.default_rng(0)
    for view in ("elevated", "front"):
        cams = [make_camera(view, rng, family) for _ in range(200)]
        az = {c.azimuth_deg for c in cams}
        assert az == set(AZIMUTHS[view, family] if view == "elevated" else FRONT_AZIMUTHS)
        pitch = np.array([c.elevation_deg for c in cams])
        if view == "front":
            assert 6.0 <= pitch.min() and pitch.max() <= 19.0
        else:
            assert 26.0 <= pitch.min() and pitch.max() <= 56.0
        for c in cams:  # the camera looks at the stage centre from `distance`, `elevation_deg` above it
            d = np.subtract(c.eye, c.target)
            assert np.isclose(np.linalg.norm(d), c.distance)
            assert np.isclose(np.degrees(np.arcsin(d[2] / c.distance)), c.elevation_deg)


def test_directional_classes_keep_their_direction_on_screen():
    """+x (the stage's 'right') goes right on screen for every camera of the directional family."""
    rng = np.random.default_rng(1)
    assert camera_family("single_object_moving_from_left_to_right") == "directional"
    assert camera_family("shooting_projectile_from_right_corner_to_left_corner") == "directional"
    assert camera_family("single_object_falling_straight_down_without_changing_direction") == "orbit"
    for view in ("elevated", "front"):
        for _ in range(50):
            cam = make_camera(view, rng, "directional")
            a, b = cam.project(np.array([[-2.0, 0.0, 0.5], [2.0, 0.0, 0.5]]), W, H)
            assert b[0] - a[0] > 0.1 * W


def test_orbit_cameras_turn_on_screen_direction_between_videos():
    rng = np.random.default_rng(2)
    dx = []
    for _ in range(60):
        cam = make_camera("elevated", rng, "orbit")
        a, b = cam.project(np.array([[-2.0, 0.0, 0.5], [2.0, 0.0, 0.5]]), W, H)
        dx.append(b[0] - a[0])
    assert min(dx) < -0.3 * W and max(dx) > 0.3 * W


@pytest.mark.parametrize("fine", TAX.fine, ids=lambda f: f.slug[:60])
def test_every_class_passes_the_rule(fine):
    """Two videos of each class (one per view), re-drawn where needed, all pass; the record is in the
    sidecar fields draw_scene returns."""
    opts = Options(out="unused", background="plain", max_frames=None)
    pools = load_pools("plain", None)
    for index in (0, 1):
        vp = plan_video(Job(fine, "train", index), opts, pools)
        clip, rec = draw_scene(vp, TAX, opts.fps)
        assert rec["passed"], (fine.slug, index, rec)
        assert 1 <= rec["attempts"] <= V.MAX_ATTEMPTS
        assert vp.seed == video_seed(0, fine.slug, "train", index)


@pytest.mark.parametrize("slug", ["single_object_arriving", "multiple_objects_arriving_simultaneously",
                                  "single_object_departing"])
def test_arriving_and_departing_objects_start_or_end_out_of_view(slug):
    """Off-stage is off-screen for the video's own camera (checked on the renderer's masks)."""
    from tabench.synth.motions import MotionContext, all_motions
    from tabench.synth.scene import SET_SHAPES

    f = TAX.by_slug(slug)
    rng = np.random.default_rng(3)
    for k in range(6):
        cam = make_camera(("elevated", "front")[k % 2], rng, camera_family(slug))
        clip = all_motions()[slug](np.random.default_rng(k), MotionContext(f.set, SET_SHAPES[f.set], 60, camera=cam))
        cov = _coverage(clip, cam)
        end = 0 if "arriving" in slug else -1
        assert cov.alone[end].sum() == 0, (slug, cam.azimuth_deg)  # nothing of the movers in view
        assert cov.alone[-1 - end].sum() > 0  # and on screen at the other end


PROJECTILE_LEVEL = {"shooting_projectile_from_right_corner_to_left_corner": -1,
                    "shooting_projectile_from_left_corner_to_right_corner": 1}
PROJECTILE_DIAGONAL = ("shooting_projectile_from_one_corner_to_opposite_corner",
                       "shooting_two_projectiles_from_same_position_to_opposite_corner",
                       "shooting_two_projectiles_from_opposite_corners_switching_their_positions")


def _flight_on_screen(slug, view, n=24):
    """Per video of `slug` in `view` (the generator's own plans and cameras): the first projectile's
    on-screen move from the first to the last frame, read from the sidecar's projected boxes and depths:
    (dx / width, angle above the horizontal in degrees, depth at the start / depth at the end)."""
    from tabench.synth.generate import run_motion, sidecar

    w, h = frame_size(112)
    opts, pools, f = Options(out="unused", background="plain"), load_pools("plain", None), TAX.by_slug(slug)
    out = []
    for k in range(n):
        vp = plan_video(Job(f, "train", 2 * k + (view == "front")), opts, pools)
        assert vp.view == view
        frames = sidecar(TAX, vp, run_motion(vp, opts.fps), w, h, opts)["frames"]
        (a,), (b,) = ([o for o in fr if o["id"] == 0] for fr in (frames[0], frames[-1]))
        (ax, ay), (bx, by) = ((np.add(o["box"][:2], o["box"][2:]) / 2) for o in (a, b))
        out.append(((bx - ax) / w, np.degrees(np.arctan2(abs(by - ay), abs(bx - ax))), a["depth"] / b["depth"]))
    return np.array(out)


@pytest.mark.parametrize("view", ["elevated", "front"])
def test_projectiles_fly_as_named_on_screen_from_both_views(view):
    """'right/left corner to left/right corner' flies level across the picture at one distance from the
    camera, in the named direction; 'one corner to the opposite corner' crosses the picture diagonally
    from above and, from the nearly level front view, flies into or out of the picture (its distance, so
    its size, changes by 1.4x or more), so it never looks like the Set-1 right-to-left class. (Before the
    corners were the camera's, an elevated camera at azimuth 45 saw right-to-left fly 40 degrees
    diagonally, and some diagonal flights flew 5 degrees off level from both views.)"""
    for slug, sign in PROJECTILE_LEVEL.items():
        s = _flight_on_screen(slug, view)
        assert (sign * s[:, 0] > 0.2).all(), slug  # the named way, a fifth of the picture or more
        assert s[:, 1].max() < 3.0, slug  # level on screen
        assert np.allclose(s[:, 2], 1.0, atol=0.02), slug  # same distance: no size change
    for slug in PROJECTILE_DIAGONAL:
        s = _flight_on_screen(slug, view)
        assert (np.abs(s[:, 0]) > 0.08).all(), slug  # across the picture too
        if view == "elevated":
            assert s[:, 1].min() > 25.0, slug  # corner to opposite corner of the picture
        else:
            assert np.abs(np.log(s[:, 2])).min() > np.log(1.4), slug  # into / out of the picture
        assert (s[:, 0] > 0).any() and (s[:, 0] < 0).any(), slug  # either way across, between videos
        assert (s[:, 2] > 1).any() and (s[:, 2] < 1).any(), slug  # towards and away from the camera


def _most_travel_on_screen(slug, view, n=16):
    """Per video of `slug` in `view`: the largest on-screen travel of any object (extent of its projected
    box centre over the clip, in frame widths), from the sidecar."""
    from tabench.synth.generate import run_motion, sidecar

    w, h = frame_size(112)
    opts, pools, f = Options(out="unused", background="plain"), load_pools("plain", None), TAX.by_slug(slug)
    out = []
    for k in range(n):
        vp = plan_video(Job(f, "train", 2 * k + (view == "front")), opts, pools)
        tracks: dict = {}
        for fr in sidecar(TAX, vp, run_motion(vp, opts.fps), w, h, opts)["frames"]:
            for o in fr:
                tracks.setdefault(o["id"], []).append(np.add(o["box"][:2], o["box"][2:]) / 2 / w)
        out.append(max(float(np.linalg.norm(np.ptp(np.array(c), axis=0))) for c in tracks.values()))
    return np.array(out)


@pytest.mark.parametrize("slug,least", [
    ("single_object_teleporting_from_one_corner_to_another", 0.18),
    ("single_object_teleporting_from_one_corner_to_another_while_another_object_is_in_the_center", 0.18),
    ("two_objects_together_in_one_corner_then_one_teleports_to_other_corner", 0.18),
    ("single_object_cloning_into_two_identical_objects_both_going_in_different_directions", 0.1),
    ("single_object_cloning_into_one_identical_object_and_another_object_with_different_colour", 0.08),
    ("one_object_moving_towards_multiple_stationary_objects_but_not_colliding", 0.08),
    ("multiple_objects_merging_into_multiple_big_objects", 0.075),
    ("single_object_moving_towards_single_stationary_object_but_not_colliding_with_it", (0.09, 0.065)),
    ("two_objects_moving_in_opposite_directions_in_circular_path_but_not_colliding_later", (0.09, 0.12)),
    ("object_which_is_occluding_another_object_switches_places_and_goes_behind_it", (0.11, 0.08)),
    ("two_objects_partially_occluding_two_other_objects_switch_positions_with_the_latter_two_and_go_behind_them",
     (0.08, 0.06)),
])
def test_the_named_move_shows_on_screen_from_the_front(slug, least):
    """From the nearly level front view a move in depth hardly moves on screen: a teleport from a front to
    a back corner on one side (it read as fading out and back in place: 0.05 of the picture), clones parting
    towards and away from the camera (0.04; 0.02 for the recoloured clone), an approach of 0.4-1.0 units
    (0.02), two groups side by side merging from 1.1-1.5 units in every direction (0.066), an approach to a
    standing object of at most 2.2 units (0.078), a quarter circle from each end of it (0.080; 0.086 from
    above), occlusion swaps on a circle around the pair's midpoint (0.076 and 0.058: the swap read only from
    the depth order). These layouts are now re-drawn or longer, so every video shows the move. `least`: one bound,
    or (front, elevated)."""
    for view, bound in zip(("front", "elevated"), least if isinstance(least, tuple) else (least, least)):
        assert _most_travel_on_screen(slug, view).min() > bound, (slug, view)


def _depth_share_on_screen(slug, n=16):
    """Per front video of `slug`: how much of each moving object's move (first frame to its farthest point)
    runs along the camera's line of sight (0 across the picture, 1 straight at the camera); the largest
    over the video's objects, from the sidecar's positions and depths."""
    from tabench.synth.generate import run_motion, sidecar

    w, h = frame_size(112)
    opts, pools, f = Options(out="unused", background="plain"), load_pools("plain", None), TAX.by_slug(slug)
    out = []
    for k in range(n):
        vp = plan_video(Job(f, "train", 2 * k + 1), opts, pools)
        assert vp.view == "front"
        where: dict = {}
        for fr in sidecar(TAX, vp, run_motion(vp, opts.fps), w, h, opts)["frames"]:
            for o in fr:
                where.setdefault(o["id"], []).append((*o["position"], o["depth"]))
        share = 0.0
        for p in map(np.array, where.values()):
            far = np.linalg.norm(p[:, :3] - p[0, :3], axis=1)
            if far.max() > 0.5:
                share = max(share, abs(p[far.argmax(), 3] - p[0, 3]) / far.max())
        out.append(share)
    return np.array(out)


@pytest.mark.parametrize("slug,most", [
    ("multiple_objects_following_one_object_all_the_time_in_a_straight_line", 0.52),
    ("single_object_following_another_object_all_the_time_while_moving_in_a_straight_line", 0.52),
    ("two_objects_merging_into_one_similar_sized_object_while_moving_towards_each_other", 0.52),
    ("single_object_moving_slowly_from_one_position_to_another_and_stopping", 0.52),
    ("single_object_moving_slowly_from_one_position_to_another_and_coming_back_to_original_position", 0.52),
    ("single_object_moving_quickly_from_one_position_to_another_and_stopping", 0.52),
    ("two_objects_moving_towards_each_other_but_not_colliding", 0.3),
    ("single_object_moving_towards_single_stationary_object_but_not_colliding_with_it", 0.3),
])
def test_free_straight_moves_run_across_the_front_picture(slug, most):
    """Classes that leave a straight move's direction free choose it relative to the front camera, within
    30 degrees of across the picture (depth share <= sin 30 = 0.5); near misses within 12 degrees (0.21). In
    the stage frame the camera's azimuth (75-105) added to the tilt: queues ran up to 40-50 degrees into
    depth and stood one behind the other, head-on merges started partly behind each other, moves 'from one
    position to another' ran up to 60 degrees into depth (depth shares 0.64-0.80 in 16 front videos), near
    misses up to 27 degrees (0.36-0.44)."""
    assert _depth_share_on_screen(slug).max() < most, slug


def test_every_class_passes_the_rule_at_its_paper_length():
    """Under --timing paper each class has its script's length (20-301 frames): one front video per class
    (the harder view) passes the visibility rule at that length."""
    opts = Options(out="unused", background="plain", timing="paper")
    pools = load_pools("plain", None)
    for fine in TAX.fine:
        vp = plan_video(Job(fine, "train", 1), opts, pools)
        assert vp.view == "front"
        clip, rec = draw_scene(vp, TAX, opts.fps)
        assert rec["passed"] and clip.num_frames == vp.num_frames, (fine.slug, rec)


COMPARED = ("two_different_small_objects_expanding_into_similar_larger_size",
            "two_same_small_objects_expanding_into_different_bigger_sizes",
            "two_different_large_objects_shrinking_into_same_smaller_size",
            "two_different_large_objects_shrinking_into_different_smaller_sizes",
            "multiple_balls_bouncing_on_plain_surface_at_very_different_heights_eventually_stop",
            "multiple_objects_bouncing_on_plain_surface_at_almost_similar_heights_eventually_stop")
DROPS = ("single_ball_bouncing_on_a_plain_surface_eventually_stops",
         "multiple_balls_bouncing_on_plain_surface_at_very_different_heights_eventually_stop",
         "multiple_objects_bouncing_on_plain_surface_at_almost_similar_heights_eventually_stop")


@pytest.mark.parametrize("view", ["elevated", "front"])
def test_compared_sizes_and_heights_are_not_perspective(view):
    """Classes that compare sizes or drop heights ("similar larger size" vs "different bigger sizes", "very
    different" vs "almost similar heights") stand their objects at one distance from the video's camera, so
    perspective does not make one look bigger (they stood up to 1.5 units apart in depth: 20-40 % apparent
    size difference); and every drop starts inside the picture (from the front, 22 of 24 "very different
    heights" videos started a ball above its top edge)."""
    from tabench.synth.generate import run_motion, sidecar

    w, h = frame_size(112)
    opts, pools = Options(out="unused", background="plain"), load_pools("plain", None)
    for slug in set(COMPARED) | set(DROPS):
        f = TAX.by_slug(slug)
        for k in range(16):
            vp = plan_video(Job(f, "train", 2 * k + (view == "front")), opts, pools)
            frames = sidecar(TAX, vp, run_motion(vp, opts.fps), w, h, opts)["frames"]
            if slug in COMPARED:
                depth = [o["depth"] for o in frames[-1]]  # at the end all rest on the ground
                assert max(depth) / min(depth) < 1.05, (slug, k, depth)
            if slug in DROPS:
                assert min(o["box"][1] for o in frames[0]) > -0.02 * h, (slug, k)  # the top of every ball in view


def test_frames_without_any_object_are_checked_and_rendered():
    """A class whose objects are all gone for a while ("all disappearing one by one" at its 150-frame paper
    length) has whole batches of frames with nothing to draw: the check and the render still work (the
    instanced coverage pass crashed on an empty batch: 1 in 30 default videos of that class)."""
    from tabench.synth.scene import Background, Scene

    six = {i: ObjectState("cube", (-2.5 + i, 0.0, 0.3), 0.3) for i in range(6)}  # many tiles per frame: short batches
    clip = Clip(frames=[dict(six) for _ in range(5)] + [{} for _ in range(300)])
    cov = _coverage(clip)
    assert cov.masks.shape[0] == 305 and cov.masks[-1].max() == 0 and cov.masks[0].max() == 6
    assert V.evaluate(cov, apart=False, exempt=False)["passed"]
    res = render_gl.get_renderer().render(Scene(clip, FRONT, Background("plain", "backdrop"), W, H, 24), ("masks",))
    assert res.frames.shape[0] == 305 and res.masks[-1].max() == 0


def _path_on_screen(slug, view, n=16):
    """Per video: (bend, sideways) of object 0's on-screen path, from the sidecar's box centres, in frame
    widths: the largest distance from the straight line between its ends, and the horizontal distance between
    its ends."""
    from tabench.synth.generate import run_motion, sidecar

    w, h = frame_size(112)
    opts, pools, f = Options(out="unused", background="plain"), load_pools("plain", None), TAX.by_slug(slug)
    out = []
    for k in range(n):
        vp = plan_video(Job(f, "train", 2 * k + (view == "front")), opts, pools)
        fr = sidecar(TAX, vp, run_motion(vp, opts.fps), w, h, opts)["frames"]
        c = np.array([np.add(o["box"][:2], o["box"][2:]) / 2 for objs in fr for o in objs if o["id"] == 0]) / w
        chord = c[-1] - c[0]
        normal = np.array([-chord[1], chord[0]]) / np.linalg.norm(chord)
        out.append((np.abs((c - c[0]) @ normal).max(), abs(chord[0])))
    return np.array(out)


@pytest.mark.parametrize("view", ["elevated", "front"])
def test_named_paths_show_their_shape_on_screen(view):
    """A zigzag or curved fall/rise bends on screen and a fall/rise "at an angle" moves sideways on screen from
    every camera (sideways was the stage's x, which an elevated camera at azimuth 0 or 180 sees along its line
    of sight: bends of 0.003-0.008 of the picture, a straight drop); a "complex path" bends on screen (half the
    front videos bent less than 0.03)."""
    for slug, least in (("single_object_falling_down_in_a_zigzag_pattern", 0.04),
                        ("single_object_rising_in_a_zigzag_pattern", 0.04),
                        ("single_object_falling_at_a_curved_path", 0.02),
                        ("single_object_rising_at_a_curved_path", 0.02),
                        ("single_object_following_another_object_all_the_time_in_a_complex_path", 0.05)):
        assert _path_on_screen(slug, view)[:, 0].min() > least, (slug, view)
    for slug in ("single_object_falling_at_an_angle", "single_object_rising_at_an_angle"):
        assert _path_on_screen(slug, view)[:, 1].min() > 0.07, (slug, view)


def test_clones_part_on_screen_from_a_far_high_camera():
    """The full default Syn-TA stopped at 'no direction parts the clones on screen': from a far, high camera
    small clones parting by their usual distance stay under 0.2 of the picture apart in every direction."""
    from tabench.synth.motions import MotionContext, all_motions
    from tabench.synth.motions._layout import screen_shift
    from tabench.synth.scene import SET_SHAPES

    slug = "single_object_cloning_into_one_identical_object_and_another_object_with_different_colour"
    cam = make_camera("elevated", np.random.default_rng(1596), camera_family(slug))  # one such camera
    ctx = MotionContext(1, SET_SHAPES[1], 100, 24, cam)
    for seed in range(40):
        clip = all_motions()[slug](np.random.default_rng(seed), ctx)
        ends = [np.asarray(clip.frames[-1][k].position[:2]) for k in (1, 2)]
        half = (ends[1] - ends[0]) / 2  # measured about the stage centre, as the program chooses it
        assert screen_shift(ctx, half, -half) >= 0.2 - 1e-6, seed


def test_a_scene_that_cannot_be_laid_out_for_its_camera_is_redrawn_and_counted(monkeypatch):
    """A motion program's LayoutError for one camera is another attempt (new camera, new motion stream),
    recorded as layout_redraws; only when every attempt fails is it an error naming the video."""
    from tabench import TabenchError
    from tabench.synth import generate as G
    from tabench.synth.motions._layout import LayoutError

    fine = TAX.by_slug("single_object_departing")
    opts = Options(out="unused", background="plain")
    pools = load_pools("plain", None)
    real = G.run_motion
    calls = []

    def flaky(vp, fps, attempt=0):
        calls.append((attempt, vp.camera))
        if attempt == 0:
            raise LayoutError("no layout for this camera")
        return real(vp, fps, attempt)

    monkeypatch.setattr(G, "run_motion", flaky)
    vp = plan_video(Job(fine, "train", 0), opts, pools)
    clip, rec = draw_scene(vp, TAX, opts.fps)
    assert rec["layout_redraws"] == 1 and rec["attempts"] >= 2 and rec["passed"]
    assert calls[1][1] != calls[0][1] and vp.camera == calls[-1][1]  # a new camera, and the kept one is set

    monkeypatch.setattr(G, "run_motion", lambda vp, fps, attempt=0: (_ for _ in ()).throw(LayoutError("never")))
    with pytest.raises(TabenchError, match="Single object departing.*video seed"):
        draw_scene(plan_video(Job(fine, "train", 0), opts, pools), TAX, opts.fps)
