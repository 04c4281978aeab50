"""Idle objects: static objects, drawn the same way for every class, added to each Syn-TA scene so that a
single frame does not name the coarse class.

Why: every motion starts from its own state. Without them only "appearing" videos can start with few
objects, every cloning, falling and rising video starts with one object, every orbiting video with two,
expanding objects start small, shrinking ones big, falling ones high in the air; the fine classes of a coarse
class share that start in both sets, so a classifier of the first frame alone carried over to the other set's
unseen fine classes (`tabench synth audit` on the full default Syn-TA without them: 15.6 % / 16.0 % against a
chance level of 8.5 % / 7.5 %; with them 10.9 % / 12.0 %, see docs/synth.md). Idle objects make the count,
sizes and heights in a frame depend less on the class: the count of objects on screen in the scene's first
frame (objects waiting off screen, as arriving ones do, do not count) is raised to a total drawn from one range
for every class (`IDLE_TOTAL`), with idle objects whose size (drawn log-uniform
over the range from the smallest expanding to the biggest shrinking object) and height (on the ground, or
floating as high as a falling object starts) do not depend on the class. What is placed is what fits, so the
placed ones are smaller than the draw (docs/synth.md, "Idle objects").

An idle object never moves, turns or changes, is there in every frame, and its projected box stays clear of
every other object's projected box in every frame (a margin of `MARGIN_PX` at 112 px): it hides nothing, is
hidden by nothing and touches nothing, so what the class names still holds. A scene with too little free
screen room gets fewer idle objects than drawn: how many were drawn and placed is in the clip's params (and
so in each sidecar and synth.json), never dropped silently.
"""
from __future__ import annotations

import numpy as np

from tabench.synth.motions._layout import X_LIM, Y_LIM  # where they may stand: the motion programs' stage
from tabench.synth.scene import Camera, Clip, ObjectState

IDLE_TOTAL = (2, 5)  # default: first-frame object count raised to a total drawn uniformly from MIN-MAX
IDLE_MAX = 8  # the largest total --idle-objects accepts (generate.parse_idle)
SIZE_RANGE = (0.25, 0.95)  # half-extent, log-uniform: the smallest start (expanding) to the biggest (shrinking)
FLOAT_SHARE = 0.45  # share of idle objects floating in the air (falling, bouncing and orbiting start there)
FLOAT_Z = (0.9, 3.7)  # floating centre height
MARGIN_PX = 4.0  # free pixels between an idle object's projected box and any other's, at 112 px
TOP_OUT = 0.4  # share of its box height an idle object may reach above the frame's top edge: as far as falling
# objects start (45 % of them start cut by the top edge, by up to ~40 % of their height; an object cut by the top
# edge pointed to falling when no idle object could be)
TRIES = 80  # random positions tried per idle object


def _boxes(states: list[ObjectState], camera: Camera, width: int, height: int) -> np.ndarray:
    """Projected box (x0, y0, x1, y1) of each state's 3-D bounding box, in pixels."""
    from tabench.synth.render_gl import box_corners

    if not states:
        return np.zeros((0, 4))
    px = camera.project(box_corners(states).reshape(-1, 3), width, height)[:, :2].reshape(len(states), 8, 2)
    return np.concatenate([px.min(axis=1), px.max(axis=1)], axis=1)


def _clear(box: np.ndarray, others: np.ndarray, margin: float) -> bool:
    if not len(others):
        return True
    apart = ((box[2] + margin <= others[:, 0]) | (others[:, 2] + margin <= box[0])
             | (box[3] + margin <= others[:, 1]) | (others[:, 3] + margin <= box[1]))
    return bool(apart.all())


def on_screen(states, camera: Camera, width: int, height: int) -> list[ObjectState]:
    """The states that show: present (opacity, size) and with a projected box inside the frame. An object
    waiting off screen (arriving objects start there) is not in the picture, so it does not count towards
    the first frame's total."""
    shown = [s for s in states if s.opacity > 0 and s.size * min(s.scale) > 0]
    boxes = _boxes(shown, camera, width, height)
    return [s for s, (x0, y0, x1, y1) in zip(shown, boxes) if x1 > 0 and x0 < width and y1 > 0 and y0 < height]


def add_idle_objects(clip: Clip, camera: Camera, shapes: tuple[str, ...], rng: np.random.Generator,
                     total: tuple[int, int], width: int, height: int) -> Clip:
    """A copy of `clip` with idle objects (ids after the motion's) so that its first frame shows (`on_screen`)
    at least a total drawn from `total`; params['idle'] records the drawn total, the class's objects on screen,
    how many idle objects were wanted and placed."""
    from tabench.synth.motions._util import random_color

    first = on_screen(clip.frames[0].values(), camera, width, height)
    drawn = int(rng.integers(total[0], total[1] + 1))
    want = max(0, drawn - len(first))
    states = [s for f in clip.frames for s in f.values() if s.opacity > 0]
    taken = _boxes(states, camera, width, height)
    margin = MARGIN_PX * height / 112.0
    next_id = max(clip.object_ids(), default=-1) + 1
    placed: list[tuple[int, ObjectState]] = []
    for _ in range(want):
        for _ in range(TRIES):
            size = float(np.exp(rng.uniform(*np.log(SIZE_RANGE))))
            z = float(rng.uniform(*FLOAT_Z)) if rng.random() < FLOAT_SHARE else size
            state = ObjectState(shape=shapes[int(rng.integers(len(shapes)))],
                                position=(float(rng.uniform(-X_LIM, X_LIM)), float(rng.uniform(*Y_LIM)), max(z, size)),
                                size=size, rotation=(0.0, 0.0, float(rng.uniform(0, 2 * np.pi))),
                                color=random_color(rng))
            box = _boxes([state], camera, width, height)[0]
            inside = (box[0] >= margin and box[1] >= -TOP_OUT * (box[3] - box[1]) and box[2] <= width - margin
                      and box[3] <= height - margin)
            if inside and _clear(box, taken, margin):
                placed.append((next_id + len(placed), state))
                taken = np.vstack([taken, box[None]])
                break
    frames = [dict(f) for f in clip.frames]
    for i, state in placed:
        for f in frames:
            f[i] = state
    params = dict(clip.params)
    params["idle"] = {"total_drawn": drawn, "on_screen": len(first), "wanted": want, "placed": len(placed),
                      "ids": [i for i, _ in placed],
                      "objects": [{"id": i, "shape": s.shape, "size": round(s.size, 4),
                                   "position": [round(v, 4) for v in s.position],
                                   "color": [round(c, 4) for c in s.color]} for i, s in placed]}
    return Clip(frames, params)
