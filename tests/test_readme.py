"""The README's Quickstart is the contract with a new user: keep it true."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _quickstart_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8") + "\n# end"
    section = re.search(r"^#+\s*Quick\s*-?start.*?$(.*?)(?=^#+\s)", text, re.M | re.S | re.I)
    assert section, "README.md has no Quickstart section"
    block = re.search(r"```[a-z]*\n(.*?)```", section.group(1), re.S)
    assert block, "the Quickstart section has no code block"
    lines = block.group(1).replace("\\\n", " ").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def test_quickstart_holds_two_commands_install_and_demo_then_tests():
    commands = _quickstart_commands()
    assert len(commands) == 2
    assert "pip install" in commands[0] and "skmmat demo" in commands[0]
    assert "pip install" in commands[1] and "pytest" in commands[1]


def test_ci_runs_the_readme_test_command_verbatim():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert _quickstart_commands()[1] in ci.splitlines()


def test_console_script_points_at_the_cli():
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'skmmat = "skmmat.cli:main"' in pyproject
