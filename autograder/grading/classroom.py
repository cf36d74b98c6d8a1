"""Fabricate a class of submissions as Canvas would hand them to a TA.

Used by `course demo` and by the tests: from an assignment's source and
released notebooks it builds students with known stories (full marks, half
done, untouched stub, late, a file that is not a notebook, tests edited to
pass, ...), a Canvas "Download Submissions" zip of their uploads and a Canvas
gradebook export listing them.
"""

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder import canvas
from autograder.grading.notebooks import answer_cells, test_cells, without_region_markers

FIRST_ATTACHMENT_ID = 700100


@dataclass
class Classmate:
    """A fabricated student and what they upload.

    Args:
        name: "Last, First" as Canvas lists it.
        canvas_id: Canvas user id.
        section: Section name.
        story: What this submission shows, in a few words.
        uploads: `(filename, bytes)` pairs uploaded to Canvas.
        late: Whether Canvas marks the submission late.
        expected: What the grader should make of it ("full", "zero",
            "partial", "failed", "missing").
    """

    name: str
    canvas_id: str
    section: str
    story: str
    uploads: list = field(default_factory=list)
    late: bool = False
    expected: str = ""

    @property
    def roster_entry(self):
        login = self.name.split(",")[0].strip().lower() + self.canvas_id[-2:]
        return canvas.RosterStudent(self.name, self.canvas_id, f"S{self.canvas_id}",
                                    login, section=self.section)


def fill_stub(stub, solution, grade_ids=None):
    """A released stub with some or all solution cells answered from the solution.

    Args:
        stub: The released notebook node (left untouched).
        solution: The source notebook node.
        grade_ids: The solution cells to answer (default: all).

    Returns:
        A new notebook node.
    """
    answers = answer_cells(solution)
    filled = nbformat.from_dict(json.loads(json.dumps(stub)))
    for grade_id, cell in answer_cells(filled).items():
        if grade_id in answers and (grade_ids is None or grade_id in grade_ids):
            cell.source = without_region_markers(answers[grade_id].source)
    return filled


def edit_tests(notebook):
    """A copy whose graded test cells were replaced by `pass` (a cheat attempt)."""
    edited = nbformat.from_dict(json.loads(json.dumps(notebook)))
    for cell in test_cells(edited).values():
        cell.source = "pass  # tests removed"
    return edited


def as_bytes(notebook):
    return nbformat.writes(notebook).encode("utf-8")


def standard_class(source_folder, release_folder):
    """The demo's class for one assignment.

    Args:
        source_folder: `solutions/<assignment>/` (with answers).
        release_folder: `assignments/<assignment>/` (the stubs).

    Returns:
        A list of `Classmate`s; the last one never submits.
    """
    stubs = {path.name: nbformat.read(str(path), as_version=4)
             for path in sorted(Path(release_folder).glob("*.ipynb"))}
    sources = {path.name: nbformat.read(str(path), as_version=4)
               for path in sorted(Path(source_folder).glob("*.ipynb"))}
    if not stubs:
        raise ValueError(f"{release_folder} has no released notebooks; release the "
                         "assignment before fabricating a class.")
    ordered = [grade_id for name in stubs for grade_id in answer_cells(stubs[name])]
    first_part = set(ordered[:len(ordered) - 1])
    partial_story = (f"answered {len(first_part)} of {len(ordered)} tasks"
                     if first_part else "left the only task as the stub")

    def uploads(make, rename=None):
        return [((rename or {}).get(name, name), as_bytes(make(name, stub)))
                for name, stub in stubs.items()]

    def full(name, stub):
        return fill_stub(stub, sources[name])

    def partial(name, stub):
        return fill_stub(stub, sources[name], first_part)

    def untouched(name, stub):
        return stub

    def cheat(name, stub):
        return edit_tests(stub)

    first = next(iter(stubs))
    stem = Path(first).stem
    broken = [(name, as_bytes(stub)[: len(as_bytes(stub)) // 3]) for name, stub in stubs.items()]
    return [
        Classmate("Lovelace, Ada", "40101", "Section A", "every task answered",
                  uploads(full), expected="full"),
        Classmate("Babbage, Charles", "40102", "Section A",
                  f"{partial_story}; uploaded twice (Canvas named it -1), plus notes.txt",
                  uploads(partial, {first: f"{stem}-1.ipynb"})
                  + [("notes.txt", b"I ran out of time on the last task.\n")],
                  expected="partial"),
        Classmate("Curie, Marie", "40103", "Section B",
                  "untouched stub saved under another name",
                  uploads(untouched, {first: f"Copy of {first}"}), expected="zero"),
        Classmate("Darwin, Charles", "40104", "Section B", "every task answered",
                  uploads(full), late=True, expected="full"),
        Classmate("Euler, Leonhard", "40105", "Section A",
                  "file cut short: not valid JSON", broken, expected="failed"),
        Classmate("Franklin, Rosalind", "40106", "Section B",
                  "stub with the test cells replaced by `pass` "
                  "(nbgrader puts the real tests back)", uploads(cheat),
                  expected="zero"),
        Classmate("Galois, Evariste", "40107", "Section A", "never submitted",
                  expected="missing"),
    ]


def write_submissions_zip(path, classmates):
    """Write a Canvas-style "Download Submissions" zip of the classmates' uploads."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    attachment_id = FIRST_ATTACHMENT_ID
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for classmate in classmates:
            for filename, data in classmate.uploads:
                attachment_id += 1
                archive.writestr(canvas.entry_name_for(
                    classmate.name, classmate.canvas_id, str(attachment_id), filename,
                    late=classmate.late), data)
    return path


def assignment_title(assignment):
    """A Canvas-looking title for an assignment id: "project1" -> "Project1"."""
    return assignment.replace("_", " ").replace("-", " ").strip().capitalize()


def write_class_roster(path, classmates, assignment, points_possible,
                       assignment_id="90001"):
    """Write a Canvas-style gradebook export for the class.

    The export has the assignment's `Title (id)` column, an unrelated quiz
    column, the `Points Possible` row and a manual-posting marker row, like
    Canvas' own.

    Returns:
        `(path, header)` with the assignment column's exact header.
    """
    column = canvas.AssignmentColumn(
        f"{assignment_title(assignment)} ({assignment_id})", assignment_title(assignment),
        assignment_id, canvas.format_score(points_possible))
    quiz = canvas.AssignmentColumn("Reading quiz 1 (90009)", "Reading quiz 1", "90009", "5")
    path = canvas.write_roster(path, [classmate.roster_entry for classmate in classmates],
                               [quiz, column], extra_rows=[["Manual Posting", ""]])
    return path, column.header
