"""`KeepExecutedCopy`: a grading worker keeps the notebook its kernel ran."""

from pathlib import Path

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode


def executed_path(folder, resources):
    info = resources["nbgrader"]
    return Path(folder) / info["student"] / f"{info['notebook']}.ipynb"


class KeepExecutedCopy(NbGraderPreprocessor):
    """Save the notebook as the kernel left it (worker side).

    Placed right after the execution step of a worker's autograde pipeline,
    it writes `<folder>/<student>/<notebook>.ipynb`, outside nbgrader's
    `autograded/` (which nbgrader deletes when a later step fails).
    """

    folder = Unicode("", help="Where executed notebooks are kept.").tag(config=True)

    def preprocess(self, nb, resources):
        path = executed_path(self.folder, resources)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(nbformat.writes(nb), encoding="utf-8")
        return nb, resources
