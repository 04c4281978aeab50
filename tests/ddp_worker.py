"""Run under `torchrun --nproc_per_node 2` (gloo) by tests/test_zoo.py: every named model, wrapped in DDP the way
`tabench train` wraps it (no find_unused_parameters), takes a few training steps with the loss the training loop
computes (cross-entropy unless the method trains with its own loss, plus `auxiliary_loss(labels)`), each rank on its
own batches. A trainable parameter that gets no gradient makes DDP fail from the second step; after the steps the
ranks' parameters must be identical. Prints one `DDP <name>: ok` line per model on rank 0.

    torchrun --nproc_per_node 2 tests/ddp_worker.py [--clip CLIP_DIR] NAME..."""
from __future__ import annotations

import os
import sys

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from tabench.classtext import enriched_prompt  # noqa: E402
from tabench.models import create_model, model_info  # noqa: E402
from tabench.train import set_label_texts  # noqa: E402

TEXTS = ["moving something left", "moving something right", "lifting something up", "pushing something down"]
FINE = ["a ball rolling left", "a box sliding left", "a ball rolling right", "a box lifted", "a cup pushed"]


def build(name: str, clip: str | None = None) -> nn.Module:
    """The model as the training loop prepares it: label space as texts (names, or CoCo's enriched prompts) and,
    for disentangled models, the fine label space. `clip`: a CLIP directory the CLIP-based video-text models start
    from (a small random one in the tests)."""
    torch.manual_seed(0)  # the same initial weights on every rank (DDP also broadcasts rank 0's)
    kw = {"pretrained": clip} if clip and model_info(name).video_text and model_info(name).text_encoder == "clip" else {}
    model = create_model(name, num_classes=len(TEXTS), **kw)
    texts = TEXTS
    if model_info(name).class_text == "enriched":  # CoCo: a definition and descriptions per class (seed 004)
        texts = [enriched_prompt({"name": c, "definition": f"the action of {c}",
                                  "descriptions": [f"a person {c} slowly", f"someone {c} with both hands"]}, 0.5, None)
                 for c in TEXTS]
    set_label_texts(model, texts)
    if hasattr(model, "set_fine_classes"):
        model.set_fine_classes(FINE)
    return model.train()


def training_loss(model: nn.Module, forward, g: torch.Generator) -> torch.Tensor:
    """One batch through `forward` (the model or its DDP wrapper) with the training loop's loss."""
    t = 8 if type(model).__name__ == "SlowFast" else 4  # SlowFast's fast pathway: a multiple of alpha = 4
    t = model.default_frames if getattr(model, "fixed_frames", False) else t  # DG methods: T is architecture
    x = torch.randn(2, 3, t, 32, 32, generator=g)
    y = torch.randint(0, len(TEXTS), (2,), generator=g)
    if hasattr(model, "set_fine_targets"):
        model.set_fine_targets(torch.randint(0, len(FINE), (2,), generator=g))
    logits = forward(x)
    loss = F.cross_entropy(logits, y) if getattr(model, "uses_cross_entropy", True) else logits.new_zeros(())
    aux = model.auxiliary_loss(y) if hasattr(model, "auxiliary_loss") else None
    return loss if aux is None else loss + aux


def run(name: str, rank: int, steps: int = 3, clip: str | None = None) -> bool:
    model = build(name, clip)
    ddp = nn.parallel.DistributedDataParallel(model)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=0.01)
    g = torch.Generator().manual_seed(100 + rank)  # each rank its own data
    for _ in range(steps):
        loss = training_loss(model, ddp, g)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(params, 1.0)  # the training loop's default clip_grad
        opt.step()
    flat = torch.cat([p.detach().flatten() for p in model.parameters()])
    both = [torch.zeros_like(flat) for _ in range(dist.get_world_size())]
    dist.all_gather(both, flat)
    if not torch.isfinite(flat).all():
        raise FloatingPointError("non-finite parameters after the steps")
    return all(torch.equal(both[0], other) for other in both[1:])


def main(names: list[str]) -> int:
    clip = None
    if names and names[0] == "--clip":
        clip, names = names[1], names[2:]
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    torch.set_num_threads(1)
    bad = 0
    for name in names:
        try:
            same = run(name, rank, clip=clip)
            msg = "ok" if same else "ranks' parameters differ"
        except Exception as e:  # noqa: BLE001 - reported per model, the test fails on it
            same, msg = False, f"{type(e).__name__}: {str(e).splitlines()[0][:300]}"
        bad += not same
        if rank == 0:
            print(f"DDP {name}: {msg}", flush=True)
    dist.destroy_process_group()
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
