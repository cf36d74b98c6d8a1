"""Grade with the test cells decided in the kernel (the guard), not by the judge.

The hardening tests use it to show that an attack sample beats (or, for the
guard's own samples, does not beat) verdicts reached in the kernel. Called in
a grading worker process before it grades: it changes `GuardedExecute` for
that whole process, because `grade_notebook` builds its configuration itself.
"""


def decide_in_the_kernel():
    """From now on, every `GuardedExecute` of this process leaves the judge off."""
    from autograder.grading.preprocessors import GuardedExecute

    configured = GuardedExecute.__init__

    def in_kernel(self, *args, **kwargs):
        configured(self, *args, **kwargs)
        self.judge_test_cells = False

    GuardedExecute.__init__ = in_kernel
