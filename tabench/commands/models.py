"""`tabench models`: list the model zoo and show one model's facts (family, inputs, parameter count, paper)."""
from __future__ import annotations

import argparse

from tabench.commands import HelpFormatter


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "models", help="list registered models or show one model's details",
        description="The unimodal model zoo (the paper's 8 models at full size plus CPU-sized models) and any "
                    "video-text models. `tabench models list` prints one name per line, details after it.")
    sub = p.add_subparsers(dest="models_command", metavar="SUBCOMMAND")
    lp = sub.add_parser("list", help="one registered model per line: name, params, default frames x size, family",
                        formatter_class=HelpFormatter)
    lp.add_argument("--cpu", action="store_true", help="only the CPU-sized models (train from scratch on a CPU)")
    lp.set_defaults(func=run_list)
    for cmd in ("show", "info"):  # "info" is the older name of "show"
        ip = sub.add_parser(cmd, help="one model's facts: input (frames, size, sampling, mean/std), parameters, paper"
                            + ("" if cmd == "show" else " (same as show)"))
        ip.add_argument("name", help="a registered model name (see `tabench models list`)")
        ip.add_argument("--json", action="store_true", help="print the facts as one JSON object")
        ip.set_defaults(func=run_info)
    p.set_defaults(func=lambda args: (p.print_help(), 0)[1])


def run_list(args) -> int:
    from tabench.models import DEFAULT_CPU_MODEL, list_models, model_info

    names = [n for n in list_models() if not args.cpu or model_info(n).cpu_sized]
    width = max((len(n) for n in names), default=0)
    for n in names:
        i = model_info(n)
        tags = ", ".join(t for t, on in (("cpu default", n == DEFAULT_CPU_MODEL), ("cpu-sized", i.cpu_sized)) if on)
        print(f"{n:<{width}}  {i.params_total / 1e6:7.2f}M params  {i.frames:>2d}x{i.size:<3d}  "
              f"{i.family}" + (f"  [{tags}]" if tags else ""))
    return 0


def run_info(args) -> int:
    import json

    from tabench.models import DEFAULT_CPU_MODEL, model_info

    i = model_info(args.name)  # unknown names raise TabenchError
    d = i.as_dict()
    d["cpu_default"] = i.name == DEFAULT_CPU_MODEL
    if args.json:
        print(json.dumps(d, indent=2))
        return 0
    print(f"{i.name}: {i.description}")
    print(f"  family:          {i.family}")
    print(f"  paper:           {i.paper}")
    print(f"  parameters:      {i.params_total:,} (400 classes), {i.params_trainable:,} trainable"
          + (f"; published: {i.param_ref}" if i.param_ref else ""))
    sampling = i.sampling + (f", every {i.frame_interval} frames" if i.sampling == "dense" else "")
    print(f"  default input:   {i.frames} frames x {i.size}x{i.size} ({sampling})")
    fmt = lambda v: "(" + ", ".join(f"{x:g}" for x in v) + ")"  # noqa: E731
    print(f"  normalisation:   mean {fmt(i.input_mean)}, std {fmt(i.input_std)}")
    if i.pretrained:
        print(f"  starts from:     {i.pretrained} (--weights)")
    print(f"  CPU input:       {i.cpu_frames} frames x {i.cpu_size}x{i.cpu_size}")
    if i.video_text:
        print(f"  video-text:      yes (text encoder: {i.text_encoder}; coarse and fine levels)")
    print(f"  CPU-sized:       {'yes' if i.cpu_sized else 'no'}" + ("  (the default CPU model)" if d["cpu_default"] else ""))
    return 0
