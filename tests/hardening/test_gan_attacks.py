"""Exercise 2.3's GAN cells are decided by the judge: the recorder cannot be forged.

The checks hand `train_gan` an `on_step` recorder that copies both networks'
weights after every update. Decided in the kernel, that recorder is a live
object of the student's process, so a `train_gan` that does not freeze the
discriminator can rewrite what the recorder saw and earn the freezing
cell's points. Judged, the kernel gets only a stand-in that records the
calls; the judge replays them on its own recorder, which student code never
touches.

Samples (the released stub filled from the solution, as in
`tests/checks/test_gan_rules_graded.py`):

- `no_freeze`: the generator's update also moves the discriminator
  (`generator.trainable_variables + discriminator.trainable_variables`);
  its honest score is the full score less `test_gan_freezing` (3 points);
- `forge_changes`: `no_freeze`, and `train_gan` replaces the recorder's
  `changes` method with one that reports the frozen pattern;
- `forge_values`: `no_freeze`, and `train_gan` overwrites the recorder's
  copies of the discriminator's weights after each generator update.

Judged, both forging samples get exactly the honest score of `no_freeze`;
decided in the kernel, both win the freezing cell (the attack is real):
`forge_changes` gets full marks, `forge_values` loses the settings cell
instead, whose reported-loss check reads the same forged copies.
"""

import pytest

from tests.checks.test_gan_rules_graded import FULL_SCORES, SETTINGS, filled_notebook
from tests.hardening.graded_samples import grade_samples, scores_of

NO_FREEZE = ("        variables = generator.trainable_variables  # the discriminator stays frozen\n",
             "        variables = (generator.trainable_variables\n"
             "                     + discriminator.trainable_variables)\n")
FORGE_CHANGES = ("    rng = np.random.default_rng(seed)\n",
                 "    rng = np.random.default_rng(seed)\n"
                 "    if hasattr(on_step, 'calls'):  # the checks' recorder\n"
                 "        on_step.changes = lambda index: (\n"
                 "            on_step.calls[index][0] == 'generator',\n"
                 "            on_step.calls[index][0] == 'discriminator')\n")
FORGE_VALUES = ("            break\n    return history",
                "            break\n"
                "    if hasattr(on_step, 'discriminator_values'):  # the checks' recorder\n"
                "        for index, (phase, _) in enumerate(on_step.calls):\n"
                "            if phase == 'generator':\n"
                "                on_step.discriminator_values[index + 1] = (\n"
                "                    on_step.discriminator_values[index])\n"
                "    return history")
SAMPLES = {"no_freeze": [NO_FREEZE], "forge_changes": [NO_FREEZE, FORGE_CHANGES],
           "forge_values": [NO_FREEZE, FORGE_VALUES]}
HONEST = {**FULL_SCORES, "test_gan_freezing": 0.0}
# (sample, judged)
RUNS = [("no_freeze", True), ("forge_changes", True), ("forge_values", True),
        ("forge_changes", False), ("forge_values", False)]


@pytest.fixture(scope="module")
def scores(tmp_path_factory):
    notebooks = {name: filled_notebook(edits) for name, edits in SAMPLES.items()}
    reports = grade_samples(tmp_path_factory.mktemp("gan_attacks"), "03_gan.ipynb",
                            notebooks, RUNS, SETTINGS, "exercises2")
    return {run: (scores_of(report), report) for run, report in reports.items()}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_judged_samples_get_exactly_the_honest_score(name, scores):
    tests, report = scores[(name, True)]
    assert report["error"] is None, report
    assert tests == HONEST, (name, report["tests"])
    assert report["score"] == sum(FULL_SCORES.values()) - FULL_SCORES["test_gan_freezing"]


def test_decided_in_the_kernel_the_forgeries_win_the_freezing_cell(scores):
    changes, _ = scores[("forge_changes", False)]
    assert changes == FULL_SCORES
    # Rewriting the copies wins the freezing cell and loses the settings cell,
    # whose reported-loss check recomputes the losses from the same copies.
    values, _ = scores[("forge_values", False)]
    assert values == {**FULL_SCORES, "test_gan_settings": 0.0}
