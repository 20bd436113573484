"""The README, run as a newcomer runs it: every command block, pasted with the credentials
`kessai serve --demo` printed, against that server, in a directory laid out like the checkout (its
`.venv` and its `var/`). The only edits are the ones the README asks the reader to make (the `…`
credentials), the ports (a free one instead of 8080 and 8000, which may be taken here) and the
file `answer` keeps the last answer in (one per run: test runs may go on side by side).

Not run here: the first block (`make run`, `make test`) and the Development block (`make …`,
`.ci/run`); `.ci/fresh-machine` runs the README's two commands on a fresh clone, and CI is CI.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
VENV = Path(sys.executable).parent.parent
BLOCK = re.compile(r"^```(sh|python)\n(.*?)^```", re.S | re.M)

pytestmark = pytest.mark.slow


@dataclass
class Block:
    language: str
    text: str
    section: str


def readme_blocks() -> list[Block]:
    text = README.read_text()
    blocks = []
    for match in BLOCK.finditer(text):
        headings = re.findall(r"^#+ (.+)$", text[: match.start()], re.M)
        blocks.append(Block(match[1], match[2], headings[-1] if headings else ""))
    return blocks


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Demo:
    home: Path
    base_url: str
    port: int
    receiver_port: int
    creds: dict[str, str]
    processes: list[subprocess.Popen[bytes]]
    last_output: Path | None = None

    def paste(self, text: str) -> str:
        """The block as the reader pastes it: credentials filled in, on this run's ports."""
        for name in ("connect_id", "connect_password"):
            text = text.replace(f"{name}=…", f"{name}={self.creds[name]}")
            text = text.replace(f'{name}="…"', f'{name}="{self.creds[name]}"')
        text = text.replace(
            "KESSAI_NOTIFICATION_HASH_KEY=…",
            "KESSAI_NOTIFICATION_HASH_KEY=" + self.creds["notification_hash_key"],
        )
        text = text.replace("/tmp/kessai-answer", str(self.home / "kessai-answer"))
        text = text.replace("127.0.0.1:8080", f"127.0.0.1:{self.port}")
        text = text.replace('("127.0.0.1", 8000)', f'("127.0.0.1", {self.receiver_port})')
        return text.replace("127.0.0.1:8000", f"127.0.0.1:{self.receiver_port}")

    def run(self, language: str, text: str, *, env: dict[str, str] | None = None) -> str:
        """Run a block in the checkout-like directory; its output (the background jobs' too) is
        read from a file, so a job it leaves running never holds the test."""
        out = self.home / f"block{len(self.processes)}.out"  # its own: background jobs keep theirs
        self.last_output = out
        with out.open("wb") as sink:
            command = (
                ["bash", "-euo", "pipefail", "-c", text]
                if language == "sh"
                else [str(VENV / "bin" / "python"), "-c", text]
            )
            process = subprocess.Popen(
                command,
                cwd=self.home,
                env={**os.environ, "KESSAI_LOG_LEVEL": "WARNING", **(env or {})},
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            self.processes.append(process)
            code = process.wait(timeout=120)
        output = out.read_text()
        assert code == 0, f"exit {code}:\n{text}\n---\n{output}"
        return output


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    home = tmp_path_factory.mktemp("checkout")
    (home / ".venv").symlink_to(VENV)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KESSAI_")}
    log = (home / "serve.log").open("wb")
    server = subprocess.Popen(
        [str(VENV / "bin" / "kessai"), "serve", "--demo", "--port", str(port)],
        cwd=home,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{base_url}/health").status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    else:
        pytest.fail((home / "serve.log").read_text())
    creds = json.loads((home / "var" / "demo-merchant.json").read_text())
    running = Demo(home, base_url, port, free_port(), creds, [server])
    yield running
    for process in running.processes:
        if process.poll() is None or process is not server:
            with_group(process.pid, signal.SIGTERM)
    server.wait(timeout=30)
    log.close()


def with_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def answers(output: str) -> list[str]:
    """Every `result=` line of the output: one per telegram answered."""
    return re.findall(r"^result=(\d)", output, re.M)


def session_blocks() -> list[Block]:
    """The blocks run against the demo server, in README order (later ones use K, answer and
    field from Try it, and the SDK's test clock moves the demo merchant's time, as for a reader)."""
    skipped = ("Kessai (決済)", "Development", "Operating it")
    return [block for block in readme_blocks() if block.section not in skipped]


def test_the_readme_has_the_blocks_this_test_knows():
    sections = [block.section for block in readme_blocks()]
    assert sections.count("Operating it") == 1
    assert len(session_blocks()) >= 15


def test_every_session_block_runs_as_pasted(demo):
    prelude = ""  # K, U, answer, field, PATH: defined once, kept for the next blocks
    for block in session_blocks():
        text = demo.paste(block.text)
        if block.language == "python" and "HTTPServer" in text:
            (demo.home / "receiver.py").write_text(text)  # "saved as receiver.py"
            continue
        env = {"KESSAI_HASH_KEY": demo.creds["hash_key"]}
        output = demo.run(
            block.language, prelude + text if block.language == "sh" else text, env=env
        )
        if block.language == "sh":
            prelude += "".join(line + "\n" for line in text.splitlines() if _defines(line))
            assert "1" not in answers(output), f"{block.section}:\n{text}\n---\n{output}"
            only_definitions = all(_defines(line) for line in text.splitlines())
            assert answers(output) or "kessai" in text or only_definitions, output
        check_block(demo, block, output)


def _defines(line: str) -> bool:
    return bool(re.match(r"^(export |[A-Z]+=|\w+\(\) \{)", line))


def check_block(demo: Demo, block: Block, output: str) -> None:
    """What the README says the block shows."""
    if "telegram_kind=022" in block.text:
        assert "payment_status=40" in output  # captured, then inquired
        assert re.search(r"^acq_name=\S", output, re.M)  # readable: decoded from Windows-31J
    if "telegram_kind=050" in block.text:
        assert output.count("payment_status=40") == 1
    if block.language == "python" and "/v/u/request?" in block.text:
        url = output.strip().splitlines()[-1]
        assert httpx.get(url, follow_redirects=True).status_code == 200
    if "receiver.py &" in block.text:
        deadline = time.monotonic() + 60
        delivered = re.compile(r"^notice \d+ order9 20$", re.M)
        while not delivered.search(output) and time.monotonic() < deadline:
            time.sleep(0.5)
            assert demo.last_output is not None
            output = demo.last_output.read_text()
        assert delivered.search(output), output
    if "telegram_kind=091" in block.text:
        assert "success_code=" in output
    if "kessai files submit" in block.text:
        shown = json.loads(
            next(line for line in output.splitlines() if '"file_receipt_id"' in line)
        )
        counts = (shown["status"], shown["done_lines"], shown["error_lines"])
        assert counts == ("done", 2, 1), shown
        records = (demo.home / "result.csv").read_bytes().decode("cp932").split("\r\n")
        assert records[0].startswith(f"1,{shown['file_receipt_id']},020,"), records
        assert records[1].startswith("3,2,0,,,") and ",file1," in records[1], records
        assert records[2].startswith("3,3,1,2002,1C01,,file2,"), records
        assert records[3] == "4,2", records
    if "kessai settle close" in block.text:
        closed = json.loads(next(line for line in output.splitlines() if '"lines"' in line))
        card = next(line for line in closed["lines"] if line["payment_type"] == "02")
        assert card["count"] >= 1 and card["fees"] > 0, closed
        assert re.search(r"^order20,\d+,.*,5000,0,172,", output, re.M), output  # 3.25 % + 10
        assert re.search(r"^ok: \d+ entries checked", output, re.M), output


def test_the_readme_placeholders_answer_p002_not_a_system_error(demo):
    """A reader who pastes the first block without filling in `…` is told the credentials are
    wrong (P002), not that the system failed (E001)."""
    try_it = next(block for block in readme_blocks() if block.section == "Try it")
    first = try_it.text.replace("127.0.0.1:8080", f"127.0.0.1:{demo.port}")
    first = first.replace("/tmp/kessai-answer", str(demo.home / "kessai-answer-p002"))
    first = first.split("\nP=", 1)[0]  # K, answer, field and the 020
    output = demo.run("sh", first)
    assert "result=1" in output and "response_code=P002" in output, output


def test_the_operating_block_runs_on_a_fresh_home(tmp_path):
    """The operator's commands, line by line, on a new home: `kessai serve` and `kessai worker`
    keep running (stopped after a few seconds), everything else exits 0."""
    block = next(block for block in readme_blocks() if block.section == "Operating it")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KESSAI_")}
    env |= {
        "KESSAI_HOME": str(tmp_path),
        "KESSAI_LOG_LEVEL": "WARNING",
        "PATH": f"{VENV / 'bin'}:{env['PATH']}",
    }
    for line in block.text.splitlines():
        command = line.split("  #", 1)[0].strip()
        if command.startswith(("kessai serve", "kessai worker")):
            command = command.replace("--port 8443", f"--port {free_port()}")
            result = subprocess.run(
                ["timeout", "8", "bash", "-c", command],
                env=env,
                cwd=tmp_path,
                capture_output=True,
                text=True,
            )
            assert result.returncode == 124, (command, result.stderr)  # still running
            continue
        result = subprocess.run(
            ["bash", "-c", command],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, (command, result.stderr)
