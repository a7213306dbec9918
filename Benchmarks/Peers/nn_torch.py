"""The PyTorch half of `compare nn`: the training steps of `Sources/CompareNN` (same models,
shapes, batch sizes, loss and optimizer) on the CPU, with as many threads as IONN's BLAS uses
(the machine's cores). Prints `NAME VALUE samples/s`; peak-memory growth goes to stderr."""
import os
import resource
import sys
import time

import torch
from torch import nn

from bench_common import report, wanted

torch.set_num_threads(os.cpu_count())
print(f"# PyTorch {torch.__version__}, {torch.get_num_threads()} threads", file=sys.stderr)


def peak_kib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure(name, model, input_shape, batch, steps):
    if not wanted(name):
        return
    before = peak_kib()
    torch.manual_seed(1)
    inputs = torch.randn(batch, *input_shape)
    labels = torch.tensor([(i * 7) % 10 for i in range(batch)])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(inputs), labels).backward()
        optimizer.step()

    for _ in range(3):
        step()
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        best = min(best, time.perf_counter() - start)
    report(name, batch * steps / best, "samples/s")
    print(f"# PyTorch {name}: peak resident memory grew {(peak_kib() - before) / 1024:.1f} MiB", file=sys.stderr)


def mlp():
    return nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))


def cnn():
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10),
    )


measure("mlp_batch64", mlp(), (64,), 64, 200)
measure("cnn_batch64", cnn(), (1, 8, 8), 64, 50)
measure("mlp_batch1024", mlp(), (64,), 1024, 30)
