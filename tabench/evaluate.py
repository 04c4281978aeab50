"""Evaluation: scores for every clip of a dataset (sharded over DDP ranks, gathered on all) and their accuracy.

Shared by the training loop (validation) and the protocol runner (known / unknown context), so a validation
score and a test score are computed by the same code, and the protocol can reuse the final validation as its
known-context result instead of evaluating the same weights on the same videos twice.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from tabench import TabenchError
from tabench.metrics import mean_class_accuracy, topk_accuracy


def _unwrap(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def forward_views(model: nn.Module, video: torch.Tensor) -> torch.Tensor:
    """Logits for (B,3,T,H,W), or class probabilities averaged over views for (B,V,3,T,H,W)."""
    if video.ndim == 6:
        b, v = video.shape[:2]
        logits = model(video.flatten(0, 1)).float()
        return logits.softmax(-1).view(b, v, -1).mean(1).log()
    return model(video).float()


@torch.no_grad()
def predict(model: nn.Module, ds, device: torch.device, batch_size: int, workers: int = 0,
            amp_dtype: torch.dtype | None = None, progress: bool = False, desc: str = "eval") -> dict:
    """Scores for every clip of `ds`, sharded over the DDP ranks and gathered on all of them.
    Returns {"index", "path", "true", "pred", "scores"} in dataset order."""
    from torch.utils.data import DataLoader, Subset

    rank, world = (dist.get_rank(), dist.get_world_size()) if dist.is_initialized() else (0, 1)
    m = _unwrap(model)
    was_training = m.training
    m.eval()
    shard = Subset(ds, list(range(rank, len(ds), world)))
    loader = DataLoader(shard, batch_size=batch_size, shuffle=False, num_workers=workers,
                        pin_memory=device.type == "cuda")
    rows = []
    it = loader
    if progress and rank == 0:
        from tqdm import tqdm
        it = tqdm(loader, desc=desc, leave=False, dynamic_ncols=True)
    for batch in it:
        video = batch["video"].to(device, non_blocking=True)
        with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            scores = forward_views(m, video)
        for i, path, y, s in zip(batch["index"].tolist(), batch["path"], batch["label"].tolist(), scores.cpu()):
            rows.append((int(i), path, int(y), s))
    if world > 1:
        gathered = [None] * world
        dist.all_gather_object(gathered, rows)
        rows = [r for part in gathered for r in part]
    rows.sort(key=lambda r: r[0])
    m.train(was_training)
    scores = torch.stack([r[3] for r in rows]) if rows else torch.zeros(0, 0)
    return {"index": [r[0] for r in rows], "path": [r[1] for r in rows], "true": [r[2] for r in rows],
            "pred": scores.argmax(1).tolist() if rows else [], "scores": scores}


def summarize_predictions(out: dict) -> dict:
    """Top-1, top-5 and mean-class accuracy (percent) of a `predict` result."""
    if not out["true"]:
        raise TabenchError("nothing to evaluate: the evaluation split is empty")
    t, p = np.array(out["true"]), np.array(out["pred"])
    return {"top1": float(100.0 * np.mean(t == p)),
            "top5": topk_accuracy(t, out["scores"].numpy(), k=5),
            "mean_class": mean_class_accuracy(t, p), "n": int(len(t))}
