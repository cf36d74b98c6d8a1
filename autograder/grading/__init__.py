"""Thin layers over nbgrader: release, grade, collect, autograde, feedback, export."""
