"""autograder: hidden checks, the pytest suites and the `course` grading workflow.

The instructor and the TAs use all of it. The Canvas zip that `course release`
writes gives students this package without its hidden checks
(`autograder/checks/`), so that `course grade` runs the visible tests on their
own machine; the visible half of every check lives in `course_lib.checks`.
"""
