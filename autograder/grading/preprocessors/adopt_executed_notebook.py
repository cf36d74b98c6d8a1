"""`AdoptExecutedNotebook`: the gradebook writer takes a worker's executed notebook."""

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from autograder.grading.preprocessors.keep_executed_copy import executed_path


class AdoptExecutedNotebook(NbGraderPreprocessor):
    """Stand in for the execution step with a worker's executed notebook.

    The notebook it receives is the parent's own sanitized copy of the
    submission; the worker sanitized the same file with the same gradebook
    sources, so their cells (type, source and nbgrader metadata) must match,
    which is checked before the worker's copy (outputs included) is handed
    on to nbgrader's scoring.
    """

    folder = Unicode("", help="Where the workers left executed notebooks.").tag(config=True)

    def preprocess(self, nb, resources):
        path = executed_path(self.folder, resources)
        if not path.is_file():
            raise RuntimeError(f"{path.name} was not executed: its grading process "
                               "stopped before the kernel ran it (see the log)")
        # Written by our own worker from a validated notebook: parsed without
        # validating again (nbgrader validates what it writes).
        executed = nbformat.v4.reads(path.read_text(encoding="utf-8"))
        if cell_identities(executed) != cell_identities(nb):
            raise RuntimeError(f"the executed copy of {path.name} does not match the "
                               "submission; grade this student with --workers 1")
        return executed, resources


def cell_identities(nb):
    """What must be equal between the writer's and the worker's sanitized cells."""
    return [(cell.cell_type, cell.source, cell.metadata.get("nbgrader")) for cell in nb.cells]
