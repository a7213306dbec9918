"""What the peer scripts share: timing, selecting workloads, and the `NAME VALUE UNIT` line
format the `compare` script reads."""
import sys
import time


def best_seconds(body, rounds=5):
    """The best (smallest) of `rounds` timings of `body`, in seconds, after one warm-up."""
    body()
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        body()
        best = min(best, time.perf_counter() - start)
    return best


def report(name, value, unit):
    print(f"{name} {value:.4g} {unit}", flush=True)


# Options (`--name=value`) are not workload names.
_selected = {argument for argument in sys.argv[1:] if not argument.startswith("--")}


def option(name):
    """The value of `--name=value` on the command line, or None."""
    prefix = f"--{name}="
    return next((argument[len(prefix):] for argument in sys.argv[1:] if argument.startswith(prefix)), None)


def wanted(name):
    """Whether the command line selects workload `name` (no names select every workload)."""
    return not _selected or name in _selected
