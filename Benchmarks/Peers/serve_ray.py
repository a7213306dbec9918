"""The peer half of `compare serve`: the same MLP served by Ray Serve with `@serve.batch`
(batches of up to 32, waiting at most 2 ms), 2 replicas of one CPU each, loaded by the same
`wrk -t2 -c32 -d10s` run (`serve_post.lua`). Prints `serve_requests VALUE requests/s` and the
latencies on standard error. `Sources/CompareServe` runs it on IOServe.
"""
import os
import re
import subprocess
import sys

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["OPENBLAS_NUM_THREADS"] = "1"

import numpy as np

import bench_common as bench

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    import ray
    from ray import serve
    from starlette.requests import Request

    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)

    @serve.deployment(num_replicas=2, ray_actor_options={"num_cpus": 1}, max_ongoing_requests=64)
    class Model:
        def __init__(self):
            rng = np.random.default_rng(1)
            self.layers = [
                (rng.standard_normal((64, 128), dtype=np.float32) * 0.1, np.zeros(128, np.float32)),
                (rng.standard_normal((128, 64), dtype=np.float32) * 0.1, np.zeros(64, np.float32)),
                (rng.standard_normal((64, 10), dtype=np.float32) * 0.1, np.zeros(10, np.float32)),
            ]

        @serve.batch(max_batch_size=32, batch_wait_timeout_s=0.002)
        async def predict(self, rows):
            x = np.asarray(rows, dtype=np.float32)
            for index, (weights, bias) in enumerate(self.layers):
                x = x @ weights + bias
                if index < len(self.layers) - 1:
                    x = np.maximum(x, 0)
            labels = np.argmax(x, axis=1)
            return [{"label": int(label), "score": float(x[row, label])} for row, label in enumerate(labels)]

        async def __call__(self, request: Request):
            body = await request.json()
            return await self.predict(body["features"])

    serve.run(Model.bind(), route_prefix="/predict")
    url = "http://127.0.0.1:8000/predict"
    command = ["wrk", "-t2", "-c32", "-d10s", "--latency", "-s", os.path.join(HERE, "serve_post.lua"), url]
    subprocess.run(command, capture_output=True)  # warm-up
    output = subprocess.run(command, capture_output=True, text=True).stdout
    if "Non-2xx" in output:
        sys.exit("Ray Serve answered errors:\n" + output)
    rate = float(re.search(r"Requests/sec:\s+([0-9.]+)", output).group(1))
    p50 = re.search(r"50%\s+(\S+)", output).group(1)
    p99 = re.search(r"99%\s+(\S+)", output).group(1)
    print(f"# Ray Serve latency p50 {p50}, p99 {p99}", file=sys.stderr)
    if bench.wanted("serve_requests"):
        bench.report("serve_requests", rate, "requests/s")
    serve.shutdown()
    ray.shutdown()


if __name__ == "__main__":
    main()
