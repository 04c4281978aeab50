"""`tabench synth preview`: a contact sheet to check motions by eye, one row per fine class (its name at the
left), frames spaced evenly over the clip from left to right. Uses the generator's own video plans, so a row
shows exactly what `tabench synth generate` renders for that class's first train video(s)."""
from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np

from tabench import TabenchError
from tabench.io import atomic_path
from tabench.synth.backgrounds import load_pools
from tabench.synth.generate import (Job, Options, draw_scene, frame_size, plan_video, render_scene,
                                    select_classes, view_of)
from tabench.synth.idle import IDLE_TOTAL
from tabench.synth.scene import VIEWS, Scene
from tabench.taxonomy import load


def contact_sheet(out: str | Path, classes=None, frames_per_row: int = 6, size: int = 112, seed: int = 0,
                  view: str | None = None, background: str = "realistic", backgrounds: str | None = None,
                  max_frames: int | None = None, timing: str = "default",
                  idle_objects: tuple[int, int] | None = IDLE_TOTAL) -> int:
    """Render the sheet and write it (atomically); returns the number of rows."""
    from PIL import Image, ImageDraw, ImageFont

    from tabench.synth.motions import all_motions

    if frames_per_row < 1:
        raise TabenchError("--frames-per-row must be >= 1")
    if Path(out).suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise TabenchError(f"--out must end in .png or .jpg, got {out}")
    tax = load("syn-ta")
    have = all_motions()
    if classes:
        fines = select_classes(tax, tuple(classes))
        missing = [f.slug for f in fines if f.slug not in have]
        if missing:
            raise TabenchError(f"no motion program yet for: {', '.join(missing[:5])}")
    else:
        fines = [f for f in select_classes(tax, None) if f.slug in have]
        if not fines:
            raise TabenchError("no motion programs are registered yet")
    opts = Options(out=str(out), size=size, seed=seed, background=background, backgrounds=backgrounds,
                   max_frames=max_frames, timing=timing, idle_objects=idle_objects)
    pools = load_pools(background, backgrounds)
    w, h = frame_size(size)
    font = ImageFont.load_default(size=max(10, h // 9))
    label_w = max(160, int(w * 1.1))
    gap = max(2, h // 40)
    sheet = Image.new("RGB", (label_w + frames_per_row * (w + gap), len(fines) * (h + gap) + gap), "white")
    draw = ImageDraw.Draw(sheet)
    chars = max(12, int(label_w / (font.size * 0.55)))
    for row, fine in enumerate(fines):
        want = view or VIEWS[row % len(VIEWS)]
        index = next(i for i in range(len(VIEWS)) if view_of(Job(fine, "train", i), opts) == want)
        vp = plan_video(Job(fine, "train", index), opts, pools)
        clip, _ = draw_scene(vp, tax, opts.fps)
        frames = render_scene(Scene(clip, vp.camera, vp.background, w, h, opts.fps)).frames
        y = gap + row * (h + gap)
        label = f"S{fine.set}.{fine.id} {tax.coarse[fine.coarse_id].name}: {fine.name}"
        lines = textwrap.wrap(label, chars)
        max_lines = max(1, h // (font.size + 2))
        if len(lines) > max_lines:
            lines = lines[:max_lines]
            lines[-1] = lines[-1][: max(0, chars - 3)] + "..."
        draw.multiline_text((4, y + 2), "\n".join(lines), fill="black", font=font, spacing=2)
        for k, t in enumerate(np.linspace(0, len(frames) - 1, frames_per_row).round().astype(int)):
            sheet.paste(Image.fromarray(frames[t]), (label_w + k * (w + gap), y))
    suffix = Path(out).suffix.lower()
    with atomic_path(out, suffix=suffix) as tmp:
        if suffix == ".png":
            sheet.save(tmp, "PNG", optimize=True)
        else:
            sheet.save(tmp, "JPEG", quality=88)
    return len(fines)
