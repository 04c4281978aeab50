"""Benchmark of `tabench synth generate`: a per-stage CPU profile of one worker, the end-to-end rate of the real
generator with --workers N, the time the full default Syn-TA (10,000 videos) takes at that rate, and the same
small scene rendered by tabench's GL renderer and by Blender (Cycles, EEVEE) for the ratio.

    python benchmarks/synth.py --size 112 --videos 40 --e2e-per-class 2 --workers 2 [--write-readme]
        [--json FILE] [--baseline FILE] [--blender-frames 24 | --no-blender] [--cprofile] [--e2e-only]

Stages per video (CPU time of the process, GL rasteriser threads included; one process, videos of classes spread
over both sets and views, the paper's clip lengths, realistic backgrounds unless --background plain):
motion (the motion program), check (the visibility rule: its mask pass, the read-back of the masks and
the rule's numpy evaluation, re-draws included), render (background, per-frame data, drawing, compositing),
read-back (GL to numpy), encode (H.264 through PyAV, swscale RGB->YUV included, and the mp4 write) and write
(the sidecar JSON). For the split the renderer waits for the GL work at each stage boundary
(`GLRenderer.profile`); the per-worker rate is measured in a second pass without that.

Blender (`pip install bpy`, 4.2.x; not a dependency of tabench) runs in a subprocess per engine; without bpy
the comparison is skipped with a message. EEVEE needs an OpenGL context: headless, Blender creates one over EGL
(llvmpipe here).
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import math
import os
import platform
import pstats
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tabench.synth import generate as G  # noqa: E402
from tabench.synth.backgrounds import load_pools  # noqa: E402
from tabench.taxonomy import load  # noqa: E402

FULL_VIDEOS = 10_000
TARGET_MINUTES = 12.0
README = Path(__file__).with_name("README.md")
SECTION = "## Syn-TA generation"
STAGES = ("motion", "check", "render", "read-back", "encode", "write")
BLENDER_ENGINES = ("CYCLES", "BLENDER_EEVEE_NEXT")
BLENDER_SAMPLES = {"CYCLES": 16, "BLENDER_EEVEE_NEXT": 4}  # tabench: 2x2 supersampling = 4 samples per pixel
NOTES = (
    "What made it faster (cProfile and the stage split above; GL work is llvmpipe's, so CPU time): (1) the "
    "downsample-and-composite pass sampled the whole supersampled frame atlas (0.53 ms per frame, more than all "
    "drawing); it now runs only inside each frame's rectangle around its objects and blob shadows (projected "
    "bounding boxes plus 2 px), and the rest of the frame is the clip's static background copied in numpy; "
    "(2) full clears of the frame atlas and of the visibility-mask atlas (llvmpipe writes every bin of a "
    "cleared target) became one far-plane quad draw per batch over the same rectangles; (3) objects are drawn "
    "instanced, one draw call per shape and batch of frames (instance data in a float texture, each instance "
    "placed into its frame's tile and clipped to it in the vertex shader) instead of one per object and frame, "
    "in the visibility pass (id tiles and alone tiles together) and in the render pass (opaque, then "
    "transparent objects layer by layer, back to front per frame as before); (4) frames are read back and fed to the "
    "encoder as RGBA (GL and swscale are faster with 4-byte pixels; the mp4 bytes are identical). Pixels: 0.002 % of pixels differ "
    "from the previous renderer (by up to 60 levels, on object edges), because the tile placement moved from the "
    "viewport to the vertex shader and rounds differently; the visibility masks differ in 17 of 381 million "
    "mask pixels over 50 clips and every visibility record (pass, attempts, visible share, gap) is unchanged; classes, "
    "sidecars and annotations are the same. x264 settings are unchanged (veryfast, CRF 23: superfast made 2.3x "
    "larger files and was not faster at this size).")


def sample_jobs(tax, n: int) -> list[G.Job]:
    """n jobs cycling over all 100 classes (both sets), alternating views, train indices."""
    fines = G.select_classes(tax, None)
    return [G.Job(fines[(k * 37) % len(fines)], "train", k // len(fines) * 2 + k % 2) for k in range(n)]


def _load_photos(pools, size: int) -> None:
    from tabench.synth.render_gl import get_renderer

    for s_id in (1, 2):  # each worker loads every photo once per run; keep that out of the rate
        for im in pools.pool(s_id):
            get_renderer()._photo(im.file, G.frame_size(size)[0])


def per_worker(size: int, n: int, background: str, cprofile: bool, idle=G.IDLE_TOTAL) -> dict:
    """One process: the stage split (synchronised at stage boundaries), then the plain rate (not synchronised)."""
    from tabench.synth.render_gl import get_renderer

    tax = load("syn-ta")
    opts = G.Options(out="", size=size, background=background, idle_objects=idle)
    pools = load_pools(background)
    jobs = sample_jobs(tax, n)
    tmp = Path(tempfile.mkdtemp(prefix="tabench-bench-"))
    renderer = get_renderer()
    try:
        G.make_video(tax, jobs[0], opts, pools, tmp)  # warm-up: GL context, shader compilation
        _load_photos(pools, size)
        split = hasattr(renderer, "profile")  # older renderers have no stage profile
        gl: dict = {}
        total = G.Timing()
        if split:
            renderer.profile = gl
            for job in jobs:
                total.add(G.make_video(tax, job, opts, pools, tmp))
            renderer.profile = None
        plain = G.Timing()
        prof = cProfile.Profile() if cprofile else None
        c0, t0 = time.process_time(), time.perf_counter()
        if prof:
            prof.enable()
        for job in jobs:
            plain.add(G.make_video(tax, job, opts, pools, tmp))
        if prof:
            prof.disable()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if prof:
        s = io.StringIO()
        pstats.Stats(prof, stream=s).sort_stats("tottime").print_stats(20)
        print(s.getvalue(), file=sys.stderr)
    f = plain.frames
    out = {"size": size, "videos": plain.videos, "frames": f, "wall_s": wall, "cpu_s": cpu,
           "cpu_ms_per_frame": 1e3 * cpu / f}
    if split:
        render_gl = sum(v for k, v in gl.items() if not k.startswith("check") and k != "readback")
        ms = {"motion": total.cpu_motion, "check": total.cpu_check, "render": total.cpu_render - gl.get("readback", 0),
              "read-back": gl.get("readback", 0.0), "encode": total.cpu_encode, "write": total.cpu_write}
        out["stages_ms_per_frame"] = {k: 1e3 * v / total.frames for k, v in ms.items()}
        out["gl_ms_per_frame"] = {k: 1e3 * v / total.frames for k, v in gl.items()}
        out["check_evaluate_ms_per_frame"] = 1e3 * (total.cpu_check - gl.get("check draw", 0)
                                                    - gl.get("check readback", 0)) / total.frames
        out["render_gl_ms_per_frame"] = 1e3 * render_gl / total.frames
    else:
        ms = {"motion": plain.cpu_motion, "check": plain.cpu_check, "render": plain.cpu_render, "read-back": None,
              "encode": plain.cpu_encode, "write": plain.cpu_write}
        out["stages_ms_per_frame"] = {k: None if v is None else 1e3 * v / f for k, v in ms.items()}
    return out


def end_to_end(size: int, n_per_class: int, workers: int, background: str, idle=G.IDLE_TOTAL) -> dict:
    """The real generator (`generate --workers N` on all 100 classes), wall clock from the call to the finished
    manifest, and the CPU time of this process and its workers."""
    out = Path(tempfile.mkdtemp(prefix="tabench-bench-e2e-"))
    load_before = os.getloadavg()
    try:
        opts = G.Options(out=str(out), train_per_class=n_per_class, val_per_class=0, size=size, workers=workers,
                         background=background, idle_objects=idle)
        r0 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        s = G.generate(opts, progress=False, log=lambda m: None)
        wall = time.perf_counter() - t0
        r1 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = sum(b.ru_utime + b.ru_stime - a.ru_utime - a.ru_stime for a, b in zip(r0, r1))
        mb = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 2 ** 20
    finally:
        shutil.rmtree(out, ignore_errors=True)
    f = s.timing.frames
    return {"size": size, "workers": workers, "videos": s.rendered, "frames": f, "wall_s": wall, "cpu_s": cpu,
            "fps": f / wall, "cpu_ms_per_frame": 1e3 * cpu / f, "fps_on_free_cores": workers * f / cpu,
            "load_before": load_before, "load_after": os.getloadavg(), "megabytes": mb}


# ------------------------------------------------------------------------------------------------ Blender
def comparison_clip(n: int):
    """The comparison scene: a red cube, a green sphere and a blue cylinder (half-size 0.5) sliding 3 units
    across a grey ground, seen by the elevated camera from the front (azimuth 90, distance 9, height 6)."""
    from tabench.synth.scene import Clip, ObjectState, orbit_camera

    cam = orbit_camera("elevated", 90.0, 9.0, 6.0)
    objs = (("cube", (0.9, 0.1, 0.1)), ("sphere", (0.1, 0.8, 0.2)), ("cylinder", (0.1, 0.2, 0.9)))
    frames = []
    for t in range(n):
        u = t / max(n - 1, 1)
        frames.append({k: ObjectState(shape, (-2.5 + 1.6 * k + 3.0 * u, -0.5 + 1.0 * u, 0.5), 0.5, color=rgb)
                       for k, (shape, rgb) in enumerate(objs)})
    return Clip(frames), cam, objs


def tabench_scene(n: int, size: int) -> dict:
    from tabench.synth.encode import encode_video
    from tabench.synth.render_gl import get_renderer
    from tabench.synth.scene import Background, Scene

    clip, cam, _ = comparison_clip(n)
    w, h = G.frame_size(size)
    scene = Scene(clip, cam, Background("plain", "ground", color=(0.5, 0.5, 0.5)), w, h, 24)
    t0 = time.perf_counter()
    r = get_renderer()
    r.render(scene)  # context, shaders
    setup = time.perf_counter() - t0
    tmp = Path(tempfile.mkdtemp(prefix="tabench-bench-bl-"))
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        result = r.render(scene)
        encode_video(tmp / "x.mp4", result.rgba if getattr(result, "rgba", None) is not None else result.frames, fps=24)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"engine": "tabench gl", "frames": n, "setup_s": setup, "first_frame_s": None,
            "s_per_frame": wall / n, "cpu_s_per_frame": cpu / n, "samples": 4}


def blender_worker(engine: str, n: int, size: int, out: str) -> None:
    """Runs inside a subprocess with bpy: the comparison scene, rendered to PNG frames; prints one JSON line."""
    import bpy  # noqa: F401 - the optional Blender module

    t0 = time.perf_counter()
    clip, cam, objs = comparison_clip(n)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    sc = bpy.context.scene
    sc.render.engine = engine
    w, h = G.frame_size(size)
    sc.render.resolution_x, sc.render.resolution_y, sc.render.resolution_percentage = w, h, 100
    sc.render.fps = 24
    sc.frame_start, sc.frame_end = 1, n

    def material(rgb, rough=0.3):
        m = bpy.data.materials.new("m")
        m.use_nodes = True
        bsdf = m.node_tree.nodes["Principled BSDF"]
        bsdf.inputs["Base Color"].default_value = (*rgb, 1.0)
        bsdf.inputs["Roughness"].default_value = rough
        return m

    bpy.ops.mesh.primitive_plane_add(size=60)
    bpy.context.object.data.materials.append(material((0.5, 0.5, 0.5), 0.9))
    add = {"cube": lambda: bpy.ops.mesh.primitive_cube_add(size=1.0),
           "sphere": lambda: bpy.ops.mesh.primitive_uv_sphere_add(radius=0.5),
           "cylinder": lambda: bpy.ops.mesh.primitive_cylinder_add(radius=0.5, depth=1.0)}
    for k, (shape, rgb) in enumerate(objs):
        add[shape]()
        o = bpy.context.object
        o.data.materials.append(material(rgb))
        for t in (0, n - 1):
            o.location = clip.frames[t][k].position
            o.keyframe_insert("location", frame=t + 1)
    bpy.ops.object.light_add(type="SUN", location=(0, 0, 10))
    bpy.context.object.data.energy = 3.0
    bpy.ops.object.camera_add(location=cam.eye)
    camera = bpy.context.object
    camera.data.sensor_fit = "VERTICAL"
    camera.data.angle = math.radians(cam.fov_y_deg)
    bpy.ops.object.empty_add(location=cam.target)
    track = camera.constraints.new("TRACK_TO")
    track.target = bpy.context.object
    sc.camera = camera
    if engine == "CYCLES":
        sc.cycles.device = "CPU"
        sc.cycles.samples = BLENDER_SAMPLES[engine]
        sc.cycles.use_denoising = False
    else:
        sc.eevee.taa_render_samples = BLENDER_SAMPLES[engine]
    sc.render.threads_mode = "FIXED"
    sc.render.threads = os.cpu_count() or 1
    sc.render.image_settings.file_format = "PNG"
    setup = time.perf_counter() - t0
    sc.frame_set(1)
    sc.render.filepath = os.path.join(out, "first.png")
    t0 = time.perf_counter()
    bpy.ops.render.render(write_still=True)  # the first frame pays shader compilation / scene sync
    first = time.perf_counter() - t0
    sc.frame_start = 2
    sc.render.filepath = os.path.join(out, "f_")
    t0, c0 = time.perf_counter(), time.process_time()
    if n > 1:
        bpy.ops.render.render(animation=True)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    rest = max(n - 1, 1)
    print("BLENDER_RESULT " + json.dumps({"engine": engine, "frames": n, "setup_s": setup, "first_frame_s": first,
                                          "s_per_frame": wall / rest, "cpu_s_per_frame": cpu / rest,
                                          "samples": BLENDER_SAMPLES[engine], "blender": bpy.app.version_string}))


def blender(n: int, size: int, timeout: float) -> list[dict]:
    try:
        import importlib.util

        have = importlib.util.find_spec("bpy") is not None
    except (ImportError, ValueError):
        have = False
    if not have:
        print("synth benchmark: bpy is not installed (pip install bpy==4.2.*), skipping the Blender comparison",
              file=sys.stderr)
        return []
    rows = []
    for engine in BLENDER_ENGINES:
        out = tempfile.mkdtemp(prefix="tabench-bench-blender-")
        try:
            p = subprocess.run([sys.executable, __file__, "--blender-worker", engine, str(n), str(size), out],
                               capture_output=True, text=True, timeout=timeout)
            line = next((x for x in p.stdout.splitlines() if x.startswith("BLENDER_RESULT ")), None)
            if line:
                rows.append(json.loads(line.split(" ", 1)[1]))
            else:
                err = [x for x in (p.stderr + p.stdout).splitlines() if "rror" in x][-3:]
                rows.append({"engine": engine, "error": f"exit {p.returncode}: {' | '.join(err) or 'no result'}"})
        except subprocess.TimeoutExpired:
            rows.append({"engine": engine, "error": f"no result within {timeout:.0f} s"})
        finally:
            shutil.rmtree(out, ignore_errors=True)
        print(f"synth benchmark: {rows[-1]}", file=sys.stderr)
    return rows


# ------------------------------------------------------------------------------------------------ report
def fmt(x, nd: int = 2) -> str:
    return "-" if x is None else f"{x:.{nd}f}"


def full_minutes(fps: float) -> float:
    return FULL_VIDEOS * (G.FRAMES_MIN + G.FRAMES_EXTRA_MEAN) / fps / 60


def report(res: dict, base: dict | None, command: str) -> str:
    pw, e2e = res["per_worker"], res.get("e2e")
    mean_frames = G.FRAMES_MIN + G.FRAMES_EXTRA_MEAN
    lines = [SECTION, "", f"Command: `{command}`", "",
             f"Machine: {platform.machine()}, {os.cpu_count()} cores shared with other jobs, Mesa llvmpipe, Python "
             f"{platform.python_version()}; {res['date']}.", ""]
    if e2e:
        target_fps = FULL_VIDEOS * mean_frames / (TARGET_MINUTES * 60)
        lines += [f"End to end (`tabench synth generate --workers {e2e['workers']}` on all 100 classes, "
                  "train videos of both views, visibility re-draws, orbiting cameras, sidecars, "
                  "manifest; wall clock from start to the finished manifest):", "",
                  "| code | videos | frames | frames/s (wall) | load avg before / after | CPU ms / frame (all processes) | "
                  f"frames/s on {e2e['workers']} free cores | full Syn-TA (wall rate) | full Syn-TA (free cores) |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for name, r in (("before", base.get("e2e") if base else None), ("after", e2e)):
            if r:
                lines.append(f"| {name} | {r['videos']} | {r['frames']:,} | {r['fps']:.0f} "
                             f"| {r['load_before'][0]:.1f} / {r['load_after'][0]:.1f} "
                             f"| {r['cpu_ms_per_frame']:.2f} | {r['fps_on_free_cores']:.0f} "
                             f"| {full_minutes(r['fps']):.1f} min | {full_minutes(r['fps_on_free_cores']):.1f} min |")
        lines += ["", f"Full Syn-TA = {FULL_VIDEOS:,} videos x {mean_frames:.0f} frames on average; the "
                  f"{TARGET_MINUTES:.0f}-minute target needs {target_fps:,.0f} frames/s. \"Free cores\" = "
                  f"{e2e['workers']} / (CPU seconds per frame of the generator and its workers): the rate on "
                  "an otherwise idle machine, which the wall rate approaches only when nothing else runs.", "",
                  f"**Target ({TARGET_MINUTES:.0f} min): {'met' if e2e['fps'] >= target_fps else 'not met'}** at the "
                  f"wall rate measured here ({e2e['fps']:.0f} frames/s, load {e2e['load_before'][0]:.1f}), "
                  f"{'met' if e2e['fps_on_free_cores'] >= target_fps else 'not met'} on free cores "
                  f"({e2e['fps_on_free_cores']:.0f} frames/s = {full_minutes(e2e['fps_on_free_cores']):.1f} min).", ""]
    lines += [f"Per worker at {pw['size']} px (one process, {pw['videos']} videos, {pw['frames']:,} frames), CPU ms "
              "per frame by stage (GL rasteriser threads included):", "",
              "| code | " + " | ".join(STAGES) + " | total | frames/s per free core |",
              "|---|" + "---|" * (len(STAGES) + 2)]
    for name, r in (("before", base.get("per_worker") if base else None), ("after", pw)):
        if r:
            st = r["stages_ms_per_frame"]
            lines.append(f"| {name} | " + " | ".join(fmt(st.get(k)) for k in STAGES)
                         + f" | {r['cpu_ms_per_frame']:.2f} | {1e3 / r['cpu_ms_per_frame']:.0f} |")
    if base and base.get("per_worker"):
        b = base["per_worker"]["cpu_ms_per_frame"]
        lines += ["", f"Per worker: {b:.2f} -> {pw['cpu_ms_per_frame']:.2f} CPU ms per frame, "
                  f"{b / pw['cpu_ms_per_frame']:.2f}x." + (
                      f" End to end: {base['e2e']['cpu_ms_per_frame']:.2f} -> {e2e['cpu_ms_per_frame']:.2f} CPU ms "
                      f"per frame, {base['e2e']['cpu_ms_per_frame'] / e2e['cpu_ms_per_frame']:.2f}x."
                      if e2e and base.get("e2e") else "")]
    if pw.get("gl_ms_per_frame"):
        gl = ", ".join(f"{k} {v:.3f}" for k, v in pw["gl_ms_per_frame"].items())
        lines += ["", f"GL detail (ms per frame): {gl}; visibility evaluation (numpy) "
                  f"{pw['check_evaluate_ms_per_frame']:.3f}."]
    bl = res.get("blender") or []
    if bl:
        tb = next(r for r in bl if r["engine"] == "tabench gl")
        lines += ["", f"Blender comparison: the same small scene (a cube, a sphere and a cylinder sliding over a grey "
                  f"ground, sun light, {pw['size']} px high = {'x'.join(map(str, G.frame_size(pw['size'])))}, "
                  f"{tb['frames']} frames), rendered by each engine in its own process after a warm-up; Blender "
                  "writes PNG frames, tabench renders and encodes the mp4:", "",
                  "| renderer | samples per pixel | setup s | first frame s | s per frame | CPU s per frame "
                  "| x tabench (s per frame) |", "|---|---|---|---|---|---|---|"]
        for r in bl:
            if "error" in r:
                lines.append(f"| {r['engine']} | - | - | - | failed: {r['error']} | - | - |")
                continue
            lines.append(f"| {r['engine']}{' ' + r['blender'] if r.get('blender') else ''} | {r['samples']} "
                         f"| {r['setup_s']:.2f} | {fmt(r['first_frame_s'])} | {r['s_per_frame']:.4f} "
                         f"| {r['cpu_s_per_frame']:.4f} | {r['s_per_frame'] / tb['s_per_frame']:,.0f} |")
    lines += ["", NOTES]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    if argv is None and len(sys.argv) > 1 and sys.argv[1] == "--blender-worker":
        engine, n, size, out = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
        blender_worker(engine, n, size, out)
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=112)
    ap.add_argument("--videos", type=int, default=40, help="videos for the per-worker profile")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="workers for the end-to-end run")
    ap.add_argument("--e2e-per-class", type=int, default=2,
                    help="train videos per class in the end-to-end run, all 100 classes (0 skips it)")
    ap.add_argument("--background", choices=("realistic", "plain"), default="realistic")
    ap.add_argument("--idle-objects", default="2-5", help="as for synth generate: MIN-MAX or none")
    ap.add_argument("--blender-frames", type=int, default=24, help="frames of the Blender comparison scene")
    ap.add_argument("--blender-timeout", type=float, default=900.0, help="seconds per Blender engine")
    ap.add_argument("--no-blender", action="store_true", help="skip the Blender comparison")
    ap.add_argument("--e2e-only", action="store_true",
                    help="only the end-to-end run: print its JSON line and stop (for interleaved before/after runs)")
    ap.add_argument("--cprofile", action="store_true", help="cProfile the per-worker loop (printed to stderr)")
    ap.add_argument("--json", help="also write the results to this JSON file")
    ap.add_argument("--baseline", help="results JSON of an earlier run (e.g. before a change) to show next to these")
    ap.add_argument("--write-readme", action="store_true", help=f"replace the '{SECTION}' section of {README.name}")
    args = ap.parse_args(argv)
    idle = G.parse_idle(args.idle_objects)
    command = "python benchmarks/synth.py " + " ".join(a for a in (sys.argv[1:] if argv is None else argv))
    res = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "command": command,
           "load_start": os.getloadavg(), "idle_objects": list(idle) if idle else None}
    # end to end first, while this process has no GL context of its own
    if args.e2e_per_class > 0:
        res["e2e"] = end_to_end(args.size, args.e2e_per_class, args.workers, args.background, idle)
        print(f"synth benchmark: e2e {json.dumps(res['e2e'])}", file=sys.stderr)
        if args.e2e_only:
            print(json.dumps(res["e2e"]))
            return 0
    res["per_worker"] = per_worker(args.size, args.videos, args.background, args.cprofile, idle)
    print(f"synth benchmark: per worker {json.dumps(res['per_worker'])}", file=sys.stderr)
    if not args.no_blender:
        bl = blender(args.blender_frames, args.size, args.blender_timeout)
        if bl:
            res["blender"] = [tabench_scene(args.blender_frames, args.size)] + bl
    res["load_end"] = os.getloadavg()
    base = json.loads(Path(args.baseline).read_text()) if args.baseline else None
    text = report(res, base, command)
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1, default=float) + "\n")
    if args.write_readme:
        _write_section(text)
    return 0


def _write_section(text: str) -> None:
    """Replace (or append) only this benchmark's section; other sections belong to other benchmarks."""
    old = README.read_text(encoding="utf-8") if README.is_file() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    new = pattern.sub(lambda m: text + "\n", old) if pattern.search(old) else old.rstrip("\n") + "\n\n" + text
    from tabench.io import atomic_write_text

    atomic_write_text(README, new)


if __name__ == "__main__":
    raise SystemExit(main())
