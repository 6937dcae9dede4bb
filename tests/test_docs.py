"""The examples in the user docs are real: they parse, and they say what the engine does."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from owners.engine import Ownership, load_config, parse_config
from tests.conftest import git

DOCS = Path(__file__).resolve().parent.parent / "docs"
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "nova-OWNERS.yaml"


def yaml_blocks(name: str) -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", (DOCS / name).read_text(), re.DOTALL)


@pytest.mark.parametrize("block", yaml_blocks("format.md"))
def test_every_yaml_example_in_the_format_reference_is_valid(block: str) -> None:
    load_config(block)


def test_the_worked_example_answers_like_the_fixture() -> None:
    *_, example = yaml_blocks("format.md")
    documented, fixture = (
        Ownership(load_config(example)),
        Ownership(load_config(FIXTURE.read_bytes())),
    )
    for path in [
        "nova/compute/api.py",
        "nova/virt/hyperv/driver.py",
        "nova/virt/hyperv/README.rst",
        "nova/virt/driver.py",
        "nova/virt/vmwareapi/vm.py",
        "nova/virt/libvirt/host.py",
        "nova/virt/xenapi/vm.py",
        "OWNERS.yaml",
    ]:
        assert documented.requirements(path) == fixture.requirements(path), path
        for name in documented.requirements(path):
            assert documented.eligible(name) == fixture.eligible(name), (path, name)


# -- the JSON Schema for editors -----------------------------------------------------------------

SCHEMA_FILE = DOCS / "owners.schema.json"
REPO_OWNERS = DOCS.parent / "OWNERS.yaml"


@pytest.fixture(scope="module")
def validator():
    import jsonschema

    schema = json.loads(SCHEMA_FILE.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def test_the_published_schema_is_what_owners_schema_prints() -> None:
    from owners.engine.schema import owners_schema

    assert json.loads(SCHEMA_FILE.read_text()) == owners_schema(), (
        "docs/owners.schema.json is stale: owners schema > docs/owners.schema.json"
    )
    assert SCHEMA_FILE.read_text() == json.dumps(owners_schema(), indent=2) + "\n"


def test_every_key_of_the_schema_has_a_description() -> None:
    """The YAML language server shows these on hover and beside completions."""
    missing = []

    def walk(node: object, where: str) -> None:
        if isinstance(node, dict):
            for name, sub in (node.get("properties") or {}).items():
                if "description" not in sub:
                    missing.append(f"{where}.{name}")
            for key, value in node.items():
                walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for item in node:
                walk(item, where)

    walk(json.loads(SCHEMA_FILE.read_text()), "$")
    assert missing == []


@pytest.mark.parametrize("path", [FIXTURE, REPO_OWNERS], ids=["nova fixture", "this repository"])
def test_valid_files_pass_the_schema(validator, path: Path) -> None:
    assert list(validator.iter_errors(yaml.safe_load(path.read_text()))) == []


@pytest.mark.parametrize("block", yaml_blocks("format.md"))
def test_the_format_reference_examples_pass_the_schema(validator, block: str) -> None:
    assert list(validator.iter_errors(yaml.safe_load(block))) == []


INVALID_ROWS = [
    # (scenario, file) that owners validate rejects and the schema must too
    ("misspelled key", "version: 1\nroot: {owners: [a]}\nsubsystems:\n"
     "  - {name: s, paths: [x/], owner: [a]}\n"),
    ("approvals not an integer", "version: 1\nroot: {owners: [a], approvals: two}\n"),
    ("unknown mode", "version: 1\nroot: {owners: [a]}\nsubsystems:\n"
     "  - {name: s, paths: [x/], owners: [a], mode: enforced}\n"),
    ("no root", "version: 1\n"),
    ("another version", "version: 2\nroot: {owners: [a]}\n"),
    ("owners not a list", "version: 1\nroot: {owners: a}\n"),
    ("a subsystem named root", "version: 1\nroot: {owners: [a]}\nsubsystems:\n"
     "  - {name: root, paths: [x/], owners: [a]}\n"),
    ("a username with a space", "version: 1\nroot: {owners: [a b]}\n"),
    ("a positive veto", "version: 1\npolicy: {veto: 1}\nroot: {owners: [a]}\n"),
    ("empty paths", "version: 1\nroot: {owners: [a]}\nsubsystems:\n"
     "  - {name: s, paths: [], owners: [a]}\n"),
    ("a review_sla without a unit", "version: 1\npolicy: {review_sla: 3}\nroot: {owners: [a]}\n"),
    ("a review_sla in weeks", "version: 1\npolicy: {review_sla: 2w}\nroot: {owners: [a]}\n"),
]


@pytest.mark.parametrize("text", [r[1] for r in INVALID_ROWS], ids=[r[0] for r in INVALID_ROWS])
def test_invalid_files_fail_the_schema_as_they_fail_validation(validator, text: str) -> None:
    assert parse_config(text)[0] is None  # owners validate rejects it
    assert list(validator.iter_errors(yaml.safe_load(text))) != []


# -- the messages the docs quote are the ones `owners validate` prints -------------------------

OWNERS_SCRIPT = Path(sys.executable).parent / "owners"  # the installed console script
QUOTED_MESSAGES = [
    # (scenario, a file with the mistake, the message docs/format.md quotes for it)
    ("a tab", "version: 1\nroot:\n\towners: [a]\n",
     "YAML syntax error: a tab, where YAML allows only spaces"),
    ("an unquoted ! pattern", "version: 1\nroot: {owners: [a]}\nsubsystems:\n"
     "  - name: x\n    owners: [a]\n    paths:\n      - x/\n      - !x/README\n",
     "YAML tags are not allowed (!x/README)"),
    ("an unquoted * pattern", "version: 1\nroot: {owners: [a]}\nsubsystems:\n"
     "  - name: x\n    owners: [a]\n    paths:\n      - *.pyc\n",
     "YAML syntax error: did not find expected alphabetic or numeric character "
     "(while scanning an alias)"),
    ("a typo in a key", "version: 1\nroot: {owners: [a]}\nsubsystems:\n"
     "  - {name: hyperv, owner: [a], paths: [h/]}\n",
     "unknown key 'owner' in subsystem 'hyperv'"),
]


@pytest.mark.parametrize(
    ("text", "quoted"), [r[1:] for r in QUOTED_MESSAGES], ids=[r[0] for r in QUOTED_MESSAGES]
)
def test_the_format_reference_quotes_real_messages(tmp_path: Path, text: str, quoted: str):
    assert f"`{quoted}`" in (DOCS / "format.md").read_text()
    (tmp_path / "OWNERS.yaml").write_text(text)
    done = subprocess.run(
        [OWNERS_SCRIPT, "validate", "--no-tree", "OWNERS.yaml"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert [line.split(": ", 1)[1].split(" (hint")[0] for line in done.stdout.splitlines()] == [
        quoted
    ]


def test_the_cli_reference_validate_example_is_the_real_output(tmp_path: Path):
    """docs/cli.md's `owners validate` example: a typo in the Nova checkout, one line."""
    block = re.search(r"\$ (sed -i .*?) +# a typo\n\$ owners validate\n(.*?)\n\$ echo", (
        DOCS / "cli.md").read_text(), re.DOTALL)
    assert block is not None
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / "OWNERS.yaml").write_bytes(FIXTURE.read_bytes())
    subprocess.run(block[1], shell=True, cwd=tmp_path, check=True)
    done = subprocess.run(
        [OWNERS_SCRIPT, "validate"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stdout.strip()) == (1, block[2])


def test_the_pre_commit_example_names_what_exists():
    """No tag the repository lacks, no branch it lacks in the schema's URL."""
    text = (DOCS / "format.md").read_text()
    rev = re.search(r"^    rev: (\S+)", text, re.MULTILINE)
    assert rev is not None and re.fullmatch(r"[0-9a-f]{40}", rev[1]), "rev must be a commit SHA"
    branch = re.search(r"raw\.githubusercontent\.com/ORG/gerrit-owners/([^/]+)/", text)
    assert branch is not None
    refs = subprocess.run(
        ["git", "for-each-ref", "--format=%(refname:lstrip=-1)", "refs/heads", "refs/remotes"],
        cwd=DOCS.parent, capture_output=True, text=True, check=False,
    ).stdout.split()  # fmt: skip
    if not refs:
        pytest.skip("a checkout without branches (a detached CI checkout)")
    assert branch[1] in refs, f"no branch {branch[1]} in this repository"


def test_the_cli_reference_worktree_example_is_the_real_output(git_repo: Path):
    """docs/cli.md's `owners check` / `owners check --worktree` example, run in a checkout
    with nothing to push and one uncommitted edit, through the installed command."""
    text = (DOCS / "cli.md").read_text()
    block = re.search(r"```console\n(\$ echo '# faster' >> .*?)```", text, re.DOTALL)
    assert block is not None
    git(git_repo, "reset", "-q", "--hard", "origin/master")
    driver = git_repo / "nova/virt/hyperv/driver.py"
    driver.write_text("# driver\n")
    git(git_repo, "add", ".")
    git(git_repo, "commit", "-qm", "driver")
    git(git_repo, "push", "-q", "origin", "HEAD:master")
    git(git_repo, "fetch", "-q")
    commands = re.split(r"^\$ ", block[1], flags=re.MULTILINE)[1:]
    for command in commands:
        line, _, expected = command.partition("\n")
        args = line.split()
        program = OWNERS_SCRIPT if args[0] == "owners" else args[0]
        done = subprocess.run(
            f"{program} {' '.join(args[1:])}", shell=True, cwd=git_repo,
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert done.stdout + done.stderr == expected, line


# -- docs/deployment.md, "With Zuul" ------------------------------------------------------------

ZUUL_YAML = DOCS.parent / "deploy" / "zuul" / "zuul.yaml"


def test_the_documented_gate_pipeline_is_the_one_the_zuul_tests_run() -> None:
    """The gate pipeline shown in docs/deployment.md is the one deploy/devzuul.py gives Zuul
    (tests/e2e/test_zuul.py runs it), key for key."""
    (documented,) = [block for block in yaml_blocks("deployment.md") if "name: gate" in block]
    tested = [item for item in yaml.safe_load(ZUUL_YAML.read_text()) if "pipeline" in item]
    assert yaml.safe_load(documented) in [[pipeline] for pipeline in tested]
