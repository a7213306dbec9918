"""The Ray half of `compare cluster`: the same workloads as Sources/CompareCluster, printing
`NAME VALUE UNIT` lines with VALUE a throughput (higher is better). Ray's workers are processes
too; it runs locally with num_cpus equal to this machine's cores, or with `--hosts=HOST:PORT`
joins a Ray cluster started with `ray start --head` / `--address` on network-namespace hosts
(the compare script's `cluster-hosts` suite), its rows named `..._hosts`."""
import os
import time

import numpy as np
import ray

from bench_common import best_seconds, option, report as report_row, wanted
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

hosts = option("hosts")
if hosts:
    ray.init(address=hosts, logging_level="ERROR", log_to_driver=False)
else:
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, logging_level="ERROR", log_to_driver=False)


def report(name, value, unit):
    report_row(name + ("_hosts" if hosts else ""), value, unit)



@ray.remote
def noop(x):
    return x


@ray.remote
def increment(x):
    return x + 1


@ray.remote
def element_count(array):
    return array.size


@ray.remote
def make_floats(count):
    return np.ones(count, dtype=np.float32)


@ray.remote
class Accumulator:
    def __init__(self):
        self.total = 0

    def add(self, amount):
        self.total += amount
        return self.total


if wanted("tasks_sync"):
    count = 300
    report("tasks_sync", count / best_seconds(lambda: [ray.get(noop.remote(i)) for i in range(count)], rounds=3), "tasks/s")

if wanted("tasks_async"):
    count = 1000
    report("tasks_async", count / best_seconds(lambda: ray.get([noop.remote(i) for i in range(count)]), rounds=3), "tasks/s")

if wanted("chain_100"):
    def chain():
        ref = ray.put(0)
        for _ in range(100):
            ref = increment.remote(ref)
        ray.get(ref)

    report("chain_100", 100 / best_seconds(chain, rounds=3), "tasks/s")

if wanted("actor_calls_sync") or wanted("actor_calls_async"):
    accumulator = Accumulator.remote()
    ray.get(accumulator.add.remote(0))
    if wanted("actor_calls_sync"):
        count = 500
        seconds = best_seconds(lambda: [ray.get(accumulator.add.remote(1)) for _ in range(count)], rounds=3)
        report("actor_calls_sync", count / seconds, "calls/s")
    if wanted("actor_calls_async"):
        count = 1000
        seconds = best_seconds(lambda: ray.get([accumulator.add.remote(1) for _ in range(count)]), rounds=3)
        report("actor_calls_async", count / seconds, "calls/s")

if wanted("wait_1000"):
    # 1,000 results made by the workers, all ready: the cost of asking whether they are.
    refs = [noop.remote(i) for i in range(1000)]
    ray.get(refs)
    report("wait_1000", 1 / best_seconds(lambda: ray.wait(refs, num_returns=len(refs)), rounds=3), "waits/s")

# 100 MiB of float32, as a NumPy array (a tensor on the IOCompute side).
mebibytes100 = 100 << 20
floats100 = mebibytes100 // 4
if wanted("put_to_worker_100MiB"):
    payload = np.ones(floats100, dtype=np.float32)
    seconds = best_seconds(lambda: ray.get(element_count.remote(ray.put(payload))), rounds=3)
    report("put_to_worker_100MiB", mebibytes100 / seconds / (1 << 30), "GiB/s")

if wanted("get_from_worker_100MiB"):
    best = float("inf")
    for _ in range(4):
        ref = make_floats.remote(floats100)
        # Ready, but not fetched here: the timed get moves it.
        ray.wait([ref], fetch_local=False)
        start = time.perf_counter()
        ray.get(ref)
        best = min(best, time.perf_counter() - start)
    report("get_from_worker_100MiB", mebibytes100 / best / (1 << 30), "GiB/s")

if wanted("worker_to_worker_100MiB"):
    # Made by a worker on one node, read by a worker on another (the same node when local).
    nodes = [node["NodeID"] for node in ray.nodes() if node["Alive"] and node["Resources"].get("CPU", 0) > 0]
    first, second = ({}, {})
    if len(nodes) >= 2:
        first = {"scheduling_strategy": NodeAffinitySchedulingStrategy(node_id=nodes[0], soft=False)}
        second = {"scheduling_strategy": NodeAffinitySchedulingStrategy(node_id=nodes[1], soft=False)}
    best = float("inf")
    for _ in range(3):
        ref = make_floats.options(**first).remote(floats100)
        ray.wait([ref], fetch_local=False)
        start = time.perf_counter()
        ray.get(element_count.options(**second).remote(ref))
        best = min(best, time.perf_counter() - start)
    report("worker_to_worker_100MiB", mebibytes100 / best / (1 << 30), "GiB/s")

ray.shutdown()
