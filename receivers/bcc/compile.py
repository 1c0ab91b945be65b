"""Compiling BCC source, with the compiler's messages pointing at the user's lines.

BCC compiles with clang in-process and prints diagnostics straight to file
descriptor 2, reporting the program as /virtual/main.c (line numbers are the
user's own). We catch fd 2 while compiling and rewrite those locations to the
source file, or, for inline `source: |`, to the YAML file and line.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from collector.config import Position

_VIRTUAL = "/virtual/main.c"
_DIAG = re.compile(re.escape(_VIRTUAL) + r":(\d+):(\d+): ")
_fd2_lock = threading.Lock()


class CompileError(Exception):
    """The program does not compile; the message quotes the compiler at the user's lines."""


@dataclass(frozen=True, slots=True)
class SourceOrigin:
    """Where the C text came from: a file, or a block inside the YAML config."""

    file: str
    first_line: int = 1  # file line of the source's line 1
    indent: int = 0  # columns of YAML indentation before each source line

    @classmethod
    def inline(cls, key: Position | None) -> SourceOrigin:
        """The origin of a `source: |` block whose key sits at `key`."""
        if key is None:
            return cls("<inline source>")
        indent = 0
        try:
            lines = Path(key.file).read_text().splitlines()
            after_key = lines[key.line - 1].split(":", 1)[1].strip() if key.line <= len(lines) else ""
            block = after_key.startswith(("|", ">"))
            first = key.line + 1 if block else key.line
            if block and first <= len(lines):
                body = lines[first - 1]
                indent = len(body) - len(body.lstrip(" "))
        except (OSError, IndexError):
            return cls(key.file, key.line + 1)
        return cls(key.file, first, indent)

    def locate(self, line: int, column: int) -> str:
        return f"{self.file}:{self.first_line + line - 1}:{column + self.indent}"


def compile_bcc(text: str, cflags: list[str], origin: SourceOrigin) -> Any:
    """A compiled and loaded `bcc.BPF` (functions named kprobe__* etc. already attached)."""
    try:
        from bcc import BPF
    except ImportError as exc:  # pragma: no cover - depends on the host
        raise CompileError(
            f"BCC is not importable ({exc}): install Debian's python3-bpfcc and run `make setup`"
        ) from None
    output: list[str] = []
    with captured_stderr(output):
        try:
            bpf = BPF(text=text.encode(), cflags=list(cflags))
            error: Exception | None = None
        except Exception as exc:  # BCC raises bare Exception for compile and attach failures
            bpf, error = None, exc
    if error is not None:
        raise CompileError(explain(error, output[0], origin)) from None
    if output[0].strip():  # warnings, and anything else printed meanwhile
        sys.stderr.write(rewrite(output[0], origin))
    return bpf


@contextlib.contextmanager
def captured_stderr(into: list[str]) -> Iterator[None]:
    """Catch what C code (clang, the verifier log) writes to fd 2; appends it to `into`.
    fd 2 is process-wide, so captures are serialised."""
    with _fd2_lock, tempfile.TemporaryFile(mode="w+b") as capture:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            into.append(capture.read().decode("utf-8", "replace"))


def rewrite(output: str, origin: SourceOrigin) -> str:
    return _DIAG.sub(lambda m: origin.locate(int(m.group(1)), int(m.group(2))) + ": ", output)


def explain(error: Exception, output: str, origin: SourceOrigin) -> str:
    message = str(error)
    if "Failed to compile BPF module" in message:
        diagnostics = rewrite(output, origin).rstrip()
        count = len(re.findall(r": error: ", diagnostics))
        return f"the BCC program does not compile ({count} error{'s' * (count != 1)}):\n{diagnostics}"
    if "kprobe" in message and "attach" in message.lower():
        return (
            f"{message}: this kernel has no kprobes (CONFIG_KPROBES); use a tracepoint__ or raw_tracepoint__ function"
        )
    detail = output.strip().splitlines()[-5:]
    return message + ("\n" + "\n".join("  " + line for line in detail) if detail else "")
