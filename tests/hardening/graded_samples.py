"""Grade sample notebooks of a course assignment, judged or decided in the kernel.

The attack tests write notebooks made from a solution (one edit each) and
grade them through `grade_notebook`, the whole nbgrader pipeline with the
hidden tests, two at a time in spawned workers: a child forked from the test
process, which has imported TensorFlow in earlier tests, is not safe.
"""

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import nbformat

from autograder.grading.course import Course, repository_root
from tests.hardening.in_kernel import decide_in_the_kernel


def grade_in_worker(path, judged, settings, assignment):
    os.environ.update(settings)
    from autograder.grading.grade import grade_notebook

    if not judged:
        decide_in_the_kernel()
    return grade_notebook(path, assignment=assignment, course=Course(repository_root()))


def grade_samples(folder, file_name, notebooks, runs, settings, assignment):
    """Write `notebooks` under `folder` and grade each run.

    Args:
        folder: An empty folder; each sample gets `folder/<name>/<file_name>`.
        file_name: The released notebook's file name (`03_gan.ipynb`).
        notebooks: Sample name -> notebook.
        runs: `(sample name, judged)` pairs; judged False decides every test
            in the kernel (`decide_in_the_kernel`).
        settings: Environment variables of the grading workers.
        assignment: The assignment id.

    Returns:
        `{run: grade_notebook report}`.
    """
    paths = {}
    for name, notebook in notebooks.items():
        paths[name] = folder / name / file_name
        paths[name].parent.mkdir()
        nbformat.write(notebook, paths[name])
    with ProcessPoolExecutor(max_workers=2,
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {run: pool.submit(grade_in_worker, str(paths[run[0]]), run[1], settings,
                                    assignment)
                   for run in runs}
        return {run: future.result() for run, future in futures.items()}


def scores_of(report):
    """Test id -> score of one report."""
    return {row["id"]: row["score"] for row in report["tests"]}
