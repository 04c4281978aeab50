"""Background photos for Syn-TA: two disjoint pools (Set 1 and Set 2), from the user's folder or from Debian.

The paper uses 10 photos per set (Set 1: castle, coffee shop, city sunset, desert, ...; Set 2: kitchen,
library, ocean, ...), which are not redistributable. Instead, by default, real photographs are taken at
generation time from Debian wallpaper packages (`apt-get download` + `dpkg-deb -x`, no root needed when the
package lists are present), checked against the package's machine-readable copyright file, resized once
and kept in a cache (~/.cache/tabench/backgrounds, or $TABENCH_CACHE/backgrounds). Nothing is committed to
the repository. The curated allow-list below keeps photographs only (no logos, abstract art or drawings),
prefers permissive licences (CC0, CC-BY) and fills the pools with GPL-2+ photos; every file's package,
path, licence and copyright holder is recorded in the dataset (DATA/backgrounds.json) and in each video's
sidecar, and the packages' copyright files are copied next to it, so a redistributed dataset can credit
them. Users who need a permissive-only dataset pass their own photos with `--backgrounds DIR`.
"""
from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from tabench import TabenchError
from tabench.io import atomic_path, atomic_write_json, atomic_write_text

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
CACHE_MAX_SIDE = 2048  # photos are resized once to this longest side (enough for 1080p backdrops)
# Licences under which a photo may be rendered into a dataset that is then redistributed (with attribution,
# and for copyleft licences under the same terms); anything else in a copyright file is skipped.
FREE_LICENSES = ("CC0", "CC-BY", "GPL", "LGPL", "Expat", "MIT", "public-domain")
APT_HINT = "use your own photos with --backgrounds DIR, or solid colours with --background plain"


@dataclass(frozen=True)
class CatalogEntry:
    set: int
    package: str
    path: str  # inside the package
    source: str  # the file's name in the package's debian/copyright (a DEP-5 "Files:" pattern matches it)
    title: str


# Curated after looking at every image of lomiri-wallpapers-16.04, mate-backgrounds, lxqt-themes,
# plasma-workspace-wallpapers, ukui-wallpapers and gnome-backgrounds (Debian 12): photographs only.
# Left out: logos, abstract and vector art (all of ukui and gnome, most of plasma and lxqt), paintings
# (plasma Autumn, SafeLanding) and lxqt's photos (its copyright file and its wallpapers/License disagree).
CATALOG: tuple[CatalogEntry, ...] = (
    # Set 1 (in the spirit of the paper's castle, coffee shop, city sunset, desert, fire, forest, ... hotel)
    CatalogEntry(1, "lomiri-wallpapers-16.04", "usr/share/backgrounds/sunset_by_Aitzol_Berasategi.jpg",
                 "16.04/sunset_by_Aitzol_Berasategi.jpg", "sunset over hills"),
    CatalogEntry(1, "lomiri-wallpapers-16.04", "usr/share/backgrounds/life_by_Aitzol_Berasategi.jpg",
                 "16.04/life_by_Aitzol_Berasategi.jpg", "forest stream"),
    CatalogEntry(1, "lomiri-wallpapers-16.04", "usr/share/backgrounds/aitzgorri_by_Aitzol_Berasategi.jpg",
                 "16.04/aitzgorri_by_Aitzol_Berasategi.jpg", "mountain meadow in autumn"),
    CatalogEntry(1, "lomiri-wallpapers-16.04", "usr/share/backgrounds/Picture_0B_by_freespace.jpg",
                 "16.04/Picture_0B_by_freespace.jpg", "fig in a red bowl on concrete"),
    CatalogEntry(1, "lomiri-wallpapers-16.04", "usr/share/backgrounds/Wine_by_Jakkub_Mede.jpg",
                 "16.04/Wine_by_Jakkub_Mede.jpg", "living room interior"),
    CatalogEntry(1, "plasma-workspace-wallpapers", "usr/share/wallpapers/EveningGlow/contents/images/1920x1080.jpg",
                 "EveningGlow/contents/images/1920x1080.jpg", "rowing boats on a lake at sunset"),
    CatalogEntry(1, "plasma-workspace-wallpapers", "usr/share/wallpapers/Path/contents/images/1920x1080.jpg",
                 "Path/contents/images/1920x1080.jpg", "path through a pine forest"),
    CatalogEntry(1, "plasma-workspace-wallpapers", "usr/share/wallpapers/Grey/contents/images/1920x1080.jpg",
                 "Grey/contents/images/1920x1080.jpg", "building facade"),
    CatalogEntry(1, "plasma-workspace-wallpapers", "usr/share/wallpapers/FallenLeaf/contents/images/1920x1080.jpg",
                 "FallenLeaf/contents/images/1920x1080.jpg", "autumn leaves on the ground"),
    CatalogEntry(1, "mate-backgrounds", "usr/share/backgrounds/mate/nature/Dune.jpg",
                 "nature/Dune.jpg", "dune grass by the sea"),
    # Set 2 (in the spirit of the paper's house, kitchen, library, ocean, ..., storm, underwater, warehouse)
    CatalogEntry(2, "lomiri-wallpapers-16.04", "usr/share/backgrounds/picosdeeuropa_by_Aitzol_Berasategi.jpg",
                 "16.04/picosdeeuropa_by_Aitzol_Berasategi.jpg", "mountain trail"),
    CatalogEntry(2, "lomiri-wallpapers-16.04", "usr/share/backgrounds/friends_by_Aitzol_Berasategi.jpg",
                 "16.04/friends_by_Aitzol_Berasategi.jpg", "dogs at a wooden house door"),
    CatalogEntry(2, "lomiri-wallpapers-16.04", "usr/share/backgrounds/Picture_1A_by_freespace.jpg",
                 "16.04/Picture_1A_by_freespace.jpg", "paint brushes in a studio"),
    CatalogEntry(2, "lomiri-wallpapers-16.04", "usr/share/backgrounds/seeding_by_Clements_Engelhardt.jpg",
                 "16.04/seeding_by_Clements_Engelhardt.jpg", "dandelion field"),
    CatalogEntry(2, "mate-backgrounds", "usr/share/backgrounds/mate/nature/Storm.jpg",
                 "nature/Storm.jpg", "storm clouds over a road"),
    CatalogEntry(2, "mate-backgrounds", "usr/share/backgrounds/mate/nature/RainDrops.jpg",
                 "nature/RainDrops.jpg", "rain drops on leaves"),
    CatalogEntry(2, "mate-backgrounds", "usr/share/backgrounds/mate/nature/Aqua.jpg",
                 "nature/Aqua.jpg", "water drop splash"),
    CatalogEntry(2, "plasma-workspace-wallpapers", "usr/share/wallpapers/ColdRipple/contents/images/1920x1080.jpg",
                 "ColdRipple/contents/images/1920x1080.jpg", "wooden pier in fog"),
    CatalogEntry(2, "plasma-workspace-wallpapers", "usr/share/wallpapers/ColorfulCups/contents/images/2560x1600.jpg",
                 "ColorfulCups/contents/images/2560x1600.jpg", "stacked coloured cups"),
    CatalogEntry(2, "plasma-workspace-wallpapers", "usr/share/wallpapers/summer_1am/contents/images/1920x1080.jpg",
                 "summer_1am/contents/images/1920x1080.jpg", "lake at dusk"),
)


@dataclass(frozen=True)
class BackgroundImage:
    id: str  # stable name used in the manifest and sidecars, e.g. "mate-backgrounds/Storm"
    set: int
    file: str  # the resized copy in the cache (what the renderer loads)
    origin: str  # Debian package name, or "user"
    origin_version: str
    source_path: str  # path inside the package, or the user's file
    license: str
    copyright: str
    title: str

    def record(self) -> dict:
        """What a dataset records about this photo (no machine-specific cache path)."""
        d = asdict(self)
        d.pop("file")
        return d


@dataclass(frozen=True)
class BackgroundPools:
    """The photos of Set 1 and Set 2 (disjoint); empty for plain colours."""

    mode: str  # "realistic" or "plain"
    source: str  # "debian", "user:<dir>", or "plain"
    sets: dict  # {1: (BackgroundImage, ...), 2: (...)}

    def pool(self, set_id: int) -> tuple[BackgroundImage, ...]:
        return self.sets.get(set_id, ())

    def fingerprint(self) -> list[str]:
        return [f"{s}:{im.id}" for s in sorted(self.sets) for im in self.sets[s]]

    def to_json(self) -> dict:
        return {"mode": self.mode, "source": self.source,
                "sets": {str(s): [im.record() for im in self.sets[s]] for s in sorted(self.sets)}}


PLAIN = BackgroundPools("plain", "plain", {1: (), 2: ()})


def cache_dir() -> Path:
    root = os.environ.get("TABENCH_CACHE")
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "tabench"
    return base / "backgrounds"


@contextlib.contextmanager
def _locked(folder: Path):
    """Serialise fetches between processes (shards started together on one machine share the cache)."""
    import fcntl

    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _resize_into(src: Path, dst: Path) -> None:
    from PIL import Image

    try:
        with Image.open(src) as im:
            im = im.convert("RGB")
            im.thumbnail((CACHE_MAX_SIDE, CACHE_MAX_SIDE), Image.LANCZOS)
            with atomic_path(dst, suffix=".jpg") as tmp:
                im.save(tmp, "JPEG", quality=92)
    except OSError as e:
        raise TabenchError(f"cannot read image {src}: {e}") from None


# ------------------------------------------------------------------------------------ user photos
def user_pools(folder: str | os.PathLike) -> BackgroundPools:
    """DIR/set1/* and DIR/set2/*, or a flat DIR split into two disjoint halves (sorted names, alternating:
    1st, 3rd, ... file -> Set 1; 2nd, 4th, ... -> Set 2)."""
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise TabenchError(f"--backgrounds {folder}: no such folder")

    def images(d: Path) -> list[Path]:
        return sorted(p for p in d.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                      and not p.name.startswith("."))

    if (root / "set1").is_dir() or (root / "set2").is_dir():
        split = {1: images(root / "set1") if (root / "set1").is_dir() else [],
                 2: images(root / "set2") if (root / "set2").is_dir() else []}
    else:
        files = images(root)
        split = {1: files[0::2], 2: files[1::2]}
    for s in (1, 2):
        if not split[s]:
            raise TabenchError(f"--backgrounds {folder}: no images for Set {s} (need .jpg/.png files in "
                               f"{folder}/set1 and {folder}/set2, or at least two in {folder})")
    cache = cache_dir() / "user"
    sets = {}
    for s, files in split.items():
        out = []
        for f in files:
            digest = hashlib.sha1(f.read_bytes()).hexdigest()[:16]
            dst = cache / f"{digest}.jpg"
            if not dst.is_file():
                _resize_into(f, dst)
            rel = f.relative_to(root).as_posix()
            out.append(BackgroundImage(f"user/{rel}", s, str(dst), "user", "", str(f), "unknown (user-supplied)",
                                       "", f.stem))
        sets[s] = tuple(out)
    return BackgroundPools("realistic", f"user:{root}", sets)


# ------------------------------------------------------------------------------- Debian packages
def parse_dep5(text: str) -> list[tuple[list[str], str, str]]:
    """Paragraphs of a machine-readable debian/copyright: (Files patterns, short licence, Copyright)."""
    out = []
    for para in text.replace("\r\n", "\n").split("\n\n"):
        fields: dict[str, str] = {}
        key = None
        for line in para.split("\n"):
            if line[:1] in (" ", "\t") and key:
                fields[key] += "\n" + line.strip()
            elif ":" in line:
                key, _, value = line.partition(":")
                key = key.strip().lower()
                fields[key] = value.strip()
        if "files" in fields and "license" in fields:
            patterns = fields["files"].split()
            lic = fields["license"].split("\n")[0].strip()
            out.append((patterns, lic, " ".join(fields.get("copyright", "").split())))
    return out


def license_of(paragraphs, source: str) -> tuple[str, str]:
    """DEP-5 rule: the last paragraph whose Files pattern matches wins."""
    found = ("", "")
    for patterns, lic, holder in paragraphs:
        if any(fnmatch.fnmatchcase(source, p) for p in patterns):
            found = (lic, holder)
    return found


def is_free(lic: str) -> bool:
    return any(lic.upper().startswith(p.upper()) for p in FREE_LICENSES)


def _run(cmd: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=900)


def _fetch_package(pkg: str, entries: list[CatalogEntry], dest: Path, log) -> dict:
    """Download and unpack one package in a temporary folder; keep only the resized photos and the
    copyright file. Returns {"version", "images": {path: {license, copyright}}}."""
    with tempfile.TemporaryDirectory(prefix="tabench-bg-") as tmp:
        tmp = Path(tmp)
        os.chmod(tmp, 0o755)  # lets apt's sandbox user write there when we run as root
        r = _run(["apt-get", "download", pkg], cwd=tmp)
        if r.returncode != 0 and os.geteuid() == 0:
            log(f"apt-get download {pkg} failed; running apt-get update")
            _run(["apt-get", "update", "-qq"])
            r = _run(["apt-get", "download", pkg], cwd=tmp)
        debs = list(tmp.glob("*.deb"))
        if r.returncode != 0 or not debs:
            msg = (r.stderr or r.stdout).strip().splitlines()
            raise RuntimeError(msg[-1] if msg else f"apt-get download {pkg} failed")
        version = _run(["dpkg-deb", "-f", str(debs[0]), "Version"]).stdout.strip()
        x = _run(["dpkg-deb", "-x", str(debs[0]), str(tmp / "x")])
        if x.returncode != 0:
            raise RuntimeError(x.stderr.strip() or "dpkg-deb -x failed")
        cr = tmp / "x" / "usr" / "share" / "doc" / pkg / "copyright"
        if not cr.is_file():
            raise RuntimeError(f"{pkg} has no copyright file")
        text = cr.read_text(encoding="utf-8", errors="replace")
        paragraphs = parse_dep5(text)
        images = {}
        for e in entries:
            lic, holder = license_of(paragraphs, e.source)
            if not is_free(lic):
                log(f"skipping {pkg}/{e.path}: licence {lic or 'unknown'!r} is not a free licence")
                continue
            src = tmp / "x" / e.path
            if not src.is_file():
                log(f"skipping {pkg}/{e.path}: not in this version of the package")
                continue
            _resize_into(src, dest / pkg / _cache_name(e))
            images[e.path] = {"license": lic, "copyright": holder}
        atomic_write_text(dest / pkg / "copyright", text)
        return {"version": version, "images": images}


def _cache_name(e: CatalogEntry) -> str:
    return hashlib.sha1(e.path.encode()).hexdigest()[:10] + "_" + Path(e.path).stem.replace("/", "_") + ".jpg"


def _entry_id(e: CatalogEntry) -> str:
    p = Path(e.path)
    stem = p.parts[3] if e.package == "plasma-workspace-wallpapers" else p.stem  # wallpaper name, not "1920x1080"
    return f"{e.package}/{stem}"


def debian_pools(log=None) -> BackgroundPools:
    """The curated Debian photos, fetched into the cache on first use (a few packages, ~160 MB download)."""
    log = log or (lambda m: print(f"tabench: {m}", file=sys.stderr))
    dest = cache_dir() / "debian"
    index_path = dest / "index.json"
    packages = sorted({e.package for e in CATALOG})
    with _locked(dest):
        index = json.loads(index_path.read_text()) if index_path.is_file() else {}
        missing = [p for p in packages if p not in index]
        if missing:
            if not (shutil.which("apt-get") and shutil.which("dpkg-deb")):
                raise TabenchError(f"realistic backgrounds are fetched from Debian packages, but apt-get/dpkg-deb "
                                   f"are not available here; {APT_HINT}")
            errors = []
            for pkg in missing:
                log(f"fetching background photos from Debian package {pkg} (once, into {dest})")
                try:
                    index[pkg] = _fetch_package(pkg, [e for e in CATALOG if e.package == pkg], dest, log)
                except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                    errors.append(f"{pkg}: {e}")
                    continue
                atomic_write_json(index_path, index)
            if errors and not any(p in index for p in packages):
                raise TabenchError(f"could not fetch background photos ({'; '.join(errors)}); {APT_HINT}")
            for err in errors:
                log(f"warning: {err} (continuing with the other packages)")
    sets: dict[int, list[BackgroundImage]] = {1: [], 2: []}
    for e in CATALOG:
        info = index.get(e.package, {}).get("images", {}).get(e.path)
        if info is None:
            continue
        f = dest / e.package / _cache_name(e)
        if not f.is_file():
            continue
        sets[e.set].append(BackgroundImage(_entry_id(e), e.set, str(f), e.package, index[e.package]["version"],
                                           e.path, info["license"], info["copyright"], e.title))
    for s in (1, 2):
        if not sets[s]:
            raise TabenchError(f"no usable background photo for Set {s} in {dest}; {APT_HINT}")
        if len(sets[s]) < 10:
            log(f"warning: only {len(sets[s])} background photos for Set {s} (the paper uses 10)")
    return BackgroundPools("realistic", "debian", {s: tuple(v) for s, v in sets.items()})


def load_pools(mode: str = "realistic", folder: str | os.PathLike | None = None, log=None) -> BackgroundPools:
    """Resolve --background / --backgrounds into the two pools."""
    if mode == "plain":
        if folder:
            raise TabenchError("--backgrounds DIR needs --background realistic (plain uses solid colours)")
        return PLAIN
    if mode != "realistic":
        raise TabenchError(f"--background must be realistic or plain, got {mode!r}")
    return user_pools(folder) if folder else debian_pools(log)


def write_records(root: str | os.PathLike, pools: BackgroundPools) -> None:
    """DATA/backgrounds.json (origin, path and licence of every photo) and the packages' copyright files."""
    root = Path(root)
    atomic_write_json(root / "backgrounds.json", pools.to_json())
    if pools.source == "debian":
        for pkg in sorted({im.origin for s in pools.sets for im in pools.sets[s]}):
            src = cache_dir() / "debian" / pkg / "copyright"
            if src.is_file():
                atomic_write_text(root / "backgrounds_licenses" / f"{pkg}.copyright",
                                  src.read_text(encoding="utf-8", errors="replace"))
