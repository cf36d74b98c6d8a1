"""Hidden checks for the LSTM exercise.

The visible checks (`course_lib.checks.lstm`) try one shape each. These try
many: a single example, a single unit, a single time step, more features
than units and the reverse, long sequences, large weights that saturate the
gates, and float32 inputs. The reference is always Keras in float64; a
mismatch is explained with the same ablation diagnosis the visible checks
use, so the message names the faulty part.
"""

import numpy as np

from course_lib.checks.library_calls import forbids_library_routines
from course_lib.checks.lstm import (FLOAT32_TOLERANCE, FORBIDDEN_NAMES,
                                    compare_forward_with_keras,
                                    compare_step_with_keras,
                                    random_lstm_weights)

# (batch, features, units, weight scale)
STEP_CASES = (
    (1, 1, 1, 0.5),
    (2, 3, 5, 0.5),
    (4, 6, 2, 1.0),
    (3, 8, 8, 0.3),
    (5, 2, 16, 0.5),
    (3, 4, 3, 3.0),    # large weights: gates close to 0 or 1
)

# (batch, time, features, units, weight scale)
FORWARD_CASES = (
    (1, 1, 1, 1, 0.5),
    (2, 5, 3, 4, 0.5),
    (4, 7, 6, 2, 1.0),
    (3, 12, 2, 8, 0.3),
    (6, 3, 5, 3, 0.5),
    (2, 4, 3, 3, 3.0),  # large weights: gates close to 0 or 1
)


@forbids_library_routines(FORBIDDEN_NAMES, "lstm_step",
                          hint="Write the step with NumPy.")
def check_lstm_step_matches_keras(lstm_step):
    """`lstm_step` equals `keras.layers.LSTMCell` on many shapes and dtypes.

    Every case in `STEP_CASES` is tried in float64 (tolerance 1e-8), then
    one case with float32 inputs (tolerance 1e-5, as float32 carries about
    seven digits).

    Args:
        lstm_step: The student's function
            `lstm_step(x_t, h_prev, c_prev, kernel, recurrent_kernel, bias)`.

    Raises:
        CheckFailure: Naming the faulty part when it can be localised.
    """
    rng = np.random.default_rng(31)
    for batch, features, units, scale in STEP_CASES:
        kernel, recurrent_kernel, bias = random_lstm_weights(
            features, units, rng, scale)
        x_t = rng.normal(size=(batch, features))
        h_prev = np.tanh(rng.normal(size=(batch, units)))
        c_prev = rng.normal(0.0, 1.5, size=(batch, units))
        compare_step_with_keras(lstm_step, x_t, h_prev, c_prev, kernel,
                                recurrent_kernel, bias)
    weights = random_lstm_weights(3, 4, rng)
    arrays = [rng.normal(size=(2, 3)), np.tanh(rng.normal(size=(2, 4))),
              rng.normal(size=(2, 4)), *weights]
    compare_step_with_keras(lstm_step,
                            *[a.astype(np.float32) for a in arrays],
                            tolerance=FLOAT32_TOLERANCE)


@forbids_library_routines(FORBIDDEN_NAMES, "lstm_forward",
                          hint="Loop over time and call your lstm_step.")
def check_lstm_forward_matches_keras(lstm_forward):
    """`lstm_forward` equals `keras.layers.LSTM(..., return_sequences=True)`.

    Every case in `FORWARD_CASES` (several batch sizes, lengths, feature
    counts and unit counts) is compared in float64 to 1e-8, then one case
    with float32 inputs to 1e-5.

    Args:
        lstm_forward: The student's function
            `lstm_forward(x, kernel, recurrent_kernel, bias)`.

    Raises:
        CheckFailure: Naming the faulty part when it can be localised.
    """
    rng = np.random.default_rng(47)
    for batch, time, features, units, scale in FORWARD_CASES:
        kernel, recurrent_kernel, bias = random_lstm_weights(
            features, units, rng, scale)
        x = rng.normal(size=(batch, time, features))
        compare_forward_with_keras(lstm_forward, x, kernel, recurrent_kernel,
                                   bias)
    weights = random_lstm_weights(2, 3, rng)
    x = rng.normal(size=(3, 6, 2))
    compare_forward_with_keras(lstm_forward,
                               *[a.astype(np.float32) for a in (x, *weights)],
                               tolerance=FLOAT32_TOLERANCE)
