"""`docker` for the built-in engine: the docker CLI's commands, flags, output and exit codes for
the subset the course uses, so a notebook's `!docker push ...` cell and a terminal read the same
with or without a Docker Engine.

Run as `python -m labkit.engines.builtin.cli ...` (what `labkit.course.shell.activate` puts on
PATH as `docker`) or `labkit docker ...`. Anything outside the subset fails with a message
naming what is supported. Failures print docker's message, then one hint line from
`labkit.engines.hints`; never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from ... import __version__ as _kit_version
from ...oci import digest as dg
from .. import hints
from ..base import EngineError
from . import dockerfile as dfile
from . import dockerfmt, refs
from .engine import BuiltinEngine

SUPPORTED = ("login", "logout", "build", "tag", "push", "pull", "images", "image ls",
             "image rm", "image inspect", "rmi", "version", "info")
SUBSET = ("labkit's built-in engine supports: docker " + ", ".join(SUPPORTED) +
          " (no containers: it builds, stores, pushes and pulls images only)")


class Failure(Exception):
    """A docker-style failure: `message` on stderr, then the hint line, exit `code`."""

    def __init__(self, message: str, code: int = 1, hint: str = ""):
        super().__init__(message)
        self.code, self.hint = code, hint


def _out(line: str = "") -> None:
    print(line, flush=True)


class _Parser(argparse.ArgumentParser):
    """argparse that fails like the docker CLI: `unknown flag`, exit 125."""

    def error(self, message: str) -> NoReturn:
        if "unrecognized arguments" in message:
            flag = message.split(":", 1)[1].split()[0]
            detail = f"unknown flag: {flag}" if flag.startswith("-") else message
        else:
            detail = message
        raise Failure(f"{detail}\nSee '{self.prog} --help'.", 125,
                      "" if detail.startswith("the following") else SUBSET)


def _parser(name: str, usage: str) -> _Parser:
    return _Parser(prog=f"docker {name}", usage=f"docker {name} {usage}", allow_abbrev=False)


def _daemon(e: EngineError) -> Failure:
    """A daemon-side error, as the docker CLI prints it."""
    return Failure(f"Error response from daemon: {e.args[0]}", 1, _hint_line(e))


def _hint_line(e: EngineError, repository: str = "", registry: str = "") -> str:
    """The hints table's line for this failure, else the error's own hint."""
    found = hints.for_message(e.args[0], repository, registry)
    if found is not None and not e.hint:
        return found.line()
    if not e.hint:
        return ""
    return f"hint: {e.hint}" + (f": {e.command}" if e.command else "")


def _engine() -> BuiltinEngine:
    return BuiltinEngine()


# -- commands -----------------------------------------------------------------------------

def cmd_login(argv: list[str]) -> int:
    p = _parser("login", "[OPTIONS] SERVER")
    p.add_argument("-u", "--username")
    p.add_argument("-p", "--password")
    p.add_argument("--password-stdin", action="store_true")
    p.add_argument("server", nargs="?")
    a = p.parse_args(argv)
    if not a.server:
        raise Failure("the built-in engine never talks to Docker Hub: name the registry, "
                      "for example `docker login ... $REGISTRY`", 1)
    if a.password_stdin:
        if a.password:
            raise Failure("--password and --password-stdin are mutually exclusive")
        if not a.username:
            raise Failure("Must provide --username with --password-stdin")
        password = sys.stdin.read().rstrip("\r\n")
    elif a.password is not None:
        print("WARNING! Using --password via the CLI is insecure. Use --password-stdin.",
              file=sys.stderr)
        password = a.password
    else:
        raise Failure("Error: Cannot perform an interactive login from a non TTY device")
    if not a.username:
        raise Failure("Error: Cannot perform an interactive login from a non TTY device")
    if not password:
        raise Failure("Error: Password Required")
    engine = _engine()
    try:
        message = engine.login(a.server, a.username, password)
    except EngineError as e:
        raise _daemon(e) from None
    where = engine.credentials.path
    if '"credsStore"' not in _text(where):
        print(f"\nWARNING! Your credentials are stored unencrypted in '{where}'.\n"
              "Configure a credential helper to remove this warning. See\n"
              "https://docs.docker.com/go/credential-store/\n", file=sys.stderr)
    _out(message)
    return 0


def _text(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def cmd_logout(argv: list[str]) -> int:
    p = _parser("logout", "[SERVER]")
    p.add_argument("server", nargs="?")
    a = p.parse_args(argv)
    if not a.server:
        raise Failure("name the registry to log out of: docker logout $REGISTRY")
    _out(_engine().logout(a.server))
    return 0


def _context_size(root: Path) -> int:
    """Bytes of the tar docker sends as the build context (512-byte headers and blocks)."""
    total = 1024
    for dirpath, dirnames, filenames in os.walk(root):
        total += 512 * len(dirnames)
        for f in filenames:
            size = (Path(dirpath) / f).stat().st_size
            total += 512 + -(-size // 512) * 512
    return total


def cmd_build(argv: list[str]) -> int:
    p = _parser("build", "[OPTIONS] PATH")
    p.add_argument("-t", "--tag", action="append", default=[])
    p.add_argument("-f", "--file", default="Dockerfile")
    p.add_argument("-q", "--quiet", action="store_true")
    for flag in ("--rm", "--force-rm", "--no-cache", "--pull"):
        p.add_argument(flag, action="store_true", help="accepted; the build is reproducible")
    p.add_argument("--network", help="accepted: none (builds run no commands)")
    p.add_argument("--platform", default="linux/amd64",
                   help="linux/amd64 (default) or linux/arm64: what the image declares")
    p.add_argument("context")
    a = p.parse_args(argv)
    ctx = Path(a.context)
    if a.context == "-" or "://" in a.context:
        raise Failure("the built-in engine builds from a local directory only", 1, SUBSET)
    if not ctx.is_dir():
        raise Failure(f'unable to prepare context: path "{a.context}" not found')
    dockerfile = Path(a.file) if os.path.isabs(a.file) else ctx / a.file
    try:
        steps = dfile.parse(dockerfile.read_text())
    except OSError:
        raise Failure("unable to prepare context: unable to evaluate symlinks in Dockerfile "
                      f"path: lstat {dockerfile}: no such file or directory") from None
    except EngineError as e:
        raise Failure(f"Error response from daemon: {e.args[0]}") from None
    engine = _engine()
    tags = a.tag or []
    if not a.quiet:
        # docker's legacy builder says "Sending build context to Docker daemon"; there is no
        # daemon here: the context is read and built in this process
        _out(f"Reading build context  {dockerfmt.human_size(_context_size(ctx), 4)} "
             "(the built-in engine builds here, no daemon)")
        for i, ins in enumerate(steps, 1):
            _out(f"Step {i}/{len(steps)} : {ins.original}")
    name = tags[0] if tags else "labkit-build-untagged:latest"
    try:
        image = engine.build(ctx, name, os.path.relpath(dockerfile, ctx), a.platform)
        for extra in tags[1:]:
            engine.tag(name, extra)
        if not tags:
            engine.store.remove_ref(name)
    except EngineError as e:
        raise Failure(f"Error response from daemon: {e.args[0]}", 1, _hint_line(e)) from None
    short = dg.short(image.id)
    if a.quiet:
        _out(image.id)
        return 0
    _out(f" ---> {short}")
    _out(f"Successfully built {short}")
    for t in tags:
        _out(f"Successfully tagged {refs.normalize(t)}")
    return 0


def cmd_tag(argv: list[str]) -> int:
    p = _parser("tag", "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]")
    p.add_argument("source")
    p.add_argument("target")
    a = p.parse_args(argv)
    try:
        _engine().tag(a.source, a.target)
    except EngineError as e:
        raise _daemon(EngineError(f"No such image: {a.source}")
                      if "No such image" in e.args[0] else e) from None
    return 0


def _one_ref(argv: list[str], name: str) -> str:
    p = _parser(name, "[OPTIONS] NAME[:TAG]")
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("-a", "--all-tags", action="store_true")
    p.add_argument("--platform")
    p.add_argument("ref")
    a = p.parse_args(argv)
    if a.all_tags or a.platform:
        raise Failure(f"docker {name} --all-tags/--platform: not in the built-in engine's "
                      "subset (one image per command, linux/amd64)", 125, SUBSET)
    return str(a.ref)


def cmd_push(argv: list[str]) -> int:
    ref = _one_ref(argv, "push")
    engine = _engine()
    try:
        parsed = refs.parse(ref)
    except EngineError as e:
        raise Failure(f"invalid reference format: {e.args[0]}") from None
    _out(f"The push refers to repository [{parsed.name}]")
    try:
        image = engine.store.resolve(str(parsed))
    except EngineError:
        known = [r for r in engine.store.references() if refs.parse(r).name == parsed.name]
        message = (f"tag does not exist: {parsed}" if known
                   else f"An image does not exist locally with the tag: {parsed.name}")
        found = hints.for_message(message, parsed.repository, parsed.registry, "push")
        raise Failure(message, 1, found.line() if found else "") from None
    diff_ids = list(image.config.get("rootfs", {}).get("diff_ids", []))
    layers = [x.digest for x in image.manifest.layers]
    ids = {d: dg.short(diff_ids[i] if i < len(diff_ids) else d) for i, d in enumerate(layers)}
    for d in reversed(layers):
        _out(f"{ids[d]}: Preparing")

    def tell(status: str, digest: str) -> None:
        if digest in ids:
            _out(f"{ids[digest]}: {status}")

    try:
        report = engine.push(str(parsed), progress=False, notify=tell)
    except EngineError as e:
        raise Failure(e.args[0], 1, _hint_line(e)) from None
    size = image.descriptor.size
    _out(f"{parsed.reference}: digest: {report.digest} size: {size}")
    return 0


def cmd_pull(argv: list[str]) -> int:
    ref = _one_ref(argv, "pull")
    engine = _engine()
    try:
        parsed = refs.parse(ref)
    except EngineError as e:
        raise Failure(f"invalid reference format: {e.args[0]}") from None
    before = engine.store.references().get(str(parsed))
    state = {"quiet": False, "said": False}

    def tell(status: str, digest: str) -> None:
        if status == "manifest":
            state["quiet"] = before is not None and before.digest == digest
            return
        if not state["said"]:
            _out(f"{parsed.reference}: Pulling from {parsed.repository}")
            state["said"] = True
        if not state["quiet"]:
            _out(f"{dg.short(digest)}: {status}")

    try:
        report = engine.pull(str(parsed), progress=False, notify=tell)
    except EngineError as e:
        if state["said"]:
            raise Failure(e.args[0], 1, _hint_line(e)) from None
        raise _daemon(e) from None
    if not state["said"]:
        _out(f"{parsed.reference}: Pulling from {parsed.repository}")
    _out(f"Digest: {report.digest}")
    fresh = "Image is up to date for" if state["quiet"] else "Downloaded newer image for"
    _out(f"Status: {fresh} {parsed}")
    _out(str(parsed))
    return 0


def cmd_images(argv: list[str], name: str = "images") -> int:
    p = _parser(name, "[OPTIONS] [REPOSITORY[:TAG]]")
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("--no-trunc", action="store_true")
    p.add_argument("-a", "--all", action="store_true")
    p.add_argument("--digests", action="store_true")
    p.add_argument("repository", nargs="?")
    a = p.parse_args(argv)
    engine = _engine()
    want_repo, want_tag = "", ""
    if a.repository:
        r = a.repository
        slash, colon = r.rfind("/"), r.rfind(":")
        want_repo, want_tag = (r[:colon], r[colon + 1:]) if colon > slash else (r, "")
    rows = [["REPOSITORY", "TAG", *(["DIGEST"] if a.digests else []), "IMAGE ID", "CREATED",
             "SIZE"]]
    seen: list[str] = []
    for name_, desc in sorted(engine.store.references().items()):
        parsed = refs.parse(name_)
        if want_repo and parsed.name != want_repo:
            continue
        if want_tag and parsed.tag != want_tag:
            continue
        try:
            img = engine.store.load(name_, desc.digest)
        except EngineError:
            continue
        assert img.manifest.config is not None
        image_id = img.manifest.config.digest
        shown = image_id if a.no_trunc else dg.short(image_id)
        if a.quiet:
            if shown not in seen:
                seen.append(shown)
            continue
        digest = [desc.digest if parsed.registry else "<none>"] if a.digests else []
        rows.append([parsed.name, parsed.tag or "<none>", *digest, shown,
                     dockerfmt.since(str(img.config.get("created", ""))),
                     dockerfmt.human_size(img.manifest.layers_size)])
    if a.quiet:
        for x in seen:
            _out(x)
    else:
        _out(dockerfmt.table(rows))
    return 0


def cmd_rmi(argv: list[str], name: str = "rmi") -> int:
    p = _parser(name, "[OPTIONS] IMAGE [IMAGE...]")
    p.add_argument("-f", "--force", action="store_true")
    p.add_argument("--no-prune", action="store_true")
    p.add_argument("images", nargs="+")
    a = p.parse_args(argv)
    engine = _engine()
    failed = 0
    for ref in a.images:
        try:
            name_ = refs.normalize(ref)
            desc = engine.store.references().get(name_)
            if desc is None:
                raise EngineError(f"No such image: {ref}")
            img = engine.store.load(name_, desc.digest)
            engine.store.remove_ref(name_)
        except EngineError as e:
            failed = 1
            print(f"Error response from daemon: {e.args[0]}", file=sys.stderr)
            continue
        _out(f"Untagged: {name_}")
        parsed = refs.parse(name_)
        if parsed.registry:
            _out(f"Untagged: {parsed.name}@{desc.digest}")
        still = {d.digest for d in engine.store.references().values()}
        if desc.digest not in still:
            assert img.manifest.config is not None
            _out(f"Deleted: {img.manifest.config.digest}")
        engine.store.gc()
    return failed


def cmd_inspect(argv: list[str], name: str = "image inspect") -> int:
    p = _parser(name, "[OPTIONS] IMAGE [IMAGE...]")
    p.add_argument("-f", "--format")
    p.add_argument("images", nargs="+")
    a = p.parse_args(argv)
    engine = _engine()
    out, failed = [], 0
    for ref in a.images:
        try:
            img = engine.store.resolve(ref)
        except EngineError:
            failed = 1
            print(f"Error response from daemon: No such image: {ref}", file=sys.stderr)
            continue
        assert img.manifest.config is not None
        parsed = refs.parse(img.ref)
        cfg = img.config
        out.append({
            "Id": img.manifest.config.digest,
            "RepoTags": [r for r, d in engine.store.references().items()
                         if d.digest == img.descriptor.digest],
            "RepoDigests": [f"{parsed.name}@{img.descriptor.digest}"] if parsed.registry else [],
            "Created": cfg.get("created", ""),
            "Config": cfg.get("config", {}),
            "Architecture": cfg.get("architecture", ""),
            "Os": cfg.get("os", ""),
            "Size": img.manifest.layers_size,
            "RootFS": {"Type": "layers", "Layers": cfg.get("rootfs", {}).get("diff_ids", [])},
            "Metadata": {"Engine": "labkit builtin", "ManifestDigest": img.descriptor.digest},
        })
    if a.format:
        raise Failure("docker image inspect --format: not in the built-in engine's subset "
                      "(it prints the whole JSON)", 125, SUBSET)
    _out(json.dumps(out, indent=4))
    return failed


def cmd_version(argv: list[str]) -> int:
    _parser("version", "").parse_args(argv)
    _out(f"Client: labkit built-in engine\n Version:           {_kit_version}\n"
         f" Python:            {sys.version.split()[0]}\n Command:           "
         f"{sys.executable} -m labkit.engines.builtin.cli\n\n"
         "Server: none (labkit's built-in engine is daemonless)\n"
         f" Store:             {BuiltinEngine().home}\n"
         f" Supports:          {', '.join(SUPPORTED)}")
    return 0


def cmd_info(argv: list[str]) -> int:
    _parser("info", "").parse_args(argv)
    engine = _engine()
    _out("Client:\n Context:    labkit built-in engine (no Docker Engine, no containers)\n"
         f"\nServer:\n Images: {len(engine.store.references())}\n"
         f" Store: {engine.home}\n Credentials: {engine.credentials.path}\n"
         f" Supports: {', '.join(SUPPORTED)}")
    return 0


IMAGE_SUB: dict[str, Callable[[list[str]], int]] = {
    "ls": lambda a: cmd_images(a, "image ls"),
    "list": lambda a: cmd_images(a, "image ls"),
    "rm": lambda a: cmd_rmi(a, "image rm"),
    "remove": lambda a: cmd_rmi(a, "image rm"),
    "inspect": cmd_inspect,
    "tag": cmd_tag,
    "push": cmd_push,
    "pull": cmd_pull,
    "build": cmd_build,
}
COMMANDS: dict[str, Callable[[list[str]], int]] = {
    "login": cmd_login, "logout": cmd_logout, "build": cmd_build, "tag": cmd_tag,
    "push": cmd_push, "pull": cmd_pull, "images": cmd_images, "rmi": cmd_rmi,
    "inspect": lambda a: cmd_inspect(a, "inspect"), "version": cmd_version, "info": cmd_info,
}


def dispatch(argv: list[str]) -> int:
    if argv[:1] in (["--version"], ["-v"]):
        _out(f"labkit built-in engine {_kit_version} (docker CLI subset)")
        return 0
    if argv[:1] == ["--config"] and len(argv) > 1:  # docker's global option
        os.environ["DOCKER_CONFIG"] = argv[1]
        argv = argv[2:]
    if not argv or argv[0] in ("-h", "--help", "help"):
        _out("Usage:  docker COMMAND\n\n" + SUBSET)
        return 0
    command, rest = argv[0], argv[1:]
    if command == "image":
        if not rest or rest[0] not in IMAGE_SUB:
            sub = rest[0] if rest else ""
            raise Failure(f"docker image {sub}: not in the built-in engine's subset".strip(),
                          1, SUBSET)
        return IMAGE_SUB[rest[0]](rest[1:])
    if command.startswith("-"):
        raise Failure(f"unknown flag: {command}\nSee 'docker --help'.", 125, SUBSET)
    if command not in COMMANDS:
        raise Failure(f"docker {command}: not in the built-in engine's subset", 1, SUBSET)
    return COMMANDS[command](rest)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one docker command; failures print docker's message and a hint, never a traceback."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        return dispatch(args)
    except Failure as f:
        print(str(f), file=sys.stderr)
        if f.hint:
            print(f.hint if f.hint.startswith("hint:") else f"hint: {f.hint}", file=sys.stderr)
        return f.code
    except EngineError as e:
        print(e.args[0], file=sys.stderr)
        line = _hint_line(e)
        if line:
            print(line, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
