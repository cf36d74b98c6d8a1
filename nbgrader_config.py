# nbgrader reads this file when run from the repository root: the repository is
# the course directory, solutions/ is the source and assignments/ the release.
# The settings themselves live in autograder/grading/config.py.
from autograder.grading.config import make_config

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file
c.merge(make_config("."))
