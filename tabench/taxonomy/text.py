"""Class text for the coarse and fine classes of Syn-TA, K400-TA and SSv2-TA.

Video-text models match videos against text; which text (the bare class name, a motion description with or
without object words, a definition, caption-style descriptions) is an experimental variable of its own (seed 003:
motion descriptions, Object vs Masked Object; seed 004: action definitions "AD" and video descriptions "VC").
This module ships that text as data, one file per dataset, and checks it against the taxonomy when it is loaded.

File: ``tabench/taxonomy/data/<dataset>.text.json``::

    {"dataset": "syn-ta", "how_written": "...", "object_nouns": ["cube", ...],
     "coarse": {"<coarse name>": {"name": ..., "motion": ..., "motion_masked": ..., "definition": ...,
                                  "descriptions": [">= 8 strings"]}},
     "fine":   {"<fine slug>": {same five fields}}}

Fields (`FIELDS`): ``name`` (the class name as in the taxonomy), ``motion`` (the characteristic motion in one or
two sentences), ``motion_masked`` (the same with object nouns replaced by "object", by hand; it must contain none
of ``object_nouns`` as a whole word, case-insensitive), ``definition`` (a dictionary-style action definition) and
``descriptions`` (at least `MIN_DESCRIPTIONS` distinct caption-style sentences of what a video shows).

API::

    text = load_class_text("syn-ta")          # DatasetText, validated; TabenchError if anything is off
    text.coarse_text("bouncing")              # ClassText by coarse name (case-insensitive) ...
    text.coarse_text(2)                       # ... or coarse id
    text.fine_text("single_object_departing") # ClassText by fine slug
    text.for_labels(set_id=1, level="fine")   # ClassTexts in the label order of taxonomy.labels(1, "fine")
    text.fine_text(slug).get("motion_masked") # one field by name
    load_class_text("syn-ta", path="my.text.json")  # a user's file in the same format, same checks

Importers for users' own files (they return {class key: text}; `match_classes` maps keys onto a taxonomy):
`read_motion_descriptions_csv` reads the ``class,"description"`` CSVs (no header) of the motion-descriptions
release (seed 003), `read_gpt3_descriptions_csv` the ``SNo,Class Name,GPT3 discription`` CSVs of the benchmark
paper's EZ-CLIP configs (the column is spelled that way there); `read_descriptions_csv` picks one by the header.
`with_imported(base, matched, field, source)` puts imported text into one field of a DatasetText and validates
the result (`tabench taxonomy import-text` on the command line).
"""
from __future__ import annotations

import csv
import json
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from tabench import TabenchError
from tabench import taxonomy as _taxonomy

FIELDS = ("name", "motion", "motion_masked", "definition", "descriptions")
TEXT_FIELDS = ("name", "motion", "motion_masked", "definition")
MIN_DESCRIPTIONS = 8
MASK_WORD = "object"


@dataclass(frozen=True)
class ClassText:
    name: str
    motion: str
    motion_masked: str
    definition: str
    descriptions: tuple[str, ...]

    def get(self, field_name: str):
        """One field by name (one of FIELDS)."""
        if field_name not in FIELDS:
            raise TabenchError(f"unknown class text field {field_name!r}; choose one of {', '.join(FIELDS)}")
        return getattr(self, field_name)

    def to_dict(self) -> dict:
        return {"name": self.name, "motion": self.motion, "motion_masked": self.motion_masked,
                "definition": self.definition, "descriptions": list(self.descriptions)}


@dataclass(frozen=True)
class DatasetText:
    dataset: str
    how_written: str
    object_nouns: tuple[str, ...]
    coarse: dict = field(repr=False)  # coarse name -> ClassText, in taxonomy order
    fine: dict = field(repr=False)  # fine slug -> ClassText, in taxonomy order

    def coarse_text(self, key: str | int) -> ClassText:
        """The text of a coarse class, by id or by name (case-insensitive)."""
        tax = _taxonomy.load(self.dataset) if self.dataset in _taxonomy.NAMES else None
        if isinstance(key, int) and not isinstance(key, bool):
            names = list(self.coarse)
            if not 0 <= key < len(names):
                raise TabenchError(f"{self.dataset}: no coarse class with id {key}")
            return self.coarse[tax.coarse[key].name if tax else names[key]]
        lowered = {k.lower(): k for k in self.coarse}
        k = str(key).strip().lower()
        if k not in lowered:
            raise TabenchError(f"{self.dataset}: unknown coarse class {key!r}")
        return self.coarse[lowered[k]]

    def fine_text(self, slug: str) -> ClassText:
        """The text of a fine class, by slug (as in `tabench taxonomy show`)."""
        if slug not in self.fine:
            raise TabenchError(f"{self.dataset}: unknown fine class slug {slug!r}")
        return self.fine[slug]

    def for_labels(self, set_id: int, level: str) -> list[ClassText]:
        """The class texts of one label space, index-aligned with `taxonomy.labels(set_id, level)`."""
        tax = _taxonomy.load(self.dataset)
        if level == "coarse":
            return [self.coarse[c.name] for c in tax.coarse]
        if level == "fine":
            return [self.fine[f.slug] for f in tax.fine_of_set(set_id)]
        raise TabenchError(f"unknown level {level!r} (use coarse or fine)")

    def to_dict(self) -> dict:
        return {"dataset": self.dataset, "how_written": self.how_written, "object_nouns": list(self.object_nouns),
                "coarse": {k: v.to_dict() for k, v in self.coarse.items()},
                "fine": {k: v.to_dict() for k, v in self.fine.items()}}


def noun_pattern(nouns) -> re.Pattern | None:
    """A case-insensitive whole-word pattern matching any of `nouns` (multi-word nouns allowed)."""
    nouns = sorted({n.strip().lower() for n in nouns if n.strip()}, key=len, reverse=True)
    if not nouns:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(n) for n in nouns) + r")(?!\w)", re.IGNORECASE)


def _class_text(where: str, d) -> ClassText:
    if not isinstance(d, dict):
        raise TabenchError(f"{where}: expected an object with fields {', '.join(FIELDS)}")
    missing = [f for f in FIELDS if f not in d]
    if missing:
        raise TabenchError(f"{where}: missing field {missing[0]!r}")
    for f in TEXT_FIELDS:
        if not isinstance(d[f], str) or not d[f].strip():
            raise TabenchError(f"{where}: field {f!r} must be a non-empty string")
    descs = d["descriptions"]
    if not isinstance(descs, list) or not all(isinstance(s, str) and s.strip() for s in descs):
        raise TabenchError(f"{where}: 'descriptions' must be a list of non-empty strings")
    distinct = {s.strip().lower() for s in descs}
    if len(distinct) < MIN_DESCRIPTIONS:
        raise TabenchError(f"{where}: needs at least {MIN_DESCRIPTIONS} distinct descriptions, has {len(distinct)}")
    return ClassText(d["name"].strip(), d["motion"].strip(), d["motion_masked"].strip(), d["definition"].strip(),
                     tuple(s.strip() for s in descs))


def from_dict(d: dict, dataset: str | None = None, source: str = "class text") -> DatasetText:
    """Build and validate class text against the built-in taxonomy it names; TabenchError on any problem."""
    if not isinstance(d, dict):
        raise TabenchError(f"{source}: expected a JSON object")
    name = d.get("dataset")
    if dataset is not None and name != dataset:
        raise TabenchError(f"{source}: is for dataset {name!r}, expected {dataset!r}")
    if name not in _taxonomy.NAMES:
        raise TabenchError(f"{source}: unknown dataset {name!r}; choose one of {', '.join(_taxonomy.NAMES)}")
    tax = _taxonomy.load(name)
    how = d.get("how_written")
    if not isinstance(how, str) or not how.strip():
        raise TabenchError(f"{source}: 'how_written' must say how the texts were written")
    nouns = d.get("object_nouns")
    if not isinstance(nouns, list) or not nouns or not all(isinstance(n, str) and n.strip() for n in nouns):
        raise TabenchError(f"{source}: 'object_nouns' must be a non-empty list of strings")
    if any(n.strip().lower() == MASK_WORD for n in nouns):
        raise TabenchError(f"{source}: 'object_nouns' must not contain the mask word {MASK_WORD!r}")
    pattern = noun_pattern(nouns)
    out = {}
    for level, expected in (("coarse", [(c.name, c.name) for c in tax.coarse]),
                            ("fine", [(f.slug, f.name) for f in tax.fine])):
        block = d.get(level)
        if not isinstance(block, dict):
            raise TabenchError(f"{source}: {level!r} must map class keys to their text")
        keys = [k for k, _ in expected]
        missing = [k for k in keys if k not in block]
        if missing:
            raise TabenchError(f"{source}: {level} class {missing[0]!r} has no text ({len(missing)} missing)")
        unknown = sorted(set(block) - set(keys))
        if unknown:
            raise TabenchError(f"{source}: {level} class {unknown[0]!r} is not in the {name} taxonomy")
        texts = {}
        for key, class_name in expected:
            where = f"{source}: {level} {key!r}"
            ct = _class_text(where, block[key])
            if ct.name != class_name:
                raise TabenchError(f"{where}: name {ct.name!r} differs from the taxonomy's {class_name!r}")
            hit = pattern.search(ct.motion_masked)
            if hit:
                raise TabenchError(f"{where}: motion_masked still contains the object noun {hit.group(0)!r}")
            texts[key] = ct
        out[level] = texts
    return DatasetText(name, how.strip(), tuple(n.strip() for n in nouns), out["coarse"], out["fine"])


def text_path(dataset: str) -> str:
    return str(resources.files(_taxonomy.__name__).joinpath("data", f"{dataset}.text.json"))


@lru_cache(maxsize=None)
def _load_builtin(dataset: str) -> DatasetText:
    res = resources.files(_taxonomy.__name__).joinpath("data", f"{dataset}.text.json")
    if not res.is_file():
        raise TabenchError(f"no class text shipped for {dataset!r} (expected data/{dataset}.text.json)")
    return from_dict(json.loads(res.read_text(encoding="utf-8")), dataset, source=f"{dataset}.text.json")


def load_class_text(dataset: str, path: str | os.PathLike | None = None) -> DatasetText:
    """The class text of a dataset: the shipped file, or a user's file in the same format; validated."""
    if dataset not in _taxonomy.NAMES:
        raise TabenchError(f"unknown dataset {dataset!r}; choose one of {', '.join(_taxonomy.NAMES)}")
    if path is None:
        return _load_builtin(dataset)
    try:
        with open(path, encoding="utf-8") as fh:
            d = json.load(fh)
    except OSError as e:
        raise TabenchError(f"cannot read class text {path}: {e.strerror}") from None
    except json.JSONDecodeError as e:
        raise TabenchError(f"{path}: not valid JSON ({e.msg} at line {e.lineno})") from None
    return from_dict(d, dataset, source=str(path))


def available() -> list[str]:
    """The datasets whose class text ships with the package."""
    return [n for n in _taxonomy.NAMES
            if resources.files(_taxonomy.__name__).joinpath("data", f"{n}.text.json").is_file()]


# ----- importers for users' own files -----

def _open_csv(path):
    try:
        return open(path, encoding="utf-8-sig", newline="")
    except OSError as e:
        raise TabenchError(f"cannot read {path}: {e.strerror}") from None


def _clean(s: str) -> str:
    return " ".join(s.split())


def read_motion_descriptions_csv(path: str | os.PathLike) -> dict[str, str]:
    """{class: description} from a ``class,"description"`` CSV (no header) of the motion-descriptions release.

    The release quotes most descriptions but leaves some with commas unquoted (`Haircut, Sitting or ...`), so every
    field after the first is joined back with ", ". Whitespace is normalised.
    """
    out: dict[str, str] = {}
    with _open_csv(path) as fh:
        for lineno, row in enumerate(csv.reader(fh, skipinitialspace=False), start=1):
            if not row or not "".join(row).strip():
                continue
            if len(row) < 2:
                raise TabenchError(f"{path}:{lineno}: expected class,\"description\", found {row[0][:40]!r}")
            name, desc = row[0].strip(), _clean(", ".join(p.strip() for p in row[1:]))
            if not name or not desc:
                raise TabenchError(f"{path}:{lineno}: empty class name or description")
            if name in out:
                raise TabenchError(f"{path}:{lineno}: class {name!r} appears twice")
            out[name] = desc
    if not out:
        raise TabenchError(f"{path}: no descriptions found")
    return out


GPT3_COLUMNS = ("SNo", "Class Name", "GPT3 discription")


def read_gpt3_descriptions_csv(path: str | os.PathLike) -> dict[str, str]:
    """{class: description} from a ``SNo,Class Name,GPT3 discription`` CSV of the benchmark's EZ-CLIP configs."""
    out: dict[str, str] = {}
    with _open_csv(path) as fh:
        reader = csv.DictReader(fh)
        header = [h.strip() for h in (reader.fieldnames or [])]
        if header[:3] != list(GPT3_COLUMNS):
            raise TabenchError(f"{path}: expected the header {','.join(GPT3_COLUMNS)}, found {','.join(header)}")
        reader.fieldnames = header
        for row in reader:
            name, desc = (row.get("Class Name") or "").strip(), _clean(row.get("GPT3 discription") or "")
            if not name and not desc:
                continue
            if not name or not desc:
                raise TabenchError(f"{path}:{reader.line_num}: empty class name or description")
            if name in out:
                raise TabenchError(f"{path}:{reader.line_num}: class {name!r} appears twice")
            out[name] = desc
    if not out:
        raise TabenchError(f"{path}: no descriptions found")
    return out


def _norm_key(s: str) -> str:
    return " ".join(s.replace("’", "'").lower().replace("_", " ").split())


@dataclass(frozen=True)
class MatchedText:
    coarse: dict  # coarse name -> text
    fine: dict  # fine slug -> text
    unmatched: tuple[str, ...]  # keys of the file that name no class of the taxonomy


def match_classes(texts: dict[str, str], dataset: str, level: str | None = None) -> MatchedText:
    """Map an imported {class: text} onto a taxonomy's classes.

    A key matches a coarse class by name, or a fine class by name, slug or source label (the Kinetics-400 class
    or SSv2 template), case-insensitively; `level` ("coarse"/"fine") restricts the search to one level (the
    EZ-CLIP configs keep coarse and fine in separate `*_head.csv` / `*_fine.csv` files). Keys that match nothing
    are returned in `unmatched` (a Kinetics-400 file has 400 classes, K400-TA uses 205).
    """
    if level not in (None, "coarse", "fine"):
        raise TabenchError(f"unknown level {level!r} (use coarse or fine)")
    tax = _taxonomy.load(dataset)
    coarse_keys = {_norm_key(c.name): c.name for c in tax.coarse} if level in (None, "coarse") else {}
    fine_keys: dict[str, str] = {}
    if level in (None, "fine"):
        for f in tax.fine:
            for k in {f.name, f.slug, f.source_label or f.name}:
                fine_keys[_norm_key(k)] = f.slug
    coarse, fine, unmatched = {}, {}, []
    for key, text in texts.items():
        k = _norm_key(key)
        if k in coarse_keys and k in fine_keys:
            raise TabenchError(f"{dataset}: {key!r} names both a coarse and a fine class; pass level")
        if k in coarse_keys:
            coarse[coarse_keys[k]] = text
        elif k in fine_keys:
            fine[fine_keys[k]] = text
        else:
            unmatched.append(key)
    return MatchedText(coarse, fine, tuple(unmatched))


IMPORTABLE_FIELDS = ("motion", "motion_masked", "definition")


def sniff_csv_format(path: str | os.PathLike) -> str:
    """'gpt3' for a file starting with the EZ-CLIP header, else 'motion-descriptions'."""
    with _open_csv(path) as fh:
        first = fh.readline()
    head = [h.strip() for h in first.split(",")[:3]]
    return "gpt3" if head == list(GPT3_COLUMNS) else "motion-descriptions"


def read_descriptions_csv(path: str | os.PathLike, fmt: str | None = None) -> dict[str, str]:
    """Either importer, chosen by `fmt` ('motion-descriptions' or 'gpt3') or by the file's header."""
    fmt = fmt or sniff_csv_format(path)
    if fmt == "gpt3":
        return read_gpt3_descriptions_csv(path)
    if fmt == "motion-descriptions":
        return read_motion_descriptions_csv(path)
    raise TabenchError(f"unknown CSV format {fmt!r} (use motion-descriptions or gpt3)")


def with_imported(base: DatasetText, matched: MatchedText, field_name: str, source: str) -> DatasetText:
    """`base` with one text field replaced by imported text for the classes `matched` covers; validated.

    Classes the import does not cover keep the shipped text; `how_written` records what was imported.
    """
    if field_name not in IMPORTABLE_FIELDS:
        raise TabenchError(f"can import only {', '.join(IMPORTABLE_FIELDS)}, not {field_name!r}")
    if not matched.coarse and not matched.fine:
        raise TabenchError(f"{source}: no class of {base.dataset} found in the file")
    d = base.to_dict()
    for level, texts in (("coarse", matched.coarse), ("fine", matched.fine)):
        for key, text in texts.items():
            d[level][key][field_name] = text
    n = len(matched.coarse) + len(matched.fine)
    d["how_written"] = (f"{base.how_written} Then '{field_name}' of {n} classes was imported from {source} "
                        f"({len(matched.coarse)} coarse, {len(matched.fine)} fine).")
    return from_dict(d, base.dataset, source=source)
