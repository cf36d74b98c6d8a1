"""Find the course directory, its assignments and their notebooks.

A course directory holds `solutions/` (instructor sources, with hidden tests)
and/or `assignments/` (released stubs). The repository is one; so is the
folder a student unzips from Canvas, which has only `assignments/`.
"""

import os
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder.grading.config import (RELEASE_DIRECTORY, SOURCE_DIRECTORY,
                                       repository_root)


class CourseSetupError(Exception):
    """A problem with the course files or the user's input (clear message)."""


@dataclass(frozen=True)
class Course:
    """A course directory on disk.

    Args:
        root: The folder holding `solutions/` and/or `assignments/`.
    """

    root: Path

    @property
    def source_directory(self):
        return self.root / SOURCE_DIRECTORY

    @property
    def release_directory(self):
        return self.root / RELEASE_DIRECTORY

    def has_sources(self, assignment):
        """True when the instructor sources (with hidden tests) are present."""
        return any((self.source_directory / assignment).glob("*.ipynb"))

    def assignments(self):
        """Sorted assignment ids found in solutions/ or assignments/."""
        names = set()
        for folder in (self.source_directory, self.release_directory):
            if folder.is_dir():
                names.update(child.name for child in folder.iterdir()
                             if child.is_dir() and any(child.glob("*.ipynb")))
        return sorted(names)

    def notebooks(self, assignment, released=False):
        """Notebook paths of an assignment (sources unless `released`)."""
        if not released and self.has_sources(assignment):
            folder = self.source_directory / assignment
        else:
            folder = self.release_directory / assignment
        return sorted(folder.glob("*.ipynb"))


def looks_like_course(folder):
    folder = Path(folder)
    return (folder / SOURCE_DIRECTORY).is_dir() or (folder / RELEASE_DIRECTORY).is_dir()


def find_course(start=None):
    """Locate the course directory.

    Looks at `$COURSE_DIR`, then `start` and its parents, then the current
    directory and its parents, then the clone the package was installed from.

    Raises:
        CourseSetupError: when no course directory is found.
    """
    if os.environ.get("COURSE_DIR"):
        root = Path(os.environ["COURSE_DIR"]).resolve()
        if looks_like_course(root):
            return Course(root)
        raise CourseSetupError(
            f"COURSE_DIR={root} has neither {SOURCE_DIRECTORY}/ nor "
            f"{RELEASE_DIRECTORY}/. Point it at the unzipped course folder.")
    candidates = []
    for base in (start, Path.cwd()):
        if base is not None:
            base = Path(base).resolve()
            candidates.extend([base, *base.parents])
    for folder in candidates:
        if looks_like_course(folder):
            return Course(folder)
    root = repository_root()
    if root is not None:
        return Course(root)
    raise CourseSetupError(
        "no course directory found (a folder with solutions/ or assignments/). "
        "Run the command inside the unzipped course folder or set COURSE_DIR.")


def grade_ids(notebook):
    """The nbgrader grade_ids of every graded test cell of a notebook node."""
    ids = set()
    for cell in notebook.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution") and meta.get("grade_id"):
            ids.add(meta["grade_id"])
    return ids


def infer_assignment(course, notebook, file_name, assignment=None):
    """Decide which assignment and source notebook a submission belongs to.

    The graded cells' ids identify the notebook even when the student renamed
    the file; the file name is the fallback when the ids were stripped.

    Args:
        course: The `Course`.
        notebook: The submitted notebook node.
        file_name: The submitted file's name, e.g. "project1.ipynb".
        assignment: The id the user gave, or None to infer it.

    Returns:
        `(assignment, notebook_name)` with the name without ".ipynb".

    Raises:
        CourseSetupError: unknown assignment or no match.
    """
    known = course.assignments()
    if assignment is not None and assignment not in known:
        raise CourseSetupError(
            f"unknown assignment {assignment!r}; this course has "
            f"{', '.join(known) or 'no assignments'}. Check the spelling or "
            "leave out --assignment to infer it from the notebook.")
    submitted_ids = grade_ids(notebook)
    best = None
    for name in ([assignment] if assignment else known):
        for path in course.notebooks(name):
            source_ids = grade_ids(nbformat.read(str(path), as_version=4))
            overlap = len(submitted_ids & source_ids)
            same_name = path.stem == Path(file_name).stem
            score = (overlap, same_name)
            if (overlap or same_name) and (best is None or score > best[0]):
                best = (score, name, path.stem)
    if best is None:
        if assignment and len(course.notebooks(assignment)) == 1:
            return assignment, course.notebooks(assignment)[0].stem
        raise CourseSetupError(
            f"cannot tell which assignment {file_name} belongs to: none of its "
            "graded cells match a course notebook. Pass --assignment "
            f"(one of: {', '.join(known) or 'none'}).")
    return best[1], best[2]
