"""pytest suites that grade a submission from outside the notebook.

    pytest autograder/suites --submission path/to/notebook.ipynb [--assignment ID]

grades the notebook exactly as `course grade` does (nbgrader's autograde in a
scratch course, through the sandboxed, guarded kernel with its timeouts and
limits; hidden tests included where the instructor sources exist) and turns
each graded test cell into one pytest result named after its nbgrader
grade_id. No student code runs in the pytest process.
"""
