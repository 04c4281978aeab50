"""What a video-text model matches a video against: the `class_text` setting.

The label space of a video-text model is one text (or a weighted set of texts) per class. Which text is a
research question of its own (seed 003: motion descriptions, with and without object nouns; seed 004:
definitions and enriched description sets), so it is a setting, recorded with every run:

    templates      the class name in each of the model's prompt templates, averaged (the default; what every
                   method's paper does)
    name           the bare class name, no template
    motion         a one- or two-sentence description of the class's characteristic motion (seed 003)
    motion_masked  the same with every object noun replaced by "object" (seed 003's "masked object" condition)
    definition     a definition of the action (seed 004's AD)
    enriched       seed 004's fused semantics: alpha * e(definition) + (1 - alpha) * mean of e(top-k descriptions),
                   the descriptions ranked by their similarity to the class name
    PATH           a user file: a tabench class-text JSON (the shipped format), or a `class,"description"` CSV,
                   or a `SNo, Class Name, GPT3 discription` CSV (one text per class, matched by class name)

The shipped texts live in `tabench/taxonomy/data/<dataset>.text.json` (`tabench.taxonomy.text`).

A class text that is not a plain name is a `ClassPrompt`: its sentences are embedded separately, each
L2-normalised, summed with its weights and normalised again (`VideoTextModel` does this), so "enriched" is an
embedding-level mixture exactly as in seed 004, not a concatenated string.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from tabench import TabenchError

MODES = ("templates", "name", "motion", "motion_masked", "definition", "enriched")
FIELDS = ("name", "motion", "motion_masked", "definition", "descriptions")


@dataclass(frozen=True)
class ClassPrompt:
    """One class's text: sentences embedded one by one and summed with `weights` (normalised embeddings).
    `templated` applies the model's prompt templates to each sentence (only the class-name modes do)."""

    texts: tuple[str, ...]
    weights: tuple[float, ...]
    templated: bool = False

    def __post_init__(self):
        if not self.texts or len(self.texts) != len(self.weights):
            raise TabenchError("a class prompt needs as many weights as texts, and at least one text")
        if any(not str(t).strip() for t in self.texts):
            raise TabenchError("class texts must not be empty strings")

    def __str__(self) -> str:  # what a prediction table or a log shows for the class
        return self.texts[0]


def is_file_source(source: str) -> bool:
    return str(source).lower().endswith((".json", ".csv"))


def check_source(cfg: dict) -> None:
    """Config validation: a known mode or an existing file; alpha in [0, 1]; k >= 1 or null."""
    source = cfg.get("class_text") or "templates"
    if not isinstance(source, str) or not (source in MODES or is_file_source(source)):
        raise TabenchError(f"class_text must be one of {', '.join(MODES)} or a .json/.csv file, got {source!r}")
    if is_file_source(source) and not Path(source).is_file():
        raise TabenchError(f"class_text: no such file {source}")
    alpha = cfg.get("class_text_alpha", 0.5)
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0.0 <= float(alpha) <= 1.0:
        raise TabenchError(f"class_text_alpha must be in [0, 1], got {alpha!r}")
    k = cfg.get("class_text_k")
    if k is not None and (not isinstance(k, int) or isinstance(k, bool) or k < 1):
        raise TabenchError(f"class_text_k must be a positive integer or null (all descriptions), got {k!r}")


def resolve(cfg: dict, model=None) -> dict:
    """cfg with `class_text` filled in from the model (its default mode, else templates), so the saved config
    says what was used; refuses text settings for a model whose label space is not text. `model` is the built
    model; without it (or given a function that would build one) the registry's entry for cfg["model"] answers,
    so deciding a config never builds a model."""
    info = None
    if model is None or (callable(model) and not isinstance(model, torch.nn.Module)):
        from tabench.models import model_info

        info = model_info(cfg["model"])
        if getattr(info, "video_text", None) is None and model is not None:  # a stand-in without registry facts
            model, info = model(), None
    if info is not None:
        video_text, unseen = bool(getattr(info, "video_text", False)), bool(getattr(info, "uses_unseen_texts", False))
        default = getattr(info, "class_text", "") or "templates"
    else:
        video_text, unseen = hasattr(model, "set_class_texts"), hasattr(model, "set_unseen_class_texts")
        default = getattr(model, "default_class_text", "templates")
    if not video_text:
        for key, off in (("class_text", None), ("text_classifier", "learned"), ("transductive", False)):
            if cfg.get(key, off) != off:
                raise TabenchError(f"{key} applies to video-text models only; {cfg.get('model')!r} is a unimodal "
                                   "classifier (see `tabench models list`)")
        return cfg
    if cfg.get("transductive") and not unseen:
        raise TabenchError(f"transductive: {cfg.get('model')!r} uses no unseen-class texts in training "
                           "(only CoCo's cross-action invariance mining does)")
    return {**cfg, "class_text": cfg.get("class_text") or default}


def settings(cfg: dict) -> dict:
    """What results.json records of the class-text choice."""
    source = cfg.get("class_text") or "templates"
    out = {"source": source}
    if source == "enriched":
        out.update(alpha=float(cfg.get("class_text_alpha", 0.5)), k=cfg.get("class_text_k"))
    if is_file_source(source):
        import hashlib

        out["sha256"] = hashlib.sha256(Path(source).read_bytes()).hexdigest()
    return out


# ------------------------------------------------------------------------------------------- lookups
def class_fields(taxonomy, set_id: int | None, level: str, classes=None) -> list[dict]:
    """The shipped text fields (name, motion, motion_masked, definition, descriptions) of each class of the
    label space (set, level), or of the fine `classes`, in label order."""
    from tabench.taxonomy.text import load_class_text

    texts = load_class_text(taxonomy.name)
    if classes is not None:
        return [texts.fine_text(f.slug).to_dict() for f in classes]
    if level == "coarse":
        return [texts.coarse_text(c.name).to_dict() for c in taxonomy.coarse]
    return [texts.fine_text(f.slug).to_dict() for f in taxonomy.fine_of_set(set_id)]


def label_texts(cfg: dict, taxonomy, set_id: int | None, level: str, source: str | None = None,
                classes=None) -> list:
    """The label space of (set, level), or of a list of fine `classes`, as the model should see it: plain
    names (`templates`, so the model's templates apply) or one `ClassPrompt` per class. `source` overrides
    cfg's class_text."""
    source = source or cfg.get("class_text") or "templates"
    names = [f.name for f in classes] if classes is not None else taxonomy.labels(set_id, level)
    if source == "templates":
        return list(names)
    if source == "name":
        return [ClassPrompt((n,), (1.0,)) for n in names]
    if is_file_source(source):
        return _from_user_file(Path(source), taxonomy, set_id, level, classes)
    if source not in MODES:
        raise TabenchError(f"class_text must be one of {', '.join(MODES)} or a .json/.csv file, got {source!r}")
    fields = class_fields(taxonomy, set_id, level, classes)
    if source in ("motion", "motion_masked", "definition"):
        return [ClassPrompt((f[source],), (1.0,)) for f in fields]
    alpha = float(cfg.get("class_text_alpha", 0.5))
    k = cfg.get("class_text_k")
    return [enriched_prompt(f, alpha, k) for f in fields]


def enriched_prompt(fields: dict, alpha: float, k: int | None) -> ClassPrompt:
    """Seed 004's z = alpha * z_definition + (1 - alpha) * mean(z of the top-k descriptions), the descriptions
    ranked by cosine similarity of their MiniLM embedding to the class name's (seed 004 ranks with word2vec,
    which does not install offline; MiniLM is the sentence encoder tabench ships)."""
    descs = list(fields["descriptions"])
    top = rank_descriptions(fields["name"], descs)[: (k or len(descs))]
    w = (1.0 - alpha) / len(top)
    return ClassPrompt((fields["definition"], *top), (alpha, *([w] * len(top))))


def rank_descriptions(name: str, descriptions: list[str]) -> list[str]:
    """Descriptions sorted by similarity to the class name, most similar first (stable for ties)."""
    feats = _shared_minilm()([name, *descriptions])
    sims = (feats[1:] @ feats[0]).tolist()
    order = sorted(range(len(descriptions)), key=lambda i: (-round(sims[i], 6), i))
    return [descriptions[i] for i in order]


_MINILM = []


def _shared_minilm():
    if not _MINILM:
        from tabench.models.videotext.core import MiniLMText

        _MINILM.append(MiniLMText())
    return _MINILM[0]


# ---------------------------------------------------------------------------------------- user files
def read_user_texts(path: Path) -> dict[str, list[str]]:
    """{class key: its texts} from a user file: a JSON object mapping class names (or slugs, or source labels)
    to a text or a list of texts, a `class,"description"` CSV (seed 003's release) or a
    `SNo,Class Name,GPT3 discription` CSV (the benchmark paper's EZ-CLIP configs)."""
    from tabench.taxonomy.text import GPT3_COLUMNS, read_gpt3_descriptions_csv, read_motion_descriptions_csv

    if path.suffix.lower() == ".csv":
        with open(path, encoding="utf-8-sig", errors="replace") as f:
            first = f.readline()
        gpt3 = [c.strip() for c in first.split(",")][:3] == list(GPT3_COLUMNS)
        rows = (read_gpt3_descriptions_csv if gpt3 else read_motion_descriptions_csv)(path)
        return {k: [v] for k, v in rows.items()}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise TabenchError(f"{path}: not a readable JSON file ({e})") from None
    if not isinstance(data, dict):
        raise TabenchError(f"{path}: expected an object mapping class names to a text or a list of texts")
    out = {}
    for k, v in data.items():
        texts = [v] if isinstance(v, str) else v
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) and t.strip() for t in texts):
            raise TabenchError(f"{path}: class {k!r}: expected a non-empty text or list of texts")
        out[str(k)] = [t.strip() for t in texts]
    return out


def _from_user_file(path: Path, taxonomy, set_id: int | None, level: str, classes=None) -> list[ClassPrompt]:
    """One prompt per class of the label space from a user file, its rows matched to the classes by name,
    slug or source label (tabench.taxonomy.text.match_classes); every class must have a row."""
    from tabench.taxonomy.text import match_classes

    matched = match_classes(read_user_texts(path), taxonomy.name, level="coarse" if level == "coarse" else "fine")
    if level == "coarse" and classes is None:
        rows = [(c.name, matched.coarse.get(c.name)) for c in taxonomy.coarse]
    else:
        rows = [(f.name, matched.fine.get(f.slug)) for f in (classes or taxonomy.fine_of_set(set_id))]
    missing = [name for name, t in rows if t is None]
    if missing:
        raise TabenchError(f"{path}: no text for {len(missing)} of {len(rows)} classes, e.g. {missing[0]!r} "
                           "(rows are matched to class names, slugs or source labels, case-insensitively)")
    return [ClassPrompt(tuple(t), tuple([1.0 / len(t)] * len(t))) for _, t in rows]
