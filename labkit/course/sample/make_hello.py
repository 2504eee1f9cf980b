"""Generate the sample app's tiny static linux/amd64 programs (`app/hello` in v1 and v2).

The image has no shell or libc, so its CMD is a tiny (under 200 bytes) ELF that calls write(2)
and exit(2) directly. The bytes are committed; a test checks they equal what this script produces.
Run `python -m labkit.course.sample.make_hello` to regenerate them.
"""

from __future__ import annotations

import struct
from pathlib import Path

LOAD_ADDRESS = 0x400000
_EHDR_SIZE = 64
_PHDR_SIZE = 56


def hello_elf(message: str) -> bytes:
    """A static x86-64 ELF executable that prints `message` and exits 0."""
    text = message.encode()
    if len(text) > 255:
        raise ValueError("message too long for this tiny program")
    code = b"".join([
        b"\xb8\x01\x00\x00\x00",  # mov eax, 1 (write)
        b"\xbf\x01\x00\x00\x00",  # mov edi, 1 (stdout)
        b"\x48\x8d\x35" + struct.pack("<i", 16),  # lea rsi, [rip+16] -> the message
        b"\xba" + struct.pack("<I", len(text)),  # mov edx, len
        b"\x0f\x05",  # syscall
        b"\xb8\x3c\x00\x00\x00",  # mov eax, 60 (exit)
        b"\x31\xff",  # xor edi, edi
        b"\x0f\x05",  # syscall
    ])
    entry = LOAD_ADDRESS + _EHDR_SIZE + _PHDR_SIZE
    total = _EHDR_SIZE + _PHDR_SIZE + len(code) + len(text)
    ehdr = (b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
            + struct.pack("<HHIQQQIHHHHHH", 2, 0x3E, 1, entry, _EHDR_SIZE, 0, 0,
                          _EHDR_SIZE, _PHDR_SIZE, 1, 0, 0, 0))
    phdr = struct.pack("<IIQQQQQQ", 1, 5, 0, LOAD_ADDRESS, LOAD_ADDRESS, total, total, 0x1000)
    return ehdr + phdr + code + text


def message(version: int) -> str:
    return f"Hello from hello-app v{version}\n"


def expected() -> dict[Path, bytes]:
    """Each committed program and the bytes it must hold."""
    here = Path(__file__).parent
    return {here / "hello-app" / f"v{v}" / "app" / "hello": hello_elf(message(v)) for v in (1, 2)}


def main() -> None:
    for path, data in expected().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.chmod(0o755)
        print(f"wrote {path} ({len(data)} bytes)")


if __name__ == "__main__":
    main()
