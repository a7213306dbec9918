"""The peer half of `compare data`: batch inference of one MLP over the same rows with Ray Data's
`map_batches` on an actor pool of the same size, printed as `NAME VALUE UNIT` lines with VALUE
a throughput. `Sources/CompareData` runs it in IOCompute.

- batch_inference: 100,000 rows of 64 float32 values, an MLP 64-128-64-10 in NumPy (matmul on
  OpenBLAS, one thread per actor), batches of 256 on 2 actors (one CPU each) that build the model
  once, predictions (argmax) collected in order: rows/s. Ray Data always runs its actors in
  worker processes, so its figure is the peer of both of our rows.
"""
import os
import time

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["OPENBLAS_NUM_THREADS"] = "1"

import numpy as np

import bench_common as bench

ROWS = int(bench.option("rows") or 100_000)
BATCH = 256


class Predictor:
    def __init__(self):
        rng = np.random.default_rng(1)
        self.layers = [
            (rng.standard_normal((64, 128), dtype=np.float32) * 0.1, np.zeros(128, np.float32)),
            (rng.standard_normal((128, 64), dtype=np.float32) * 0.1, np.zeros(64, np.float32)),
            (rng.standard_normal((64, 10), dtype=np.float32) * 0.1, np.zeros(10, np.float32)),
        ]

    def __call__(self, batch):
        x = batch["data"]
        for index, (weights, bias) in enumerate(self.layers):
            x = x @ weights + bias
            if index < len(self.layers) - 1:
                x = np.maximum(x, 0)
        return {"class": np.argmax(x, axis=1)}


def main():
    import ray

    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.execution_options.preserve_order = True
    data = np.random.default_rng(42).random((ROWS, 64), dtype=np.float32)

    def run():
        # Eight blocks, so that both actors work: one block feeds one actor only (Ray warns),
        # and Ray's cost per block makes blocks of 1,000 rows (as ours) slower (measured here
        # at 100,000 rows: one block 22,700-24,700 rows/s, eight 14,600, a hundred 11,600).
        dataset = ray.data.from_numpy(np.array_split(data, 8)).map_batches(
            Predictor, batch_size=BATCH, compute=ray.data.ActorPoolStrategy(size=2), num_cpus=1, batch_format="numpy"
        )
        count = 0
        for batch in dataset.iter_batches(batch_size=4096, batch_format="numpy"):
            count += len(batch["class"])
        assert count == ROWS, count

    seconds = bench.best_seconds(run, rounds=2)
    for name in ("batch_inference", "batch_inference_processes"):
        if bench.wanted(name):
            bench.report(name, ROWS / seconds, "rows/s")
    ray.shutdown()


if __name__ == "__main__":
    main()
