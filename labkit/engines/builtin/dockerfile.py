"""Parse the Dockerfile subset the built-in builder supports, refusing the rest by name and line.

Supported: FROM, COPY, ENV, WORKDIR, CMD, ENTRYPOINT, LABEL. Anything else (RUN, ADD, ARG, ...)
needs a container runtime or is out of scope, so it is an EngineError naming it.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass

from ..base import EngineError

SUPPORTED = ("FROM", "COPY", "ENV", "WORKDIR", "CMD", "ENTRYPOINT", "LABEL")
_DIRECTIVE_RE = re.compile(r"^#\s*[a-zA-Z]+\s*=")


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case
    args: str  # the rest of the line, continuations joined
    line: int  # 1-based line where the instruction starts
    original: str  # as written, for history's created_by

    def error(self, message: str, hint: str = "") -> EngineError:
        return EngineError(f"Dockerfile line {self.line}: {self.keyword}: {message}", hint=hint)


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Join backslash continuations; drop comments and blank lines (keeping line numbers)."""
    out: list[tuple[int, str]] = []
    buf: list[str] = []
    start = 0
    for n, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not buf and (not stripped or stripped.startswith("#")):
            continue
        if buf and stripped.startswith("#"):
            continue  # comment lines inside a continuation are removed, as docker does
        if not buf:
            start = n
        if stripped.endswith("\\"):
            buf.append(stripped[:-1].strip())
            continue
        buf.append(stripped)
        out.append((start, " ".join(x for x in buf if x)))
        buf = []
    if buf:
        out.append((start, " ".join(x for x in buf if x)))
    return out


def parse(text: str) -> list[Instruction]:
    """Instructions in order; raises EngineError for anything outside the subset."""
    result: list[Instruction] = []
    for line, content in _logical_lines(text):
        keyword, _, args = content.partition(" ")
        kw = keyword.upper()
        if kw not in SUPPORTED:
            raise EngineError(
                f"Dockerfile line {line}: {kw} is not supported by the built-in engine",
                hint=f"it builds only {', '.join(SUPPORTED)}; use the Docker engine "
                     "(LABKIT_ENGINE=docker) for anything else")
        result.append(Instruction(kw, args.strip(), line, content))
    if not result or result[0].keyword != "FROM":
        where = result[0].line if result else 1
        raise EngineError(f"Dockerfile line {where}: the first instruction must be FROM")
    if sum(1 for i in result if i.keyword == "FROM") > 1:
        second = [i for i in result if i.keyword == "FROM"][1]
        raise second.error("multi-stage builds are not supported by the built-in engine",
                           hint="use one FROM, or the Docker engine")
    return result


def flags(ins: Instruction) -> tuple[dict[str, str], str]:
    """Split leading `--name=value` flags from the arguments."""
    found: dict[str, str] = {}
    rest = ins.args
    while rest.startswith("--"):
        token, _, rest = rest.partition(" ")
        name, _, value = token[2:].partition("=")
        found[name] = value
        rest = rest.lstrip()
    return found, rest


def json_or_words(ins: Instruction, args: str | None = None) -> tuple[list[str], bool]:
    """Exec form (a JSON array) if it parses as one, else shell words; returns (items, is_json)."""
    text = ins.args if args is None else args
    if text.startswith("["):
        try:
            items = json.loads(text)
        except ValueError:
            items = None
        if isinstance(items, list) and all(isinstance(x, str) for x in items):
            return items, True
    try:
        return shlex.split(text), False
    except ValueError as e:
        raise ins.error(f"cannot parse arguments: {e}") from None


def key_values(ins: Instruction) -> list[tuple[str, str]]:
    """`k=v k2="v 2"` pairs (ENV, LABEL), and the legacy `ENV key value` form."""
    try:
        words = shlex.split(ins.args)
    except ValueError as e:
        raise ins.error(f"cannot parse arguments: {e}") from None
    if not words:
        raise ins.error("needs at least one key=value")
    if "=" not in words[0]:
        if ins.keyword != "ENV" or len(words) < 2:
            raise ins.error(f"expected key=value, got {words[0]!r}")
        key, _, value = ins.args.strip().partition(" ")
        return [(key, " ".join(shlex.split(value.strip())) if value.strip() else "")]
    pairs = []
    for w in words:
        key, eq, value = w.partition("=")
        if not eq or not key:
            raise ins.error(f"expected key=value, got {w!r}")
        pairs.append((key, value))
    return pairs


_VAR_RE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


def expand(text: str, env: dict[str, str]) -> str:
    """`$VAR` and `${VAR}` from the build's ENV, as docker expands them in ENV/WORKDIR/COPY."""
    return _VAR_RE.sub(lambda m: env.get(m.group(1) or m.group(2), ""), text)
