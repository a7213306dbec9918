"""The Ray half of `compare runtime`: the same workloads as Sources/CompareRuntime, printing
`NAME VALUE UNIT` lines with VALUE a throughput (higher is better). Ray runs locally with
num_cpus equal to this machine's cores."""
import os

import numpy as np
import ray

from bench_common import best_seconds, report, wanted

ray.init(num_cpus=os.cpu_count(), include_dashboard=False, logging_level="ERROR", log_to_driver=False)


@ray.remote
def noop(x):
    return x


@ray.remote
def increment(x):
    return x + 1


if wanted("tasks_sync"):
    count = 300
    seconds = best_seconds(lambda: [ray.get(noop.remote(i)) for i in range(count)], rounds=3)
    report("tasks_sync", count / seconds, "tasks/s")

if wanted("tasks_async"):
    count = 1000
    seconds = best_seconds(lambda: ray.get([noop.remote(i) for i in range(count)]), rounds=3)
    report("tasks_async", count / seconds, "tasks/s")

if wanted("chain_100"):
    def chain():
        ref = ray.put(0)
        for _ in range(100):
            ref = increment.remote(ref)
        ray.get(ref)

    report("chain_100", 100 / best_seconds(chain, rounds=3), "tasks/s")

@ray.remote
class Accumulator:
    def __init__(self):
        self.total = 0

    def add(self, amount):
        self.total += amount
        return self.total


if wanted("actor_calls_sync") or wanted("actor_calls_async") or wanted("actor_calls_sync_codec"):
    accumulator = Accumulator.remote()
    ray.get(accumulator.add.remote(0))
    if wanted("actor_calls_sync"):
        count = 500
        seconds = best_seconds(lambda: [ray.get(accumulator.add.remote(1)) for _ in range(count)], rounds=3)
        report("actor_calls_sync", count / seconds, "calls/s")
    if wanted("actor_calls_sync_codec"):
        count = 500
        seconds = best_seconds(lambda: [ray.get(accumulator.add.remote(1)) for _ in range(count)], rounds=3)
        report("actor_calls_sync_codec", count / seconds, "calls/s")
    if wanted("actor_calls_async"):
        count = 1000
        seconds = best_seconds(lambda: ray.get([accumulator.add.remote(1) for _ in range(count)]), rounds=3)
        report("actor_calls_async", count / seconds, "calls/s")

mebibytes100 = 100 << 20
payload = np.ones(mebibytes100, dtype=np.uint8)
if wanted("put_100MiB"):
    report("put_100MiB", mebibytes100 / best_seconds(lambda: ray.put(payload)) / (1 << 30), "GiB/s")
if wanted("get_100MiB"):
    ref = ray.put(payload)
    report("get_100MiB", mebibytes100 / best_seconds(lambda: ray.get(ref)) / (1 << 30), "GiB/s")

if wanted("get_small"):
    ref = ray.put(42)
    count = 2000
    report("get_small", count / best_seconds(lambda: [ray.get(ref) for _ in range(count)]), "gets/s")

if wanted("wait_1000"):
    refs = [ray.put(i) for i in range(1000)]
    report("wait_1000", 1 / best_seconds(lambda: ray.wait(refs, num_returns=len(refs))), "waits/s")

ray.shutdown()
