"""Every docstring example of the two packages runs, and none is skipped.

A docstring's `Example:` block is documentation a reader copies, so each one
is run here with `doctest`, module by module, from the repository root
(examples name files such as `tests/files/toy_course`). An `Example:` block
with no example that actually runs (all `+SKIP`, or no `>>>` at all) fails
the test as well: it would be documentation nobody checks.
"""

import doctest
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("course_lib", "autograder")


def module_names():
    names = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            names.append(".".join(parts))
    return names


def runs(example):
    return not example.options.get(doctest.SKIP, False)


@pytest.mark.parametrize("name", module_names())
def test_docstring_examples_run_and_pass(name, monkeypatch):
    monkeypatch.chdir(ROOT)
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=False)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    unchecked = []
    for test in finder.find(module, name, globs=dict(vars(module))):
        if test.docstring and "Example:" in test.docstring:
            if not any(runs(example) for example in test.examples):
                unchecked.append(test.name)
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) of {name} failed (above)"
    assert not unchecked, (f"Example: blocks with nothing that runs in {name}: "
                           f"{', '.join(unchecked)}; give each a real example")
