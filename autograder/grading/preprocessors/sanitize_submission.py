"""`SanitizeSubmission`: repair nbgrader metadata a student changed."""

import functools
from pathlib import Path

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor


class SanitizeSubmission(NbGraderPreprocessor):
    """Repair nbgrader metadata a student changed, before nbgrader checks it.

    Runs first in nbgrader's sanitize step, before `DeduplicateIds` and
    `OverwriteCells` (which restore test cells' source and points by
    grade_id):

    - a cell whose grade_id the gradebook does not know (renamed, invented)
      loses its nbgrader metadata and becomes an ordinary cell;
    - of cells sharing a grade_id only the last keeps the metadata (nbgrader's
      own rule), the others become ordinary cells instead of failing
      nbgrader's metadata check;
    - a known cell whose type was changed (a written answer turned into code
      that runs cleanly, or the reverse) gets its released type back, its
      text kept: nbgrader would otherwise stop grading the whole notebook,
      and a code cell must never stand in for an answer a TA grades;
    - every test cell of the source notebook that the submission lacks
      (deleted, or renamed above) is put back from the gradebook, after the
      closest cell that precedes it in the released notebook.
    """

    def preprocess(self, nb, resources):
        from nbgrader.api import Gradebook, MissingEntry

        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gradebook:
            try:
                source = gradebook.find_notebook(info["notebook"], info["assignment"])
            except MissingEntry:
                return nb, resources
            known = {cell.name: cell for cell in source.source_cells}
            tests = {cell.name: float(cell.max_score) for cell in source.grade_cells
                     if cell.cell_type == "code"}
            answers = {cell.name for cell in source.solution_cells}
            seen = set()
            for cell in reversed(nb.cells):
                grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
                if "nbgrader" not in cell.metadata:
                    continue
                if grade_id not in known or grade_id in seen:
                    self.log.warning("Cell %r is unknown or repeated; graded as an "
                                     "ordinary cell", grade_id)
                    del cell.metadata["nbgrader"]
                    continue
                seen.add(grade_id)
                if cell.cell_type != known[grade_id].cell_type:
                    self.log.warning("Cell %r was changed to %s; given back its type %s",
                                     grade_id, cell.cell_type, known[grade_id].cell_type)
                    restore_type(cell, known[grade_id].cell_type)
            order = self.released_order(resources) or list(known)
            for grade_id in order:
                if grade_id in seen or grade_id not in tests or grade_id in answers:
                    continue
                self.log.warning("Test cell %r is missing; put back", grade_id)
                restored = nbformat.v4.new_code_cell(known[grade_id].source)
                restored.metadata["nbgrader"] = {
                    "grade": True, "grade_id": grade_id, "locked": True,
                    "points": tests[grade_id], "schema_version": 3,
                    "solution": False, "task": False,
                    "checksum": known[grade_id].checksum}
                restored.pop("id", None)
                nb.cells.insert(self.insert_position(nb, order, grade_id), restored)
                seen.add(grade_id)
        return nb, resources

    @staticmethod
    def insert_position(nb, order, grade_id):
        """Right after the present cell that comes closest before `grade_id`."""
        earlier = set(order[:order.index(grade_id)])
        position = 0
        for index, cell in enumerate(nb.cells):
            if cell.metadata.get("nbgrader", {}).get("grade_id") in earlier:
                position = index + 1
        return position

    def released_order(self, resources):
        """grade_ids in the order of the released notebook, or [] if absent."""
        from nbgrader.coursedir import CourseDirectory

        info = resources["nbgrader"]
        try:
            coursedir = CourseDirectory(config=self.config)
            path = Path(coursedir.format_path(coursedir.release_directory, ".",
                                              info["assignment"])) / f"{info['notebook']}.ipynb"
            status = path.stat()
            return list(released_grade_ids(str(path), status.st_mtime_ns, status.st_size))
        except Exception:  # noqa: BLE001 - fall back to the gradebook's order
            return []


def restore_type(cell, cell_type):
    """Turn `cell` (in place) into a `cell_type` cell with the same text and metadata."""
    for key in ("outputs", "execution_count", "attachments"):
        cell.pop(key, None)
    cell.cell_type = cell_type
    if cell_type == "code":
        cell.outputs = []
        cell.execution_count = None


@functools.lru_cache(maxsize=32)
def released_grade_ids(path, modified, size):
    """grade_ids of a released notebook in order; cached per file version, since
    the gradebook writer asks for the same file once per student."""
    released = nbformat.read(path, as_version=4)
    return tuple(cell.metadata["nbgrader"]["grade_id"] for cell in released.cells
                 if cell.metadata.get("nbgrader", {}).get("grade_id"))
