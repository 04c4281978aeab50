"""STDN (Lin et al., "Diversifying Spatial-Temporal Perception for Video Domain Generalization", NeurIPS 2023):
MixStyle in the frame CNN, spatial grouping + multi-scale spatial relations per frame, TRN-style temporal
relations at every scale, with its loss.

    frames -> CNN with MixStyle after all but its last stage -> last feature map (D x 7 x 7)
    per temporal scale s = T .. 2 (each with its own modules):
        grouping: 3x3 convs -> 4 soft centres -> soft assignment softmax(-dist / 0.5) -> 4 group features
        local:  relations over ordered group subsets (scales 4..2, up to 12 each) -> 3 x 192-d
        global: a conv over the whole map -> 192-d                             768-d per frame
        fuse:   s frames (all at s = T, else 3 random subsets, summed) -> ReLU, dropout, Linear -> 256, ReLU
        adapter (sigmoid gate) -> shared classifier -> logits_s
    logits = sum_s logits_s

Loss (`auxiliary_loss` adds the terms after the training loop's CE on the summed logits), as in the released
`main.py`: + 0.15 * mean entropy of each position's group assignment (sharp assignments)
          - 0.15 * entropy of the mean assignment (all groups used)
          + 0.5 * cross-relation CE: an MLP (256 -> 128 -> C * (T-1)) predicts the (class, scale) pair from each
            scale's fused (pre-adapter) feature, so that scales stay distinguishable.
Details follow the official code (KunyuLin/STDN, `ops/STDNmodule.py`, `main.py`,
`models_backbone/resnet_spatial_mixstyle.py`): centres from a softmax over positions, assignment weights
normalised per group by their (detached) sums, the full-length relation scaled by 3, random subsets also at
test time. MixStyle mixes per-video channel statistics (over frames and positions, detached) with those of
another video of the batch, with probability 0.5 and lambda ~ Beta(0.1, 0.1); here the partner is a random
permutation of the batch (the official code swaps shuffled halves of the reversed batch).

Full size (`stdn_r50`): ResNet-50 per frame (transformers' ResNetModel, random init; ImageNet weights with
--weights), MixStyle after layers 1-3, 5 segments, partial BatchNorm. CPU size (`stdn_tiny`): rgbdiff_tiny's
frame-difference CNN (MixStyle after its first two stages) on a 6 x 6 map, 8 frames, 64-d local/global features.
A last map of another size than the one the model was built for (7 x 7 at 224 px) is average-pooled to it.
"""
from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F
from torch import nn

from tabench import TabenchError
from tabench.models._base import VideoClassifier
from tabench.models._registry import IMAGENET_MEAN, IMAGENET_STD, register_model

PAPER = "Lin et al., Diversifying Spatial-Temporal Perception for Video Domain Generalization (NeurIPS 2023)"


class MixStyle(nn.Module):
    """Video MixStyle (Zhou et al., ICLR 2021, adapted to clips as in STDN): x (B * T, C, H, W)."""

    def __init__(self, frames: int, p: float = 0.5, alpha: float = 0.1, eps: float = 1e-6):
        super().__init__()
        self.frames, self.p, self.alpha, self.eps = int(frames), float(p), float(alpha), eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p <= 0 or torch.rand(()) >= self.p:
            return x
        bt, c, h, w = x.shape
        b = bt // self.frames
        if b < 2:
            return x
        v = x.view(b, self.frames, c, h, w)
        mu = v.mean(dim=(1, 3, 4), keepdim=True).detach()
        sigma = (v.var(dim=(1, 3, 4), keepdim=True) + self.eps).sqrt().detach()
        lam = torch.distributions.Beta(self.alpha, self.alpha).sample((b, 1, 1, 1, 1)).to(x)
        perm = torch.randperm(b, device=x.device)
        mu_mix = lam * mu + (1 - lam) * mu[perm]
        sigma_mix = lam * sigma + (1 - lam) * sigma[perm]
        return ((v - mu) / sigma * sigma_mix + mu_mix).view(bt, c, h, w)


class SpatialGrouping(nn.Module):
    """Soft spatial groups of a feature map: (N, D, H, W) -> group features (N, G, D), assignment (N, HW, G)."""

    def __init__(self, dim: int, width: int, groups: int = 4, tau: float = 0.5):
        super().__init__()
        self.groups, self.tau = int(groups), float(tau)
        self.centre_logits = nn.Sequential(nn.Conv2d(dim, width, 3, padding=1), nn.ReLU(),
                                           nn.Conv2d(width, groups, 3, padding=1))

    def forward(self, x: torch.Tensor):
        zs = x.flatten(2).transpose(1, 2)  # (N, HW, D)
        wc = self.centre_logits(x).flatten(2).softmax(-1)  # (N, G, HW): each centre a weighted mean of positions
        centres = wc @ zs  # (N, G, D)
        ws = torch.softmax(-torch.cdist(zs, centres) / self.tau, dim=2)  # (N, HW, G)
        weights = ws / (ws.sum(dim=1, keepdim=True).detach() + 1e-6)
        return weights.transpose(1, 2) @ zs, ws


class SpatialRelations(nn.Module):
    """Relations over ordered subsets of the G group features at scales G..2 (up to `subsample` random
    permutations per scale, averaged), concatenated: (N, G, D) -> (N, (G - 1) * out)."""

    def __init__(self, dim: int, out: int, groups: int = 4, subsample: int = 12):
        super().__init__()
        self.scales = list(range(groups, 1, -1))
        self.perms = [list(itertools.permutations(range(groups), s)) for s in self.scales]
        self.subsample = int(subsample)
        self.fc = nn.ModuleList(nn.Linear(s * dim, out) for s in self.scales)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        n = z.shape[0]
        outs = []
        for perms, fc in zip(self.perms, self.fc):
            pick = torch.randperm(len(perms))[:min(self.subsample, len(perms))].tolist()
            idx = torch.tensor([perms[i] for i in pick], device=z.device)  # (K, s)
            rel = z[:, idx].reshape(n, len(pick), -1)  # (N, K, s * D)
            outs.append(fc(rel).mean(1))
        return torch.cat(outs, dim=1)


class Adapter(nn.Module):
    """x * sigmoid(W2 relu(W1 x)) (no biases), one per temporal scale."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(dim, hidden, bias=False), nn.Linear(hidden, dim, bias=False)

    def forward(self, x):
        return x * torch.sigmoid(self.fc2(F.relu(self.fc1(x))))


class ScaleModule(nn.Module):
    """Everything one temporal scale owns: its spatial module and its fusion of s frames."""

    def __init__(self, scale: int, dim: int, map_size: int, width: int, local_dim: int, global_dim: int,
                 groups: int, tau: float, bottleneck: int, adapter_dim: int, dropout: float):
        super().__init__()
        self.grouping = SpatialGrouping(dim, width, groups, tau)
        self.relations = SpatialRelations(dim, local_dim, groups)
        self.global_conv = nn.Conv2d(dim, global_dim, map_size)
        mixed = local_dim * (groups - 1) + global_dim
        self.fuse = nn.Sequential(nn.ReLU(), nn.Dropout(dropout), nn.Linear(scale * mixed, bottleneck), nn.ReLU())
        self.adapter = Adapter(bottleneck, adapter_dim)

    def frame_features(self, maps: torch.Tensor):
        z, ws = self.grouping(maps)
        local = self.relations(z)
        glob = self.global_conv(maps).flatten(1)
        return torch.cat([local, glob], dim=1), ws


class STDN(VideoClassifier):
    classifier_name = "classifier"
    fixed_frames = True  # one relation module per temporal scale T..2, and a C * (T-1)-way relation head

    def __init__(self, encoder: nn.Module, feature_dim: int, map_size: int, num_classes: int, frames: int,
                 width: int = 256, local_dim: int = 192, global_dim: int = 192, groups: int = 4, tau: float = 0.5,
                 bottleneck: int = 256, adapter_dim: int = 64, relation_dim: int = 128, dropout: float = 0.3,
                 w_entropy: float = 0.15, w_mean_entropy: float = 0.15, w_cross_relation: float = 0.5,
                 subsets: int = 3, default_size: int = 224):
        super().__init__()
        if frames < 2:
            raise ValueError(f"STDN needs at least 2 frames, got {frames}")
        self.encoder, self.frames, self.map_size, self.subsets = encoder, int(frames), int(map_size), int(subsets)
        self.scales = list(range(self.frames, 1, -1))
        self.combos = [list(itertools.combinations(range(self.frames), s)) for s in self.scales]
        self.scale_modules = nn.ModuleList(
            ScaleModule(s, feature_dim, map_size, width, local_dim, global_dim, groups, tau, bottleneck,
                        adapter_dim, dropout) for s in self.scales)
        self.classifier = nn.Linear(bottleneck, num_classes)
        self.relation_head = nn.Sequential(nn.Linear(bottleneck, relation_dim), nn.ReLU(inplace=True),
                                           nn.Linear(relation_dim, num_classes * len(self.scales)))
        self.w_entropy, self.w_mean_entropy = float(w_entropy), float(w_mean_entropy)
        self.w_cross_relation = float(w_cross_relation)
        self.default_frames, self.default_size = self.frames, int(default_size)
        self._aux = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        b, t = x.shape[0], x.shape[2]
        if t != self.frames:
            raise TabenchError(f"this STDN model was built for {self.frames} frames, got {t}: pass --frames "
                               f"{self.frames} or build it with --set model_kwargs.frames={t}")
        maps = self.encoder(x)  # (B * T, D, h, w)
        if maps.shape[-2:] != (self.map_size, self.map_size):  # other input sizes: like the ptv heads' pools
            maps = F.adaptive_avg_pool2d(maps, self.map_size)
        logits, fused, assignments = [], [], []
        for k, (s, module) in enumerate(zip(self.scales, self.scale_modules)):
            feats, ws = module.frame_features(maps)
            assignments.append(ws)
            feats = feats.view(b, t, -1)
            if k == 0:  # the full-length relation, weighted like the sum of `subsets` subsets
                rel = module.fuse(feats.flatten(1)) * self.subsets
            else:
                combos = self.combos[k]
                pick = torch.randperm(len(combos))[:min(self.subsets, len(combos))].tolist()
                rel = sum(module.fuse(feats[:, list(combos[i])].flatten(1)) for i in pick)
            fused.append(rel)
            logits.append(self.classifier(module.adapter(rel)))
        self._aux = (torch.stack(fused, dim=1), assignments) if self.training else None
        return torch.stack(logits, dim=1).sum(1)

    def auxiliary_loss(self, y: torch.Tensor):
        """Group-assignment entropy (minimised), mean-assignment entropy (maximised), cross-relation CE."""
        if self._aux is None:
            return None
        fused, assignments = self._aux
        self._aux = None
        ent = torch.stack([_entropy(ws, dim=2).mean() for ws in assignments]).mean()
        mean_ent = torch.stack([_entropy(ws.mean(dim=1), dim=1).mean() for ws in assignments]).mean()
        n = fused.shape[1]
        target = y.unsqueeze(1) * n + torch.arange(n, device=y.device)
        rel = F.cross_entropy(self.relation_head(fused).flatten(0, 1).float(), target.flatten())
        return self.w_entropy * ent - self.w_mean_entropy * mean_ent + self.w_cross_relation * rel


def _entropy(p: torch.Tensor, dim: int) -> torch.Tensor:
    return -(p * torch.log(p + 1e-5)).sum(dim=dim)


# ------------------------------------------------------------------------------------------- encoders
class ResNetMixStyleMaps(nn.Module):
    """ResNet-50 per frame with MixStyle after stages 1-3 -> the last (2048, 7, 7) map at 224 px."""

    def __init__(self, frames: int, partial_bn: bool = True, mix_p: float = 0.5, mix_alpha: float = 0.1):
        super().__init__()
        from tabench.models.videodg import ResNetFrames

        self.frames_net = ResNetFrames(partial_bn=partial_bn)  # reuse its partial-BN handling
        self.mix = MixStyle(frames, mix_p, mix_alpha)
        self.out_dim = 2048

    def forward(self, x):
        b, c, t, h, w = x.shape
        net = self.frames_net.backbone
        z = net.embedder(x.transpose(1, 2).reshape(b * t, c, h, w))
        for i, stage in enumerate(net.encoder.stages):
            z = stage(z)
            if i < 3:
                z = self.mix(z)
        return z


class DiffGridMixStyleMaps(nn.Module):
    """rgbdiff_tiny's frame-difference CNN with MixStyle after its first two (stride-2) stages, pooled to a
    `grid` x `grid` map."""

    def __init__(self, frames: int, width: int = 32, grid: int = 6, mix_p: float = 0.5, mix_alpha: float = 0.1):
        super().__init__()
        from tabench.models.rgbdiff_tiny import frame_cnn

        self.cnn, self.grid = frame_cnn(width, kaiming=True), int(grid)
        self.mix = MixStyle(frames, mix_p, mix_alpha)
        self.out_dim = 2 * int(width)

    def forward(self, x):
        from tabench.models.rgbdiff_tiny import difference_frames

        z = difference_frames(x)
        for i, layer in enumerate(self.cnn):
            z = layer(z)
            if i in (1, 3):  # after stage 1 (layers 0-1) and stage 2 (layers 2-3), not after the last
                z = self.mix(z)
        return F.adaptive_avg_pool2d(z, self.grid)


@register_model(family="domain generalisation (2D CNN + spatial/temporal relations)", paper=PAPER,
                default_frames=5, default_size=224, cpu_frames=5, cpu_size=112,
                input_mean=IMAGENET_MEAN, input_std=IMAGENET_STD, pretrained="ImageNet (ResNet-50)")
def stdn_r50(num_classes: int = 400, frames: int = 5, dropout: float = 0.3, partial_bn: bool = True) -> nn.Module:
    """STDN on a TSN ResNet-50 with MixStyle (layers 1-3), 4 spatial groups, 5 segments (scales 5..2)."""
    enc = ResNetMixStyleMaps(frames, partial_bn=partial_bn)
    return STDN(enc, enc.out_dim, 7, num_classes, frames, dropout=dropout, default_size=224)


@register_model(family="domain generalisation (2D CNN + spatial/temporal relations)", paper=PAPER,
                default_frames=8, default_size=48, cpu_sized=True)
def stdn_tiny(num_classes: int = 400, frames: int = 8, width: int = 32, grid: int = 6, dropout: float = 0.3,
              feature_dim: int = 64) -> nn.Module:
    """STDN on rgbdiff_tiny's frame encoder (MixStyle, 6x6 map, 4 groups), 8 frames (scales 8..2): CPU-sized."""
    enc = DiffGridMixStyleMaps(frames, width, grid)
    return STDN(enc, enc.out_dim, grid, num_classes, frames, width=feature_dim, local_dim=feature_dim,
                global_dim=feature_dim, dropout=dropout, default_size=48)
