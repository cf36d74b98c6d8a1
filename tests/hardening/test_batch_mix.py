"""A whole class of hostile, broken and runaway submissions, graded as a batch.

Every sample in tests/files/hostile/ is uploaded to Canvas by its own
student as `toy.ipynb`, next to a correct answer, an untouched stub and a
student on the roster who never submitted. The class goes through
`course collect` -> `course autograde --workers 2` (5 s cell timeout, 2 GiB
kernels, as in the single-notebook tests) -> `course export --missing zero`.
The run must finish, reconcile (submitted = graded + failed-with-reason),
export every roster student, and give each sample exactly the score it gets
when graded on its own (the table of test_hostile_submissions.py).
"""

import importlib.util
import shutil
import time
import zipfile
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner
from nbgrader.api import Gradebook

from autograder import canvas
from autograder.cli import main
from autograder.grading import classroom
from autograder.grading.autograde import FAILED, GRADED
from autograder.grading.course import ensure_assignment_ready, open_course
from autograder.grading.records import autograde_record, collected_students
from autograder.grading.kernel_rules import isolation_available

HERE = Path(__file__).resolve().parent
HOSTILE = HERE.parents[0] / "files" / "hostile"
TOY_COURSE = HERE.parents[0] / "files" / "toy_course"
SETTINGS = {"COURSE_CELL_TIMEOUT": "5", "COURSE_KERNEL_MEMORY_MB": "2048",
            "TF_CPP_MIN_LOG_LEVEL": "2", "COLUMNS": "200"}
COLUMN = "Toy (90001)"


def single_notebook_scores():
    """Sample name -> score, from the single-notebook tests' own table."""
    spec = importlib.util.spec_from_file_location(
        "hostile_expectations", HERE / "test_hostile_submissions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {name: score for name, (score, _) in module.EXPECTED.items()}


HOSTILE_SCORES = single_notebook_scores()
# Files no kernel can grade: each must be a failure with its reason, scored 0.
BROKEN_REASONS = {
    "broken_not_json": "not a readable notebook",
    "broken_empty": "is empty (0 bytes)",
    "broken_truncated": "not a readable notebook",
    "broken_no_cells": "has no cells",
    "broken_other_assignment": "another assignment",
}
GRADED_BROKEN_SCORES = {"broken_v3": 3.0}  # old format: upgraded, then graded


def run(*args):
    runner = CliRunner(env=SETTINGS)
    return runner.invoke(main, [str(arg) for arg in args], terminal_width=200)


def sample_names():
    return sorted(path.stem for path in HOSTILE.glob("*.ipynb"))


def fabricate_class(release_folder, source_folder):
    """One classmate per sample plus a correct answer, a stub and a no-show.

    Returns:
        `(classmates, expected)`: expected maps Canvas id -> (sample, score).
    """
    classmates, expected = [], {}
    for number, name in enumerate(sample_names()):
        canvas_id = str(41000 + number)
        words = name.replace("_", " ").title()
        classmates.append(classroom.Classmate(
            f"{words}, Sam", canvas_id, "Section A", name,
            [("toy.ipynb", (HOSTILE / f"{name}.ipynb").read_bytes())]))
        if name in BROKEN_REASONS:
            expected[canvas_id] = (name, 0.0)
        elif name in GRADED_BROKEN_SCORES:
            expected[canvas_id] = (name, GRADED_BROKEN_SCORES[name])
        else:
            expected[canvas_id] = (name, HOSTILE_SCORES[name])
    stub = nbformat.read(str(release_folder / "toy.ipynb"), as_version=4)
    solution = nbformat.read(str(source_folder / "toy.ipynb"), as_version=4)
    correct = classroom.fill_stub(stub, solution)
    classmates.append(classroom.Classmate("Correct, Cora", "41900", "Section B", "correct",
                                          [("toy.ipynb", classroom.as_bytes(correct))]))
    expected["41900"] = ("correct", 3.0)
    classmates.append(classroom.Classmate("Stub, Stan", "41901", "Section B",
                                          "untouched stub",
                                          [("toy.ipynb", classroom.as_bytes(stub))]))
    expected["41901"] = ("untouched stub", 0.0)
    classmates.append(classroom.Classmate("Absent, Abe", "41902", "Section B",
                                          "never submitted"))
    expected["41902"] = ("never submitted", 0.0)
    return classmates, expected


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    base = tmp_path_factory.mktemp("batch_mix")
    root = base / "course"
    shutil.copytree(TOY_COURSE, root)
    ensure_assignment_ready(open_course(root, "toy"))
    classmates, expected = fabricate_class(root / "assignments" / "toy",
                                           root / "solutions" / "toy")
    zip_path = classroom.write_submissions_zip(base / "subs.zip", classmates)
    roster, _ = classroom.write_class_roster(base / "roster.csv", classmates, "toy", 3)
    started = time.monotonic()
    steps = {"collect": run("collect", "toy", zip_path, "--roster", roster,
                            "--course-dir", root)}
    steps["autograde"] = run("autograde", "toy", "--workers", 2, "--course-dir", root)
    steps["export"] = run("export", "toy", "--roster", roster, "-o", base / "import.csv",
                          "--missing", "zero", "--course-dir", root)
    elapsed = time.monotonic() - started
    return {"root": root, "roster": roster, "csv": base / "import.csv", "steps": steps,
            "classmates": classmates, "expected": expected, "elapsed": elapsed}


def test_every_sample_is_in_the_class():
    covered = set(HOSTILE_SCORES) | set(BROKEN_REASONS) | set(GRADED_BROKEN_SCORES)
    assert covered == set(sample_names())


def test_every_step_finishes(batch):
    for step, result in batch["steps"].items():
        assert result.exit_code == 0, (step, result.output)


def test_autograde_reconciles_every_submission(batch):
    submitters = [classmate for classmate in batch["classmates"] if classmate.uploads]
    record = autograde_record(open_course(batch["root"], "toy"))
    assert set(record) == {classmate.canvas_id for classmate in submitters}
    graded = [entry for entry in record.values() if entry["status"] == GRADED]
    failed = [entry for entry in record.values()
              if entry["status"] == FAILED and entry["reason"].strip()]
    assert len(graded) + len(failed) == len(submitters)
    assert (f"submitted {len(submitters)} = graded {len(graded)} + failed {len(failed)}"
            in batch["steps"]["autograde"].output)


def test_broken_files_fail_with_their_reason(batch):
    record = autograde_record(open_course(batch["root"], "toy"))
    collected = collected_students(open_course(batch["root"], "toy"))
    for canvas_id, (name, _) in batch["expected"].items():
        if name not in BROKEN_REASONS:
            continue
        entry = record.get(canvas_id)
        assert entry is not None, (name, collected.get(canvas_id))
        assert entry["status"] == FAILED, (name, entry)
        assert BROKEN_REASONS[name] in entry["reason"], (name, entry["reason"])
        assert entry["score"] == 0.0


def test_no_roster_student_is_lost_from_the_export(batch):
    roster = canvas.read_roster(batch["roster"])
    preview = canvas.preview_gradebook_import(batch["csv"], roster)
    assert preview.unmatched == []
    assert set(preview.grades) == {student.canvas_id for student in roster.students}
    assert set(preview.grades) == set(batch["expected"])


def test_each_student_scores_as_when_graded_alone(batch):
    roster = canvas.read_roster(batch["roster"])
    preview = canvas.preview_gradebook_import(batch["csv"], roster)
    record = autograde_record(open_course(batch["root"], "toy"))
    found, wanted = {}, {}
    for canvas_id, (name, score) in batch["expected"].items():
        if name.startswith("reach_") and not isolation_available():
            continue  # without isolation the probe succeeds and scores 0
        found[name] = float(preview.grades[canvas_id][COLUMN])
        wanted[name] = score
        if canvas_id in record:
            assert record[canvas_id]["score"] == score, (name, record[canvas_id])
    assert found == wanted


def test_the_batch_stays_within_its_time_budget(batch):
    print(f"collect + autograde + export of {len(batch['classmates'])} students: "
          f"{batch['elapsed']:.0f} s")
    assert batch["elapsed"] < 600


# ------------------------------------- two notebooks for one assignment

def two_notebook_uploads(release_folder, source_folder):
    """Students who each upload two notebooks of the one-notebook toy assignment.

    Returns:
        `(files, expected)`: files are `(sortable name, canvas id, attachment
        id, filename, bytes)`; expected maps Canvas id -> (graded upload,
        score, the other upload's file name).
    """
    stub = nbformat.read(str(release_folder / "toy.ipynb"), as_version=4)
    solution = nbformat.read(str(source_folder / "toy.ipynb"), as_version=4)
    full = classroom.as_bytes(classroom.fill_stub(stub, solution))
    empty = classroom.as_bytes(stub)
    files = [
        # The released name beats a renamed copy, even a newer one.
        ("Lovelace, Ada", "601", "700010", "toy.ipynb", empty),
        ("Lovelace, Ada", "601", "700011", "Copy of toy.ipynb", full),
        # Two uploads under the released name: the newest (Canvas' -1) wins.
        ("Babbage, Charles", "602", "700020", "toy.ipynb", full),
        ("Babbage, Charles", "602", "700021", "toy-1.ipynb", empty),
        # Two renamed copies, both with the toy's graded cells: the newest wins.
        ("Curie, Marie", "603", "700030", "Copy of toy.ipynb", empty),
        ("Curie, Marie", "603", "700031", "toy (1).ipynb", full),
    ]
    expected = {"601": ("toy.ipynb", 0.0, "Copy of toy.ipynb"),
                "602": ("toy-1.ipynb", 0.0, "toy.ipynb"),
                "603": ("toy (1).ipynb", 3.0, "Copy of toy.ipynb")}
    return files, expected


def write_zip(path, files):
    with zipfile.ZipFile(path, "w") as archive:
        for name, canvas_id, attachment, filename, data in files:
            archive.writestr(canvas.entry_name_for(name, canvas_id, attachment, filename), data)
    return path


@pytest.fixture(scope="module")
def two_notebooks(tmp_path_factory):
    """The two-notebook class collected from a zip in upload order and in reverse."""
    base = tmp_path_factory.mktemp("two_notebooks")
    roots = {}
    for order in ("forward", "reversed"):
        roots[order] = base / order
        shutil.copytree(TOY_COURSE, roots[order])
        ensure_assignment_ready(open_course(roots[order], "toy"))
    files, expected = two_notebook_uploads(roots["forward"] / "assignments" / "toy",
                                           roots["forward"] / "solutions" / "toy")
    steps = {
        "forward": run("collect", "toy", write_zip(base / "forward.zip", files),
                       "--course-dir", roots["forward"]),
        "reversed": run("collect", "toy", write_zip(base / "reversed.zip", files[::-1]),
                        "--course-dir", roots["reversed"]),
    }
    steps["autograde"] = run("autograde", "toy", "--workers", 2,
                             "--course-dir", roots["forward"])
    return {"roots": roots, "files": files, "expected": expected, "steps": steps}


def planned(root):
    """Canvas id -> (uploaded file saved as toy.ipynb, {file: why not graded})."""
    outcome = {}
    for canvas_id, entry in collected_students(open_course(root, "toy")).items():
        graded = [canvas.parse_entry_name(name).filename
                  for name, saved in entry["saved"].items() if saved == "toy.ipynb"]
        others = {canvas.parse_entry_name(name).filename: saved
                  for name, saved in entry["saved"].items() if saved != "toy.ipynb"}
        others.update({canvas.parse_entry_name(name).filename: why
                       for name, why in entry["skipped"].items()})
        outcome[canvas_id] = (graded, others, entry["notes"])
    return outcome


def test_one_of_two_notebooks_is_graded_and_the_other_is_listed(two_notebooks):
    assert two_notebooks["steps"]["forward"].exit_code == 0, two_notebooks["steps"]["forward"]
    for canvas_id, (graded, others, notes) in planned(two_notebooks["roots"]["forward"]).items():
        chosen, _, other = two_notebooks["expected"][canvas_id]
        assert graded == [chosen], canvas_id
        assert list(others) == [other], canvas_id
        assert ("not graded" in " ".join(notes) or "newest kept" in others[other]), notes
    output = two_notebooks["steps"]["forward"].output
    assert "older upload of toy.ipynb" in output  # the skipped file is shown to the TA
    assert "Copy of toy.ipynb kept (not graded)" in output


def test_two_notebook_outcome_does_not_depend_on_zip_order(two_notebooks):
    assert two_notebooks["steps"]["reversed"].exit_code == 0
    assert (planned(two_notebooks["roots"]["reversed"])
            == planned(two_notebooks["roots"]["forward"]))


def test_two_notebooks_are_graded_once_with_the_chosen_score(two_notebooks):
    root = two_notebooks["roots"]["forward"]
    result = two_notebooks["steps"]["autograde"]
    assert result.exit_code == 0, result.output
    assert "submitted 3 = graded 3 + failed 0" in result.output
    record = autograde_record(open_course(root, "toy"))
    for canvas_id, (_, score, _) in two_notebooks["expected"].items():
        assert record[canvas_id]["status"] == GRADED
        assert record[canvas_id]["score"] == score, canvas_id
        assert sorted(row["id"] for row in record[canvas_id]["tests"]) == [
            "toy_test_hidden", "toy_test_visible"]  # each test counted once
        assert [path.name for path in (root / "autograded" / canvas_id / "toy").glob(
            "*.ipynb")] == ["toy.ipynb"]
    with Gradebook(open_course(root, "toy").database_url) as gradebook:
        for canvas_id, (_, score, _) in two_notebooks["expected"].items():
            submission = gradebook.find_submission("toy", canvas_id)
            assert [notebook.name for notebook in submission.notebooks] == ["toy"]
            assert float(submission.score) == score
