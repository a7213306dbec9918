"""The NumPy half of `compare tensor`: the same workloads as Sources/CompareTensor, printing
`NAME VALUE UNIT` lines with VALUE a throughput (higher is better)."""
import sys
import time

import numpy as np


def median_seconds(body, minimum_runs=5, budget=1.0):
    body()
    times = []
    deadline = time.perf_counter() + budget
    while len(times) < minimum_runs or (time.perf_counter() < deadline and len(times) < 200):
        start = time.perf_counter()
        body()
        times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2]


def report(name, value, unit):
    print(f"{name} {value:.4g} {unit}", flush=True)


selected = set(sys.argv[1:])


def wanted(name):
    return not selected or name in selected


def softmax(x):
    shifted = x - x.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


rng = np.random.default_rng(0)
for n in (256, 1024, 2048):
    if wanted(f"matmul_f32_{n}"):
        a = rng.standard_normal((n, n), dtype=np.float32)
        b = rng.standard_normal((n, n), dtype=np.float32)
        report(f"matmul_f32_{n}", 2 * n**3 / median_seconds(lambda: a @ b) / 1e9, "GFLOP/s")

elements = 10_000_000
x = rng.uniform(-1, 1, elements).astype(np.float32)
y = rng.uniform(-1, 1, elements).astype(np.float32)
if wanted("add_f32_10M"):
    report("add_f32_10M", elements / median_seconds(lambda: x + y) / 1e9, "Gelem/s")
if wanted("mul_f32_10M"):
    report("mul_f32_10M", elements / median_seconds(lambda: x * y) / 1e9, "Gelem/s")
if wanted("exp_f32_10M"):
    report("exp_f32_10M", elements / median_seconds(lambda: np.exp(x)) / 1e9, "Gelem/s")
if wanted("sum_f32_10M"):
    report("sum_f32_10M", elements / median_seconds(lambda: x.sum()) / 1e9, "Gelem/s")
if wanted("from_array_f32_10M"):
    report("from_array_f32_10M", elements / median_seconds(lambda: np.array(x, copy=True)) / 1e9, "Gelem/s")
if wanted("full_f32_10M"):
    report("full_f32_10M", elements / median_seconds(lambda: np.full(elements, 1.5, dtype=np.float32)) / 1e9, "Gelem/s")
if wanted("add_f32_64"):
    a = rng.uniform(0, 1, 64).astype(np.float32)
    b = rng.uniform(0, 1, 64).astype(np.float32)

    def thousand_adds():
        for _ in range(1000):
            a + b

    report("add_f32_64", 1000 / median_seconds(thousand_adds) / 1e6, "Mops/s")
if wanted("softmax_f32_4096x1024"):
    logits = rng.standard_normal((4096, 1024), dtype=np.float32)
    report("softmax_f32_4096x1024", 4096 * 1024 / median_seconds(lambda: softmax(logits)) / 1e9, "Gelem/s")
if wanted("solve_f64_1000"):
    a = rng.standard_normal((1000, 1000))
    b = rng.standard_normal(1000)
    report("solve_f64_1000", 1 / median_seconds(lambda: np.linalg.solve(a, b)), "solves/s")
if wanted("svd_f32_512"):
    a = rng.standard_normal((512, 512), dtype=np.float32)
    report("svd_f32_512", 1 / median_seconds(lambda: np.linalg.svd(a, full_matrices=False)), "svds/s")
