"""The `course` command: one small function per subcommand.

Each subcommand only parses its arguments and calls into
`autograder.grading`; the work itself lives there.
"""

import sys

import click


class CourseError(click.ClickException):
    """A usage or setup problem, reported as one clear line and exit code 2."""

    exit_code = 2


def not_implemented(name):
    """Report a subcommand that is planned but not built yet (exit code 3)."""
    click.echo(f"course {name}: not implemented yet.", err=True)
    sys.exit(3)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dl-course")
def main():
    """Run the deep-learning course: release, grade, collect and export."""


@main.command()
@click.argument("assignment", required=False)
@click.option("--check", is_flag=True,
              help="Only verify that assignments/ matches solutions/.")
def release(assignment, check):
    """Generate student stubs for ASSIGNMENT and a zip for Canvas."""
    not_implemented("release")


@main.command()
@click.argument("notebook")
@click.option("--assignment", help="Assignment id (inferred when omitted).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON results.")
def grade(notebook, assignment, as_json):
    """Grade one NOTEBOOK the way the TA's autograder does."""
    not_implemented("grade")


@main.command()
@click.argument("assignment")
@click.argument("submissions_zip")
@click.option("--roster", help="Canvas gradebook export (CSV).")
def collect(assignment, submissions_zip, roster):
    """Unpack a Canvas submissions zip into nbgrader's submitted/ folder."""
    not_implemented("collect")


@main.command()
@click.argument("assignment")
def autograde(assignment):
    """Autograde every collected submission of ASSIGNMENT."""
    not_implemented("autograde")


@main.command()
@click.argument("assignment")
def feedback(assignment):
    """Write one HTML feedback file per student."""
    not_implemented("feedback")


@main.command()
@click.argument("assignment")
@click.option("--roster", required=True, help="Canvas gradebook export (CSV).")
@click.option("-o", "--output", required=True, help="CSV file to write.")
def export(assignment, roster, output):
    """Write a Canvas gradebook import CSV for ASSIGNMENT."""
    not_implemented("export")


@main.command()
@click.option("--directory", help="Where to build the demo course.")
def demo(directory):
    """Run the whole course workflow on a fabricated class."""
    not_implemented("demo")


if __name__ == "__main__":
    main()
