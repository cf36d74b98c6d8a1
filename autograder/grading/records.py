"""The records the TA commands keep beside nbgrader's gradebook.

nbgrader's gradebook holds scores. What it has no place for is kept as
JSON in the assignment's working folder `downloaded/<assignment>/`:

- `collect.json` (written by `course collect`): per student the Canvas name,
  section, late flag and what became of each uploaded file;
- `autograde.json` (written by `course autograde`): per student the verdict
  (graded or failed with its reason), the score and the per-test rows.

A later collection or grading run merges into the record, so a partial
download or a regrade never forgets a student.
"""

import json

COLLECT_RECORD = "collect.json"
AUTOGRADE_RECORD = "autograde.json"


def read_record(course, name):
    """One record of the course's assignment as a dict ({} when absent)."""
    path = course.working_folder / name
    return json.loads(path.read_text()) if path.is_file() else {}


def write_record(course, name, data):
    """Write a record (sorted, indented JSON); returns its path."""
    course.working_folder.mkdir(parents=True, exist_ok=True)
    path = course.working_folder / name
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    return path


def collected_students(course):
    """The collection record: student id -> dict of `StudentCollection` fields."""
    return read_record(course, COLLECT_RECORD).get("students", {})


def autograde_record(course):
    """The autograde record: student id -> dict of `StudentResult` fields."""
    return read_record(course, AUTOGRADE_RECORD).get("students", {})


def names_by_id(course):
    """Student id -> display name from the collection record (roster names)."""
    return {student_id: (entry.get("name") or entry.get("sortable_name") or "")
            for student_id, entry in collected_students(course).items()}
