"""The learner's own copy of the course: notebooks they may edit, kept across kit upgrades.

`labkit course open` fills it; the kit's installed notebooks are never edited in place. A
notebook already in the workspace is the learner's work and is never overwritten; notebooks
the kit gained since (an upgrade) are added. Figures are the kit's, not the learner's: they are
refreshed when the kit's copy differs.
"""

from __future__ import annotations

import filecmp
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from . import runner

DEFAULT_NAME = "labkit-course"


def default_workspace() -> Path:
    """LABKIT_WORKSPACE, else ~/labkit-course (a folder the learner can find and back up)."""
    chosen = os.environ.get("LABKIT_WORKSPACE", "").strip()
    return Path(chosen).expanduser() if chosen else Path.home() / DEFAULT_NAME


@dataclass
class Copied:
    """What one fill of the workspace did, file names relative to the workspace."""

    root: Path
    added: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)

    def summary(self) -> list[str]:
        lines = []
        if self.added:
            lines.append(f"added {len(self.added)} notebook(s): {', '.join(self.added)}")
        if self.kept:
            lines.append(f"kept your {len(self.kept)} notebook(s) as they are: "
                         f"{', '.join(self.kept)}")
        if self.figures:
            lines.append(f"copied {len(self.figures)} figure(s) into images/")
        return lines


def fill(root: Path, notebooks: Path | None = None, images: Path | None = None) -> Copied:
    """Copy the course into `root`: root/notebooks/*.ipynb and root/images/*.png, the same
    layout as the kit's source, so a notebook's `../images/x.png` shows in both."""
    src = notebooks or runner.notebooks_dir()
    figures = images if images is not None else runner.images_dir()
    done = Copied(root)
    nb_dest = root / "notebooks"
    nb_dest.mkdir(parents=True, exist_ok=True)
    for nb in sorted(src.glob("*.ipynb")):
        target = nb_dest / nb.name
        if target.exists():
            done.kept.append(nb.name)
        else:
            _copy_new(nb, target)
            done.added.append(nb.name)
    if figures is not None and figures.is_dir():
        img_dest = root / "images"
        img_dest.mkdir(exist_ok=True)
        for png in sorted(figures.glob("*.png")):
            target = img_dest / png.name
            if not target.exists() or not filecmp.cmp(png, target, shallow=False):
                _copy_new(png, target)
                done.figures.append(png.name)
    return done


def _copy_new(src: Path, dest: Path) -> None:
    """Copy through a temp name, so an interrupted copy never leaves half a notebook behind."""
    part = dest.with_name(dest.name + ".part")
    shutil.copyfile(src, part)
    os.replace(part, dest)
