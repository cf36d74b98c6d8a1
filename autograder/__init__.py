"""autograder: hidden checks, pytest suites and the `course` grading workflow.

Students do not get this package; the visible half of the checks lives in
`course_lib.checks`.
"""
