"""Release an assignment: nbgrader stubs in assignments/ plus a Canvas zip.

`release_assignment` generates the student version with nbgrader's
generate_assignment in a scratch course directory, proves it is fit to hand
out, and only then replaces `assignments/<assignment>/` and writes the zip:

1. every solution notebook, autograded as a submission, scores full marks;
2. every released stub runs to the end with each graded test failing cleanly
   (a zero with a message, no crashed kernel);
3. no solution line and no hidden-test line appears anywhere in the released
   files or the zip.

`check_releases` only regenerates and compares, without running notebooks,
so CI can afford it on every change.
"""

import filecmp
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder.grading.course import (AUTOGRADED, RELEASE_DIRECTORY, SOURCE_DIRECTORY,
                                       SUBMITTED, Course, CourseSetupError,
                                       assignment_folders, find_course, prepare_environment)
from autograder.grading.notebooks import HIDDEN_TESTS_REGION, SOLUTION_REGION, region_lines
from autograder.grading.results import read_notebook_results

SOLUTION_STUDENT = "reference_solution"
STUB_STUDENT = "unchanged_stub"
# A line shorter than this is too generic ("return x") to prove a leak.
MIN_DISTINCTIVE_CHARS = 12
# In shipped library code a single shared line must be this long to count.
MIN_CODE_LEAK_CHARS = 40
REGIONS = {"solution": SOLUTION_REGION, "hidden test": HIDDEN_TESTS_REGION}
PACKAGE_FILES = ("setup.cfg", "pyproject.toml")
STUDENT_README = """# {assignment}

Deep-learning course, {assignment}.

## Set up once
    pip install ./course_package

This installs TensorFlow, Keras 3, nbgrader and the course library
(`course_lib`) together with the `course` command.

## On Google Colab
Upload `{assignment}.zip` in the Files pane (the folder icon on the left),
open the notebook with File > Upload notebook, and run this once in a new
cell at the top:

    !unzip -q -o /content/{assignment}.zip -d /content
    %pip install -q /content/{assignment}/course_package

If Colab asks to restart the session, restart it and run the notebook from
the top (the notebooks do not need the restart otherwise). Colab keeps the
notebook in your Drive, not as a file: to run `course grade` there, download
it (File > Download > .ipynb), upload it to the Files pane and run
`!course grade /content/<notebook>.ipynb`.

## Work
Open the notebooks in `assignments/{assignment}/` with Jupyter. Fill in every
cell that says `# YOUR CODE HERE` (delete the `raise NotImplementedError()`
line). Run the test cells below each answer: they say what is wrong and give
a hint.

## Check before you submit
    course grade assignments/{assignment}/<notebook>.ipynb

This grades your notebook with the same machinery the TAs use. It runs the
visible tests only; the TAs also run hidden tests, so a full score here is
necessary but not sufficient.

## Submit
Upload the .ipynb file(s) on Canvas. Do not rename the notebooks and do not
edit the test cells.
"""


class ReleaseError(Exception):
    """The release would hand out something broken or leaky; nothing was written."""


@dataclass
class ReleaseReport:
    """What `release_assignment` did and verified."""

    assignment: str
    notebooks: list = field(default_factory=list)
    solution_scores: dict = field(default_factory=dict)
    stub_scores: dict = field(default_factory=dict)
    zip_path: Path = None


def secret_lines(source_notebooks):
    """Distinctive solution and hidden-test lines of the source notebooks.

    A line counts only when it is long enough to be specific and does not
    also stand outside the secret region of its own cell (a docstring line
    that the answer repeats is no leak). The same line anywhere else in the
    release, a markdown cell included, is a leak.

    Returns:
        dict mapping each line to "solution" or "hidden test".
    """
    secrets = {}
    for path in source_notebooks:
        notebook = nbformat.read(str(path), as_version=4)
        for cell in notebook.cells:
            secret_here = {}
            for kind, region in REGIONS.items():
                for line in region_lines(cell.source, region):
                    secret_here.setdefault(line, kind)
            public_here = {line.strip() for line in cell.source.splitlines()} - set(secret_here)
            for line, kind in secret_here.items():
                if len(line) >= MIN_DISTINCTIVE_CHARS and line not in public_here:
                    secrets.setdefault(line, kind)
    return secrets


def find_leaks(secrets, files):
    """Return `(file, kind, line)` for every secret line found in `files`.

    Released notebooks and text are held to the strict rule: any secret line
    is a leak. Library code shipped beside them (course_lib) naturally
    shares short idioms with answers (`return history`, a seeded generator),
    so there a leak is a long secret line (`MIN_CODE_LEAK_CHARS`) or two
    secret lines in a row, which is how a copied answer shows up.

    Args:
        secrets: From `secret_lines`.
        files: Iterable of `(name, text)` pairs.
    """
    leaks = []
    for name, text in files:
        lines = [line.strip() for line in text.splitlines()]
        if name.endswith(".ipynb"):
            try:
                notebook = nbformat.reads(text, as_version=4)
                lines += [line.strip() for cell in notebook.cells
                          for line in cell.source.splitlines()]
            except Exception:  # noqa: BLE001 - fall back to the raw text
                pass
        if name.endswith(".py"):
            found = code_leaks(secrets, lines)
        else:
            found = set(secrets) & set(lines)
        leaks.extend((name, secrets[line], line) for line in sorted(found))
    return leaks


def code_leaks(secrets, lines):
    """Secret lines in library code: long ones, or two in a row."""
    code = [line for line in lines if line]
    found = {line for line in code if line in secrets and len(line) >= MIN_CODE_LEAK_CHARS}
    for first, second in zip(code, code[1:]):
        if first in secrets and second in secrets:
            found.update((first, second))
    return found


def text_files_under(folder):
    """`(relative name, text)` for every readable text file under `folder`."""
    folder = Path(folder)
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            try:
                yield str(path.relative_to(folder)), path.read_text()
            except UnicodeDecodeError:
                continue


def zip_text_files(zip_path):
    with zipfile.ZipFile(zip_path) as archive:
        for name in archive.namelist():
            try:
                yield name, archive.read(name).decode("utf-8")
            except UnicodeDecodeError:
                continue


def generate(course, assignment, scratch):
    """Run nbgrader generate_assignment for `assignment` in a scratch course.

    Returns:
        `(scratch_course, api, released_folder)`.
    """
    source = course.source_directory / assignment
    if not any(source.glob("*.ipynb")):
        known = ", ".join(course.assignments()) or "none"
        raise CourseSetupError(
            f"no source notebooks in {source}; assignments with sources: {known}. "
            f"Create {SOURCE_DIRECTORY}/{assignment}/<name>.ipynb first.")
    shutil.copytree(source, scratch / SOURCE_DIRECTORY / assignment,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    scratch_course = Course(scratch, assignment, settings=course.settings)
    api = scratch_course.api()
    result = api.generate_assignment(assignment)
    if not result["success"]:
        raise ReleaseError(f"nbgrader generate_assignment failed for {assignment}:\n"
                           f"{result.get('log', '')}{result.get('error', '')}")
    return scratch_course, api, scratch_course.release_folder


def autograde_as(scratch, api, student, notebooks):
    """Submit `notebooks` (name -> path) as `student`, autograde, read results."""
    folder = scratch.submission_folder(student, SUBMITTED)
    folder.mkdir(parents=True)
    for name, path in notebooks.items():
        shutil.copyfile(path, folder / f"{name}.ipynb")
    result = api.autograde(scratch.assignment, student)
    if not result["success"]:
        raise ReleaseError(f"nbgrader autograde crashed on the {student} of "
                           f"{scratch.assignment}:\n{result.get('error', '')}")
    return {name: read_notebook_results(
        scratch.database_url, scratch.assignment, student, name,
        scratch.submission_folder(student, AUTOGRADED) / f"{name}.ipynb")
        for name in notebooks}


def verify_scores(solution_results, stub_results):
    """Raise `ReleaseError` unless solutions score full and stubs fail cleanly."""
    problems = []
    for name, rows in solution_results.items():
        if not rows:
            problems.append(f"{name}: the solution has no graded test cells")
        for row in rows:
            if not row["passed"]:
                problems.append(f"{name}: solution fails {row['id']}: {row['message']}")
    for name, rows in stub_results.items():
        for row in rows:
            if row["score"] > 0:
                problems.append(f"{name}: the unchanged stub earns {row['score']:g} "
                                f"points on {row['id']}; a stub must earn none")
            elif not row["message"] or row["message"].startswith("no score"):
                problems.append(f"{name}: test {row['id']} did not fail cleanly on "
                                "the stub (no error message)")
    if problems:
        raise ReleaseError("release check failed:\n  " + "\n  ".join(problems))


def package_files(root):
    """`(path, name in zip)` of the course package a student installs.

    The whole `course_lib` plus the `autograder` workflow code, but not the
    hidden checks (`autograder/checks/*` other than its `__init__`).
    """
    for top in ("course_lib", "autograder"):
        for path in sorted((root / top).rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            relative = path.relative_to(root)
            parts = relative.parts
            if parts[:2] == ("autograder", "checks") and parts[-1] != "__init__.py":
                continue
            yield path, Path("course_package") / relative
    for name in PACKAGE_FILES:
        yield root / name, Path("course_package") / name


def write_zip(zip_path, assignment, released, package_root):
    """Write the Canvas upload zip for `assignment`."""
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    readme = STUDENT_README.format(assignment=assignment)
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{assignment}/README.md", readme)
        archive.writestr(f"{assignment}/course_package/README.md", readme)
        for path in sorted(released.rglob("*")):
            if path.is_file():
                archive.write(path, f"{assignment}/{RELEASE_DIRECTORY}/{assignment}/"
                              f"{path.relative_to(released)}")
        for path, name in package_files(package_root):
            archive.write(path, f"{assignment}/{name}")
    return zip_path


def release_assignment(assignment, course=None, zip_directory=None, verify=True):
    """Generate, verify and publish one assignment.

    Args:
        assignment: Assignment id, a folder of `solutions/`.
        course: The `Course` (found from the current directory when None).
        zip_directory: Where to write `<assignment>.zip` (default:
            `<course>/release_zips`).
        verify: Execute the notebooks to prove full marks / clean zeros.

    Returns:
        A `ReleaseReport`.

    Raises:
        ReleaseError: a verification failed; `assignments/` is left untouched.
        CourseSetupError: unknown assignment.
    """
    prepare_environment()
    course = course or find_course()
    report = ReleaseReport(assignment)
    sources = sorted((course.source_directory / assignment).glob("*.ipynb"))
    with tempfile.TemporaryDirectory(prefix="course-release-") as temporary:
        scratch = Path(temporary)
        scratch_course, api, released = generate(course, assignment, scratch)
        report.notebooks = [path.stem for path in sources]
        if verify:
            report.solution_scores = autograde_as(
                scratch_course, api, SOLUTION_STUDENT, {path.stem: path for path in sources})
            report.stub_scores = autograde_as(
                scratch_course, api, STUB_STUDENT,
                {path.stem: released / path.name for path in sources})
            verify_scores(report.solution_scores, report.stub_scores)
        secrets = secret_lines(sources)
        leaks = find_leaks(secrets, text_files_under(released))
        zip_path = Path(zip_directory or course.root / "release_zips") / f"{assignment}.zip"
        staged_zip = write_zip(scratch / "zip" / f"{assignment}.zip", assignment,
                               released, package_root())
        leaks += find_leaks(secrets, zip_text_files(staged_zip))
        if leaks:
            lines = "\n  ".join(f"{name}: {kind} line {line!r}" for name, kind, line in leaks)
            raise ReleaseError(f"the release of {assignment} would leak:\n  {lines}")
        target = course.release_directory / assignment
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(released, target)
        zip_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(staged_zip, zip_path)
        report.zip_path = zip_path
    return report


def package_root():
    """The folder holding `course_lib/`, `autograder/` and `setup.cfg`."""
    return Path(__file__).resolve().parents[2]


def compare_folders(expected, actual):
    """Names of files that differ, are missing or are extra in `actual`."""
    expected_files = {p.relative_to(expected) for p in expected.rglob("*") if p.is_file()}
    actual_files = ({p.relative_to(actual) for p in actual.rglob("*") if p.is_file()}
                    if actual.is_dir() else set())
    differences = [f"missing {name}" for name in sorted(expected_files - actual_files)]
    differences += [f"extra {name}" for name in sorted(actual_files - expected_files)]
    differences += [f"edited {name}" for name in sorted(expected_files & actual_files)
                    if not filecmp.cmp(expected / name, actual / name, shallow=False)]
    return differences


def check_releases(course=None, assignments=None):
    """Compare `assignments/` with a fresh nbgrader generation of `solutions/`.

    Args:
        course: The `Course` (found from the current directory when None).
        assignments: Ids to check; all with sources when None.

    Returns:
        A dict assignment -> list of differences (empty when up to date),
        including released folders whose source no longer exists.
    """
    prepare_environment()
    course = course or find_course()
    with_sources = assignment_folders(course.source_directory)
    names = assignments or with_sources
    drift = {}
    for assignment in names:
        with tempfile.TemporaryDirectory(prefix="course-check-") as temporary:
            _, _, released = generate(course, assignment, Path(temporary))
            drift[assignment] = compare_folders(
                released, course.release_directory / assignment)
    if assignments is None and course.release_directory.is_dir():
        for folder in sorted(course.release_directory.iterdir()):
            if folder.is_dir() and folder.name not in with_sources:
                drift[folder.name] = [f"released folder has no source in "
                                      f"{SOURCE_DIRECTORY}/{folder.name}"]
    return drift
