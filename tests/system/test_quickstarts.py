"""The quick starts and the README's "In short" run as written, in a brand-new project, against ``runserver``.

A reader copies these pages block by block; so does this test. The wheel is
built as ``make dist`` builds it (``.ci/dist.py build``) and installed into a
fresh venv, shared by the pages; each page gets a new directory and two
shells, as a reader has two terminals, and every block of the page (of its
section, for the README and the home page) is used in the order the page
gives it.

How a page says what each fenced block is (the convention; it renders as a
caption over the block in MkDocs' Material theme, and GitHub shows the
block plain): the info string carries a title, e.g.
```` ```python title="mysite/settings.py (add at the end)" ````.

- ``title="install"``: the install command. It names the git route (``GIT_URL``);
  the test installs the built wheel in its stead, the route the page gives
  beside it, since the repository the URL names may not be reachable from here.
- ``title="terminal 1"``: run in the first shell (the venv active, like a
  reader's). A last line ``python manage.py runserver`` starts the server in
  the background on a free port instead of 8000, and the test waits until it
  answers.
- ``title="terminal 2"``: run in the second shell, with ``127.0.0.1:8000``
  read as the server's port. ``curl`` there is a shell function that runs the
  real curl and keeps each answer (status, headers, body). The answer a page
  documents for a call is the comment right below the command (no blank line
  between) or at the end of its line: below an ``echo``, that of the last
  curl call so far. A comment after a blank line is narrative. In an answer:
  a leading status (``# 401 {...}``) must be the status, else it must be a
  2xx; every quoted name (``"access"``, ``"kind": ...``) must be a key of the
  JSON body at any depth; the values of ``VALUE_KEYS`` given in full must be
  those values; ``{``/``[`` as the first character says the body's shape; a
  ``Set-Cookie: name=…; HttpOnly; Path=/`` line must match a cookie set with
  those attributes.
- ``title="PATH (add at the end)"``: appended to PATH, relative to the first
  shell's directory (a bare ``settings.py`` or ``urls.py``: the project's).

A block with any other title, or none, fails the test: every block of these
pages runs. The README and the home page assume a project: the test makes
one (``django-admin startproject mysite``) before their blocks.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import venv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ..conftest import require_programs
from ..redis_server import spare_port

pytestmark = pytest.mark.system

ROOT = Path(__file__).resolve().parents[2]
GIT_URL = "git+https://github.com/OWNER/dualauth@main"
VALUE_KEYS = {"kind", "code", "detail", "current", "revoked", "username", "email", "transport"}
APPEND = re.compile(r"^(?P<path>[\w./-]+) \(add at the end\)$")
RUNSERVER = "python manage.py runserver"
DONE = "@@dualauth-block-done@@"


@dataclass
class Block:
    lang: str
    title: str | None
    text: str
    line: int

    def where(self, page: str) -> str:
        return f"{page}:{self.line} ({self.title or 'no title'})"


@dataclass(frozen=True)
class Page:
    path: str
    section: str | None = None  # a "## " heading: only its blocks; None: the whole page
    project: bool = True  # the page starts its own project (startproject); else the test makes one

    def __str__(self) -> str:
        return self.path + (f"#{self.section}" if self.section else "")

    def blocks(self) -> list[Block]:
        lines = (ROOT / self.path).read_text().splitlines()
        start, end = 0, len(lines)
        if self.section:
            start = lines.index(f"## {self.section}")
            end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        blocks, i = [], start
        while i < end:
            fence = re.match(r"^```(\w*)(.*)$", lines[i])
            if not fence:
                i += 1
                continue
            title = re.search(r'title="([^"]*)"', fence[2])
            body_end = lines.index("```", i + 1)
            blocks.append(Block(fence[1], title[1] if title else None, "\n".join(lines[i + 1 : body_end]), i + 1))
            i = body_end + 1
        return blocks


PAGES = [
    Page("docs/quickstart/session.md"),
    Page("docs/quickstart/jwt.md"),
    Page("docs/quickstart/hybrid.md"),
    Page("README.md", "In short", project=False),
    Page("docs/index.md", "Install in your project", project=False),
]


class Shell:
    """One bash, fed a block at a time, as a reader's terminal: its variables, functions and directory persist."""

    def __init__(self, cwd: Path, env: dict[str, str], name: str) -> None:
        self.name = name
        self.transcript: list[str] = []
        self.process = subprocess.Popen(
            ["bash", "--noprofile", "--norc"],
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.run("set -e -o pipefail")

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def run(self, script: str, timeout: float = 180) -> str:
        assert self.process.stdin is not None
        self.transcript.append(f"$ {script}")
        self.process.stdin.write(f"{script}\necho {DONE}\n")
        self.process.stdin.flush()
        out: list[str] = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"{self.name}: no end after {timeout} s\n{self.tail()}") from None
            if line is None:
                self.transcript.append("".join(out))
                raise AssertionError(f"{self.name}: the shell stopped (a command failed)\n{self.tail()}")
            if line.rstrip("\n").endswith(DONE):  # a body without a final newline puts it at the end of its line
                out.append(line.rstrip("\n").removesuffix(DONE))
                self.transcript.append("".join(out))
                return "".join(out)
            out.append(line)

    def cwd(self) -> Path:
        return Path(self.run("pwd").strip())

    def tail(self) -> str:
        return "\n".join(self.transcript)[-6000:]

    def close(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)


# curl as a reader runs it, each answer kept: the headers (-D, last so that it wins over a page's own -D -), the
# body (what curl writes, through tee).
CURL_RECORDER = r"""
printf 0 > "$CURL_LOG/count"
curl() {
    local n; n=$(( $(cat "$CURL_LOG/count") + 1 )); printf '%s' "$n" > "$CURL_LOG/count"
    printf '%s\n' "$*" > "$CURL_LOG/$n.args"
    command curl "$@" -D "$CURL_LOG/$n.headers" | tee "$CURL_LOG/$n.body"
}
"""


@dataclass
class Call:
    """A curl call of a page and the answer its comments document."""

    command: str
    comment: list[str] = field(default_factory=list)


def calls_of(block: Block) -> list[Call]:
    calls: list[Call] = []
    logical = block.text.replace("\\\n", " ").splitlines()
    answering = False  # comment lines right below a command answer the last call so far
    for line in logical:
        stripped = line.strip()
        if not stripped:
            answering = False
        elif stripped.startswith("#"):
            if answering and calls:
                calls[-1].comment.append(stripped.lstrip("# "))
        else:
            command, _, trailing = line.partition(" # ")
            found = len(re.findall(r"(?:^|[\s;(|&])curl\s", command))
            calls.extend(Call(command.strip()) for _ in range(found))
            if trailing and calls:
                calls[-1].comment.append(trailing.strip())
            answering = True
    return calls


def find_keys(body: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(body, dict):
        for key, value in body.items():
            yield key, value
            yield from find_keys(value)
    elif isinstance(body, list):
        for item in body:
            yield from find_keys(item)


def check_answer(call: Call, status: int, headers: str, raw: str) -> list[str]:
    """What differs between the answer the page documents for ``call`` and the one it got."""
    text = " ".join(line for line in call.comment if not line.startswith("Set-Cookie: "))
    cookie_lines = [line.removeprefix("Set-Cookie: ") for line in call.comment if line.startswith("Set-Cookie: ")]
    problems = []
    documented = re.match(r"(\d{3})\b", text)
    if documented and status != int(documented[1]):
        problems.append(f"status {status}, the page says {documented[1]}")
    if not documented and not 200 <= status < 300:
        problems.append(f"status {status}, the page documents no failure")
    json_text = text[documented.end() :].lstrip() if documented else text
    quoted = re.findall(r'(:\s*)?"([^"]*)"', text)
    if quoted or (json_text[:1] and json_text[:1] in "{["):
        try:
            body = json.loads(raw)
        except ValueError:
            return [*problems, f"the body is not JSON: {raw[:200]!r}"]
        if json_text[:1] == "{" and not isinstance(body, dict):
            problems.append(f"the page shows an object, the body is {type(body).__name__}")
        if json_text[:1] == "[" and not isinstance(body, list):
            problems.append(f"the page shows a list, the body is {type(body).__name__}")
        present = dict(find_keys(body))
        values: dict[str, set[str]] = {}
        for key, value in find_keys(body):
            values.setdefault(key, set()).add(json.dumps(value))
        for name in (name for colon, name in quoted if not colon and re.fullmatch(r"[A-Za-z_]\w*", name)):
            if name not in present:
                problems.append(f"no key {name!r} in {raw[:300]}")
        for key, value in re.findall(r'"(\w+)":\s*("[^"]*"|true|false|null|-?\d+)', text):
            if (
                key in VALUE_KEYS
                and "…" not in value
                and "..." not in value
                and json.dumps(json.loads(value)) not in (values.get(key, set()))
            ):
                problems.append(f"{key} is {sorted(values.get(key, {'absent'}))}, the page says {value}")
    cookies = [line for line in headers.splitlines() if line.lower().startswith("set-cookie:")]
    for documented_cookie in cookie_lines:
        name, *attributes = [part.strip() for part in documented_cookie.split(";")]
        name = name.split("=")[0]
        matching = [c for c in cookies if c.split(":", 1)[1].strip().startswith(f"{name}=")]
        if not matching:
            problems.append(f"no cookie {name} set: {cookies}")
            continue
        got = {part.strip().lower() for part in matching[-1].split(";")[1:]}
        problems += [f"cookie {name} lacks {a}: {matching[-1]}" for a in attributes if a.lower() not in got]
    return problems


@pytest.fixture(scope="module")
def reader_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel ``make dist`` builds installed, as the pages' readers would have."""
    require_programs("bash", "curl", "jq")
    dist = tmp_path_factory.mktemp("dist")
    build = subprocess.run(
        [sys.executable, str(ROOT / ".ci" / "dist.py"), "build", str(dist)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    (wheel,) = dist.glob("dualauth-*-py3-none-any.whl")
    target = tmp_path_factory.mktemp("reader") / "venv"
    venv.create(target, with_pip=True, clear=True)
    install = subprocess.run(
        [str(target / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    return target


def reader_environment(reader_venv: Path) -> dict[str, str]:
    """An activated venv and nothing of this checkout or this test run: no PYTHONPATH, no Django settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTHON", "DJANGO", "VIRTUAL_ENV", "DUALAUTH", "COVERAGE", "PYTEST", "TOX"))
    }
    env["PATH"] = f"{reader_venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(reader_venv)
    return env


def wait_until_serving(port: int, server: Shell, pid: int, log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/auth/csrf/", timeout=5):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
        if server.process.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 0)
            continue
        break
    raise AssertionError(f"runserver did not answer on {port}:\n{log.read_text()[-3000:]}")


def start_server(shell: Shell, port: int, log: Path) -> int:
    """``python manage.py runserver`` from the shell, on ``port``, in a process group of its own (the reloader's)."""
    out = shell.run(f"setsid {RUNSERVER} 127.0.0.1:{port} > {shlex.quote(str(log))} 2>&1 &\necho $!")
    pid = int(out.split()[-1])
    wait_until_serving(port, shell, pid, log)
    return pid


def settings_file(cwd: Path, path: str) -> Path:
    target = cwd / path
    if target.exists() or "/" in path:
        return target
    (package,) = {p.parent for p in cwd.glob(f"*/{path}") if (p.parent / "settings.py").exists()}
    return package / path


@pytest.mark.parametrize("page", PAGES, ids=str)
def test_the_page_runs_as_written(page: Page, reader_venv: Path, tmp_path: Path) -> None:
    blocks = page.blocks()
    assert blocks, f"{page}: no code blocks"
    unknown = [
        b.where(page.path)
        for b in blocks
        if b.title not in ("install", "terminal 1", "terminal 2") and not APPEND.match(b.title or "")
    ]
    assert not unknown, f"blocks that do not say what they are (see this test's docstring): {unknown}"
    installs = [b for b in blocks if b.title == "install"]
    assert installs, f"{page}: no install block"
    for block in installs:
        assert GIT_URL in block.text, f"{block.where(page.path)} does not give the git route {GIT_URL}"

    env = reader_environment(reader_venv)
    curl_log = tmp_path / "curl"
    curl_log.mkdir()
    env["CURL_LOG"] = str(curl_log)
    work = tmp_path / "reader"
    work.mkdir()
    port = spare_port()
    server_log = tmp_path / "runserver.log"
    first, second = Shell(work, env, "terminal 1"), Shell(work, env, "terminal 2")
    server_pid: int | None = None
    try:
        second.run(CURL_RECORDER)
        if not page.project:
            first.run("django-admin startproject mysite\ncd mysite")
        done_calls = 0
        for block in blocks:
            if block.title == "install":
                continue
            if block.title == "terminal 1":
                script = block.text.rstrip()
                last = script.splitlines()[-1]
                serve = last.split(" # ")[0].strip() == RUNSERVER
                assert RUNSERVER not in "\n".join(script.splitlines()[:-1]), f"{block.where(page.path)}: runserver last"
                if serve:
                    script = "\n".join(script.splitlines()[:-1])
                first.run(script)
                if serve:
                    server_pid = start_server(first, port, server_log)
            elif block.title == "terminal 2":
                assert server_pid is not None, f"{block.where(page.path)}: talks to a server no block started"
                calls = calls_of(block)
                second.run(block.text.replace("127.0.0.1:8000", f"127.0.0.1:{port}"))
                made = int((curl_log / "count").read_text())
                assert made == done_calls + len(calls), (
                    f"{block.where(page.path)}: {len(calls)} curl calls written, {made - done_calls} made"
                )
                problems = []
                for number, call in enumerate(calls, start=done_calls + 1):
                    headers = (curl_log / f"{number}.headers").read_text()
                    statuses = re.findall(r"^HTTP/[\d.]+ (\d{3})", headers, re.MULTILINE)
                    body = (curl_log / f"{number}.body").read_text()
                    problems += [
                        f"{call.command}\n    {problem}"
                        for problem in check_answer(call, int(statuses[-1]), headers, body)
                    ]
                done_calls = made
                assert not problems, f"{block.where(page.path)}: answers unlike the page's:\n" + "\n".join(problems)
            else:
                match = APPEND.match(block.title or "")
                assert match
                target = settings_file(first.cwd(), match["path"])
                assert target.exists(), f"{block.where(page.path)}: no {target} to add to"
                with target.open("a") as file:
                    file.write("\n\n" + block.text + "\n")
        if server_pid is None:
            # The README and the home page end on migrate and check; the project they wired must also serve.
            server_pid = start_server(first, port, server_log)
    finally:
        if server_pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server_pid, signal.SIGTERM)
        first.close()
        second.close()
