"""Grade one notebook K times and check that every run gives the same result.

Usage:
    python scripts/repeat_grading.py NOTEBOOK [--times 20] [--assignment ID] [--json]

Each run goes through `grade_notebook`, the code path of `course grade`
(fresh temporary course, fresh sandboxed kernel). The script prints each
run's score and exits 0 when all runs agree test by test, 1 when they do not
and 2 when the notebook cannot be graded at all.

Example:

    $ python scripts/repeat_grading.py tests/files/hostile/crash_segfault.ipynb --times 3
    run 1: 3 / 3
    run 2: 3 / 3
    run 3: 3 / 3
    identical: 3 runs, scores [3.0] of 3
"""

import argparse
import json
import sys


def verdicts(report):
    """What must not change between runs: each test's id, score and pass."""
    return [(row["id"], row["score"], row["passed"]) for row in report["tests"]]


def repeat_grading(notebook, times=20, assignment=None, on_run=None):
    """Grade `notebook` `times` times.

    Args:
        notebook: Path of the notebook.
        times: Number of runs (at least 1).
        assignment: Assignment id, or None to infer it.
        on_run: Optional callback `on_run(index, report)` after each run.

    Returns:
        `{"runs": [report, ...], "identical": bool, "scores": [float, ...]}`.

    Raises:
        ValueError: when `times` is below 1.
    """
    from autograder.grading.grade import grade_notebook

    if times < 1:
        raise ValueError(f"times={times} must be at least 1.")
    runs = []
    for index in range(times):
        report = grade_notebook(notebook, assignment=assignment)
        runs.append(report)
        if on_run is not None:
            on_run(index, report)
    first = verdicts(runs[0])
    identical = all(verdicts(report) == first and report["error"] == runs[0]["error"]
                    for report in runs)
    return {"runs": runs, "identical": identical,
            "scores": [report["score"] for report in runs]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook")
    parser.add_argument("--times", "-k", type=int, default=20)
    parser.add_argument("--assignment", default=None)
    parser.add_argument("--json", action="store_true", dest="as_json")
    options = parser.parse_args(argv)
    from autograder.grading.course import CourseSetupError

    def show(index, report):
        if not options.as_json:
            print(f"run {index + 1}: {report['score']:g} / {report['max_score']:g}",
                  flush=True)

    try:
        result = repeat_grading(options.notebook, options.times, options.assignment, show)
    except (CourseSetupError, ValueError) as error:
        print(f"Error: {error}", file=sys.stderr)
        return 2
    if options.as_json:
        print(json.dumps({"identical": result["identical"], "scores": result["scores"],
                          "tests": [report["tests"] for report in result["runs"]]}))
    else:
        last = result["runs"][-1]
        word = "identical" if result["identical"] else "DIFFERENT"
        print(f"{word}: {options.times} runs, scores {sorted(set(result['scores']))} "
              f"of {last['max_score']:g}")
    return 0 if result["identical"] else 1


if __name__ == "__main__":
    sys.exit(main())
