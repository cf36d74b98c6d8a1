"""The trusted judge: test cells decided in the grader's process, never in the kernel.

Everything that runs in a student's kernel can be changed by the student's
code, so a verdict reached there (a check that returned quietly) proves
nothing. The judge runs each test cell's instructor code here, in the
grader's own process, which never executes student code. The names the
test takes from the notebook (`relu`, `max_pool2d`, `train_gan`, ...)
become `RemoteFunction` stand-ins: calling one sends the arguments, as data,
to the kernel's observer (`observer.py`), which calls the student's function
there and sends the result back as data (`observations.py`). So the checks,
their inputs, their expected values, the comparison and the message all
live on this side; the student's code only ever sees the inputs of each
call and can only choose what it returns. A forged answer is at worst a
correct result computed some other way.

The stand-in keeps working wherever the checks use the student's function:

- on arrays and eager tensors it returns arrays or tensors as the student's
  function did (so "returned a NumPy array, not a tensor" is still seen),
  and tensors carry a gradient: the kernel keeps the call's gradient tape
  and the stand-in asks for the gradient when TensorFlow needs it;
- on a Keras input (`keras.Input`) it is a Keras operation whose output
  shape the kernel reports, so models can be built from it;
- inside a traced TensorFlow graph (a Keras layer's shape inference, a
  compiled training step) it is a `tf.py_function` with the same forward
  and gradient;
- `library_routines_used` asks the kernel to scan the student's function
  for library routines it should not call.

The inputs of the hidden checks that draw random data come from
`course_lib.checks.core.generator`, which the judge seeds afresh for every
grading run (`fresh_seed`); the kernel never sees the seed.

Written here rather than taken from a tool: nbgrader, otter-grader and
Gradescope all run their checks inside the student's process, and no
remote-call library keeps TensorFlow gradients across a process boundary
without unpickling the other side's objects.
"""

import ast
import builtins
import contextlib
import importlib
import io
import itertools
import secrets
import sys
import threading
import time
import uuid

from nbformat.notebooknode import NotebookNode

from autograder.grading.notebooks import error_output
from autograder.grading.observations import ObservationError, decode, encode
from autograder.grading.observer import TARGET

# Modules a test cell may use under the notebook's own name for them (`np`,
# `keras`, ...): the judge imports its own copy.
LIBRARIES = ("numpy", "keras", "tensorflow", "matplotlib", "sklearn", "scipy", "math",
             "course_lib")
REGISTER_CODE = '__import__("autograder.grading.observer", fromlist=["register"]).register()'
MAX_REPLY_BYTES = 300 * 1024 * 1024
# Calls a callback handed to the kernel may make (a runaway loop ends there).
MAX_CALLBACK_CALLS = 10_000


class JudgeTimeout(RuntimeError):
    """The kernel did not answer in time (the student's code is stuck)."""


class KernelGone(RuntimeError):
    """The kernel died while the judge waited for an answer."""


class StudentError(Exception):
    """Base of the exceptions that stand for errors raised in the kernel."""


_exception_classes = {}


def exception_for(error):
    """The exception to raise here for an error the kernel reported.

    Built-in exception types are raised as themselves (a bare
    `NotImplementedError` is the unfinished stub); any other name gets a
    class of that name deriving from `StudentError`, so messages still name
    the student's error while nothing from the kernel is imported here.
    """
    name = str(error.get("ename", "Error"))[:60]
    message = str(error.get("evalue", ""))[:2000]
    builtin = getattr(builtins, name, None)
    if (error.get("builtin") and isinstance(builtin, type) and issubclass(builtin, Exception)
            and not issubclass(builtin, AssertionError)):
        return builtin(message) if message else builtin()
    if not name.isidentifier():
        name = "StudentError"
    if name not in _exception_classes:
        _exception_classes[name] = type(name, (StudentError,), {})
    return _exception_classes[name](message)


class KernelLink:
    """Blocking requests to one kernel's observer, on a comm of its own.

    Args:
        connection_info: The kernel's connection info (from its manager).
        is_alive: Returns False once the kernel has died.
        timeout: Seconds the kernel gets to answer each request.
    """

    def __init__(self, connection_info, is_alive, timeout):
        self.timeout = timeout
        self.lock = threading.RLock()
        self.deadline = None
        self.client = None
        self.direct = None
        self.attach(connection_info, is_alive)

    def attach(self, connection_info, is_alive):
        """Talk to this kernel from now on (a new one after a restart)."""
        import zmq
        from jupyter_client import BlockingKernelClient

        with self.lock:
            self.close()
            self.client = BlockingKernelClient()
            self.client.load_connection_info(connection_info)
            self.client.start_channels()
            self.client.iopub_channel.socket.setsockopt(zmq.MAXMSGSIZE, MAX_REPLY_BYTES)
            self.is_alive = is_alive
            self.comm_id = None
            self.direct = None

    def close(self):
        if self.direct:
            self.direct.close()
        self.direct = None
        if self.client is not None:
            self.client.stop_channels()
            self.client = None

    @contextlib.contextmanager
    def budget(self, seconds):
        """Limit the total time the kernel may spend answering within the block."""
        self.deadline = time.monotonic() + seconds if seconds else None
        try:
            yield
        finally:
            self.deadline = None

    def _limit(self):
        """When the answer now awaited is due: the request's timeout or the budget's end."""
        limit = time.monotonic() + self.timeout if self.timeout else None
        if self.deadline is not None:
            limit = self.deadline if limit is None else min(limit, self.deadline)
        return limit

    @staticmethod
    def _check(limit):
        if limit is not None and time.monotonic() > limit:
            raise JudgeTimeout("the kernel did not answer in time")

    def _wait(self, parent_id, want):
        """The first iopub message answering `parent_id` that `want` accepts."""
        limit = self._limit()
        while True:
            self._check(limit)
            try:
                message = self.client.get_iopub_msg(timeout=0.5)
            except Exception:  # noqa: BLE001 - queue.Empty: nothing yet
                if not self.is_alive():
                    raise KernelGone("the kernel died") from None
                continue
            if message.get("parent_header", {}).get("msg_id") != parent_id:
                continue
            answer = want(message)
            if answer is not None:
                return answer

    def connect(self):
        """Load the observer in the kernel and open the comm to it."""
        with self.lock:
            if self.comm_id is not None:
                return
            request = self.client.execute(REGISTER_CODE, silent=False, store_history=False)
            self._wait(request, lambda message: message if message["msg_type"] == "error"
                       or _is_idle(message) else None)
            self.comm_id = uuid.uuid4().hex
            opening = self.client.session.msg(
                "comm_open", {"comm_id": self.comm_id, "target_name": TARGET, "data": {}})
            self.client.shell_channel.send(opening)
            self._wait(opening["header"]["msg_id"],
                       lambda message: message if _is_idle(message) else None)

    def request(self, operation, payload, buffers=()):
        """Send one request; return `(reply dict, reply buffers)`."""
        with self.lock:
            if self.direct is None:
                self.connect()
                reply, _ = self.comm_request("channel", {})
                address = reply.get("result", {}).get("v") if isinstance(
                    reply.get("result"), dict) else None
                self.direct = self.open_direct(address) if isinstance(address, str) else False
            if self.direct:
                return self.direct_request(operation, payload, buffers)
            return self.comm_request(operation, payload, buffers)

    def open_direct(self, address):
        """A socket to the observer's own channel, or False where none can be had."""
        import zmq

        if not address.startswith(("ipc://", "tcp://127.", "tcp://localhost")):
            return False
        socket = zmq.Context.instance().socket(zmq.DEALER)
        socket.setsockopt(zmq.LINGER, 0)
        socket.setsockopt(zmq.MAXMSGSIZE, MAX_REPLY_BYTES)
        socket.connect(address)
        return socket

    def direct_request(self, operation, payload, buffers=()):
        import zmq

        session = self.client.session
        sent = session.send(self.direct, "observation_request", {"op": operation, **payload},
                            buffers=list(buffers))
        limit = self._limit()
        while True:
            self._check(limit)
            if not self.direct.poll(500, zmq.POLLIN):
                if not self.is_alive():
                    raise KernelGone("the kernel died")
                continue
            _, frames = session.feed_identities(self.direct.recv_multipart(copy=False),
                                                copy=False)
            try:
                answer = session.deserialize(frames, content=True, copy=False)
            except Exception:  # noqa: BLE001 - unsigned or malformed: not an answer
                continue
            if answer.get("parent_header", {}).get("msg_id") != sent["header"]["msg_id"]:
                continue
            return _reply(answer.get("content"), answer)

    def comm_request(self, operation, payload, buffers=()):
        """Send one request on the comm; return `(reply dict, reply buffers)`."""
        with self.lock:
            self.connect()
            message = self.client.session.msg(
                "comm_msg", {"comm_id": self.comm_id, "data": {"op": operation, **payload}})
            message["buffers"] = list(buffers)
            self.client.shell_channel.send(message)

            def reply(answer):
                if (answer["msg_type"] == "comm_msg"
                        and answer["content"].get("comm_id") == self.comm_id):
                    return answer
                if _is_idle(answer):
                    return {"content": {"data": {"error": {
                        "ename": "NoObservation",
                        "evalue": "the notebook's kernel gave no answer (its observer "
                                  "was replaced or removed)"}}}}
                return None

            answer = self._wait(message["header"]["msg_id"], reply)
        return _reply(answer["content"].get("data"), answer)


def _is_idle(message):
    """Whether an iopub message says the kernel finished handling its request."""
    return (message["msg_type"] == "status"
            and message["content"].get("execution_state") == "idle")


def _reply(data, message):
    """`(reply dict, reply buffers)` of an answer, a malformed one made an error."""
    if not isinstance(data, dict):
        data = {"error": {"ename": "NoObservation", "evalue": "a malformed answer"}}
    return data, [bytes(buffer) for buffer in message.get("buffers") or []]


def _tensorflow():
    return sys.modules.get("tensorflow")


def _is_keras_tensor(value):
    keras = sys.modules.get("keras")
    return keras is not None and isinstance(value, keras.KerasTensor)


def _is_graph_tensor(value):
    tf = _tensorflow()
    return tf is not None and tf.is_tensor(value) and not hasattr(value, "numpy") \
        and not _is_keras_tensor(value)


def _is_eager_tensor(value):
    tf = _tensorflow()
    return tf is not None and tf.is_tensor(value) and hasattr(value, "numpy")


def _is_model(value):
    keras = sys.modules.get("keras")
    return keras is not None and isinstance(value, keras.Model)


def _flatten(value):
    if isinstance(value, (tuple, list)):
        return [leaf for item in value for leaf in _flatten(item)]
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _flatten(item)]
    return [value]


def _replace(value, test, make):
    """`value` with every leaf for which `test` holds replaced by `make(leaf)`."""
    if isinstance(value, (tuple, list)):
        return type(value)(_replace(item, test, make) for item in value)
    if isinstance(value, dict):
        return {key: _replace(item, test, make) for key, item in value.items()}
    return make(value) if test(value) else value


def _spec_of(value):
    if _is_keras_tensor(value):
        return tuple(value.shape), value.dtype
    if _is_graph_tensor(value):
        shape = value.shape.as_list() if value.shape.rank is not None else []
        return tuple(shape), value.dtype.name
    return None


class _Spec:
    """Shape and dtype of one output of a traced call."""

    def __init__(self, shape, dtype):
        self.shape = shape
        self.dtype = dtype


class _Pending:
    """A tensor of a result, waiting to be given its gradient."""

    def __init__(self, array):
        self.array = array


class RemoteFunction:
    """Stand-in for the function `name` defined in the grading kernel.

    Args:
        link: The `KernelLink` to the kernel.
        name: The notebook's name for the function.
    """

    _calls = itertools.count()

    def __init__(self, link, name):
        self.link = link
        self.name = name
        self.__name__ = name
        self.__qualname__ = name
        # AutoGraph, inside a traced function, would rewrite the stand-in's
        # own Python (and fail on it); objects carrying this attribute are
        # called as they are.
        self.autograph_info__ = {}

    def __repr__(self):
        return f"<notebook function {self.name}>"

    def describe(self):
        """"missing", "function" or "other": what the kernel holds under the name."""
        reply, _ = self.link.request("describe", {"name": self.name})
        return reply.get("result", {}).get("v", "missing")

    def library_routines_used(self, forbidden):
        """The kernel's scan of the function for the routines in `forbidden`."""
        reply, buffers = self.link.request("scan", {"name": self.name,
                                                    "forbidden": sorted(forbidden)})
        if "error" in reply:
            return []
        try:
            used = decode(reply.get("result"), buffers)
        except ObservationError:
            return []
        return [str(item)[:200] for item in used] if isinstance(used, list) else []

    def __call__(self, *args, **kwargs):
        leaves = _flatten([args, kwargs])
        if any(_is_keras_tensor(leaf) for leaf in leaves):
            return _remote_operation(self)(*args, **kwargs)
        if any(_is_graph_tensor(leaf) for leaf in leaves):
            return self._graph_call(args, kwargs)
        return self._eager_call(args, kwargs)

    # -- the kernel's answers -------------------------------------------------

    def _raise_for(self, reply):
        if "error" in reply:
            error = reply["error"] if isinstance(reply["error"], dict) else {}
            raise exception_for(error)

    def _result(self, reply, buffers, make_tensor=None, make_symbolic=None, models=False):
        self._raise_for(reply)
        node = reply.get("result")
        if isinstance(node, dict) and node.get("t") == "opaque":
            return OpaqueResult(self.name, str(node.get("what", ""))[:200])
        try:
            value = decode(node, buffers, make_tensor, make_symbolic=make_symbolic,
                           make_model=ReturnedModel if models else None)
        except ObservationError as error:
            return OpaqueResult(self.name, str(error))
        return rebuild_models(value, self.name) if models else value

    def _send(self, operation, args, kwargs, symbolic=None, callbacks=None, **payload):
        buffers = []

        def callback(value):
            if callbacks is None or isinstance(value, RemoteFunction):
                return None
            callbacks.append(value)
            limit = getattr(value, "max_steps", None)
            limit = (min(int(limit) + 1, MAX_CALLBACK_CALLS)
                     if isinstance(limit, int) and limit >= 0 else MAX_CALLBACK_CALLS)
            return {"t": "callback", "id": len(callbacks) - 1, "limit": limit}

        try:
            arguments = encode(list(args), buffers, symbolic=symbolic, callback=callback)
            keywords = encode(dict(kwargs), buffers, symbolic=symbolic, callback=callback)
        except ObservationError as error:
            raise NotJudgeable(f"{self.name} was given {error}, which cannot be sent "
                               "to the kernel") from None
        return self.link.request(operation, {"name": self.name, "args": arguments,
                                             "kwargs": keywords, **payload}, buffers)

    def _forward(self, args, kwargs):
        """Call the student's function on concrete values: `(result, call id)`."""
        call = f"{self.name}-{next(self._calls)}"
        callbacks = []
        reply, buffers = self._send("call", args, kwargs, callbacks=callbacks, call=call)
        models = [leaf for leaf in _flatten([args, kwargs]) if _is_model(leaf)]
        if (models or callbacks) and not ("error" in reply and "trace" not in reply):
            self._replay(reply.get("trace"), buffers, models, callbacks)
        return self._result(reply, buffers, make_tensor=_Pending, models=True), call

    def _replay(self, node, buffers, models, callbacks):
        """Play a call's trace back here: run the real callbacks, update the models.

        Each recorded callback call runs the judge's own callback (the
        checks' `StepRecorder`) after giving the judge's models the weights
        the kernel reported for that moment; at the end the models get the
        weights they ended with in the kernel. The weights are the student's
        observations: a forged trace can only describe some training, never
        change what the callback checks or how.
        """
        try:
            trace = decode(node, buffers)
            calls, final = trace["calls"], trace["final"]
            if not (isinstance(calls, list) and isinstance(final, list)):
                raise TypeError("malformed")
        except (ObservationError, TypeError, KeyError):
            raise StudentError(f"{self.name} gave no readable record of its "
                               "callbacks and models") from None
        for call in calls:
            if not (isinstance(call, list) and len(call) == 4 and isinstance(call[0], int)
                    and 0 <= call[0] < len(callbacks) and isinstance(call[1], list)
                    and isinstance(call[2], dict)):
                raise StudentError(f"{self.name} sent a malformed callback record")
            self._give_weights(models, call[3])
            callbacks[call[0]](*call[1], **call[2])
        self._give_weights(models, final)

    def _give_weights(self, models, weights):
        if not isinstance(weights, list) or len(weights) != len(models):
            raise StudentError(f"{self.name} reported the weights of "
                               f"{len(weights) if isinstance(weights, list) else 'no'} "
                               f"models, not {len(models)}")
        for model, values in zip(models, weights):
            try:
                model.set_weights(values)
            except (ValueError, TypeError) as error:
                raise StudentError(f"the weights {self.name} reported do not fit the "
                                   f"model it was given ({error})"[:500]) from None

    def _backward(self, call, upstream, inputs):
        buffers = []
        node = encode([_tensorflow().convert_to_tensor(value) for value in upstream], buffers)
        reply, answer = self.link.request("gradient", {"call": call, "upstream": node},
                                          buffers)
        tf = _tensorflow()
        self._raise_for(reply)
        gradients = decode(reply.get("result"), answer, make_tensor=tf.constant)
        if not isinstance(gradients, list) or len(gradients) != len(inputs):
            raise StudentError(f"the gradient of {self.name} did not match its inputs")
        return [None if gradient is None else tf.cast(tf.reshape(
            tf.convert_to_tensor(gradient), tf.shape(value)), value.dtype)
            for gradient, value in zip(gradients, inputs)]

    def _eager_call(self, args, kwargs):
        tf = _tensorflow()
        inputs = [leaf for leaf in _flatten([args, kwargs]) if _is_eager_tensor(leaf)]
        if inputs:
            # Reading variables here puts them on any tape watching them.
            reads = iter([tf.convert_to_tensor(value) for value in inputs])
            args, kwargs = _replace([args, kwargs], _is_eager_tensor,
                                    lambda leaf: next(reads))
        result, call = self._forward(args, kwargs)
        pending = [leaf for leaf in _flatten(result) if isinstance(leaf, _Pending)]
        if not pending:
            return result
        if not inputs:
            import tensorflow as tf  # the kernel returned tensors: TensorFlow is there

            return _replace(result, lambda leaf: isinstance(leaf, _Pending),
                            lambda leaf: tf.constant(leaf.array))
        tensors = [leaf for leaf in _flatten([args, kwargs]) if _is_eager_tensor(leaf)]

        @tf.custom_gradient
        def attached(*values):
            outputs = [tf.constant(leaf.array) for leaf in pending]

            def gradient(*upstream):
                upstream = [tf.zeros_like(output) if value is None else value
                            for value, output in zip(upstream, outputs)]
                return self._backward(call, upstream, values)

            return outputs, gradient

        outputs = iter(attached(*tensors))
        return _replace(result, lambda leaf: isinstance(leaf, _Pending),
                        lambda leaf: next(outputs))

    def spec(self, args, kwargs, mode):
        """Output of the student's function on symbolic inputs, as specs or Keras tensors."""
        reply, buffers = self._send("spec", args, kwargs, symbolic=_spec_of, mode=mode)
        if mode == "keras":
            import keras

            return self._result(reply, buffers, make_symbolic=lambda shape, dtype:
                                keras.KerasTensor(shape, dtype=dtype))
        return self._result(reply, buffers, make_symbolic=_Spec)

    def _graph_call(self, args, kwargs):
        """Inside a traced graph: a `tf.py_function` with a gradient of its own."""
        tf = _tensorflow()
        specs = self.spec(args, kwargs, "graph")
        self._raise_if_opaque(specs)
        outputs = [leaf for leaf in _flatten(specs) if isinstance(leaf, _Spec)]
        inputs = [leaf for leaf in _flatten([args, kwargs]) if _is_graph_tensor(leaf)]
        structure = [args, kwargs]
        calls = {}

        def forward(*values):
            iterator = iter(values)
            filled = _replace(structure, _is_graph_tensor, lambda leaf: next(iterator))
            result, call = self._forward(filled[0], filled[1])
            arrays = [leaf.array for leaf in _flatten(result) if isinstance(leaf, _Pending)]
            if len(arrays) != len(outputs):
                raise StudentError(f"{self.name} returned a different number of tensors "
                                   "when run than when traced")
            key = str(len(calls))
            calls[key] = (call, values)
            return [tf.constant(array, dtype=spec.dtype) for array, spec
                    in zip(arrays, outputs)] + [tf.constant(key)]

        def backward(key, *upstream):
            call, values = calls.pop(key.numpy().decode())
            gradients = self._backward(call, upstream, values)
            return [tf.zeros_like(value) if gradient is None else gradient
                    for gradient, value in zip(gradients, values)]

        @tf.custom_gradient
        def operation(*values):
            results = tf.py_function(forward, values,
                                     Tout=[spec.dtype for spec in outputs] + [tf.string])
            key, results = results[-1], results[:-1]
            for result, spec in zip(results, outputs):
                result.set_shape(spec.shape)

            def gradient(*upstream):
                upstream = [tf.zeros_like(result) if value is None else value
                            for value, result in zip(upstream, results)]
                gradients = tf.py_function(backward, [key, *upstream],
                                           Tout=[value.dtype for value in values])
                for gradient_value, value in zip(gradients, values):
                    gradient_value.set_shape(value.shape)
                return gradients

            return results, gradient

        if not outputs:
            return specs
        produced = iter(operation(*inputs))
        return _replace(specs, lambda leaf: isinstance(leaf, _Spec), lambda leaf: next(produced))

    def _raise_if_opaque(self, value):
        if isinstance(value, OpaqueResult):
            raise TypeError(f"{self.name} returned {value.what} on a symbolic tensor")


# What a model returned by the student's function may be made of: Keras' own
# classes from these modules (and the plain markers of Keras' format). A
# Lambda layer (Python code), a class or function of the notebook's own, or
# anything else is refused before Keras reads the configuration.
MODEL_CLASSES = {
    "keras": ("DTypePolicy", "FloatDTypePolicy"),
    "keras.src.models.functional": ("Functional",),
    "keras.src.models.sequential": ("Sequential",),
    "keras.models": ("Model", "Sequential"),
}
MODEL_CLASS_MODULES = ("keras.layers", "keras.initializers", "keras.regularizers",
                       "keras.constraints")
MODEL_MARKERS = ("__keras_tensor__", "__tuple__")
# Keras layers that load code or serialized objects of their own.
REFUSED_LAYERS = ("Lambda", "TFSMLayer", "TorchModuleWrapper", "JaxLayer", "FlaxLayer")


class UnsupportedModel(StudentError):
    """A model the student's function returned that the judge does not rebuild."""


def foreign_parts(config):
    """The parts of a Keras model configuration that are not Keras' own classes.

    Args:
        config: The parsed JSON of `model.to_json()`.

    Returns:
        Sorted `module.class` names that are refused (empty: all Keras').

    Example:

    >>> foreign_parts({"module": "keras.layers", "class_name": "Dense", "config": {}})
    []
    >>> foreign_parts({"module": "keras.layers", "class_name": "Lambda",
    ...                "config": {"function": {"class_name": "__lambda__"}}})
    ['__lambda__', 'keras.layers.Lambda']
    >>> foreign_parts({"module": "__main__", "class_name": "MyLayer", "config": {}})
    ['__main__.MyLayer']
    """
    found = set()

    def allowed(module, name):
        if module is None:
            return name in MODEL_MARKERS
        if name in REFUSED_LAYERS or not isinstance(name, str):
            return False
        if module in MODEL_CLASS_MODULES:
            return isinstance(getattr(importlib.import_module(module), name, None), type)
        return name in MODEL_CLASSES.get(module, ())

    def walk(node, depth):
        if depth > 100:
            found.add("a configuration nested too deeply")
        elif isinstance(node, dict):
            if "class_name" in node or "module" in node:
                module, name = node.get("module"), node.get("class_name")
                if not allowed(module, name):
                    found.add(f"{module}.{name}" if module is not None else str(name)[:60])
            for value in node.values():
                walk(value, depth + 1)
        elif isinstance(node, list):
            for value in node:
                walk(value, depth + 1)

    walk(config, 0)
    return sorted(found)


class ReturnedModel:
    """A model the kernel returned, as data: its configuration and variable tokens."""

    def __init__(self, text, weights, variables):
        self.text = text
        self.variables = list(variables)


def _layer_configs(config):
    layers = config.get("config", {}).get("layers", []) if isinstance(config, dict) else []
    return {layer.get("name") or layer.get("config", {}).get("name"):
            (layer.get("class_name"), layer.get("config"))
            for layer in layers if isinstance(layer, dict)}


def _made_of(earlier, config, earlier_layers):
    """`config`'s model made of `earlier`'s layers, or None where it is not."""
    import keras

    own = _layer_configs(config)
    for name, (class_name, layer_config) in own.items():
        if class_name != "InputLayer" and earlier_layers.get(name) != (class_name,
                                                                       layer_config):
            return None
    outputs = config.get("config", {}).get("output_layers")
    if isinstance(outputs, list) and outputs and not isinstance(outputs[0], list):
        outputs = [outputs]
    if not isinstance(outputs, list) or len(outputs) != 1 or not outputs[0]:
        return None
    try:
        inputs = earlier.inputs[0] if len(earlier.inputs) == 1 else earlier.inputs
        return keras.Model(inputs, earlier.get_layer(str(outputs[0][0])).output)
    except (ValueError, AttributeError):  # no such layer, or one called twice
        return None


def rebuild_models(value, name):
    """`value` with every `ReturnedModel` in it rebuilt here, from its configuration.

    Only the architecture comes from the kernel: after `foreign_parts`
    finds nothing but Keras' own classes, Keras builds the model here (its
    safe mode refuses Python code), with fresh weights from the layers' own
    initializers, drawn here after the check's seeding, as if the student's
    builder had run in this process. A model whose variables all belong to
    a model rebuilt before it, with the same layers (an encoder made of the
    autoencoder's layers), is made of that model's layers, so the two share
    their weights here as they did in the kernel.

    Raises:
        UnsupportedModel: a configuration that is unreadable, names other
            classes than Keras' own, or that Keras cannot build.
    """
    import json

    import keras

    built = []

    def build(leaf):
        try:
            config = json.loads(leaf.text)
        except ValueError:
            raise UnsupportedModel(f"{name} returned a model whose configuration "
                                   "cannot be read") from None
        foreign = foreign_parts(config)
        if foreign:
            raise UnsupportedModel(
                f"{name} returned a model made with {', '.join(foreign[:4])}, which the "
                "grader does not rebuild: build it from keras.Input and keras.layers "
                "(no Lambda layer, no layer or activation function of your own)")
        variables = set(leaf.variables)
        for earlier, earlier_variables, earlier_layers in built:
            if variables and variables <= earlier_variables:
                model = _made_of(earlier, config, earlier_layers)
                if model is not None:
                    return model
        try:
            model = keras.models.model_from_json(leaf.text)
        except Exception as error:  # noqa: BLE001 - Keras' many ways to refuse
            raise UnsupportedModel(f"{name} returned a model that could not be "
                                   f"rebuilt ({type(error).__name__}: {error})"[:500]) from None
        built.append((model, variables, _layer_configs(config)))
        return model

    return _replace(value, lambda leaf: isinstance(leaf, ReturnedModel), build)


class OpaqueResult:
    """A result the kernel could not send as data (a model, a generator, ...)."""

    def __init__(self, name, what):
        self.name = name
        self.what = what

    def __repr__(self):
        return f"<{self.what} returned by {self.name}>"


class NotJudgeable(BaseException):
    """A check gave the student's function something that cannot cross as data.

    A `BaseException`, so the checks' own `except Exception` (which turns a
    student's crash into a failed check) lets it through to the judge.
    """


def _remote_operation(function):
    import keras

    class RemoteOperation(keras.Operation):
        """The student's function as a Keras operation (for Keras inputs)."""

        def call(self, *args, **kwargs):
            return function(*args, **kwargs)

        def compute_output_spec(self, *args, **kwargs):
            spec = function.spec(args, kwargs, "keras")
            function._raise_if_opaque(spec)
            return spec

    return RemoteOperation(name=f"notebook_{function.name}")


def names_from_the_notebook(source, known=()):
    """Names a test cell reads but neither defines nor imports (the student's).

    Example:

    >>> names_from_the_notebook("from m import check\\ncheck(relu)\\nx = relu(1)")
    ['relu']
    """
    tree = ast.parse(source)
    bound, loaded = set(known), set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.Name):
            (bound if isinstance(node.ctx, (ast.Store, ast.Del)) else loaded).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    return sorted(loaded - bound - set(dir(builtins)))


def fresh_seed():
    """A seed for the hidden checks' inputs, new for every grading run."""
    return secrets.randbits(63)


# Check modules whose test cells are still decided in the kernel, through
# the guard: none. (The GAN's `train_gan` is judged: the models it is given
# cross as data and its `on_step` calls are replayed; `build_autoencoder`'s
# models come back as configurations, see `rebuild_models`.)
IN_KERNEL_CHECKS = ()


def judged_here(source):
    """Whether a test cell is decided by the judge (not in the kernel).

    Example:

    >>> judged_here("from autograder.checks.relu import check_relu_basic")
    True
    >>> judged_here("from course_lib.checks.autoencoder import check_autoencoder_structure")
    True
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return True
    for node in ast.walk(tree):
        names = ([node.module or ""] if isinstance(node, ast.ImportFrom)
                 else [alias.name for alias in node.names] if isinstance(node, ast.Import)
                 else [])
        if any(name in IN_KERNEL_CHECKS for name in names):
            return False
    return True


class Judge:
    """Decides the test cells of one notebook in this (trusted) process.

    Args:
        link: The `KernelLink` to the notebook's kernel.
        seed: Seed of the hidden checks' random inputs (`fresh_seed()`).
    """

    def __init__(self, link, seed):
        self.link = link
        self.seed = seed
        self.namespace = {"__name__": "__judge__", "__builtins__": builtins}
        self.from_the_notebook = set()

    def bind(self, name):
        """Give the judge's namespace what the notebook holds under `name`.

        A function becomes a `RemoteFunction`; a module of the libraries the
        course uses is imported here (the judge's own copy); a value is
        fetched as data. A name the notebook does not define is left out,
        so the test fails with a `NameError` as it would in the kernel.
        """
        self.namespace.pop(name, None)
        self.from_the_notebook.add(name)
        function = RemoteFunction(self.link, name)
        kind = function.describe()
        if kind == "function":
            self.namespace[name] = function
        elif kind.startswith("module "):
            module = kind[len("module "):]
            if module.split(".")[0] in LIBRARIES:
                self.namespace[name] = importlib.import_module(module)
        elif kind == "value":
            reply, buffers = self.link.request("get", {"name": name})
            value = function._result(reply, buffers)
            if not isinstance(value, OpaqueResult):
                self.namespace[name] = value

    def run(self, source, timeout=None):
        """Run one test cell's code; return its outputs (an error output on failure).

        Raises:
            JudgeTimeout, KernelGone: the kernel got stuck or died (the
                caller restarts it as for a cell that did).
            NotJudgeable: the check handed the student's function a value
                that cannot be sent (the cell must be judged otherwise).
        """
        from course_lib.checks import core

        for name in names_from_the_notebook(source):
            if name not in self.namespace or name in self.from_the_notebook:
                self.bind(name)
        stdout, stderr = io.StringIO(), io.StringIO()
        failure = None
        previous = core.input_seed(self.seed)
        try:
            with self.link.budget(timeout), contextlib.redirect_stdout(stdout), \
                    contextlib.redirect_stderr(stderr):
                exec(compile(source, "<test cell>", "exec"), self.namespace)  # noqa: S102
        except (JudgeTimeout, KernelGone, NotJudgeable):
            raise
        except Exception as error:  # noqa: BLE001 - a failed check, or the student's crash
            failure = error_output(type(error).__name__, str(error))
        finally:
            core.input_seed(previous)
        outputs = [NotebookNode(output_type="stream", name=name, text=stream.getvalue())
                   for name, stream in (("stdout", stdout), ("stderr", stderr))
                   if stream.getvalue()]
        return outputs + ([failure] if failure is not None else [])
