"""Kernel side of the trusted judge: answer the judge's requests with observations.

This module runs inside the student's grading kernel, so nothing it does
decides a grade: the student's code can replace it, and a forged answer can
at worst equal a correct result computed by other means. It registers the
comm target `course.observer`; the judge (`judge.py`, in the grader's own
process) opens a comm and sends requests, each a JSON dict with array
buffers in the `observations` format:

- `describe`: is `name` defined in the notebook, and is it a function, a
  module (which one) or a value;
- `get`: the value of `name`, as data;
- `call`: call the notebook's `name` on the judge's arguments and return
  the result (tensors are called under a gradient tape that is kept, so the
  judge can ask for gradients next). Models among the arguments are rebuilt
  here from their configuration and weights; a callback among them
  (`on_step`) is a `RecordedCallback`. When there are models or callbacks
  the reply also carries a `trace`: every callback call with the weights
  all those models had at that moment, and the weights they ended with;
- `gradient`: the gradient of a kept call's outputs with respect to its
  tensor arguments, given the judge's upstream gradients;
- `spec`: the output shape and dtype of `name` on symbolic inputs (a Keras
  input, or a graph placeholder as a Keras layer traces with);
- `scan`: the library routines `name` calls (`library_calls`), for the
  rule "write it yourself";
- `forget`: drop the kept gradient tapes.

- `channel`: open the direct socket (`_open_channel`) the judge uses from
  then on.

Replies go back on the same comm (or socket): `{"result": node}` or
`{"error": {...}}` when the student's code raised, with the exception's type
name and text.
"""

import collections
import sys
import types

from autograder.grading.observations import ObservationError, decode, encode

TARGET = "course.observer"
KEPT_CALLS = 64

_kept = collections.OrderedDict()


def register():
    """Register the comm target in this kernel (idempotent)."""
    from IPython import get_ipython

    shell = get_ipython()
    shell.kernel.comm_manager.register_target(TARGET, _opened)
    return TARGET


def _opened(comm, message):
    comm.on_msg(lambda request: _answer(comm, request))


def _user_namespace():
    from IPython import get_ipython

    return get_ipython().user_ns


def _named(name):
    namespace = _user_namespace()
    if name not in namespace:
        raise NameError(f"name {name!r} is not defined")
    return namespace[name]


def _tensorflow():
    return sys.modules.get("tensorflow")


def _make_tensor(array):
    import tensorflow as tf

    return tf.constant(array)


def _make_model(json, weights, variables=None):
    import importlib

    import keras

    importlib.import_module("course_lib.checks.gan")  # registers the checks' own layers
    model = keras.models.model_from_json(json)
    model.set_weights(weights)
    return model


class CallbackLimit(RuntimeError):
    """A callback was called more often than the judge allows (a runaway loop)."""


class RecordedCallback:
    """Stands in for a function of the judge's (the checks' `on_step`).

    Each call is recorded, in the order of all callbacks of the same
    request, with its arguments and the weights every model of the request
    has at that moment; the judge replays the calls on its own models
    afterwards, where the real callback runs. Past `limit` calls it raises
    `CallbackLimit`, so a loop that never ends stops here.

    Args:
        number: The callback's number in the request.
        limit: Calls allowed.
        calls: The request's list of calls, appended to.
    """

    def __init__(self, number, limit, calls):
        self.number = number
        self.limit = limit
        self.calls = calls
        self.made = 0
        self.models = []

    def __call__(self, *args, **kwargs):
        if self.made >= self.limit:
            raise CallbackLimit(f"the callback was called more than {self.limit} times")
        self.made += 1
        self.calls.append([self.number, list(args), dict(kwargs),
                           [model.get_weights() for model in self.models]])


def _make_symbolic(mode):
    def make(shape, dtype):
        if mode == "keras":
            import keras

            return keras.KerasTensor(shape, dtype=dtype)
        import tensorflow as tf

        return tf.TensorSpec(shape, dtype)
    return make


def _symbolic_spec(value):
    tf = _tensorflow()
    keras = sys.modules.get("keras")
    if keras is not None and isinstance(value, keras.KerasTensor):
        return tuple(value.shape), value.dtype
    if tf is not None and tf.is_tensor(value) and not hasattr(value, "numpy"):
        return tuple(value.shape.as_list()) if value.shape.rank is not None else (), \
            value.dtype.name
    return None


def _error(error):
    return {"error": {"ename": type(error).__name__,
                      "evalue": " ".join(str(error).split())[:2000],
                      "builtin": type(error).__module__ == "builtins"}}


def _leaves(value, keep, found):
    """Append to `found` the leaves of `value` (tuples, lists, dict values) `keep` takes."""
    if isinstance(value, (tuple, list)):
        for item in value:
            _leaves(item, keep, found)
    elif isinstance(value, dict):
        for item in value.values():
            _leaves(item, keep, found)
    elif keep(value):
        found.append(value)
    return found


def _flat_tensors(value, found):
    tf = _tensorflow()
    return _leaves(value, lambda leaf: tf is not None and tf.is_tensor(leaf), found)


def _flat_models(value, found):
    keras = sys.modules.get("keras")
    return _leaves(value, lambda leaf: keras is not None and isinstance(leaf, keras.Model),
                   found)


def _call(request, buffers):
    function = _named(request["name"])
    callbacks, calls = [], []

    def make_callback(number, limit):
        callbacks.append(RecordedCallback(number, limit, calls))
        return callbacks[-1]

    args = decode(request["args"], buffers, _make_tensor, make_model=_make_model,
                  make_callback=make_callback)
    kwargs = decode(request["kwargs"], buffers, _make_tensor, make_model=_make_model,
                    make_callback=make_callback)
    models = _flat_models([args, kwargs], [])
    for callback in callbacks:
        callback.models = models
    if models or callbacks:
        try:
            result = function(*args, **kwargs)
        except Exception as error:  # noqa: BLE001 - reported with the calls made so far
            return _Traced(None, error, calls, models)
        return _Traced(result, None, calls, models)
    tf = _tensorflow()
    inputs = _flat_tensors([args, kwargs], []) if tf is not None else []
    if inputs:
        with tf.GradientTape() as tape:
            for tensor in inputs:
                tape.watch(tensor)
            result = function(*args, **kwargs)
        outputs = _flat_tensors(result, [])
        if outputs:
            _kept[request["call"]] = (tape, inputs, outputs)
            while len(_kept) > KEPT_CALLS:
                _kept.popitem(last=False)
    else:
        result = function(*args, **kwargs)
    return result


class _Traced:
    """A call's outcome with the trace of its callbacks and models."""

    def __init__(self, result, error, calls, models):
        self.result = result
        self.error = error
        self.trace = {"calls": calls, "final": [model.get_weights() for model in models]}


def _gradient(request, buffers):
    tape, inputs, outputs = _kept.pop(request["call"])
    upstream = decode(request["upstream"], buffers, _make_tensor)
    gradients = tape.gradient(outputs, inputs,
                              output_gradients=[upstream[index] for index in
                                                range(len(outputs))])
    return [None if gradient is None else _tensorflow().convert_to_tensor(gradient)
            for gradient in gradients]


def _spec(request, buffers):
    function = _named(request["name"])
    make = _make_symbolic(request["mode"])
    args = decode(request["args"], buffers, _make_tensor, make_symbolic=make)
    kwargs = decode(request["kwargs"], buffers, _make_tensor, make_symbolic=make)
    if request["mode"] == "keras":
        return function(*args, **kwargs)
    import tensorflow as tf

    specs = [value for value in tf.nest.flatten([args, kwargs])
             if isinstance(value, tf.TensorSpec)]

    def traced(*placeholders):
        iterator = iter(placeholders)
        filled = tf.nest.map_structure(
            lambda value: next(iterator) if isinstance(value, tf.TensorSpec) else value,
            [args, kwargs])
        return function(*filled[0], **filled[1])

    return tf.function(traced, autograph=False).get_concrete_function(*specs).structured_outputs


def _scan(request, buffers):
    from course_lib.checks.library_calls import routines_used_by

    return routines_used_by(_user_namespace().get(request["name"]),
                            set(request["forbidden"]))


def _value(request, buffers):
    return _named(request["name"])


HANDLERS = {"call": _call, "gradient": _gradient, "spec": _spec, "scan": _scan,
            "value": _value}


def answer(request, buffers):
    """The reply to one request: `(reply dict, reply buffers)`."""
    operation = request.get("op")
    if operation == "describe":
        namespace = _user_namespace()
        name = request.get("name")
        value = namespace.get(name)
        kind = ("missing" if name not in namespace
                else f"module {value.__name__}" if isinstance(value, types.ModuleType)
                else "function" if callable(value) else "value")
        return {"result": {"t": "value", "v": kind}}, []
    if operation == "get":
        request = {**request, "args": {"t": "list", "items": []},
                   "kwargs": {"t": "dict", "items": []}}
        operation = "value"
    if operation == "forget":
        _kept.clear()
        return {"result": {"t": "none"}}, []
    if operation == "channel":
        return {"result": {"t": "value", "v": _open_channel()}}, []
    if operation not in HANDLERS:
        return {"error": {"ename": "UnknownRequest", "evalue": str(operation)[:80],
                          "builtin": False}}, []
    try:
        result = HANDLERS[operation](request, buffers)
    except Exception as error:  # noqa: BLE001 - the student's error is the observation
        return _error(error), []
    out = []
    traced = result if isinstance(result, _Traced) else None
    try:
        trace = encode(traced.trace, out) if traced is not None else None
    except ObservationError as error:
        return {"error": {"ename": "UntraceableCall", "builtin": False,
                          "evalue": f"the call's callback was given {error}"[:2000]}}, []
    if traced is not None:
        if traced.error is not None:
            return {**_error(traced.error), "trace": trace}, out
        result = traced.result
    try:
        node = encode(result, out, symbolic=_symbolic_spec)
    except ObservationError as error:
        reply = {"result": {"t": "opaque", "what": str(error)[:200]}}
        return ({**reply, "trace": trace}, out) if trace is not None else (reply, [])
    reply = {"result": node}
    if trace is not None:
        reply["trace"] = trace
    return reply, out


def _answer(comm, message):
    reply, out = answer(message["content"]["data"], message.get("buffers") or [])
    comm.send(reply, buffers=out)


_channel = {}


def _open_channel():
    """Serve requests on a socket of their own, in a thread; return its address.

    A comm request goes through the kernel's whole shell machinery (about
    2 ms a round trip); training a model through the judge takes thousands,
    so the judge moves to this direct socket once the comm is open. It is
    bound next to the kernel's own sockets (a Unix socket in the kernel's
    folder where the kernel is isolated) and every message is signed with
    the kernel's session key, as on the kernel's own channels.
    """
    if "address" in _channel:
        return _channel["address"]
    import threading

    import zmq
    from IPython import get_ipython
    from ipykernel.kernelapp import IPKernelApp

    kernel = get_ipython().kernel
    application = IPKernelApp.instance()
    socket = zmq.Context.instance().socket(zmq.ROUTER)
    socket.setsockopt(zmq.LINGER, 0)
    if application.transport == "ipc":
        address = f"ipc://{application.ip}-observer"
        socket.bind(address)
    else:
        port = socket.bind_to_random_port(f"tcp://{application.ip}")
        address = f"tcp://{application.ip}:{port}"
    session = kernel.session

    def serve():
        while True:
            identities, message = session.feed_identities(socket.recv_multipart(copy=False),
                                                          copy=False)
            try:
                request = session.deserialize(message, content=True, copy=False)
            except Exception:  # noqa: BLE001 - unsigned or malformed: ignore it
                continue
            reply, out = answer(request["content"], [bytes(buffer) for buffer
                                                     in request.get("buffers") or []])
            session.send(socket, "observation", reply, parent=request, ident=identities,
                         buffers=out)

    threading.Thread(target=serve, name="course-observer", daemon=True).start()
    _channel["address"] = address
    return address
