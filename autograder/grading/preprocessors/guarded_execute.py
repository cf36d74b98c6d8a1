"""`GuardedExecute`: nbgrader's execution step, hardened for untrusted notebooks."""

import copy
import json
import secrets
import signal

from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer

from autograder.grading.guard import VERDICT_MIME
from autograder.grading.judge import (Judge, JudgeTimeout, KernelGone, KernelLink,
                                      NotJudgeable, fresh_seed, judged_here)
from autograder.grading.notebooks import (HIDDEN_TESTS_REGION, error_output, is_test_cell,
                                          without_region)

GUARD_ARGUMENT = "--IPKernelApp.extensions=autograder.grading.guard"
RESET_CODE = '__import__("autograder.grading.guard", fromlist=["reset"]).reset({token!r})'
FINISH_CODE = '__import__("autograder.grading.guard", fromlist=["finish"]).finish({token!r})'


class GuardedExecute(Execute):
    """nbgrader's `Execute`, hardened for untrusted submissions.

    - The kernel starts through `SandboxKernelManager` (memory and file-size
      limits, a scratch folder, no network where the machine allows it).
    - A cell that runs past the timeout, or a kernel that dies (segfault,
      `os._exit`, out of memory), does not stop grading: the cell gets an
      error output saying so, the kernel is restarted, the cells that had
      run cleanly before it are run again to rebuild the student's state, and
      grading goes on. After `max_restarts` restarts the remaining cells are
      marked as not run, with the reason.
    - Output beyond `max_output_chars` per cell is dropped with a note;
      error messages count too (an error is cut short, never dropped, so
      the cell still fails).
    - Test cells are decided by the trusted judge (`autograder.grading.judge`)
      in this process: the kernel runs only the cell's visible part (so the
      notebook's state is what the student saw), its outputs are replaced by
      the judge's, and the hidden tests never enter the kernel. A judged
      cell's points depend on nothing the kernel says but the results of
      the student's own functions on the judge's inputs.
    - Test cells the judge does not take (a check module listed in
      `judge.IN_KERNEL_CHECKS`, none at present, or `judge_test_cells` off)
      run guarded: a separate reset request first undoes student changes
      to the interpreter (see `autograder.grading.guard`), then the test
      runs with a one-time token appended; only a cell with no error and
      exactly one verdict carrying that token keeps its points.
      Anything else gets an error output naming why, so nbgrader scores it 0.
    """

    max_restarts = Integer(3, help="Kernel restarts allowed per notebook.").tag(config=True)
    max_output_chars = Integer(
        200_000, help="Characters of output kept per cell.").tag(config=True)
    judge_test_cells = Bool(
        True, help="Decide test cells in the grader's process (the trusted "
                   "judge) instead of in the kernel.").tag(config=True)

    def __init__(self, *args, **kwargs):
        from autograder.grading.sandbox import SandboxKernelManager

        kwargs.setdefault("kernel_manager_class", SandboxKernelManager)
        super().__init__(*args, **kwargs)

    async def async_start_new_kernel(self, **kwargs):
        """Start the kernel with the guard loaded before any student cell.

        Set here, at the moment the kernel starts (and again at each
        restart), because nbconvert's `preprocess` runs `NotebookClient`'s
        `__init__` a second time, which reloads `extra_arguments` and
        `interrupt_on_timeout` from the configuration and so drops what
        `__init__` would have set.
        """
        if GUARD_ARGUMENT not in self.extra_arguments:
            self.extra_arguments = [*self.extra_arguments, GUARD_ARGUMENT]
        # Timeouts must raise so the cell can be stopped for sure (an
        # interrupt does not end a loop that catches KeyboardInterrupt).
        self.interrupt_on_timeout = False
        return await super().async_start_new_kernel(**kwargs)

    # nbclient binds its synchronous twin to its own coroutine, not ours.
    start_new_kernel = run_sync(async_start_new_kernel)

    def preprocess(self, nb, resources=None, km=None):
        self._restarts = 0
        self._kernel_lost = None
        self._replay = []
        self._output_used = {}
        self._judge = None
        try:
            return super().preprocess(nb, resources, km)
        finally:
            if self._judge is not None:
                self._judge.link.close()
                self._judge = None

    # -- output limit ------------------------------------------------------

    def output(self, outs, msg, display_id, cell_index):
        content = msg.get("content", {})
        kind = msg.get("msg_type")
        if kind in ("stream", "display_data", "execute_result", "update_display_data"):
            data = content.get("data", {})
            if VERDICT_MIME not in data:
                size = len(content.get("text", "")) + len(json.dumps(data, default=str))
                used = self.charge(cell_index, size)
                if used + size > self.max_output_chars:
                    if used <= self.max_output_chars:
                        outs.append(NotebookNode(
                            output_type="stream", name="stdout",
                            text=f"\n[output limited: more than {self.max_output_chars} "
                                 "characters; the rest was dropped]\n"))
                    return None
        elif kind == "error":
            msg = self.limited_error(msg, cell_index)
        return super().output(outs, msg, display_id, cell_index)

    def charge(self, cell_index, size):
        """Count `size` characters of output against the cell; return what it had used."""
        used = self._output_used.get(cell_index, 0)
        self._output_used[cell_index] = used + size
        return used

    def limited_error(self, msg, cell_index):
        """`msg` with its error cut to what the cell's output allowance leaves.

        An error is never dropped (nbgrader needs it to score the cell as
        failed): past the limit it keeps its name and the first 1,000
        characters of its message.
        """
        content = msg.get("content", {})
        name = str(content.get("ename", ""))[:200]
        value = str(content.get("evalue", ""))
        traceback = [str(line) for line in content.get("traceback") or []]
        size = len(name) + len(value) + sum(len(line) for line in traceback)
        used = self.charge(cell_index, size)
        if used + size <= self.max_output_chars:
            return msg
        allowed = max(1000, self.max_output_chars - used)
        if len(value) > allowed:
            value = value[:allowed] + f" ... [cut: {len(value)} characters]"
        note = (f"[traceback dropped: the cell's output passed {self.max_output_chars} "
                "characters]")
        return {**msg, "content": {**content, "ename": name, "evalue": value,
                                   "traceback": [f"{name}: {value[:allowed]}", note]}}

    # -- cell execution ------------------------------------------------------

    def preprocess_cell(self, cell, resources, index):
        self._check_assign_resources(resources)
        if cell.cell_type != "code" or not cell.source.strip():
            return cell, self.resources
        self._output_used[index] = 0
        if self._kernel_lost:
            cell.outputs = [error_output("CellNotRun", self._kernel_lost)]
            return cell, self.resources
        try:
            if is_test_cell(cell):
                replay = self.run_test_cell(cell, index)
                self.note_restart(cell)
                if not any(output.output_type == "error" for output in cell.outputs):
                    self._replay.append((index, replay))  # its imports may serve later tests
            else:
                self.execute_cell(cell, index, store_history=True)
                if not any(output.output_type == "error" for output in cell.outputs):
                    self._replay.append((index, cell.source))
            if any(output.get("ename") == "MemoryError" for output in cell.outputs):
                # The memory may still be held; start clean rather than fail on.
                self.stop_cell(cell, index, "MemoryLimit",
                               f"cell {index + 1} ran out of memory (the grading limit "
                               f"is {getattr(self.km, 'memory_limit_mb', '?')} MiB); "
                               "the kernel was restarted")
        except CellTimeoutError:
            self.stop_cell(cell, index, "CellTimeout",
                           f"cell {index + 1} timed out after {self.timeout} s and was "
                           "stopped; the kernel was restarted")
        except DeadKernelError:
            self.stop_cell(cell, index, "KernelDied",
                           f"the kernel died while running cell {index + 1}: "
                           f"{self.death_reason()}; the kernel was restarted")
        self.nb.cells[index] = cell
        return cell, self.resources

    def note_restart(self, cell):
        """Say in a failed test's message that the kernel had been restarted."""
        if not self._restarts:
            return
        for output in cell.outputs:
            if output.output_type == "error":
                output["evalue"] = (f"{output.get('evalue', '')} (note: the kernel was "
                                    f"restarted {self._restarts} time(s) earlier, see the "
                                    "first failed cell; cells before it were run again)")
                break

    def death_reason(self):
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        code = process.poll() if process is not None else None
        if code is None:
            return "it stopped responding"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            hint = {"SIGSEGV": " (a segmentation fault)",
                    "SIGKILL": " (killed, usually for using too much memory)"}.get(name, "")
            return f"it was ended by {name}{hint}"
        return f"it exited with status {code} (e.g. os._exit or a crash in native code)"

    def stop_cell(self, cell, index, name, message):
        """Record why `cell` stopped, restart the kernel and rebuild state."""
        if is_test_cell(cell):
            cell.source = cell.metadata.get("nbgrader", {}).pop("original_source", cell.source)
            cell.outputs = [output for output in cell.outputs
                            if VERDICT_MIME not in output.get("data", {})]
        if self._restarts >= self.max_restarts:
            cell.outputs.append(error_output(name, message.replace(
                "; the kernel was restarted", "")))
            self._kernel_lost = (f"not run: the kernel failed {self._restarts + 1} times "
                                 f"(last at cell {index + 1}); grading stopped here")
            return
        cell.outputs.append(error_output(name, message))
        self._restarts += 1
        try:
            self.fresh_kernel()
            for earlier, source in self._replay:
                replayed = copy.deepcopy(self.nb.cells[earlier])
                replayed.source = source
                self.execute_cell(replayed, earlier, store_history=False)
                if any(output.get("ename") == "MemoryError" for output in replayed.outputs):
                    raise RuntimeError("memory limit while rebuilding state")
        except (CellTimeoutError, DeadKernelError, RuntimeError) as error:
            self._kernel_lost = (f"not run: the kernel could not be restarted after cell "
                                 f"{index + 1} ({type(error).__name__})")

    def fresh_kernel(self):
        """Replace the kernel (dead or stuck) with a new sandboxed one."""
        old_manager = self.km
        self.shutdown_kernel = "immediate"
        self._cleanup_kernel()
        if hasattr(old_manager, "cleanup_scratch"):
            old_manager.cleanup_scratch()
        self.km = self.create_kernel_manager()
        self.start_new_kernel()
        self.start_new_kernel_client()
        if self._judge is not None:
            self._judge.link.attach(*self.kernel_connection())

    def kernel_connection(self):
        """The kernel's connection info and a test of whether it still lives."""
        process = getattr(self.km.provisioner, "process", None)
        return (self.km.get_connection_info(session=False),
                lambda: process is None or process.poll() is None)

    def judge_here(self, cell, index):
        """Decide a test cell in this process; the kernel runs only its visible part.

        Returns:
            The source the kernel ran (what a restart replays).
        """
        visible = without_region(cell.source, HIDDEN_TESTS_REGION)
        in_kernel = NotebookNode(cell_type="code", source=visible, metadata={}, outputs=[])
        self.execute_cell(in_kernel, index, store_history=True)
        if self._judge is None:
            self._judge = Judge(KernelLink(*self.kernel_connection(), timeout=self.timeout),
                                fresh_seed())
        try:
            cell.outputs = self._judge.run(cell.source, timeout=self.timeout)
        except JudgeTimeout:
            raise CellTimeoutError(f"the test timed out after {self.timeout} s") from None
        except KernelGone:
            raise DeadKernelError("the kernel died while the test ran") from None
        except NotJudgeable as error:
            cell.outputs = [error_output("GraderError", f"{error}; this test cannot be "
                                         "graded (tell the instructor)")]
        return visible

    def run_test_cell(self, cell, index):
        """Run one test cell; leave outputs nbgrader scores correctly.

        Returns:
            The source a kernel restart replays for it.
        """
        if self.judge_test_cells and judged_here(cell.source):
            return self.judge_here(cell, index)
        self.run_guarded(cell, index)
        return cell.source

    def run_guarded(self, cell, index):
        """Run one test cell in the kernel, guarded (see the class docstring)."""
        reset_token = secrets.token_hex(16)
        reset = NotebookNode(cell_type="code", source=RESET_CODE.format(token=reset_token),
                             metadata={}, outputs=[])
        self.execute_cell(reset, index, store_history=False)
        reset_failed = [output for output in reset.outputs if output.output_type == "error"]
        if not any(output.get("data", {}).get(VERDICT_MIME, {}).get("reset") == reset_token
                   for output in reset.outputs):
            reset_failed = reset_failed or [{"ename": "no confirmation"}]
        token = secrets.token_hex(16)
        original = cell.source
        cell.metadata.setdefault("nbgrader", {})["original_source"] = original
        cell.source = original + "\n" + FINISH_CODE.format(token=token)
        try:
            self.execute_cell(cell, index, store_history=True)
        finally:
            cell.source = original
            cell.metadata["nbgrader"].pop("original_source", None)
        self.judge_test_cell(cell, token, reset_failed)

    @staticmethod
    def judge_test_cell(cell, token, reset_failed=()):
        """Keep a test cell's points only when its verdict is genuine.

        Removes verdict and numeric-result outputs (no partial credit from a
        printed number) and adds an error output with the reason when the
        cell did not finish cleanly with exactly one verdict carrying `token`.
        """
        verdicts = [output["data"][VERDICT_MIME] for output in cell.outputs
                    if VERDICT_MIME in output.get("data", {})]
        cell.outputs = [output for output in cell.outputs
                        if VERDICT_MIME not in output.get("data", {})
                        and output.output_type != "execute_result"]
        if any(output.output_type == "error" for output in cell.outputs):
            return
        genuine = [verdict for verdict in verdicts
                   if isinstance(verdict, dict) and verdict.get("token") == token]
        if reset_failed:
            reason = ("GradingEnvironmentError", "the grading environment could not be "
                      f"reset before this test ({reset_failed[0].get('ename')}); "
                      "scored as failed")
        elif len(verdicts) != len(genuine) or len(genuine) > 1:
            reason = ("ForgedVerdict", "the notebook produced a test verdict of its own; "
                      "scored as failed")
        elif not genuine:
            reason = ("TestDidNotFinish", "the test stopped before its end without "
                      "showing an error (the notebook hides errors, e.g. with a custom "
                      "exception handler); scored as failed")
        elif not genuine[0].get("intact"):
            altered = ", ".join(map(str, genuine[0].get("altered", []))) or "unknown"
            reason = ("GradingEnvironmentAltered", "code run by the test changed the "
                      f"grading functions ({altered}); scored as failed")
        else:
            return
        cell.outputs.append(error_output(*reason))
