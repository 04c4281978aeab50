"""Videos of chosen fine classes, across both sets of a dataset, labelled by their position in a class list.

The ZSAR protocol (seed 004) splits a dataset's fine classes at random into seen and unseen classes, cutting
across Set 1 and Set 2; training and testing then run over those class lists instead of one set's label space.
This wraps the per-set `ClipDataset`s (so decoding, sampling, caching and corrupt-file handling stay theirs) and
only filters and relabels.
"""
from __future__ import annotations

import torch


class ClassSubset(torch.utils.data.Dataset):
    """Items of `parts` (ClipDatasets at the fine level) whose (set, fine id) is in `classes`, with `label` the
    class's index in `classes` and `index` the position in this subset."""

    def __init__(self, parts, classes):
        label = {(f.set, f.id): i for i, f in enumerate(classes)}
        self.parts = list(parts)
        self.items = [(p, j, label[(e.set, e.fine_id)]) for p, ds in enumerate(self.parts)
                      for j, e in enumerate(ds.entries) if (e.set, e.fine_id) in label]
        self.entries = [self.parts[p].entries[j] for p, j, _ in self.items]
        self.num_classes = len(classes)

    def __len__(self) -> int:
        return len(self.items)

    def set_epoch(self, epoch: int) -> None:
        for ds in self.parts:
            ds.set_epoch(epoch)

    @property
    def skipped(self) -> list:
        return [s for ds in self.parts for s in getattr(ds, "skipped", [])]

    def __getitem__(self, i: int) -> dict:
        p, j, y = self.items[i]
        item = dict(self.parts[p][j])
        item["label"], item["index"] = y, i
        return item
