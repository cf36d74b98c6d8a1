"""Render grading results for people: rich tables on the terminal."""

from rich.console import Console
from rich.table import Table


def print_grade_report(report, console=None):
    """Print one notebook's per-test table and total.

    Args:
        report: The dict returned by `autograder.grading.grade.grade_notebook`.
        console: A `rich.console.Console` (a new one on stdout by default).
    """
    console = console or Console()
    title = f"{report['assignment']} / {report['notebook']}"
    table = Table(title=title, show_lines=False)
    table.add_column("test")
    table.add_column("points", justify="right")
    table.add_column("result")
    table.add_column("message", overflow="fold")
    for row in report["tests"]:
        table.add_row(row["id"], f"{row['score']:g} / {row['max_score']:g}",
                      "[green]pass[/]" if row["passed"] else "[red]fail[/]",
                      row["message"])
    console.print(table)
    console.print(f"[bold]Score: {report['score']:g} / {report['max_score']:g}[/]")
    if not report["hidden_tests_included"]:
        console.print("Visible tests only: the hidden tests are not part of this "
                      "copy of the course, so the final grade may be lower.")
    if report.get("error"):
        console.print(f"[red]Grading stopped early:[/] {report['error']}")
