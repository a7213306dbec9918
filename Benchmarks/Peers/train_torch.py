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


def ddp_rank(rank, world, port, model_name, batch, results):
    torch.set_num_threads(1)
    torch.manual_seed(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    if model_name == "mlp":
        model = torch.nn.Sequential(
            torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
        features = 64
    else:
        model = torch.nn.Sequential(
            torch.nn.Linear(256, 1024), torch.nn.ReLU(), torch.nn.Linear(1024, 1024), torch.nn.ReLU(), torch.nn.Linear(1024, 10))
        features = 256
    ddp = torch.nn.parallel.DistributedDataParallel(model)
    optimizer = torch.optim.SGD(ddp.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    local = batch // world
    inputs = torch.randn(local, features)
    labels = torch.tensor([(i * 7) % 10 for i in range(local)])

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss_fn(ddp(inputs), labels).backward()
        optimizer.step()

    for _ in range(5):
        step()
    steps = 40
    dist.barrier()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    results[rank] = steps / (time.perf_counter() - start)
    dist.destroy_process_group()


def ddp_steps(world, model_name, batch):
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    results = mp.Manager().dict()
    mp.spawn(ddp_rank, args=(world, port, model_name, batch, results), nprocs=world, join=True)
    return min(results.values())


if __name__ == "__main__":
    if wanted("allreduce_busbw_vs_loopback"):
        print(f"allreduce_busbw_vs_loopback {loopback_bandwidth():.3f} GiB/s", flush=True)
    if wanted("allreduce_busbw_vs_gloo"):
        print(f"allreduce_busbw_vs_gloo {gloo_bandwidth():.3f} GiB/s", flush=True)
    if wanted("ddp_mlp_2proc"):
        print(f"ddp_mlp_2proc {ddp_steps(2, 'mlp', 128):.3f} steps/s", flush=True)
    if wanted("ddp_wide_2proc") or wanted("ddp_wide_speedup_1to2"):
        two = ddp_steps(2, "wide", 512)
        if wanted("ddp_wide_2proc"):
            print(f"ddp_wide_2proc {two:.3f} steps/s", flush=True)
        if wanted("ddp_wide_speedup_1to2"):
            print(f"ddp_wide_speedup_1to2 {two / ddp_steps(1, 'wide', 512):.3f} x", flush=True)
