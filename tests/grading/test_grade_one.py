"""One student's autograde: a submission that cannot be graded never reaches nbgrader."""

import pytest

from autograder.grading.autograde import FAILED, grade_one
from autograder.grading.course import ensure_assignment_ready, open_course


class NoAutograde:
    """An nbgrader API stand-in that fails the test if autograde is asked for."""

    def autograde(self, *args, **kwargs):
        raise AssertionError("nbgrader autograde ran after the precheck refused the notebook")


@pytest.mark.parametrize("content, reason", [
    (b"{ not json", "is not a readable notebook"),
    (b"", "is empty (0 bytes)"),
])
def test_a_refused_submission_is_failed_with_its_reason_and_kept_in_the_gradebook(
        content, reason, toy_course_copy, tmp_path):
    from nbgrader.api import Gradebook

    course = open_course(toy_course_copy(tmp_path / "course"), "toy")
    ensure_assignment_ready(course)
    folder = course.submission_folder("40199")
    folder.mkdir(parents=True)
    (folder / "toy.ipynb").write_bytes(content)
    result = grade_one(course, NoAutograde(), "40199", late=True)
    assert (result.status, result.score, result.max_score, result.late) == (FAILED, 0.0, 3.0,
                                                                            True)
    assert reason in result.reason
    with Gradebook(course.database_url) as gradebook:
        submission = gradebook.find_submission("toy", "40199")
        assert submission.score == 0
