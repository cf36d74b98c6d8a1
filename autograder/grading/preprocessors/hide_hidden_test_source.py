"""`HideHiddenTestSource`: feedback shows that hidden tests ran, never their code."""

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool, Unicode

from autograder.grading.notebooks import HIDDEN_TESTS_REGION, is_test_cell

HIDDEN_NOTE = "# hidden tests ran here (source not shown)"


class HideHiddenTestSource(Preprocessor):
    """Remove hidden-test source (and tracebacks quoting it) from a notebook.

    Example:

    >>> import nbformat
    >>> cell = nbformat.v4.new_code_cell(
    ...     "check(f)\\n### BEGIN HIDDEN TESTS\\nsecret(f)\\n### END HIDDEN TESTS")
    >>> notebook = nbformat.v4.new_notebook(cells=[cell])
    >>> HideHiddenTestSource().preprocess(notebook, {})[0].cells[0].source
    'check(f)\\n# hidden tests ran here (source not shown)'
    """

    # nbconvert runs a preprocessor only when it is enabled.
    enabled = Bool(True).tag(config=True)
    begin_delimiter = Unicode(HIDDEN_TESTS_REGION[0]).tag(config=True)
    end_delimiter = Unicode(HIDDEN_TESTS_REGION[1]).tag(config=True)
    note = Unicode(HIDDEN_NOTE).tag(config=True)

    def hide_source(self, source):
        lines, hiding, changed = [], False, False
        for line in source.split("\n"):
            if self.begin_delimiter in line:
                hiding, changed = True, True
                indent = line[:len(line) - len(line.lstrip())]
                lines.append(indent + self.note)
            elif self.end_delimiter in line and hiding:
                hiding = False
            elif not hiding:
                lines.append(line)
        if hiding:  # an unclosed region: hide everything after it
            changed = True
        return "\n".join(lines), changed

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        cell.source, _ = self.hide_source(cell.source)
        if is_test_cell(cell):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.get('ename', 'Error')}: "
                                           f"{output.get('evalue', '')}"]
        return cell, resources
