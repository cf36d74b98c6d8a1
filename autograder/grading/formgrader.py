"""Serve nbgrader's formgrader on a course directory, for grading written answers.

Written answers (markdown cells marked `solution` and `grade` in the source)
are not autograded: `course autograde` leaves them "needs manual grade". TAs
give their points and comments in nbgrader's own formgrader, a Jupyter
server extension; this module only starts a Jupyter server on the course
directory with the course's nbgrader settings (`make_config`), so the
formgrader reads and writes the same gradebook, SQLite or PostgreSQL, as
every `course` step. The gradebook URL travels in the server's in-process
configuration, never on a command line.

Once the answers are graded, `course export` adds their points and
`course feedback` shows the TA's comments beside each answer.
"""

import copy
import os
from dataclasses import dataclass

FORMGRADER_EXTENSION = "nbgrader.server_extensions.formgrader"


@dataclass
class FormgraderServer:
    """A Jupyter server with nbgrader's formgrader, ready to start.

    Args:
        app: The initialized `jupyter_server.serverapp.ServerApp`.
        url: The formgrader's address (token left out).
    """

    app: object
    url: str

    def start(self):
        """Serve until interrupted (Ctrl-C), then stop the server."""
        self.app.start()


def server_config(course, port, ip="127.0.0.1"):
    """The traitlets `Config` of a Jupyter server running the formgrader.

    Args:
        course: The `Course` whose gradebook the TAs grade.
        port: TCP port (0: any free one).
        ip: Address to listen on (default: this machine only).

    Returns:
        A `traitlets.config.Config`: the course's nbgrader settings plus the
        server's own.

    Example:

    >>> from autograder.grading.course import Course
    >>> config = server_config(Course("tests/files/toy_course"), port=8890)
    >>> config.ServerApp.jpserver_extensions[FORMGRADER_EXTENSION], config.ServerApp.port
    (True, 8890)
    >>> config.CourseDirectory.db_url.endswith("toy_course/gradebook.db")
    True
    """
    config = copy.deepcopy(course.config)
    config.ServerApp.root_dir = str(course.root)
    config.ServerApp.ip = ip
    config.ServerApp.port = port
    config.ServerApp.port_retries = 0
    config.ServerApp.open_browser = False
    config.ServerApp.default_url = "/formgrader"
    # Enabled here as well as by nbgrader's installed server config, which
    # also turns on JupyterLab, where the formgrader has its menu.
    config.ServerApp.jpserver_extensions = {FORMGRADER_EXTENSION: True}
    # The grading machine runs the course as root (the kernel sandbox needs
    # it); the server itself runs no student code.
    config.ServerApp.allow_root = True
    return config


def formgrader_server(course, port=8890, ip="127.0.0.1"):
    """Build (not yet start) a Jupyter server with the formgrader on `course`.

    The server's token comes from `JUPYTER_TOKEN` when set (Jupyter's own
    rule), else Jupyter makes a random one and prints the address with it.

    Args:
        course: The `Course` (its gradebook is the one graded).
        port: TCP port.
        ip: Address to listen on.

    Returns:
        A `FormgraderServer`.
    """
    from jupyter_server.serverapp import ServerApp

    from autograder.grading.course import prepare_tools

    prepare_tools()
    # The formgrader reads nbgrader_config.py from the folder it runs in
    # (nbgrader's rule); run where the course is, so a stray file elsewhere
    # cannot point it at another gradebook.
    os.chdir(course.root)
    app = ServerApp(config=server_config(course, port, ip))
    app.initialize(argv=[])
    return FormgraderServer(app, f"http://{ip}:{app.port}/formgrader")
