"""The data format of observations: values sent to and from a grading kernel.

The trusted judge (`judge.py`, grader side) and the kernel-side observer
(`observer.py`, inside the student's kernel) exchange only what this module
encodes: numbers, strings, `None`, NumPy arrays and tensors (as raw bytes
with a dtype and a shape), and tuples, lists and dicts of them. Nothing is
pickled, so a kernel cannot make the judge run code by what it sends; and
every decoded value is checked against the limits below, so a kernel cannot
make the judge allocate without bound either.

Keras models cross as their JSON configuration and weights: the judge's own
models to the kernel (for a function that takes one), and a model the
student's function returns back to the judge, which rebuilds it from its
configuration alone after checking that it names only Keras' own layers
(`judge.rebuild_models`). A callback (the checks' `on_step`) is sent as a
number: the kernel records its calls and the judge replays them on its own
side (see `judge.RemoteFunction`).

Written here, not taken from a library, because the message format must be
exactly this small: pickle-based transports (multiprocessing, dask) would
run code chosen by the sender on the receiving side.

Example:

>>> import numpy as np
>>> buffers = []
>>> node = encode((np.arange(3.0), {"rate": 0.5}), buffers)
>>> values = decode(node, [bytes(buffer) for buffer in buffers])
>>> values[0], values[1]
(array([0., 1., 2.]), {'rate': 0.5})
"""

import numpy as np

MAX_DEPTH = 8
MAX_ITEMS = 10_000
MAX_BYTES = 256 * 1024 * 1024
MAX_TEXT = 10_000
MAX_MODEL_TEXT = 1_000_000
# Array dtypes that may cross: plain numbers and booleans only (no objects).
DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
          "uint64", "float16", "float32", "float64", "complex64", "complex128")


class ObservationError(ValueError):
    """An observation that breaks the format or its limits."""


def _is_tensor(value):
    module = type(value).__module__ or ""
    return module.startswith(("tensorflow", "keras")) and hasattr(value, "numpy")


def encode(value, buffers, depth=0, symbolic=None, callback=None):
    """Encode `value` as a JSON-ready node, appending array bytes to `buffers`.

    Args:
        value: What to send.
        buffers: The message's binary buffers, appended to.
        depth: Nesting level (internal).
        symbolic: Optional; returns `(shape, dtype)` for a symbolic tensor
            (a Keras input, a graph tensor), which is sent as its spec.
        callback: Optional; returns the node for a function handed to the
            kernel as a callback (the judge's `on_step`), None to refuse it.

    Raises:
        ObservationError: for a value of any other kind (a model, a
            generator, a symbolic tensor), naming its type.
    """
    if depth > MAX_DEPTH:
        raise ObservationError("nested more than 8 levels deep")
    if value is None:
        return {"t": "none"}
    spec = symbolic(value) if symbolic is not None else None
    if spec is not None:
        shape, dtype = spec
        return {"t": "symbolic", "shape": list(shape), "dtype": str(dtype)}
    if isinstance(value, (bool, int, float, str)) and not isinstance(value, np.generic):
        if isinstance(value, str) and len(value) > MAX_TEXT:
            raise ObservationError("a string longer than 10,000 characters")
        return {"t": "value", "v": value}
    tensor = _is_tensor(value)
    if isinstance(value, (np.ndarray, np.generic)) or tensor:
        try:
            array = np.ascontiguousarray(value.numpy() if tensor else value)
        except Exception as error:  # noqa: BLE001 - a symbolic tensor has no values
            raise ObservationError(f"a {type(value).__name__} without values "
                                   f"({type(error).__name__})") from None
        if array.dtype.name not in DTYPES:
            raise ObservationError(f"an array of dtype {array.dtype}")
        buffers.append(memoryview(array).cast("B") if array.size else b"")
        return {"t": "tensor" if tensor else "array", "dtype": array.dtype.name,
                "shape": list(array.shape), "buffer": len(buffers) - 1,
                "scalar": isinstance(value, np.generic)}
    if callable(getattr(value, "to_json", None)) and callable(
            getattr(value, "get_weights", None)):
        return {"t": "model", "json": value.to_json(),
                "weights": [encode(weight, buffers, depth + 1) for weight in
                            value.get_weights()],
                # Which variables two models have in common (shared layers).
                "variables": [str(id(variable)) for variable in value.weights]}
    if isinstance(value, (tuple, list)):
        if len(value) > MAX_ITEMS:
            raise ObservationError("a sequence of more than 10,000 items")
        return {"t": type(value).__name__,
                "items": [encode(item, buffers, depth + 1, symbolic, callback)
                          for item in value]}
    if isinstance(value, dict):
        if len(value) > MAX_ITEMS or not all(isinstance(key, str) for key in value):
            raise ObservationError("a dict with non-string keys or too many items")
        return {"t": "dict", "items": [[key, encode(item, buffers, depth + 1, symbolic,
                                                    callback)]
                                       for key, item in value.items()]}
    node = callback(value) if callback is not None and callable(value) else None
    if node is not None:
        return node
    raise ObservationError(f"a value of type {type(value).__name__}")


def decode(node, buffers, make_tensor=None, depth=0, budget=None, make_symbolic=None,
           make_model=None, make_callback=None):
    """Decode a node made by `encode`, checking every limit.

    Args:
        node: The JSON node.
        buffers: The message's binary buffers (bytes-like).
        make_tensor: Turns a NumPy array into a tensor, for "tensor" nodes
            (by default they stay arrays).
        make_symbolic: Turns `(shape, dtype)` into a symbolic tensor, for
            "symbolic" nodes (refused without it).
        make_model: Builds a model from `(json, weights, variables)`, for
            "model" nodes (refused without it); `variables` are tokens that
            are equal for a variable two models share.
        make_callback: Makes the stand-in of a callback from `(number,
            limit)`, for "callback" nodes (refused without it: only the
            kernel accepts them).
        depth: Nesting level (internal).
        budget: Bytes still allowed (internal).

    Returns:
        The value.

    Raises:
        ObservationError: when the node breaks the format or the limits.
    """
    budget = budget if budget is not None else [MAX_BYTES]
    if depth > MAX_DEPTH or not isinstance(node, dict):
        raise ObservationError("malformed or too deeply nested")
    kind = node.get("t")
    if kind == "none":
        return None
    if kind == "value":
        value = node.get("v")
        if isinstance(value, str) and len(value) > MAX_TEXT:
            raise ObservationError("a string longer than 10,000 characters")
        if not isinstance(value, (bool, int, float, str)):
            raise ObservationError("a value that is not a number or a string")
        return value
    if kind == "symbolic" and make_symbolic is not None:
        shape, dtype = node.get("shape"), node.get("dtype")
        if (dtype not in DTYPES or not isinstance(shape, list) or len(shape) > 32
                or not all(size is None or (isinstance(size, int) and size >= 0)
                           for size in shape)):
            raise ObservationError("a malformed symbolic tensor")
        return make_symbolic(tuple(shape), dtype)
    if kind == "callback" and make_callback is not None:
        number, limit = node.get("id"), node.get("limit")
        if not (isinstance(number, int) and isinstance(limit, int) and 0 <= number < MAX_ITEMS
                and 0 <= limit <= MAX_ITEMS):
            raise ObservationError("a malformed callback")
        return make_callback(number, limit)
    if kind == "model" and make_model is not None:
        text, variables = node.get("json"), node.get("variables", [])
        if (not isinstance(text, str) or len(text) > MAX_MODEL_TEXT
                or not isinstance(variables, list) or len(variables) > MAX_ITEMS
                or not all(isinstance(token, str) and len(token) <= 40
                           for token in variables)):
            raise ObservationError("a malformed model")
        weights = [decode(weight, buffers, None, depth + 1, budget)
                   for weight in node.get("weights", [])]
        return make_model(text, weights, variables)
    if kind in ("array", "tensor"):
        dtype, shape, index = node.get("dtype"), node.get("shape"), node.get("buffer")
        if (dtype not in DTYPES or not isinstance(shape, list) or len(shape) > 32
                or not all(isinstance(size, int) and 0 <= size for size in shape)
                or not isinstance(index, int) or not 0 <= index < len(buffers)):
            raise ObservationError("a malformed array")
        data = buffers[index]
        expected = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
        if len(data) != expected:
            raise ObservationError("an array whose bytes do not match its shape")
        budget[0] -= expected
        if budget[0] < 0:
            raise ObservationError("more than 256 MiB of array data")
        array = np.frombuffer(bytes(data), dtype=dtype).reshape(shape).copy()
        if node.get("scalar") is True and array.ndim == 0:
            return array[()]
        if kind == "tensor" and make_tensor is not None:
            return make_tensor(array)
        return array
    if kind in ("tuple", "list", "dict"):
        items = node.get("items")
        if not isinstance(items, list) or len(items) > MAX_ITEMS:
            raise ObservationError("a malformed sequence")
        if kind == "dict":
            if not all(isinstance(item, list) and len(item) == 2
                       and isinstance(item[0], str) for item in items):
                raise ObservationError("a malformed dict")
            return {key: decode(value, buffers, make_tensor, depth + 1, budget,
                                make_symbolic, make_model, make_callback)
                    for key, value in items}
        values = [decode(item, buffers, make_tensor, depth + 1, budget, make_symbolic,
                         make_model, make_callback) for item in items]
        return tuple(values) if kind == "tuple" else values
    raise ObservationError(f"an unknown kind of value {str(kind)[:40]!r}")
