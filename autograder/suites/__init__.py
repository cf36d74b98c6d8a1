"""pytest suites that grade a submission from outside the notebook.

    pytest autograder/suites --submission path/to/notebook.ipynb

loads the student's definitions from the notebook and runs every graded test
cell of the matching course notebook (hidden tests included where the
instructor sources exist) as one pytest test per nbgrader grade_id.
"""
