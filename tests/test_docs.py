"""The examples in the user docs are real: they parse, and they say what the engine does."""

import re
from pathlib import Path

import pytest

from owners.engine import Ownership, load_config

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
