"""Generate the sample app's tiny static programs: linux/amd64 `app/hello` in v1 and v2, and its
linux/arm64 twin (`hello-arm64/app/hello`, what notebook 08 runs on the wrong machine).

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


def hello_elf_arm64(message: str) -> bytes:
    """The same program for linux/arm64 (AArch64): write(2) then exit(2) through `svc #0`.

    On an amd64 machine without an arm64 emulator, the kernel refuses to run it:
    `exec format error`."""
    text = message.encode()
    if len(text) > 255:
        raise ValueError("message too long for this tiny program")

    def movz(reg: int, value: int) -> bytes:  # MOVZ Xreg, #value
        return struct.pack("<I", 0xD2800000 | (value << 5) | reg)

    svc = struct.pack("<I", 0xD4000001)  # svc #0
    adr_x1 = struct.pack("<I", 0x10000000 | ((28 >> 2) << 5) | 1)  # adr x1, .+28 -> the message
    code = b"".join([
        movz(0, 1),  # x0 = 1 (stdout)
        adr_x1,
        movz(2, len(text)),  # x2 = len
        movz(8, 64),  # x8 = 64 (write)
        svc,
        movz(0, 0),  # x0 = 0
        movz(8, 93),  # x8 = 93 (exit)
        svc,
    ])
    assert len(code) == 32  # the adr above points 28 bytes past itself (the 2nd instruction)
    entry = LOAD_ADDRESS + _EHDR_SIZE + _PHDR_SIZE
    total = _EHDR_SIZE + _PHDR_SIZE + len(code) + len(text)
    ehdr = (b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
            + struct.pack("<HHIQQQIHHHHHH", 2, 0xB7, 1, entry, _EHDR_SIZE, 0, 0,
                          _EHDR_SIZE, _PHDR_SIZE, 1, 0, 0, 0))
    phdr = struct.pack("<IIQQQQQQ", 1, 5, 0, LOAD_ADDRESS, LOAD_ADDRESS, total, total, 0x10000)
    return ehdr + phdr + code + text


ARM64_MESSAGE = "Hello from hello-app v1 (linux/arm64)\n"


def message(version: int) -> str:
    return f"Hello from hello-app v{version}\n"


def expected() -> dict[Path, bytes]:
    """Each committed program and the bytes it must hold."""
    here = Path(__file__).parent
    out = {here / "hello-app" / f"v{v}" / "app" / "hello": hello_elf(message(v)) for v in (1, 2)}
    out[here / "hello-arm64" / "app" / "hello"] = hello_elf_arm64(ARM64_MESSAGE)
    return out


def main() -> None:
    for path, data in expected().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.chmod(0o755)
        print(f"wrote {path} ({len(data)} bytes)")


if __name__ == "__main__":
    main()
