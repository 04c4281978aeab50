"""The coarse-to-fine class hierarchies of Syn-TA, K400-TA and SSv2-TA (appendix D of the paper).

The classes live in JSON data files next to this module (`data/<name>.json`); this module loads and
validates them. A dataset directory carries its own snapshot (`taxonomy.json`), read with `from_dict`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Iterable

from tabench import TabenchError

NAMES = ("syn-ta", "k400-ta", "ssv2-ta")
# Exact sizes from the paper: (coarse, fine in Set 1, fine in Set 2).
EXPECTED_COUNTS = {"syn-ta": (20, 53, 47), "k400-ta": (41, 111, 94), "ssv2-ta": (26, 81, 68)}
# Which official label list a taxonomy's `source_label` must come from.
OFFICIAL_LISTS = {"k400-ta": "kinetics400_classes.txt", "ssv2-ta": "ssv2_templates.txt"}
SETS = (1, 2)


@dataclass(frozen=True)
class Coarse:
    id: int
    name: str


@dataclass(frozen=True)
class Fine:
    set: int
    id: int  # set-local, as numbered in the paper's appendix tables
    name: str  # "coarse motion + fine motion"; also the class caption for video-text models
    slug: str  # stable, usable as a folder name
    coarse_id: int
    source_label: str | None  # the original Kinetics-400 class or SSv2 template (None for Syn-TA)


@dataclass(frozen=True)
class Taxonomy:
    name: str
    coarse: tuple[Coarse, ...]
    fine: tuple[Fine, ...]

    # ----- lookups -----
    def fine_of_set(self, set_id: int) -> list[Fine]:
        """Fine classes of one set, ordered by their set-local id (so index == id)."""
        return sorted((f for f in self.fine if f.set == set_id), key=lambda f: f.id)

    def fine_class(self, set_id: int, fine_id: int) -> Fine:
        for f in self.fine:
            if f.set == set_id and f.id == fine_id:
                return f
        raise TabenchError(f"{self.name}: no fine class {fine_id} in set {set_id}")

    def by_slug(self, slug: str) -> Fine:
        for f in self.fine:
            if f.slug == slug:
                return f
        raise TabenchError(f"{self.name}: unknown fine class slug {slug!r}")

    def by_source_label(self) -> dict[str, Fine]:
        return {f.source_label: f for f in self.fine if f.source_label is not None}

    def coarse_names(self) -> list[str]:
        return [c.name for c in self.coarse]

    def labels(self, set_id: int, level: str) -> list[str]:
        """Class names of the label space of (set, level): coarse names, or that set's fine names."""
        if level == "coarse":
            return self.coarse_names()
        if level == "fine":
            return [f.name for f in self.fine_of_set(set_id)]
        raise TabenchError(f"unknown level {level!r} (use coarse or fine)")

    def num_classes(self, set_id: int, level: str) -> int:
        return len(self.labels(set_id, level))

    def select(self, keys: Iterable[str]) -> list[Fine]:
        """Fine classes named by slug, fine name, or coarse name (which selects all its fine classes)."""
        out: list[Fine] = []
        coarse_by_name = {c.name.lower(): c.id for c in self.coarse}
        for key in keys:
            k = key.strip()
            hits = [f for f in self.fine if k in (f.slug, f.name)]
            if not hits and k.lower() in coarse_by_name:
                hits = [f for f in self.fine if f.coarse_id == coarse_by_name[k.lower()]]
            if not hits:
                raise TabenchError(f"{self.name}: {key!r} is neither a fine class (slug or name) nor a coarse class")
            out += [f for f in hits if f not in out]
        return out

    # ----- serialisation -----
    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "coarse": [{"id": c.id, "name": c.name} for c in self.coarse],
            "fine": [
                {"set": f.set, "id": f.id, "name": f.name, "slug": f.slug, "coarse_id": f.coarse_id,
                 "source_label": f.source_label}
                for f in self.fine
            ],
        }


@lru_cache(maxsize=None)
def official_labels(taxonomy_name: str) -> frozenset[str]:
    """The official label list (Kinetics-400 classes or SSv2 templates) a taxonomy maps onto."""
    text = resources.files(__package__).joinpath("data", OFFICIAL_LISTS[taxonomy_name]).read_text(encoding="utf-8")
    return frozenset(line for line in text.splitlines() if line.strip())


def from_dict(d: dict, check_counts: bool = True) -> Taxonomy:
    """Build and validate a taxonomy from its JSON shape; raises TabenchError on any inconsistency."""
    try:
        tax = Taxonomy(
            name=str(d["name"]),
            coarse=tuple(Coarse(int(c["id"]), str(c["name"])) for c in d["coarse"]),
            fine=tuple(
                Fine(int(f["set"]), int(f["id"]), str(f["name"]), str(f["slug"]), int(f["coarse_id"]),
                     f.get("source_label"))
                for f in d["fine"]
            ),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise TabenchError(f"malformed taxonomy: missing or invalid field {e}") from None
    validate(tax, check_counts=check_counts)
    return tax


def validate(tax: Taxonomy, check_counts: bool = True) -> None:
    name = tax.name
    if [c.id for c in tax.coarse] != list(range(len(tax.coarse))):
        raise TabenchError(f"{name}: coarse ids must be 0..{len(tax.coarse) - 1} in order")
    coarse_ids = set(range(len(tax.coarse)))
    for s in SETS:
        fine = [f for f in tax.fine if f.set == s]
        if sorted(f.id for f in fine) != list(range(len(fine))):
            raise TabenchError(f"{name}: fine ids of set {s} must be 0..{len(fine) - 1} without gaps")
        missing = coarse_ids - {f.coarse_id for f in fine}
        if missing:
            raise TabenchError(f"{name}: coarse classes {sorted(missing)} have no fine class in set {s}")
    bad = [f for f in tax.fine if f.set not in SETS or f.coarse_id not in coarse_ids]
    if bad:
        raise TabenchError(f"{name}: fine class {bad[0].name!r} has an invalid set or coarse_id")
    for field in ("name", "slug"):
        values = [getattr(f, field) for f in tax.fine]
        dup = {v for v in values if values.count(v) > 1}
        if dup:
            raise TabenchError(f"{name}: fine {field} used twice (a fine class may belong to one set only): {sorted(dup)[0]!r}")
    for f in tax.fine:
        if not f.slug or any(ch in f.slug for ch in "/\\ ") or f.slug != f.slug.lower():
            raise TabenchError(f"{name}: slug {f.slug!r} is not usable as a folder name")
    if check_counts and name in EXPECTED_COUNTS:
        got = (len(tax.coarse), len(tax.fine_of_set(1)), len(tax.fine_of_set(2)))
        if got != EXPECTED_COUNTS[name]:
            raise TabenchError(f"{name}: expected (coarse, set 1, set 2) = {EXPECTED_COUNTS[name]}, found {got}")
    if name in OFFICIAL_LISTS:
        official = official_labels(name)
        for f in tax.fine:
            if f.source_label not in official:
                raise TabenchError(f"{name}: source label {f.source_label!r} of {f.name!r} is not in {OFFICIAL_LISTS[name]}")


@lru_cache(maxsize=None)
def load(name: str) -> Taxonomy:
    """Load a built-in taxonomy: 'syn-ta', 'k400-ta' or 'ssv2-ta'."""
    if name not in NAMES:
        raise TabenchError(f"unknown taxonomy {name!r}; choose one of {', '.join(NAMES)}")
    text = resources.files(__package__).joinpath("data", f"{name}.json").read_text(encoding="utf-8")
    return from_dict(json.loads(text))
