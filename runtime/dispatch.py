"""Runtime glue: find the WorkerEntrypoint class and call its handlers the way workerd does."""

import inspect
import sys

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


def _relaxed_args(method, args):
    # workerd calls fetch "relaxed": extra positional arguments are dropped.
    try:
        params = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):
        return args
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return args
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return args[: len(positional)]


async def invoke(cls, ctx, env, prop, relaxed, *args):
    """Instantiate the entrypoint for one event and call one handler, converting as workerd does."""
    instance = cls(ctx, env)
    method = getattr(instance, prop, None)
    if not callable(method):
        raise TypeError(f"Method {prop} does not exist on {cls.__name__}")
    py_args = [python_from_rpc(arg) for arg in args]
    if relaxed:
        py_args = _relaxed_args(method, py_args)
    result = method(*py_args)
    if inspect.isawaitable(result):
        result = await result
    return python_to_rpc(result)

