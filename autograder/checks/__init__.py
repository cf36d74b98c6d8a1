"""Hidden checks, one module per topic; they share `course_lib.checks.core`."""
