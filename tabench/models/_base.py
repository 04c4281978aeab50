"""The one interface every tabench model honours, so the training loop never special-cases an architecture:
`model(x)` with x of shape (B, 3, T, H, W) (normalised RGB) returns logits (B, num_classes);
`model.default_frames` / `model.default_size` say what input it was configured for;
`model.reset_classifier(k)` swaps the final linear layer for a new k-way one."""
from __future__ import annotations

import torch
from torch import nn


class VideoClassifier(nn.Module):
    """Base class. Subclasses set `classifier_name`, the dotted path of their final nn.Linear."""

    classifier_name: str = "head"
    default_frames: int = 8
    default_size: int = 224

    def get_classifier(self) -> nn.Linear:
        return self.get_submodule(self.classifier_name)

    @property
    def num_classes(self) -> int:
        return self.get_classifier().out_features

    def classifier_keys(self) -> set[str]:
        """State-dict keys of the classifier (what `load_weights` may drop when the class count differs)."""
        return {f"{self.classifier_name}.{k}" for k in self.get_classifier().state_dict()}

    def reset_classifier(self, num_classes: int) -> None:
        old = self.get_classifier()
        new = nn.Linear(old.in_features, int(num_classes), bias=old.bias is not None)
        new.to(device=old.weight.device, dtype=old.weight.dtype)
        self._init_classifier(new)
        parent_name, _, attr = self.classifier_name.rpartition(".")
        parent = self.get_submodule(parent_name) if parent_name else self
        setattr(parent, attr, new)

    @staticmethod
    def _init_classifier(fc: nn.Linear) -> None:
        nn.init.normal_(fc.weight, std=0.01)
        if fc.bias is not None:
            nn.init.zeros_(fc.bias)

    @staticmethod
    def check_input(x: torch.Tensor) -> None:
        if x.ndim != 5 or x.shape[1] != 3:
            raise ValueError(f"expected a clip batch of shape (B, 3, T, H, W), got {tuple(x.shape)}")


class DropPath(nn.Module):
    """Stochastic depth: drop whole residual branches per sample while training."""

    def __init__(self, p: float = 0.0):
        super().__init__()
        self.p = float(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.p == 0.0 or not self.training:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x * mask / keep


class Mlp(nn.Module):
    """fc1 -> GELU -> fc2, the transformer MLP (key names as in PySlowFast/timm)."""

    def __init__(self, dim: int, hidden: int, out: int | None = None, drop: float = 0.0):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, out or dim)
        self.drop = nn.Dropout(drop) if drop > 0 else nn.Identity()

    def forward(self, x):
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))
