"""The peer half of `compare train`: the loopback TCP bandwidth of this machine and PyTorch's
gloo allreduce between 2 processes, as `NAME VALUE UNIT` lines matching compare-train's."""
import os
import socket
import subprocess
import sys
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

RANKS = 2
COUNT = 16 << 20  # 64 MiB of float32, as on our side


def wanted(name):
    names = sys.argv[1:]
    return not names or name in names


def loopback_bandwidth():
    here = os.path.dirname(os.path.abspath(__file__))
    line = subprocess.run([sys.executable, os.path.join(here, "loopback_bandwidth.py")], capture_output=True, text=True).stdout
    # "# loopback TCP bandwidth: X GiB/s ..."
    return float(line.split(":")[1].split()[0])


def gloo_rank(rank, port, results):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=RANKS)
    tensor = torch.ones(COUNT)
    dist.all_reduce(tensor)
    best = float("inf")
    for _ in range(5):
        dist.barrier()
        start = time.perf_counter()
        dist.all_reduce(tensor)
        best = min(best, time.perf_counter() - start)
    results[rank] = best
    dist.destroy_process_group()


def gloo_bandwidth():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    results = mp.Manager().dict()
    mp.spawn(gloo_rank, args=(port, results), nprocs=RANKS, join=True)
    seconds = max(results.values())
    return COUNT * 4 * 2 * (RANKS - 1) / RANKS / seconds / (1 << 30)


if __name__ == "__main__":
    if wanted("allreduce_busbw_vs_loopback"):
        print(f"allreduce_busbw_vs_loopback {loopback_bandwidth():.3f} GiB/s", flush=True)
    if wanted("allreduce_busbw_vs_gloo"):
        print(f"allreduce_busbw_vs_gloo {gloo_bandwidth():.3f} GiB/s", flush=True)
