"""The front-view check's on-screen travel (docs/synth.md, "Front-view check of every class").

Per class, from the sidecars of N front videos (train indices 1, 3, ..., seed 0, plain background, 112 px):
the on-screen travel of the most-moving object in each video (the extent of its projected box centre over
the clip, in frame widths) and the share of its move that runs in depth (along the camera's line of sight).
Prints per class: smallest and median travel over the N videos, largest depth share, slug. Scenes are drawn as `synth generate`
draws them (`draw_scene`: re-drawn until they pass the visibility rule) unless --no-redraw.

    PYTHONPATH=. python scripts/front_view_travel.py [--videos 12] [--classes SLUG ...] [--json OUT]
"""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from tabench.synth.backgrounds import load_pools
from tabench.synth.generate import Job, Options, draw_scene, frame_size, plan_video, run_motion, sidecar
from tabench.taxonomy import load


def most_travel(tax, vp, clip, opts) -> tuple[float, float]:
    """(travel, depth share) of the video's most-moving object: the extent of its projected box centre in
    frame widths, and how much of its move (first frame to the point farthest from it, in 3D) runs along the
    camera's line of sight (0: across the picture, 1: straight towards or away from the camera)."""
    w, h = frame_size(112)
    boxes: dict = {}
    where: dict = {}
    for fr in sidecar(tax, vp, clip, w, h, opts)["frames"]:
        for o in fr:
            boxes.setdefault(o["id"], []).append(np.add(o["box"][:2], o["box"][2:]) / 2 / w)
            where.setdefault(o["id"], []).append((*o["position"], o["depth"]))
    travel = {i: float(np.linalg.norm(np.ptp(np.array(c), axis=0))) for i, c in boxes.items()}
    best = max(travel, key=travel.get)
    p = np.array(where[best])
    k = int(np.argmax(np.linalg.norm(p[:, :3] - p[0, :3], axis=1)))
    move = float(np.linalg.norm(p[k, :3] - p[0, :3]))
    return travel[best], abs(p[k, 3] - p[0, 3]) / move if move > 1e-6 else 0.0


def class_travel(tax, fine, n: int, redraw: bool, view: str = "front") -> list[float]:
    opts = Options(out="unused", background="plain", idle_objects=None)
    pools = load_pools("plain", None)
    out = []
    for k in range(n):
        vp = plan_video(Job(fine, "train", 2 * k + (view == "front")), opts, pools)
        clip = draw_scene(vp, tax, opts.fps)[0] if redraw else run_motion(vp, opts.fps)
        out.append(most_travel(tax, vp, clip, opts))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--videos", type=int, default=12)
    ap.add_argument("--classes", nargs="*", help="fine-class slugs or prefixes (default: all)")
    ap.add_argument("--view", default="front", choices=["front", "elevated"])
    ap.add_argument("--no-redraw", action="store_true", help="first attempt only (no visibility re-draws)")
    ap.add_argument("--json", help="write {slug: [[travel, depth share] per video]} here")
    a = ap.parse_args(argv)
    tax = load("syn-ta")
    fines = [f for f in tax.fine if not a.classes or any(f.slug.startswith(c) for c in a.classes)]
    res = {}
    for f in sorted(fines, key=lambda f: (tax.coarse[f.coarse_id].name, f.set, f.id)):
        tr = class_travel(tax, f, a.videos, not a.no_redraw, a.view)
        res[f.slug] = tr
        travel, depth = np.array(tr).T
        print(f"S{f.set}.{f.id}\t{travel.min():.3f}\t{np.median(travel):.3f}\t{depth.max():.2f}\t{f.slug}",
              flush=True)
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(res, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
