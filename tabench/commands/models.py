"""`tabench models`: list the model zoo and show one model's facts (family, inputs, parameter count, paper)."""
from __future__ import annotations

import argparse


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "models", help="list registered models or show one model's details",
        description="The unimodal model zoo (the paper's 8 models at full size plus CPU-sized models) and any "
                    "video-text models. `tabench models list` prints one name per line, details after it.")
    sub = p.add_subparsers(dest="models_command", metavar="SUBCOMMAND")
    lp = sub.add_parser("list", help="one registered model per line: name, params, default frames x size, family",
                        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    lp.add_argument("--cpu", action="store_true", help="only the CPU-sized models (train from scratch on a CPU)")
    lp.set_defaults(func=run_list)
    ip = sub.add_parser("info", help="details of one model")
    ip.add_argument("name", help="a registered model name (see `tabench models list`)")
    ip.add_argument("--json", action="store_true", help="print the details as JSON")
    ip.set_defaults(func=run_info)
    p.set_defaults(func=lambda args: (p.print_help(), 0)[1])


def run_list(args) -> int:
    from tabench.models import DEFAULT_CPU_MODEL, list_models, model_info

    names = [n for n in list_models() if not args.cpu or model_info(n).cpu_sized]
    width = max((len(n) for n in names), default=0)
    for n in names:
        i = model_info(n)
        tags = ", ".join(t for t, on in (("cpu default", n == DEFAULT_CPU_MODEL), ("cpu-sized", i.cpu_sized)) if on)
        print(f"{n:<{width}}  {i.params / 1e6:7.2f}M params  {i.default_frames:>2d}x{i.default_size:<3d}  "
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
    print(f"  parameters:      {i.params:,} (400 classes)" + (f"; published: {i.param_ref}" if i.param_ref else ""))
    print(f"  default input:   {i.default_frames} frames x {i.default_size}x{i.default_size} (model.default_frames/size)")
    print(f"  CPU input:       {i.cpu_frames} frames x {i.cpu_size}x{i.cpu_size}")
    print(f"  CPU-sized:       {'yes' if i.cpu_sized else 'no'}" + ("  (the default CPU model)" if d["cpu_default"] else ""))
    return 0
