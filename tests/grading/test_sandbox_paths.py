"""What the kernel's sandbox keeps in sight of the Python installation."""

import sys

from autograder.grading.kernel_launcher import paths_the_kernel_needs


def test_a_site_packages_folder_on_sys_path_stays_visible(tmp_path, monkeypatch):
    """A `.pth` line or a `--user` install puts packages outside sys.prefix;
    the kernel needs them (covered, its imports would break halfway)."""
    packages = tmp_path / "other_env" / "lib" / "site-packages"
    packages.mkdir(parents=True)
    monkeypatch.setattr(sys, "path", [*sys.path, str(packages)])
    assert str(packages.resolve()) in paths_the_kernel_needs()


def test_other_sys_path_entries_stay_covered(tmp_path, monkeypatch):
    """A PYTHONPATH entry may be the repository itself (solutions, .git)."""
    repository = tmp_path / "repository"
    repository.mkdir()
    monkeypatch.setattr(sys, "path", [*sys.path, str(repository)])
    assert not any(path == str(repository.resolve()) for path in paths_the_kernel_needs())
