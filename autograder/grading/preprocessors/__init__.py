"""nbgrader preprocessors this course adds to nbgrader's own pipelines, one a file.

- `GuardedExecute` (execution, autograde): runs untrusted notebooks with
  timeouts, restarts after crashes and guarded test verdicts;
- `StderrIsNotFailure` (autograde): library chatter on stderr costs no points;
- `SanitizeSubmission` (sanitize, autograde): repairs tampered nbgrader metadata;
- `KeepExecutedCopy` and `AdoptExecutedNotebook` (parallel autograde): a
  worker keeps the notebook its kernel ran, the gradebook writer adopts it;
- `HideHiddenTestSource` (feedback): hidden-test code stays hidden.
"""

from autograder.grading.preprocessors.adopt_executed_notebook import AdoptExecutedNotebook
from autograder.grading.preprocessors.guarded_execute import GuardedExecute
from autograder.grading.preprocessors.hide_hidden_test_source import HideHiddenTestSource
from autograder.grading.preprocessors.keep_executed_copy import KeepExecutedCopy
from autograder.grading.preprocessors.sanitize_submission import SanitizeSubmission
from autograder.grading.preprocessors.stderr_is_not_failure import StderrIsNotFailure

__all__ = ["AdoptExecutedNotebook", "GuardedExecute", "HideHiddenTestSource",
           "KeepExecutedCopy", "SanitizeSubmission", "StderrIsNotFailure"]
