"""A reproducible builder for the Dockerfile subset: the same context gives the same digests.

Each COPY becomes one layer (see layer.py for how its bytes are fixed); ENV, WORKDIR, CMD,
ENTRYPOINT and LABEL change only the config, as in docker. The result is a Docker schema 2
manifest (what `docker push` sends to ECR) stored in the engine's OCI layout.
"""

from __future__ import annotations

import datetime as _dt
import glob
import os
import posixpath
from pathlib import Path
from typing import Any

from ...oci import manifest as mf
from ...oci import mediatypes as mt
from ..base import EngineError, LocalImage
from . import dockerfile as dfile
from .layer import Entry, entry_for, source_date_epoch, with_parents, write_layer
from .store import Store, StoredImage

DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
HISTORY_COMMENT = "labkit.builtin"
_LAYER_TYPES = {mt.DOCKER_LAYER: mt.DOCKER_LAYER, mt.OCI_LAYER: mt.DOCKER_LAYER}


def created_time() -> str:
    stamp = _dt.datetime.fromtimestamp(source_date_epoch(), _dt.UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


class _State:
    """The image being built: layers, diff_ids, history and the runtime config."""

    def __init__(self) -> None:
        self.layers: list[mf.Descriptor] = []
        self.diff_ids: list[str] = []
        self.history: list[dict[str, Any]] = []
        self.config: dict[str, Any] = {"Env": [DEFAULT_PATH]}
        self.base_config: dict[str, Any] = {}

    def env(self) -> dict[str, str]:
        return dict(e.split("=", 1) for e in self.config.get("Env", []) if "=" in e)

    def set_env(self, key: str, value: str) -> None:
        env = [e for e in self.config.get("Env", []) if e.split("=", 1)[0] != key]
        self.config["Env"] = [*env, f"{key}={value}"]


def _from(ins: dfile.Instruction, store: Store, st: _State) -> None:
    opts, args = dfile.flags(ins)
    if opts:
        raise ins.error(f"--{next(iter(opts))} is not supported by the built-in engine")
    words = args.split()
    if not words or len(words) not in (1, 3) or (len(words) == 3 and words[1].upper() != "AS"):
        raise ins.error("expected `FROM image` or `FROM image AS name`")
    if words[0] == "scratch":
        return
    try:
        parent: StoredImage = store.resolve(words[0])
    except EngineError:
        raise ins.error(
            f"base image {words[0]!r} is not in the built-in engine's store",
            hint="build it first (the kit's base: `labkit sample path v1` builds it, or "
                 "labkit.course.sample.ensure_base(engine)); the built-in engine never pulls "
                 "from Docker Hub") from None
    for layer in parent.manifest.layers:
        media = _LAYER_TYPES.get(layer.media_type)
        if media is None:
            raise ins.error(f"base layer type {layer.media_type} is not supported")
        st.layers.append(mf.Descriptor(media, layer.digest, layer.size))
    st.diff_ids = list(parent.config.get("rootfs", {}).get("diff_ids", []))
    st.history = list(parent.config.get("history", []))
    st.config = dict(parent.config.get("config") or {})
    st.config.setdefault("Env", [DEFAULT_PATH])


def _inside(context: Path, rel: str, ins: dfile.Instruction) -> list[Path]:
    """The context paths a COPY source names (globs allowed), never outside the context."""
    pattern = rel.lstrip("/") or "."
    if any(c in pattern for c in "*?["):
        found = sorted(Path(p) for p in glob.glob(str(context / pattern)))
    else:
        found = [context / pattern]
    out = []
    for p in found:
        resolved = Path(os.path.abspath(p))
        if resolved != context and context not in resolved.parents:
            raise ins.error(f"{rel!r} is outside the build context")
        if not os.path.lexists(resolved):
            raise ins.error(f"{rel!r} not found in the build context",
                            hint=f"the context is {context}")
        out.append(resolved)
    if not out:
        raise ins.error(f"no source files were specified ({rel!r} matched nothing)")
    return out


def _walk(root: Path, dest: str, entries: dict[str, Entry]) -> None:
    """A directory's contents (not the directory itself) copied under `dest`."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel = os.path.relpath(dirpath, root)
        base = dest if rel == "." else posixpath.join(dest, *Path(rel).parts)
        if base:
            entries[base] = Entry(base, "dir")
        for name in sorted(filenames + [d for d in dirnames if os.path.islink(
                os.path.join(dirpath, d))]):
            path = posixpath.join(base, name) if base else name
            entries[path] = entry_for(path, Path(dirpath) / name)


def _copy(ins: dfile.Instruction, context: Path, st: _State, store: Store) -> None:
    opts, args = dfile.flags(ins)
    for name in opts:
        if name == "chown":
            raise ins.error("--chown is not supported by the built-in engine",
                            hint="its files always belong to root (uid 0, gid 0); drop --chown")
        raise ins.error(f"--{name} is not supported by the built-in engine")
    words, _ = dfile.json_or_words(ins, args)
    env = st.env()
    words = [dfile.expand(w, env) for w in words]
    if len(words) < 2:
        raise ins.error("needs at least one source and a destination")
    *sources, dest = words
    workdir = st.config.get("WorkingDir") or "/"
    dest_dir = (dest.endswith(("/", "/.")) or dest in (".", "..") or len(sources) > 1)
    target = posixpath.normpath(posixpath.join(workdir, dest)).lstrip("/")
    target = "" if target == "." else target
    entries: dict[str, Entry] = {}
    for src in sources:
        for path in _inside(context, src, ins):
            if path.is_dir() and not path.is_symlink():
                _walk(path, target, entries)
            else:
                if dest_dir or len(sources) > 1:
                    name = posixpath.join(target, path.name) if target else path.name
                else:
                    name = target or path.name
                entries[name] = entry_for(name, path)
    writer = store.writer()
    try:
        built = write_layer(with_parents(entries), writer)
    except BaseException:
        writer.abort()
        raise
    st.layers.append(mf.Descriptor(mt.DOCKER_LAYER, built.digest, built.size))
    st.diff_ids.append(built.diff_id)
    st.history.append({"created": created_time(), "created_by": ins.original,
                       "comment": HISTORY_COMMENT})


def _config_only(ins: dfile.Instruction, st: _State) -> None:
    kw = ins.keyword
    if kw == "ENV":
        for key, value in dfile.key_values(ins):
            st.set_env(key, dfile.expand(value, st.env()))
    elif kw == "LABEL":
        labels = dict(st.config.get("Labels") or {})
        labels.update(dfile.key_values(ins))
        st.config["Labels"] = labels
    elif kw == "WORKDIR":
        path = dfile.expand(ins.args.strip(), st.env())
        if not path:
            raise ins.error("needs a path")
        st.config["WorkingDir"] = posixpath.normpath(
            posixpath.join(st.config.get("WorkingDir") or "/", path))
    elif kw in ("CMD", "ENTRYPOINT"):
        items, is_json = dfile.json_or_words(ins)
        value = items if is_json else ["/bin/sh", "-c", ins.args]
        if kw == "ENTRYPOINT":
            st.config["Entrypoint"] = value
            st.config.pop("Cmd", None)  # a new ENTRYPOINT resets an inherited CMD, as in docker
        else:
            st.config["Cmd"] = value
    st.history.append({"created": created_time(), "created_by": ins.original,
                       "comment": HISTORY_COMMENT, "empty_layer": True})


PLATFORMS = ("linux/amd64", "linux/arm64")


def build(context: str | Path, tag: str, store: Store, dockerfile: str = "Dockerfile",
          platform: str = "linux/amd64") -> LocalImage:
    """Build `context` (a directory with a Dockerfile) and name the result `tag`.

    `platform` is what the image's config declares (`docker build --platform`); the builder
    runs nothing, so it can build for another architecture (notebook 08's arm64 image)."""
    if platform not in PLATFORMS:
        raise EngineError(f"the built-in engine builds for {' or '.join(PLATFORMS)}, not "
                          f"{platform!r}")
    os_name, arch = platform.split("/")
    ctx = Path(os.path.abspath(context))
    path = ctx / dockerfile
    if not path.is_file():
        raise EngineError(f"no {dockerfile} in {ctx}", hint="the context must hold a Dockerfile")
    instructions = dfile.parse(path.read_text())
    st = _State()
    with store.busy():
        for ins in instructions:
            if ins.keyword == "FROM":
                _from(ins, store, st)
            elif ins.keyword == "COPY":
                _copy(ins, ctx, st, store)
            else:
                _config_only(ins, st)
        cfg = {
            "architecture": arch,
            "os": os_name,
            "config": st.config,
            "created": created_time(),
            "history": st.history,
            "rootfs": {"type": "layers", "diff_ids": st.diff_ids},
        }
        raw_cfg = mf.canonical_json(cfg)
        cfg_digest = store.put_bytes(raw_cfg)
        raw = mf.build(mf.Descriptor(mt.DOCKER_CONFIG, cfg_digest, len(raw_cfg)), st.layers,
                       media_type=mt.DOCKER_MANIFEST)
        digest = store.put_bytes(raw)
        store.set_ref(tag, mf.Descriptor(mt.DOCKER_MANIFEST, digest, len(raw)))
    return LocalImage(store.resolve(tag).ref, cfg_digest, sum(x.size for x in st.layers),
                      tuple(x.digest for x in st.layers))
