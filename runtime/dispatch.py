"""Runtime glue: find the WorkerEntrypoint class and call its handlers the way workerd does."""

import importlib.util
import inspect
import sys

from pyodide.code import relaxed_call
from workers import WorkerEntrypoint, python_from_rpc, python_to_rpc


def find_entrypoint(module_name):
    """The class named Default, else the module's single WorkerEntrypoint subclass."""
    module = sys.modules[module_name]
    default = getattr(module, "Default", None)
    if inspect.isclass(default) and issubclass(default, WorkerEntrypoint):
        return default
    found = [
        value
        for name, value in vars(module).items()
        if not name.startswith("_")
        and inspect.isclass(value)
        and issubclass(value, WorkerEntrypoint)
        and value is not WorkerEntrypoint
        and value.__module__ == module.__name__
    ]
    if len(found) == 1:
        return found[0]
    names = ", ".join(cls.__name__ for cls in found) or "none"
    raise TypeError(
        f"{module_name}: expected a WorkerEntrypoint subclass named Default "
        f"(found: {names})"
    )


def load_entrypoint(module_name, file):
    """Import `file` as `module_name` beside the Worker's modules and find its WorkerEntrypoint."""
    spec = importlib.util.spec_from_file_location(module_name, file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return find_entrypoint(module_name)


async def invoke(cls, ctx, env, prop, mode, *args):
    """Instantiate the entrypoint for one event and call one handler as workerd's helper does.

    mode (runtime/workerd.mjs callMode): "raw" calls relaxed with the JS arguments as they are;
    "relaxed" and "strict" convert each argument with python_from_rpc (introspection.wrapper_func),
    then drop extra arguments or call with exactly what was passed, so a handler declared with the
    wrong arity raises TypeError here as it does in production.
    """
    instance = cls(ctx, env)
    method = getattr(instance, prop, None)
    if not callable(method):
        raise TypeError(f"Method {prop} does not exist")
    if mode == "raw":
        result = relaxed_call(method, *args)
    else:
        py_args = [python_from_rpc(arg) for arg in args]
        result = relaxed_call(method, *py_args) if mode == "relaxed" else method(*py_args)
    if inspect.isawaitable(result):
        result = await result
    return python_to_rpc(result)


def arity_problems(cls, handlers, arity):
    """The handlers among `handlers` that cls defines but that cannot take workerd's `arity` arguments."""
    problems = []
    for name in handlers:
        method = getattr(cls, name, None)
        if not callable(method):
            continue
        try:
            inspect.signature(method).bind(None, *([None] * arity))
        except TypeError as exc:
            problems.append(f"{cls.__name__}.{name}{inspect.signature(method)}: {exc}")
    return problems
