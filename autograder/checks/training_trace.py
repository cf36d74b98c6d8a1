"""Check a student's network parts on the inputs of one training with correct parts.

A hidden check that trains a network with the student's parts (project 1
trains a CNN with the student's `relu`, `max_pool2d` and `cross_entropy`)
asks whether that training goes as it goes with correct parts. Each step
of a training calls every part forward on some inputs and, backwards,
multiplies an upstream gradient by the part's slope. So if every part,
given exactly the inputs and upstream gradients it meets in a training
with correct parts, returns what a correct part returns, the training with
the student's parts *is* that training, and its result is already known.

A check trains once with reference parts (the course's own correct
versions) wrapped in `TracedPart`s, which keep every call's inputs and the
gradient that flowed back into it. `agrees` then calls a student's part
once per group of same-shaped inputs, the whole training's calls stacked
along the batch axis, inside a traced graph as Keras' compiled training
step would, and compares its outputs and gradients with the reference's.
Only if every part agrees (and, the check's business, the parts build its
model) does a check take the recorded result; otherwise it trains with the
student's parts as before and reports what that training did. A part that
agrees has computed a correct answer for every input of a real training:
at worst it computed it some other way than the notebook shows (for
example, only for large batches), never a pass for a part that is wrong on
the training's inputs.

Why this instead of simply training with the student's parts: in the
grader every call of a student's function is a request to the student's
kernel (`autograder/grading/judge.py`), and a 3-epoch training makes
thousands of them; stacked, it is three per group of calls (the trace, the
call, its gradient). The recorded training is the same for every
submission, so a check keeps it for the life of the grading process
(`autograder.checks.project1.reference_training`).

Example:

>>> import tensorflow as tf
>>> part = TracedPart("relu", tf.nn.relu)
>>> x = tf.Variable([[-1.0, 2.0], [3.0, -4.0]])
>>> with tf.GradientTape() as tape:
...     loss = tf.reduce_sum(part(x) * [[1.0, 2.0], [3.0, 4.0]])
>>> _ = tape.gradient(loss, x)
>>> agrees(part, lambda x: tf.maximum(x, 0.0))
True
>>> agrees(part, lambda x: tf.where(x > 0, x, 0.1 * x))
False
"""

import numpy as np

# Outputs and gradients within these of the reference's agree: float32
# arithmetic done in another order, or a clip at 1e-12 instead of 1e-7,
# stays far inside them; a leaky slope or a flipped sign does not.
RELATIVE_TOLERANCE = 1e-3
ABSOLUTE_TOLERANCE = 1e-5


def _is_symbolic(value):
    import keras

    return isinstance(value, keras.KerasTensor)


class TracedPart:
    """A reference part that keeps the inputs and upstream gradients of its calls.

    Use it where the student's part goes (a model's activation, a pooling
    function, a loss). Symbolic calls (Keras building the model) pass
    straight to the reference; concrete calls, eager or inside a compiled
    training step, are recorded.

    Args:
        name: The part's name in messages, e.g. `"relu"`.
        reference: The correct part, a function of tensors.
        differentiated: Positions of the arguments the training differentiates
            (a loss is differentiated in `y_pred` only, not `y_true`).
        gradient_rule: `rule(inputs, upstream, found, expected)` -> bool,
            whether the gradients `found` are right; defaults to closeness
            to the reference's gradients `expected`. Max pooling passes
            `max_pool_gradient_rule`, since a correct pooling may split the
            gradient of a tied window any way it likes.

    Example:

    >>> import tensorflow as tf
    >>> part = TracedPart("relu", tf.nn.relu)
    >>> _ = part(tf.constant([[1.0, -1.0]]))
    >>> len(part.calls)
    1
    """

    def __init__(self, name, reference, differentiated=(0,), gradient_rule=None):
        self.name = name
        self.__name__ = name
        self.reference = reference
        self.differentiated = tuple(differentiated)
        self.gradient_rule = gradient_rule or _close_gradients
        self.calls = []
        self.upstream = {}
        self._expected = None

    def __call__(self, *tensors):
        import tensorflow as tf

        if any(_is_symbolic(tensor) for tensor in tensors):
            return self.reference(*tensors)
        tensors = [tf.convert_to_tensor(tensor) for tensor in tensors]
        number = tf.py_function(self._keep_inputs, tensors, Tout=tf.int64)
        output = self.reference(*tensors)
        return _tap(output, number, self._keep_upstream)

    def _keep_inputs(self, *tensors):
        self.calls.append([np.array(tensor) for tensor in tensors])
        return len(self.calls) - 1

    def _keep_upstream(self, number, upstream):
        self.upstream[int(number)] = np.array(upstream)
        return 0

    def groups(self):
        """The recorded calls stacked by input shape: `[(inputs, upstream), ...]`.

        Calls whose inputs have the same shape apart from the batch axis are
        one group; a call that no gradient flowed back into (a prediction)
        gets an upstream gradient of zeros.

        Returns:
            A list of `(inputs, upstream)`: the stacked arrays of each
            argument, and the stacked upstream gradients of the outputs.

        Example:

        >>> import tensorflow as tf
        >>> part = TracedPart("relu", tf.nn.relu)
        >>> for batch in (2, 3):
        ...     _ = part(tf.ones((batch, 4)))
        >>> [(inputs[0].shape, upstream.shape) for inputs, upstream in part.groups()]
        [((5, 4), (5, 4))]
        """
        import tensorflow as tf

        by_shape = {}
        for number, inputs in enumerate(self.calls):
            key = tuple((array.shape[1:], str(array.dtype)) for array in inputs)
            by_shape.setdefault(key, []).append(number)
        groups = []
        for numbers in by_shape.values():
            first = self.calls[numbers[0]]
            inputs = [np.concatenate([self.calls[number][position] for number in numbers])
                      for position in range(len(first))]
            sample = np.asarray(self.reference(*[tf.constant(array) for array in first]))
            upstream = np.concatenate([
                self.upstream.get(number, np.zeros((len(self.calls[number][0]),)
                                                   + sample.shape[1:], sample.dtype))
                for number in numbers])
            groups.append((inputs, upstream))
        return groups

    def expected(self):
        """`groups()` with the reference's outputs and gradients on each.

        Every submission is compared with the same answers, so they are
        worked out once per record (again only if more calls were recorded).

        Returns:
            A list of `(inputs, upstream, output, gradients)`, NumPy arrays.

        Example:

        >>> import tensorflow as tf
        >>> part = TracedPart("relu", tf.nn.relu)
        >>> _ = part(tf.constant([[-2.0, 5.0]]))
        >>> [output.tolist() for _, _, output, _ in part.expected()]
        [[[0.0, 5.0]]]
        """
        size = (len(self.calls), len(self.upstream))
        if self._expected is None or self._expected[0] != size:
            answers = []
            for inputs, upstream in self.groups():
                output, gradients = _outputs_and_gradients(self.reference, inputs, upstream,
                                                           self.differentiated)
                answers.append((inputs, upstream, np.asarray(output),
                                [np.asarray(gradient) for gradient in gradients]))
            self._expected = (size, answers)
        return self._expected[1]


def _tap(output, number, keep_upstream):
    """`output` unchanged, handing the gradient that flows back into it to `keep_upstream`."""
    import tensorflow as tf

    @tf.custom_gradient
    def tapped(value, key):
        def gradient(upstream):
            kept = tf.py_function(keep_upstream, [key, upstream], Tout=tf.int64)
            with tf.control_dependencies([kept]):
                return tf.identity(upstream), None

        return tf.identity(value), gradient

    return tapped(output, number)


def _outputs_and_gradients(function, inputs, upstream, differentiated):
    """`function`'s output on `inputs` and its gradients, both computed in a traced graph.

    A training runs the parts inside Keras' compiled step, a traced
    TensorFlow graph; a part that works only eagerly (NumPy inside, Python
    branches on a tensor's values) must not agree, so the stacked calls are
    traced too. Returns `(None, None)` when the output is not a tensor.
    """
    import tensorflow as tf

    def run(upstream, *tensors):
        with tf.GradientTape() as tape:
            for position in differentiated:
                tape.watch(tensors[position])
            output = function(*tensors)
        if not tf.is_tensor(output):
            return None, None
        gradients = tape.gradient(output, [tensors[position] for position in differentiated],
                                  output_gradients=tf.cast(upstream, output.dtype))
        return output, gradients

    return tf.function(run)(tf.constant(upstream), *[tf.constant(array) for array in inputs])


def _close(found, expected):
    return found.shape == expected.shape and np.allclose(
        found, expected, rtol=RELATIVE_TOLERANCE, atol=ABSOLUTE_TOLERANCE)


def _close_gradients(inputs, upstream, found, expected):
    return all(_close(np.asarray(a), np.asarray(b)) for a, b in zip(found, expected))


def relu_gradient_rule(inputs, upstream, found, expected):
    """ReLU's gradients agree away from exactly zero, where any slope in [0, 1] is right.

    Args:
        inputs: The stacked inputs, `[x]`.
        upstream: The stacked upstream gradients (unused: `expected` has them).
        found, expected: `[gradient with respect to x]`, the part's and the
            reference's.

    Returns:
        Whether the found gradient is a correct one.

    Example:

    >>> import numpy as np
    >>> x = np.array([-1.0, 0.0, 2.0])
    >>> relu_gradient_rule([x], None, [np.array([0.0, 1.0, 1.0])], [np.array([0.0, 0.0, 1.0])])
    True
    """
    away = inputs[0] != 0
    return _close(np.where(away, np.asarray(found[0]), 0), np.where(away, expected[0], 0))


def max_pool_gradient_rule(inputs, upstream, found, expected, pool_size=2):
    """A 2x2 max pooling's gradient: each window's upstream goes to its largest values.

    Where a window holds its largest value more than once, any split of the
    upstream gradient among those places is a correct gradient (Keras gives
    it all to the first, a reshape-and-max pooling shares it out), so the
    rule checks the split, not the places: nothing goes elsewhere, and each
    window's shares add up to its upstream gradient.

    Args:
        inputs: The stacked inputs, `[x]` of shape `(batch, height, width, channels)`.
        upstream: The stacked upstream gradients of the pooled output.
        found: `[gradient with respect to x]`, the part's.
        expected: The reference's (unused: the rule needs only `x` and `upstream`).
        pool_size: The window's side.

    Returns:
        Whether the found gradient is a correct one.

    Example:

    >>> import numpy as np
    >>> x = np.array([3.0, 3.0, 1.0, 0.0]).reshape(1, 2, 2, 1)
    >>> upstream = np.ones((1, 1, 1, 1))
    >>> half = np.array([0.5, 0.5, 0.0, 0.0]).reshape(1, 2, 2, 1)
    >>> wrong = np.array([0.5, 0.0, 0.5, 0.0]).reshape(1, 2, 2, 1)
    >>> max_pool_gradient_rule([x], upstream, [half], None)
    True
    >>> max_pool_gradient_rule([x], upstream, [wrong], None)
    False
    """
    x, gradient = inputs[0], np.asarray(found[0])
    if gradient.shape != x.shape:
        return False
    batch, height, width, channels = x.shape
    rows, columns = height // pool_size, width // pool_size
    shape = (batch, rows, pool_size, columns, pool_size, channels)
    blocks = x[:, :rows * pool_size, :columns * pool_size].reshape(shape)
    shares = gradient[:, :rows * pool_size, :columns * pool_size].reshape(shape)
    largest = blocks.max(axis=(2, 4), keepdims=True)
    outside = np.where(blocks == largest, 0, shares)
    leftover = np.delete(np.delete(gradient, np.s_[:rows * pool_size], axis=1),
                         np.s_[:columns * pool_size], axis=2)
    return (np.allclose(outside, 0, atol=ABSOLUTE_TOLERANCE)
            and np.allclose(leftover, 0, atol=ABSOLUTE_TOLERANCE)
            and _close(shares.sum(axis=(2, 4)), upstream))


def agrees(part, candidate):
    """Whether `candidate` answers as `part`'s reference on all of its recorded calls.

    Args:
        part: A `TracedPart` that a training has run.
        candidate: The student's part, called like the reference.

    Returns:
        True if on every group of calls the candidate returned a tensor
        close to the reference's output and gradients the part's rule
        accepts; False otherwise, also when the candidate raised (the
        check's own training then reports the crash).

    Example:

    >>> import tensorflow as tf
    >>> part = TracedPart("relu", tf.nn.relu)
    >>> _ = part(tf.constant([[-2.0, 5.0]]))
    >>> agrees(part, lambda x: tf.maximum(x, 0.0)), agrees(part, tf.abs)
    (True, False)
    """
    for inputs, upstream, expected, expected_gradients in part.expected():
        try:
            found, found_gradients = _outputs_and_gradients(
                candidate, inputs, upstream, part.differentiated)
        except Exception:  # noqa: BLE001 - any crash: the training decides and reports
            return False
        if found is None or not _close(np.asarray(found), expected):
            return False
        if any(gradient is None for gradient in found_gradients):
            return False
        if not part.gradient_rule(inputs, upstream, found_gradients, expected_gradients):
            return False
    return True
