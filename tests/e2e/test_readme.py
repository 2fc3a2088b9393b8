"""Issue 14: every snippet of README.md runs as written, on its own, in a fresh shell or Python at the
repository root.

Each fenced block is one of:
- ```text: not code (command-line synopses, the layout); never run;
- ```toml / ```yaml: configuration (a `--config` file, a CI workflow); not run here, but
  tests/e2e/test_packaging.py checks each against the binary;
- ```sh / ```python: run in a fresh `bash` (`-e -o pipefail`) or `python3` with a clean environment
  (PATH and an empty HOME only: no AWS variables, no ~/.aws) and the repository root as working
  directory; it must exit 0;
- a block preceded by `<!-- readme-test: server -->` or `<!-- readme-test: dev-server -->`: a command
  that starts a server (`cargo run --release -p coffer -- serve ARGS`). The test starts the same
  `serve ARGS` itself, with the binary the other tests use, rather than build a release binary;
- a block preceded by `<!-- readme-test: skip (REASON) -->`: not run, for the reason given.

The one rewrite of a snippet: the server's documented address (`127.0.0.1:4566`, or the dev server's
`--listen` address) becomes the address the test's server got on port 0, and `coffer-data` becomes that
server's data directory in a temporary folder. Tests bind no fixed port, and a `coffer-data/` the
reader may have in the repository must never be touched.
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

import pytest

from conftest import REPO, Server

README = REPO / "README.md"
MARKER = re.compile(r"^<!-- readme-test: (server|dev-server|skip \((?P<reason>[^)]+)\)) -->$")
RUNNERS = {"sh": ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-s"], "python": ["python3", "-"]}
SERVER_COMMAND = ["cargo", "run", "--release", "-p", "coffer", "--", "serve"]
DEFAULT_ADDRESS = "127.0.0.1:4566"


class Block:
    def __init__(self, line, lang, text, marker):
        self.line, self.lang, self.text, self.marker = line, lang, text, marker

    @property
    def id(self):
        return f"README.md:{self.line}"


def blocks():
    """The fenced blocks of README.md, each with the `readme-test` marker right above it, if any."""
    found, lines = [], README.read_text().splitlines()
    i = 0
    while i < len(lines):
        fence = re.match(r"^```(\S*)$", lines[i])
        if not fence:
            i += 1
            continue
        start, body = i, []
        i += 1
        while lines[i] != "```":
            body.append(lines[i])
            i += 1
        i += 1
        above = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        marker = MARKER.match(above)
        found.append(Block(start + 1, fence.group(1), "\n".join(body) + "\n", marker))
    return found


BLOCKS = blocks()


def test_every_block_is_accounted_for():
    assert BLOCKS, "README.md has no fenced blocks"
    for block in BLOCKS:
        assert block.lang in ("text", "toml", "yaml", *RUNNERS), \
            f"{block.id}: fence with `text`, `toml`, `yaml`, `sh` or `python`, not {block.lang!r}"
        if block.marker and block.marker.group(1).startswith("skip"):
            assert block.marker.group("reason").strip(), f"{block.id}: a skipped block says why"


def test_the_two_commands_stay_the_headline():
    text = README.read_text()
    section = text.split("## The two commands\n", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```sh\n(.*?)```", section, re.S)
    assert [c.strip() for c in commands] == [" ".join(SERVER_COMMAND), "./scripts/test"]


def test_contents_links_reach_headings():
    text = README.read_text()
    # GitHub's anchors: lower case, punctuation dropped except `-`, spaces become `-`.
    anchors = {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
               for h in re.findall(r"^#+ (.*)$", text, re.M)}
    links = re.findall(r"\]\(#([^)]+)\)", text)
    assert links and not [link for link in links if link not in anchors], anchors


def serve_args(block):
    """ARGS of a server block's one command `cargo run --release -p coffer -- serve ARGS`."""
    command = shlex.split(block.text)
    assert command[:len(SERVER_COMMAND)] == SERVER_COMMAND, f"{block.id}: not a `{' '.join(SERVER_COMMAND)}` command"
    return command[len(SERVER_COMMAND):]


class Servers:
    """The servers the README's server blocks start, started by the test with the same arguments,
    each before the first snippet below its block runs."""

    def __init__(self):
        self.work = tempfile.mkdtemp(prefix="coffer-readme-")
        self.started = {}  # marker kind -> (Server, documented address)

    def start(self, block):
        kind = block.marker.group(1)
        if kind in self.started:
            return self.started[kind][0]
        args = serve_args(block)
        address = DEFAULT_ADDRESS
        if "--listen" in args:
            at = args.index("--listen")
            address = args[at + 1]
            args = args[:at] + args[at + 2:]
        data_dir = os.path.join(self.work, kind, "coffer-data")
        os.makedirs(os.path.dirname(data_dir))
        # conftest's Server adds `--listen 127.0.0.1:0`, and `--data-dir DIR` for the server that
        # keeps its state there (a dev server given one would keep its state there too).
        self.started[kind] = (Server(args, data_dir=data_dir if kind == "server" else None), address)
        return self.started[kind][0]

    def rewrite(self, block):
        """The snippet with the addresses and the data directory of the servers started above it
        in place of the documented ones."""
        for above in BLOCKS:
            if above.line < block.line and above.marker and above.marker.group(1) in ("server", "dev-server"):
                self.start(above)
        documented = {address: srv for srv, address in self.started.values()}
        text = block.text
        for address in set(re.findall(r"(?:127\.0\.0\.1|localhost):\d+", text)):
            assert address in documented, f"{block.id}: no server block above it serves {address}"
            text = text.replace(address, documented[address].url.split("://", 1)[1])
        if "coffer-data" in text:
            assert "server" in self.started, f"{block.id}: uses coffer-data, but no server block is above it"
            data_dir = self.started["server"][0].data_dir
            text = re.sub(r"(\$PWD/)?coffer-data", lambda _: data_dir, text)
        return text

    def close(self):
        for srv, _ in self.started.values():
            srv.cleanup()
        shutil.rmtree(self.work, ignore_errors=True)


@pytest.fixture(scope="module")
def servers():
    s = Servers()
    yield s
    s.close()


def clean_env(home):
    """What a fresh terminal has, minus anything a reader may have set up for AWS: the PATH (the
    Python running the tests first, so `python3` has boto3 and `aws` is found, and the directory of
    the `coffer` binary the tests use, where `cargo install` would have put one) and an empty HOME
    (no ~/.aws). PYTHONUSERBASE keeps packages that `pip install --user` put under the real HOME
    importable; it carries no AWS settings."""
    import site
    from conftest import coffer_bin
    path = os.pathsep.join([os.path.dirname(sys.executable), os.path.dirname(coffer_bin()),
                            os.environ.get("PATH", "")])
    return {"PATH": path, "HOME": home, "LANG": "C.UTF-8", "PYTHONUSERBASE": site.getuserbase()}


def is_server(block):
    return block.marker is not None and block.marker.group(1) in ("server", "dev-server")


@pytest.mark.parametrize("block", [b for b in BLOCKS if is_server(b)], ids=lambda b: b.id)
def test_server_block_starts(block, servers):
    """The test's equivalent of a block that starts a server comes up and answers."""
    srv = servers.start(block)
    assert srv.proc.poll() is None
    assert srv.url.startswith("http://" if "--dev" in serve_args(block) else "https://")


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.lang in RUNNERS and not b.marker], ids=lambda b: b.id)
def test_snippet_runs_as_written(block, servers, tmp_path):
    code = servers.rewrite(block)
    home = tmp_path / "home"
    home.mkdir()
    out = subprocess.run(RUNNERS[block.lang], input=code, capture_output=True, text=True, cwd=REPO,
                         env=clean_env(str(home)), timeout=120)
    assert out.returncode == 0, f"{block.id} failed:\n{code}\n--- stdout\n{out.stdout}\n--- stderr\n{out.stderr}"
    assert out.stdout.strip(), f"{block.id} printed nothing"
