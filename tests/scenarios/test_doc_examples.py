"""Every example in README.md and docs/*.md is executed: CLI commands (as written, with --local),
the curl examples (through the HTTP adapter onto the MAIL FROM API on the emulator, compared with the
answer the page shows), the `aws events put-events` requests (put on the local bus, delivered to
their function), the Python and YAML blocks (policies; exit-org's target-records files), the
approval message formats (against a real message), the CLI synopsis and the project layout. A block
none of these covers fails the test, unless it is listed in NOT_RUN with the reason it cannot run
here."""

from __future__ import annotations

import io
import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from mailwarden.cli import main, parser
from mailwarden.policy import parse_policy
from mailwarden.workmail.cutover import load_target_records
from werkzeug.test import Client

from local.deployment import BUS_NAME, LocalDeployment
from local.issuer import WRITE_SCOPE
from tests.approval_support import OPS, start_approval
from tests.http_adapter import MailFromWsgi
from tests.mail_from_support import identity, zone

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Commands that need what this machine does not have (a git remote, real AWS, the suite itself):
NOT_RUN = {
    "git clone": "needs the repository's remote; the checkout under test is the clone",
    "make demo": "the demo's runner (local.demo) is run by tests/scenarios/test_demo.py",
    "make test": "is this suite",
    "npx cdk diff": "needs an AWS account; the synth it starts from is tests/infra",
    "npx cdk deploy": "needs an AWS account; the synth it starts from is tests/infra",
}


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    lang: str
    text: str

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def blocks() -> list[Block]:
    out = []
    for page in PAGES:
        lines = page.read_text().splitlines()
        i = 0
        while i < len(lines):
            m = re.match(r"^(\s*)```(\w*)\s*$", lines[i])
            if not m:
                i += 1
                continue
            indent, lang, start = len(m.group(1)), m.group(2), i + 1
            i += 1
            body = []
            while not re.match(r"^\s*```\s*$", lines[i]):
                body.append(lines[i][indent:])
                i += 1
            out.append(Block(page.relative_to(ROOT).as_posix(), start, lang, "\n".join(body) + "\n"))
            i += 1
    return out


BLOCKS = blocks()


def commands(text: str) -> list[tuple[str, str, str]]:
    """Shell commands in ``text`` (continuations joined, comments dropped) with their heredoc input."""
    out: list[tuple[str, str, str]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        while True:
            if line.rstrip().endswith("\\"):  # a continuation
                line, i = line.rstrip()[:-1] + " " + lines[i].strip(), i + 1
                continue
            try:
                words = shlex.split(line, comments=True)
            except ValueError:  # a quote still open: the command goes on on the next line
                line, i = line + "\n" + lines[i], i + 1
                continue
            break
        if not words:
            continue
        stdin = ""
        heredoc = re.search(r"<<'?(\w+)'?", line)
        if heredoc:
            end = lines.index(heredoc.group(1), i)
            stdin, i = "\n".join(lines[i:end]) + "\n", end + 1
            words = shlex.split(line[: heredoc.start()], comments=True)
        shown = []  # "# 200 {...}" lines right after the command: the answer the page shows
        while i < len(lines) and lines[i].startswith("# "):
            shown.append(lines[i][2:])
            i += 1
        out.append((line.strip() if not heredoc else line[: heredoc.start()].strip(), stdin, " ".join(shown)))
    return out


def _cli(command: str, stdin: str) -> tuple[int, str, str]:
    argv = shlex.split(command, comments=True)[1:]  # .venv/bin/mailwarden ...
    out, err = io.StringIO(), io.StringIO()
    return main(argv, out=out, err=err, stdin=io.StringIO(stdin)), out.getvalue(), err.getvalue()


def test_every_block_is_recognised():
    runners = {
        "bash": "shell",
        "python": "python",
        "yaml": "policy or target records",
        "json": "approval",
        "text": "approval",
    }
    for block in BLOCKS:
        assert block.lang in (*runners, "", "mermaid"), f"{block.id}: no runner for ```{block.lang}"


# ---------------------------------------------------------------- shell: mailwarden, curl, aws events, make


SHELL = [(b, c, s) for b in BLOCKS if b.lang == "bash" for c, s, _ in commands(b.text)]
SHOWN = {(b.id, c): shown for b in BLOCKS if b.lang == "bash" for c, _, shown in commands(b.text)}
CLI = [x for x in SHELL if x[1].split()[0].endswith("mailwarden")]
OTHER = [x for x in SHELL if x not in CLI]


def _ids(items: list[tuple[Block, str, str]]) -> list[str]:
    return [f"{b.id} {c[:50]}" for b, c, _ in items]


@pytest.mark.parametrize(("block", "command", "stdin"), CLI, ids=_ids(CLI))
def test_cli_examples_run_as_written(block, command, stdin):
    code, out, err = _cli(command, stdin)  # --local: each starts its own emulator with the sample estate
    assert code == 0, f"{block.id}: {command}\n{out}\n{err}"
    # a shell session (the other heredocs are a command's stdin, e.g. exit-org --target-records -): each
    # command did what the page says (offboard waits for the approval)
    if "shell" in shlex.split(command, comments=True):
        codes = re.findall(r"^\[exit (\d+)\] (\S+)", err, re.M)
        assert [w for _, w in codes] == [line.split()[0] for line in stdin.splitlines() if line.strip()], err
        assert all(c == "0" or (c == "4" and w == "offboard") for c, w in codes), err


@pytest.mark.parametrize(("block", "command", "stdin"), OTHER, ids=_ids(OTHER))
def test_shell_examples_run(block, command, stdin, deployment):
    word = command.split()[0]
    if any(command.startswith(prefix) for prefix in NOT_RUN):
        if word == "make":  # the target exists
            assert re.search(rf"^{command.split()[1]}:", (ROOT / "Makefile").read_text(), re.M), command
        return
    if word == "curl":
        return _curl(block, command, deployment)
    if command.startswith("aws events put-events"):
        return _put_events(block, command, deployment)
    pytest.fail(f"{block.id}: no runner for {command!r}")


def _curl(block: Block, command: str, d: LocalDeployment) -> None:
    identity(d, "example.com")
    identity(d, "ops@example.com")
    zone(d)
    if "ops%40example.com" in command:  # the GET example reads an identity whose MAIL FROM was set
        assert (
            d.api(
                "PUT", "/mail-from-attributes", {"identity": "ops@example.com", "mailFromDomain": "bounce.example.com"}
            ).status
            == 200
        )
    token = d.issuer.token((WRITE_SCOPE,), now=d.emu.clock.time())
    words = shlex.split(command.replace("$TOKEN", token).replace("$URL", ""))
    method, headers, data, url = "GET", {}, None, None
    it = iter(words[1:])
    for w in it:
        if w == "-X":
            method = next(it)
        elif w == "-H":
            name, _, value = next(it).partition(":")
            headers[name.strip()] = value.strip()
        elif w == "-d":
            data = next(it)
            method = method if method != "GET" else "POST"
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")  # what curl -d sends
        else:
            url = w
    assert url, command
    d.emu.clock.advance(60)
    resp = Client(MailFromWsgi(d)).open(url, method=method, headers=headers, data=data)
    shown = _answer_shown(block, command)
    if shown is not None:  # the page shows the answer: it is exactly what came back
        status, body = shown
        assert resp.status_code == status, resp.get_data(as_text=True)
        assert json.loads(resp.get_data()) == body
    else:
        assert resp.status_code == 200, resp.get_data(as_text=True)


def _answer_shown(block: Block, command: str) -> tuple[int, Any] | None:
    shown = SHOWN[(block.id, command)]
    if not re.match(r"^\d{3} ", shown):
        return None
    status, body = shown.split(" ", 1)
    return int(status), json.loads(body)


PLACEHOLDERS = {"mailwarden-<stage>": BUS_NAME}  # the pages use the sample estate's names otherwise


def _put_events(block: Block, command: str, d: LocalDeployment) -> None:
    from local.sample import seed_estate

    estate = seed_estate(d)
    entries = shlex.split(command)[shlex.split(command).index("--entries") + 1]
    for placeholder, value in PLACEHOLDERS.items():
        entries = entries.replace(placeholder, value)
    assert estate["organization"] in entries or "WorkMail" not in entries, "the sample estate's organization"
    (entry,) = json.loads(entries)
    d.put_event(entry["Source"], entry["DetailType"], json.loads(entry["Detail"]), bus=entry["EventBusName"])
    delivered = d.deliver()
    assert delivered, f"{block.id}: no rule routed the event"
    for delivery in delivered[:1]:
        assert delivery.result.get("status") != "rejected", (block.id, delivery.result)


# ---------------------------------------------------------------- python, yaml, the approval formats


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.lang == "python"], ids=lambda b: b.id)
def test_python_examples_run(block):
    scope: dict[str, Any] = {}
    exec(compile(block.text, block.id, "exec"), scope)  # the documentation's own example


TARGET_RECORDS = [b for b in BLOCKS if b.lang == "yaml" and re.search(r"^domains:", b.text, re.M)]  # exit-org's file


@pytest.mark.parametrize(
    "block", [b for b in BLOCKS if b.lang == "yaml" and b not in TARGET_RECORDS], ids=lambda b: b.id
)
def test_policy_examples_are_valid_policies(block):
    parse_policy(block.text, block.id)


@pytest.mark.parametrize("block", TARGET_RECORDS, ids=lambda b: b.id)
def test_target_records_examples_are_valid_target_records_files(block):
    # tests/unit/test_cutover.py also plans the one in docs/workmail-exit.md and compares its diff
    assert load_target_records(block.text).domains


def test_the_approval_message_formats_are_what_approvers_get(deployment):
    (text,) = [b for b in BLOCKS if b.lang == "text" and "docs/approvals.md" in b.id]
    (form,) = [b for b in BLOCKS if b.lang == "json" and "docs/approvals.md" in b.id]
    message = start_approval(deployment).message(OPS)
    shown = json.loads(form.text.replace("[…]", "[]"))  # … stands for values
    assert set(shown) == set(message), "the JSON form's keys"
    assert {k: set(v) for k, v in shown.items() if isinstance(v, dict)} == {
        k: set(v) for k, v in message.items() if isinstance(v, dict)
    }
    labels = re.findall(r"^([A-Z][A-Za-z ]+):", text.text, re.M)
    email = message["text"]
    assert labels and all(re.search(rf"^{label}:", email, re.M) for label in labels if label != "Subject"), email


# ---------------------------------------------------------------- untagged blocks: synopsis, layout


def test_the_cli_synopsis_names_only_commands_and_options_the_cli_has():
    (synopsis,) = [b for b in BLOCKS if b.lang == "" and "mailwarden [--local" in b.text]
    p = parser()
    subs = next(a for a in p._actions if a.dest == "command").choices  # type: ignore[attr-defined]
    for line in synopsis.text.splitlines()[1:]:
        word = line.split()[0]
        if word == "mailwarden":
            continue
        assert word in subs, word
        options = set(re.findall(r"(--[a-z-]+)", re.split(r"\s{2,}", line.strip())[0]))
        known = {o for a in subs[word]._actions for o in a.option_strings}
        for action in subs[word]._actions:  # nested: mail-from get|set, approvals list|show
            if isinstance(action.choices, dict):
                known |= {o for sub in action.choices.values() for a in sub._actions for o in a.option_strings}
        assert options <= known, (word, options - known)


def test_the_project_layout_names_paths_that_exist():
    (layout,) = [b for b in BLOCKS if b.lang == "" and "app.py, cdk.json" in b.text]
    for line in layout.text.splitlines():
        if not line.strip() or line.startswith(" "):  # a description's continuation
            continue
        for one in re.split(r"\s{2,}", line.strip())[0].split(", "):
            if "<" not in one and "{" not in one:
                assert (ROOT / one).exists(), one
