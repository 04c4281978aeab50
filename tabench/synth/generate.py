"""`tabench synth generate`: render Syn-TA (or a variant of it) into the dataset directory format.

Each video is a job (fine class, split, index). Its seed is a stable hash of (run seed, class slug, split,
index), and independent random streams derived from it draw the clip length, the camera, the background and
the motion, so a video is identical whichever subset, shard or worker count produced it, and the manifest
can describe a video without re-running its motion program. A video is written as mp4 (atomically), then
its optional annotations, then its JSON sidecar; a job is done when all of them exist, which makes an
interrupted run resumable. The manifest and splits are rewritten at the end from what exists on disk, so
after N shards have finished, running the same command without --shard renders nothing and writes the
complete manifest.

Renderer backends sit behind `render_scene(scene, annotations, backend)`; moderngl ("gl") is the only one
today, and a Blender backend would register in `RENDERERS` without touching the motion programs.
"""
from __future__ import annotations

import colorsys
import hashlib
import json
import multiprocessing
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tabench import TabenchError, __version__
from tabench.data.format import SPLITS, VideoEntry, write_dataset
from tabench.io import atomic_path, atomic_write_json, atomic_write_text
from tabench.synth.backgrounds import BackgroundPools, load_pools, write_records
from tabench.synth import paper, visibility
from tabench.synth.idle import IDLE_MAX, IDLE_TOTAL, add_idle_objects
from tabench.synth.scene import SET_SHAPES, VIEWS, Background, Camera, Clip, Scene, camera_family, make_camera
from tabench.taxonomy import Fine, Taxonomy, load

ANNOTATIONS = ("masks", "depth")
NAMINGS = ("tabench", "paper")
TIMINGS = ("default", "paper")  # default: random length per video, motion stretched; paper: a length per class
MIN_SIZE, MAX_SIZE = 32, 1080
# Clip length as in the paper: 60 to 250 frames, mean ~105, standard deviation ~46.
FRAMES_MIN, FRAMES_MAX, FRAMES_EXTRA_MEAN = 60, 250, 46.0
SIDECAR_FORMAT = "tabench-synta-sidecar/1"
# random streams of a video (independent, so e.g. --background plain leaves the motion unchanged)
STREAM_FRAMES, STREAM_CAMERA, STREAM_BACKGROUND, STREAM_MOTION, STREAM_IDLE = range(5)


# ------------------------------------------------------------------------------------ renderers
def _gl_renderer():
    from tabench.synth.render_gl import get_renderer

    return get_renderer()


RENDERERS = {"gl": _gl_renderer}


def render_scene(scene: Scene, annotations=(), backend: str = "gl"):
    """Render a scene with a backend; returns an object with .frames (T, H, W, 3) uint8 and optional
    .masks / .depth (see `tabench.synth.render_gl.RenderResult`)."""
    if backend not in RENDERERS:
        raise TabenchError(f"unknown renderer {backend!r}; choose from {', '.join(RENDERERS)}")
    return RENDERERS[backend]().render(scene, tuple(annotations))


# ------------------------------------------------------------------------------------ options
@dataclass(frozen=True)
class Options:
    out: str
    train_per_class: int = 60
    val_per_class: int = 40
    views: tuple[str, ...] = VIEWS
    size: int = 112
    fps: int = 24
    frames: tuple[int, int] | None = None  # fixed range (MIN, MAX); None: the paper's distribution
    max_frames: int | None = None
    classes: tuple[str, ...] | None = None
    seed: int = 0
    workers: int = 1
    shard: tuple[int, int] = (1, 1)  # (I, N), 1-based
    background: str = "realistic"
    backgrounds: str | None = None
    annotations: tuple[str, ...] = ()
    prune: bool = False  # drop manifest rows of videos outside the current counts (else the manifest only grows)
    naming: str = "tabench"  # "paper": the paper's video names and split files (tabench.synth.paper)
    timing: str = "default"  # "paper": each class its fixed length and speed (motions._timing.PAPER_FRAMES)
    idle_objects: tuple[int, int] | None = IDLE_TOTAL  # first-frame object total (tabench.synth.idle); None: none

    def content_key(self, pools: BackgroundPools) -> dict:
        """The options that change a video's pixels or sidecar (a resumed run must use the same)."""
        key = {"seed": self.seed, "size": self.size, "fps": self.fps, "views": list(self.views),
               "frames": list(self.frames) if self.frames else None, "max_frames": self.max_frames,
               "background": self.background, "background_pool": pools.fingerprint()}
        if self.naming != "tabench":  # only then, so datasets generated before the option still resume
            key["naming"] = self.naming
        if self.timing != "default":  # likewise
            key["timing"] = self.timing
        if self.idle_objects is not None:  # likewise (datasets from before idle objects had none)
            key["idle_objects"] = list(self.idle_objects)
        return key


def _parse_range(text: str, flag: str, forms: str, upper: int | None = None) -> tuple[int, int]:
    """'N' or 'MIN-MAX' with 1 <= MIN <= MAX (<= upper): the option's one-line error otherwise."""
    try:
        lo, _, hi = text.partition("-")
        lo, hi = int(lo), int(hi or lo)
    except ValueError:
        raise TabenchError(f"{flag} must be {forms}, got {text!r}") from None
    if not 1 <= lo <= hi <= (upper or hi):
        raise TabenchError(f"{flag} needs 1 <= MIN <= MAX{f' <= {upper}' if upper else ''}, got {text!r}")
    return lo, hi


def parse_frames(text: str | None) -> tuple[int, int] | None:
    if text in (None, ""):
        return None
    return _parse_range(text, "--frames", "N or MIN-MAX (e.g. 60-250)")


def parse_idle(text: str | None) -> tuple[int, int] | None:
    """--idle-objects: 'MIN-MAX' (first-frame total), 'N', or 'none' (no idle objects: the paper's scenes)."""
    if text is None:
        return IDLE_TOTAL
    if text.strip().lower() == "none":
        return None
    return _parse_range(text, "--idle-objects", "MIN-MAX (e.g. 2-5), N or none", upper=IDLE_MAX)


def parse_shard(text: str | None) -> tuple[int, int]:
    if not text:
        return 1, 1
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise TabenchError(f"--shard must be I/N (e.g. 1/4), got {text!r}") from None
    if not 1 <= i <= n:
        raise TabenchError(f"--shard I/N is 1-based: need 1 <= I <= N, got {text!r}")
    return i, n


def parse_list(text: str | None, allowed: tuple[str, ...], flag: str) -> tuple[str, ...]:
    items = tuple(x.strip() for x in (text or "").split(",") if x.strip())
    bad = [x for x in items if x not in allowed]
    if bad:
        raise TabenchError(f"{flag}: unknown value(s) {', '.join(bad)}; choose from {', '.join(allowed)}")
    return tuple(dict.fromkeys(items))


def frame_size(size: int) -> tuple[int, int]:
    """(width, height) of a 16:9 frame whose short side is `size` (both even, as yuv420p needs)."""
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise TabenchError(f"--size must be between {MIN_SIZE} and {MAX_SIZE} pixels, got {size}")
    h = size + size % 2
    w = int(round(h * 16 / 9 / 2)) * 2
    return w, h


def validate(opts: Options) -> None:
    if opts.train_per_class < 0 or opts.val_per_class < 0:
        raise TabenchError("--train-per-class and --val-per-class must be >= 0")
    if not opts.views:
        raise TabenchError(f"--views needs at least one of {', '.join(VIEWS)}")
    frame_size(opts.size)
    if not 1 <= opts.fps <= 240:
        raise TabenchError(f"--fps must be between 1 and 240, got {opts.fps}")
    if opts.max_frames is not None and opts.max_frames < 1:
        raise TabenchError("--max-frames must be >= 1")
    if opts.workers < 1:
        raise TabenchError("--workers must be >= 1")
    if opts.timing not in TIMINGS:
        raise TabenchError(f"--timing must be one of {', '.join(TIMINGS)}, got {opts.timing!r}")
    if opts.timing == "paper" and (opts.frames or opts.max_frames):
        raise TabenchError("--timing paper gives each class its paper length: drop --frames / --max-frames "
                           "(or use --timing default)")
    if opts.naming not in NAMINGS:
        raise TabenchError(f"--naming must be one of {', '.join(NAMINGS)}, got {opts.naming!r}")
    if opts.naming == "paper":
        if tuple(opts.views) != VIEWS:
            raise TabenchError("--naming paper renders each id in both views: use --views elevated,front")
        if opts.train_per_class > 2 * (paper.FIRST_VAL_ID - 1):
            raise TabenchError(f"--naming paper has train ids 1-{paper.FIRST_VAL_ID - 1} (two views each): "
                               f"--train-per-class must be <= {2 * (paper.FIRST_VAL_ID - 1)}")


# ------------------------------------------------------------------------------------ jobs
@dataclass(frozen=True)
class Job:
    fine: Fine
    split: str
    index: int


def coarse_slug(tax: Taxonomy, fine: Fine) -> str:
    return tax.coarse[fine.coarse_id].name.replace(" ", "_")


def video_relpath(tax: Taxonomy, job: Job, naming: str = "tabench") -> str:
    """Where a video lies in the dataset. naming "paper": `<coarse_slug>/<coarse_slug><N>[_front]_id_<i>.mp4`
    at the dataset root (the paper's video root), the index-th video being id index // 2 (+ 1, or + 31 for
    val) in view index % 2 (elevated, front), as `view_of` draws it."""
    if naming == "paper":
        name = paper.scheme(tax)[job.fine.set, job.fine.id]
        return name.path(VIEWS[job.index % 2], paper.video_id(job.split, job.index))
    return f"videos/{coarse_slug(tax, job.fine)}/{job.fine.slug}/{job.split}_{job.index:04d}.mp4"


def video_seed(seed: int, slug: str, split: str, index: int) -> int:
    """A stable 63-bit seed per video (sha256, not Python's salted hash())."""
    digest = hashlib.sha256(f"tabench-synta/{seed}/{slug}/{split}/{index}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def select_classes(tax: Taxonomy, classes: tuple[str, ...] | None) -> list[Fine]:
    fines = tax.select(classes) if classes else list(tax.fine)
    return sorted(fines, key=lambda f: (f.set, f.id))


def plan(tax: Taxonomy, fines: list[Fine], opts: Options) -> list[Job]:
    counts = {"train": opts.train_per_class, "val": opts.val_per_class}
    return [Job(f, split, i) for f in fines for split in SPLITS for i in range(counts[split])]


def shard_of(jobs: list[Job], shard: tuple[int, int]) -> list[Job]:
    """The I-th of N disjoint parts (round robin over the planned order, so parts are balanced)."""
    i, n = shard
    return [j for k, j in enumerate(jobs) if k % n == i - 1]


# ------------------------------------------------------------------------------------ one video
def _rng(vseed: int, stream: int, attempt: int = 0) -> np.random.Generator:
    """Stream `stream` of a video; attempt k > 0 is the k-th re-draw of a scene that broke the visibility rule."""
    return np.random.default_rng([vseed, stream] if attempt == 0 else [vseed, stream, attempt])


def num_frames(vseed: int, opts: Options, slug: str | None = None) -> int:
    """The clip length: the class's paper length under --timing paper, else drawn per video."""
    if opts.timing == "paper":
        from tabench.synth.motions._timing import paper_frames

        return paper_frames(slug, opts.fps)
    rng = _rng(vseed, STREAM_FRAMES)
    if opts.frames:
        n = int(rng.integers(opts.frames[0], opts.frames[1] + 1))
    else:
        n = int(round(min(FRAMES_MIN + rng.exponential(FRAMES_EXTRA_MEAN), FRAMES_MAX)))
    return min(n, opts.max_frames) if opts.max_frames else n


def view_of(job: Job, opts: Options) -> str:
    """Views alternate by index, so each view gets half of every class's train and val videos."""
    return opts.views[job.index % len(opts.views)]


def plain_color(rng: np.random.Generator) -> tuple[float, float, float]:
    """A muted solid colour (low saturation, mid value) for the plain-background variant."""
    rgb = colorsys.hsv_to_rgb(rng.uniform(0, 1), rng.uniform(0.08, 0.35), rng.uniform(0.35, 0.8))
    return tuple(round(float(c), 4) for c in rgb)


@dataclass
class VideoPlan:
    """Everything about a video that is decided before its motion program runs."""

    job: Job
    seed: int
    view: str
    num_frames: int
    camera: Camera
    background: Background
    background_info: dict = field(default_factory=dict)
    idle_objects: tuple[int, int] | None = None  # see tabench.synth.idle

    def background_label(self) -> str:
        if self.background.kind == "plain":
            return "plain:#" + "".join(f"{round(c * 255):02x}" for c in self.background.color)
        return self.background_info["id"]


def plan_video(job: Job, opts: Options, pools: BackgroundPools) -> VideoPlan:
    vseed = video_seed(opts.seed, job.fine.slug, job.split, job.index)
    view = view_of(job, opts)
    cam = make_camera(view, _rng(vseed, STREAM_CAMERA), camera_family(job.fine.slug))
    rng_bg = _rng(vseed, STREAM_BACKGROUND)
    placement = "ground" if view == "elevated" else "backdrop"
    if pools.mode == "plain":
        bg = Background("plain", placement, color=plain_color(rng_bg))
        info = {"kind": "plain", "color": list(bg.color)}
    else:
        pool = pools.pool(job.fine.set)
        im = pool[int(rng_bg.integers(len(pool)))]
        bg = Background("photo", placement, image_path=im.file)
        info = {"kind": "photo", **im.record()}
    info.update(placement=placement)
    return VideoPlan(job, vseed, view, num_frames(vseed, opts, job.fine.slug), cam, bg, info, opts.idle_objects)


def run_motion(vp: VideoPlan, fps: int, attempt: int = 0) -> Clip:
    from tabench.synth.motions import MotionContext, get_motion

    slug = vp.job.fine.slug
    shapes = SET_SHAPES[vp.job.fine.set]
    ctx = MotionContext(vp.job.fine.set, shapes, vp.num_frames, fps, vp.camera)
    clip = get_motion(slug)(_rng(vp.seed, STREAM_MOTION, attempt), ctx)  # LayoutError: draw_scene re-draws
    if clip.num_frames != vp.num_frames:
        raise RuntimeError(f"motion program {slug!r} returned {clip.num_frames} frames, expected {vp.num_frames}")
    used = {s.shape for f in clip.frames for s in f.values()}
    if not used <= set(shapes):
        raise RuntimeError(f"motion program {slug!r} used shapes {sorted(used - set(shapes))} outside Set "
                           f"{vp.job.fine.set}'s {shapes}")
    return clip


def draw_scene(vp: VideoPlan, tax: Taxonomy, fps: int, timing: "Timing | None" = None) -> tuple[Clip, dict]:
    """The video's motion and camera, re-drawn (attempt 1, 2, ... of its random streams) until the scene
    passes the visibility rule of `tabench.synth.visibility`, checked on the renderer's own masks at the
    reference size. Sets vp.camera; returns the clip and the rule's record (for the sidecar and synth.json).
    A scene that fails every attempt is kept with passed = false in its record (counted in synth.json).
    A motion that cannot be laid out for the attempt's camera (a rare far camera, a clip too short) is re-drawn
    the same way; the record's `layout_redraws` counts those attempts, and it is an error if all fail."""
    from tabench.synth.motions._layout import LayoutError
    coarse = tax.coarse[vp.job.fine.coarse_id].name
    apart, exempt = coarse in visibility.APART_COARSE, coarse in visibility.EXEMPT_COARSE
    w, h = frame_size(visibility.CHECK_SIZE)
    renderer = RENDERERS["gl"]()  # the check uses the GL renderer's masks whatever the output backend
    family = camera_family(vp.job.fine.slug)
    kept, layout_redraws, last_error = None, 0, None
    for attempt in range(visibility.MAX_ATTEMPTS):
        t0 = (time.perf_counter(), time.process_time())
        camera = vp.camera if attempt == 0 else make_camera(vp.view, _rng(vp.seed, STREAM_CAMERA, attempt), family)
        vp.camera = camera
        try:
            clip = run_motion(vp, fps, attempt)
        except LayoutError as e:
            layout_redraws, last_error = layout_redraws + 1, e
            continue
        t1 = (time.perf_counter(), time.process_time())
        record = visibility.evaluate(renderer.coverage(clip, camera, w, h), apart, exempt)
        t2 = (time.perf_counter(), time.process_time())
        if timing is not None:
            timing.motion += t1[0] - t0[0]
            timing.cpu_motion += t1[1] - t0[1]
            timing.check += t2[0] - t1[0]
            timing.cpu_check += t2[1] - t1[1]
        kept = (clip, camera, record, attempt)
        if record["passed"]:
            break
    if kept is None:
        raise TabenchError(f"{vp.job.fine.name!r}, video seed {vp.seed}: {last_error} with {vp.num_frames} frames "
                           f"from each of {visibility.MAX_ATTEMPTS} cameras; raise --frames / --max-frames (under "
                           "--timing paper, whose lengths all fit, this is a bug to report); videos written so far "
                           "are kept")
    clip, vp.camera, record, chosen = kept
    if vp.idle_objects is not None:
        # after the rule: an idle object's projected box keeps clear of every other box in every frame, so it
        # changes no object's visibility or gap (checking the scene with it would give the same verdict, at
        # more cost). Placed at the check size, so the scene does not depend on --size.
        t0 = (time.perf_counter(), time.process_time())
        clip = add_idle_objects(clip, vp.camera, SET_SHAPES[vp.job.fine.set], _rng(vp.seed, STREAM_IDLE, chosen),
                                vp.idle_objects, w, h)
        if timing is not None:  # part of drawing the scene: the profile's motion stage
            timing.motion += time.perf_counter() - t0[0]
            timing.cpu_motion += time.process_time() - t0[1]
    extra = {"layout_redraws": layout_redraws} if layout_redraws else {}
    return clip, {"attempts": attempt + 1, **extra, **record}


def _r(x, nd=4):
    return [round(float(v), nd) for v in x]


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, float):
        return round(x, 6)
    return x


def sidecar(tax: Taxonomy, vp: VideoPlan, clip: Clip, width: int, height: int, opts: Options,
            vis: dict | None = None) -> dict:
    """The machine-readable record of a video: what was drawn, from where it was seen, and where every
    object is in every frame (stage coordinates and projected 2D box in pixels)."""
    from tabench.synth.render_gl import box_corners

    cam = vp.camera
    eye = np.asarray(cam.eye, float)
    fwd = np.asarray(cam.target, float) - eye
    fwd /= np.linalg.norm(fwd)
    # all objects of all frames at once: boxes and depths are two numpy calls, not one per frame
    flat = [(t, i, objs[i]) for t, objs in enumerate(clip.frames) for i in sorted(objs)]
    states = [s for _, _, s in flat]
    boxes = np.zeros((0, 4))
    depths = np.zeros(0)
    if states:
        px = cam.project(box_corners(states).reshape(-1, 3), width, height)[:, :2].reshape(len(states), 8, 2)
        boxes = np.round(np.concatenate([px.min(axis=1), px.max(axis=1)], axis=1), 1)
        depths = np.round((np.array([s.position for s in states], float) - eye) @ fwd, 4)
    frames: list[list[dict]] = [[] for _ in clip.frames]
    colors, shapes = {}, []
    done: dict[tuple[int, int], dict] = {}  # an object whose state is the same in many frames (idle objects,
    # still motion objects) gets one entry, listed in each of them: the same text, rounded once
    for k, (t, i, s) in enumerate(flat):
        entry = done.get((i, id(s)))
        if entry is None:
            colors.setdefault(str(i), _r(s.color, 3))
            if s.shape not in shapes:
                shapes.append(s.shape)
            entry = done[i, id(s)] = {
                "id": i, "shape": s.shape, "position": _r(s.position), "rotation": _r(s.rotation),
                "size": round(float(s.size), 4), "scale": _r(s.scale), "color": _r(s.color, 3),
                "opacity": round(float(s.opacity), 4), "box": boxes[k].tolist(), "depth": float(depths[k])}
        frames[t].append(entry)
    job = vp.job
    return {
        "format": SIDECAR_FORMAT,
        "tabench_version": __version__,
        "video": video_relpath(tax, job, opts.naming).rsplit("/", 1)[1],
        "seed": vp.seed,
        "run_seed": opts.seed,
        "set": job.fine.set,
        "split": job.split,
        "index": job.index,
        "class": {"slug": job.fine.slug, "name": job.fine.name, "fine_id": job.fine.id,
                  "coarse": tax.coarse[job.fine.coarse_id].name, "coarse_id": job.fine.coarse_id},
        "view": vp.view,
        "camera": {"azimuth_deg": round(cam.azimuth_deg, 4), "elevation_deg": round(cam.elevation_deg, 4),
                   "distance": round(cam.distance, 4), "family": camera_family(job.fine.slug), "eye": _r(cam.eye),
                   "target": _r(cam.target), "fov_y_deg": round(cam.fov_y_deg, 4)},
        "visibility": vis,
        "background": _jsonable(vp.background_info),
        "width": width, "height": height, "fps": opts.fps, "num_frames": clip.num_frames,
        "timing": _timing_record(job.fine.slug, opts),
        "shapes": shapes,
        "colors": colors,
        "params": _jsonable(clip.params),
        "box_format": "x0, y0, x1, y1 in pixels (x right, y down) of the projected 3D bounding box; may extend "
                      "beyond the frame",
        "frames": frames,
    }


_COMPACT = json.JSONEncoder(separators=(",", ":")).encode


def sidecar_text(doc: dict) -> str:
    """A sidecar as written: `json.dumps(doc, separators=(",", ":"))` and a newline, the same text, made faster
    by encoding each object entry of "frames" once, however many frames list it (the same dict: `sidecar`
    shares the entry of an unchanged object, as idle objects are, across its frames)."""
    frames = doc.get("frames")
    if not isinstance(frames, list) or next(reversed(doc)) != "frames":
        return _COMPACT(doc) + "\n"
    head = _COMPACT({k: v for k, v in doc.items() if k != "frames"})
    done: dict[int, str] = {}

    def entry(e) -> str:
        text = done.get(id(e))
        if text is None:
            text = done[id(e)] = _COMPACT(e)
        return text

    body = ",".join("[" + ",".join(map(entry, f)) + "]" for f in frames)
    return f'{head[:-1]}{"," if len(head) > 2 else ""}"frames":[{body}]}}\n'


def _timing_record(slug: str, opts: Options) -> dict:
    """How the clip length was chosen (sidecar "timing")."""
    if opts.timing == "paper":
        from tabench.synth.motions._timing import PAPER_FRAMES

        return {"mode": "paper", "paper_frames_24fps": PAPER_FRAMES[slug][0], "source": PAPER_FRAMES[slug][1]}
    return {"mode": "default", "frames": list(opts.frames) if opts.frames else None, "max_frames": opts.max_frames}


def sidecar_path(video: Path) -> Path:
    return video.with_suffix(".json")


def annotation_path(video: Path, kind: str) -> Path:
    return video.with_name(f"{video.stem}.{kind}.npz")


def is_done(video: Path, annotations=()) -> bool:
    """Rendered earlier and still whole: its files exist and the video decodes to its last frame (a video
    truncated on disk since is rendered again, not counted as done)."""
    from tabench.data.integrity import inspect_video

    return (video.is_file() and sidecar_path(video).is_file()
            and all(annotation_path(video, a).is_file() for a in annotations)
            and inspect_video(video) is None)


@dataclass
class Timing:
    """Seconds spent per stage, wall clock and CPU time of the process (for the benchmark)."""

    motion: float = 0.0
    check: float = 0.0
    render: float = 0.0
    encode: float = 0.0
    write: float = 0.0
    cpu_motion: float = 0.0
    cpu_check: float = 0.0
    cpu_render: float = 0.0
    cpu_encode: float = 0.0
    cpu_write: float = 0.0
    frames: int = 0
    videos: int = 0
    # per video written (its path in the dataset): what synth.json's stats need from its sidecar, so that the
    # end of a run does not parse every sidecar again (visibility_stats)
    records: dict = field(default_factory=dict)

    def add(self, other: "Timing") -> None:
        for k, v in vars(other).items():
            if k == "records":
                self.records.update(v)
            else:
                setattr(self, k, getattr(self, k) + v)


def make_video(tax: Taxonomy, job: Job, opts: Options, pools: BackgroundPools, root: Path,
               backend: str = "gl") -> Timing:
    """Render, encode and write one video with its annotations and sidecar (each file atomically)."""
    from tabench.synth.encode import encode_video

    tm = Timing(videos=1)
    w, h = frame_size(opts.size)
    vp = plan_video(job, opts, pools)
    clip, vis = draw_scene(vp, tax, opts.fps, tm)
    clock = [(time.perf_counter(), time.process_time())]
    result = render_scene(Scene(clip, vp.camera, vp.background, w, h, opts.fps), opts.annotations, backend)
    clock.append((time.perf_counter(), time.process_time()))
    video = root / video_relpath(tax, job, opts.naming)
    encode_video(video, result.rgba if getattr(result, "rgba", None) is not None else result.frames, fps=opts.fps)
    clock.append((time.perf_counter(), time.process_time()))
    for kind in opts.annotations:
        arr = result.masks if kind == "masks" else result.depth.astype(np.float16)
        with atomic_path(annotation_path(video, kind), suffix=".npz") as tmp:
            np.savez_compressed(tmp, **{kind: arr})
    doc = sidecar(tax, vp, clip, w, h, opts, vis)
    atomic_write_text(sidecar_path(video), sidecar_text(doc))
    tm.records[video_relpath(tax, job, opts.naming)] = _stats_record(doc)
    clock.append((time.perf_counter(), time.process_time()))
    for k, stage in enumerate(("render", "encode", "write")):
        setattr(tm, stage, clock[k + 1][0] - clock[k][0])
        setattr(tm, f"cpu_{stage}", clock[k + 1][1] - clock[k][1])
    tm.frames = clip.num_frames
    return tm


# ------------------------------------------------------------------------------------ workers
_WORKER: dict = {}


def _init_worker(tax_dict: dict, opts: Options, pools: BackgroundPools, root: str) -> None:
    from tabench.taxonomy import from_dict

    _WORKER.update(tax=from_dict(tax_dict), opts=opts, pools=pools, root=Path(root))


def _work(job_key: tuple[int, int, str, int]) -> Timing:
    s, fine_id, split, index = job_key
    w = _WORKER
    fine = w["tax"].fine_class(s, fine_id)
    return make_video(w["tax"], Job(fine, split, index), w["opts"], w["pools"], w["root"])


# ------------------------------------------------------------------------------------ the run
def check_programs(fines: list[Fine]) -> None:
    from tabench.synth.motions import all_motions

    have = all_motions()
    missing = [f.slug for f in fines if f.slug not in have]
    if missing:
        shown = ", ".join(missing[:5]) + (f", ... ({len(missing) - 5} more)" if len(missing) > 5 else "")
        raise TabenchError(f"no motion program yet for {len(missing)} of the {len(fines)} selected classes: "
                           f"{shown}; choose classes that have one with --classes")


def check_short_clips(fines: list[Fine], opts: Options, seeds: int = 6) -> None:
    """Clips shorter than the default range may be too short for a class's motion (two projectiles shot one
    after the other do not fit in 8 frames): try each selected class at the length it will get, before
    anything is rendered, and name the classes that cannot be laid out with it."""
    if opts.timing == "paper":  # each class its own length (shorter than the default range only at a low --fps)
        from tabench.synth.motions._timing import paper_frames

        length = {f.slug: paper_frames(f.slug, opts.fps) for f in fines}
    else:
        shortest = opts.frames[0] if opts.frames else FRAMES_MIN
        if opts.max_frames:
            shortest = min(shortest, opts.max_frames)
        length = {f.slug: shortest for f in fines}
    from tabench.synth.motions import MotionContext, get_motion
    from tabench.synth.motions._layout import LayoutError

    def fits(f: Fine, n: int) -> bool:
        ctx = MotionContext(f.set, SET_SHAPES[f.set], n, opts.fps)
        try:
            for seed in range(seeds):
                get_motion(f.slug)(np.random.default_rng([seed, n]), ctx)
        except LayoutError:
            return False
        return True

    short = [f for f in fines if length[f.slug] < FRAMES_MIN and not fits(f, length[f.slug])]
    if not short:
        return
    if opts.timing == "paper":
        shown = "; ".join(f"{f.name!r} gets {length[f.slug]} frames at --fps {opts.fps}" for f in short)
        raise TabenchError(f"--timing paper is too short for {len(short)} selected classes: {shown}; "
                           "raise --fps or leave them out with --classes")
    shortest = length[short[0].slug]
    shown = "; ".join(f"{f.name!r} needs at least "
                      f"{next((n for n in range(shortest + 1, FRAMES_MIN + 1) if fits(f, n)), FRAMES_MIN)}"
                      for f in short)
    raise TabenchError(f"clips of {shortest} frames are too short for {len(short)} selected classes: {shown}; "
                       "raise --frames / --max-frames or leave them out with --classes")


_JSON_TYPES = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean",
               type(None): "null"}


def read_options(root: str | Path) -> dict | None:
    """The options DATA/synth.json records (what its videos were generated with); None when there is no
    synth.json (a K400-TA / SSv2-TA, a fresh folder). One that is there but cannot be read, is not JSON or has
    no options object is a TabenchError saying so: never taken for a missing one (resume and `data check`
    rely on it)."""
    path = Path(root) / "synth.json"
    if not (path.exists() or path.is_symlink()):
        return None
    try:
        text = path.read_text(encoding="utf-8")
        doc = json.loads(text)
    except OSError as e:
        why = f"cannot be read ({e.strerror or e})"
    except UnicodeDecodeError:
        why = "is not text (not UTF-8)"
    except json.JSONDecodeError as e:
        why = "is empty" if not text.strip() else f"is not valid JSON ({e.msg} at line {e.lineno} column {e.colno})"
    else:
        if not isinstance(doc, dict):
            why = f"holds {_JSON_TYPES.get(type(doc), 'a JSON value')}, not a JSON object"
        elif not isinstance(doc.get("options"), dict):
            why = "has no options object"
        else:
            return doc["options"]
    raise TabenchError(f"{path} {why}")


def _check_config(root: Path, opts: Options, pools: BackgroundPools) -> None:
    """A run may resume or extend a folder only with the options that decide its videos' content; a synth.json
    that cannot say which is refused (before anything is written), not replaced."""
    path = root / "synth.json"
    key = opts.content_key(pools)
    try:
        old = read_options(root)
    except TabenchError as e:
        raise TabenchError(f"{e}: it records the options this folder's videos were generated with, so resuming "
                           "cannot check them; restore it, or move it aside and rerun with the very options they "
                           "were made with, or use another --out") from None
    if old is not None:
        diff = sorted(k for k in set(key) | set(old) if old.get(k) != key.get(k))  # an option left out is its default
        if old and diff:
            raise TabenchError(f"{root} was generated with different {', '.join(diff)} "
                               f"({'; '.join(f'{k}: {old.get(k)!r}' for k in diff if k != 'background_pool')}); "
                               "use the same options to resume, or another --out")
    atomic_write_json(path, {"generator": "tabench synth generate", "tabench_version": __version__, "options": key,
                             "timing": opts.timing})


def write_manifest(root: Path, tax: Taxonomy, opts: Options, pools: BackgroundPools) -> list[VideoEntry]:
    """manifest.csv and splits from the videos that exist (of every class, at the current per-class counts)."""
    entries = []
    for job in plan(tax, select_classes(tax, None), opts):
        rel = video_relpath(tax, job, opts.naming)
        video = root / rel
        # rendered now, or checked whole before rendering (is_done): existence is enough here
        if not (video.is_file() and sidecar_path(video).is_file()):
            continue
        vp = plan_video(job, opts, pools)
        entries.append(VideoEntry(rel, job.fine.set, job.split, job.fine.coarse_id, job.fine.id,
                                  {"view": vp.view, "background": vp.background_label(), "num_frames": vp.num_frames}))
    if not opts.prune and (root / "manifest.csv").is_file():
        # the manifest only grows: rows of earlier runs (e.g. with larger counts) stay while their videos exist
        from tabench.data.format import read_manifest

        have = {e.path for e in entries}
        entries += [e for e in read_manifest(root) if e.path not in have and (root / e.path).is_file()]
    write_dataset(root, tax, entries, meta_columns=["view", "background", "num_frames"])
    if opts.naming == "paper":
        paper.write_paper_splits(root, entries)
    return entries


def _stats_record(doc: dict) -> dict:
    """The parts of a sidecar visibility_stats counts: its visibility record and its idle-object record."""
    return {"visibility": doc.get("visibility") or {}, "idle": (doc.get("params") or {}).get("idle") or {}}


def visibility_stats(root: Path, tax: Taxonomy, entries: list[VideoEntry], known: dict | None = None) -> dict:
    """Per fine class, from the sidecars of the listed videos: how many passed the visibility rule, how many
    needed re-draws, and the worst visible-frames share and on-screen gap seen. `known` maps a video's path to
    its `_stats_record`, taken from the sidecar this run just wrote (parsing ~80 kB of JSON per video again
    cost the end of a full run half a minute on one core); every other video's sidecar is read."""
    per: dict[str, list[dict]] = {}
    idle: dict[str, list[dict]] = {}
    known = known or {}
    for e in entries:
        rec = known.get(e.path)
        if rec is None:
            try:
                rec = _stats_record(json.loads(sidecar_path(root / e.path).read_text(encoding="utf-8")))
            except (OSError, json.JSONDecodeError):
                rec = _stats_record({})
        slug = tax.fine_class(e.set, e.fine_id).slug
        per.setdefault(slug, []).append(rec["visibility"])
        idle.setdefault(slug, []).append(rec["idle"])
    out = {}
    for slug, recs in sorted(per.items()):
        have = [r for r in recs if "passed" in r]
        gaps = [r["min_gap_px"] for r in have if r.get("min_gap_px") is not None]
        out[slug] = {
            "videos": len(recs), "checked": len(have), "passed": sum(bool(r["passed"]) for r in have),
            "redrawn": sum(r.get("attempts", 1) > 1 for r in have),
            "mean_attempts": round(float(np.mean([r.get("attempts", 1) for r in have])), 3) if have else None,
            "max_attempts": max((r.get("attempts", 1) for r in have), default=None),
            "min_visible_frames": min((r["min_visible_frames"] for r in have), default=None),
            "min_gap_px": min(gaps) if gaps else None}
        placed = [r for r in idle[slug] if "placed" in r]
        if placed:  # idle objects (tabench.synth.idle): how many were placed; videos with fewer than drawn
            out[slug]["idle_objects"] = {
                "videos": len(placed), "mean_placed": round(float(np.mean([r["placed"] for r in placed])), 3),
                "short": sum(r["placed"] < r["wanted"] for r in placed)}
    return out


def write_visibility_stats(root: Path, tax: Taxonomy, entries: list[VideoEntry], known: dict | None = None) -> dict:
    """Add the per-class visibility stats to synth.json (next to the options)."""
    path = root / "synth.json"
    doc = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    stats = visibility_stats(root, tax, entries, known)
    doc["visibility_rule"] = {"min_visible_share": visibility.MIN_VISIBLE_SHARE,
                              "min_visible_frames": visibility.MIN_VISIBLE_FRAMES,
                              "min_gap_px_at_112": visibility.MIN_GAP_PX, "check_size": visibility.CHECK_SIZE,
                              "max_attempts": visibility.MAX_ATTEMPTS}
    doc["visibility"] = stats
    short = sum(v.get("idle_objects", {}).get("short", 0) for v in stats.values())
    doc["idle_objects"] = {"total": doc.get("options", {}).get("idle_objects"), "videos_short": short}
    atomic_write_json(path, doc)
    return stats


@dataclass
class Summary:
    planned: int
    skipped: int
    rendered: int
    manifest_rows: int
    seconds: float
    timing: Timing


def generate(opts: Options, progress: bool = True, log=None) -> Summary:
    log = log or (lambda m: print(f"tabench: {m}", file=sys.stderr))
    validate(opts)
    tax = load("syn-ta")
    fines = select_classes(tax, opts.classes)
    check_programs(fines)
    check_short_clips(fines, opts)
    pools = load_pools(opts.background, opts.backgrounds, log)
    root = Path(opts.out)
    from tabench.outputs import claim

    claim(root, "dataset", tax.name)  # never into a K400-TA / SSv2-TA dataset or a run
    root.mkdir(parents=True, exist_ok=True)
    _check_config(root, opts, pools)
    write_records(root, pools)
    jobs = shard_of(plan(tax, fines, opts), opts.shard)
    todo = [j for j in jobs if not is_done(root / video_relpath(tax, j, opts.naming), opts.annotations)]
    t0 = time.perf_counter()
    total = Timing()
    if todo:
        from tqdm import tqdm

        bar = tqdm(total=len(jobs), initial=len(jobs) - len(todo), unit="video", disable=not progress,
                   desc="Syn-TA", dynamic_ncols=True)
        try:
            if opts.workers == 1:
                for job in todo:
                    total.add(make_video(tax, job, opts, pools, root))
                    bar.update(1)
            else:
                mp = multiprocessing.get_context("spawn")  # a fresh process per worker: its own GL context
                keys = [(j.fine.set, j.fine.id, j.split, j.index) for j in todo]
                with mp.Pool(min(opts.workers, len(todo)), initializer=_init_worker,
                             initargs=(tax.to_dict(), opts, pools, str(root))) as pool:
                    for tm in pool.imap_unordered(_work, keys, chunksize=1):
                        total.add(tm)
                        bar.update(1)
        finally:
            bar.close()
    entries = write_manifest(root, tax, opts, pools)
    stats = write_visibility_stats(root, tax, entries, total.records)
    failed = sum(v["checked"] - v["passed"] for v in stats.values())
    if failed:
        log(f"{failed} videos broke the visibility rule in all {visibility.MAX_ATTEMPTS} attempts; they are kept "
            "and counted per class in synth.json (visibility)")
    short = sum(v.get("idle_objects", {}).get("short", 0) for v in stats.values())
    if short:
        log(f"{short} videos got fewer idle objects than drawn (no free room on screen); counted per class in "
            "synth.json (visibility.<class>.idle_objects.short)")
    return Summary(len(jobs), len(jobs) - len(todo), len(todo), len(entries), time.perf_counter() - t0, total)
