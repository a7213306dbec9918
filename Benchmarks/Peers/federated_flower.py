"""The Flower half of `compare federated`: the same federation as CompareFederated in Flower's
simulation engine. 100 clients, each holding 1/100 of the digits training rows (80 % of
Examples/Data/digits.csv.gz shuffled with NumPy and dealt round-robin), train a 64-32-10 ReLU MLP
(NumPy, the same shapes and initialization scale as IONN's Linear) for one epoch of minibatches of
32 with SGD at 0.05 per round; FedAvg with every client every round, no evaluation.

rounds_fedavg: rounds per second in the steady state, (R - 1) / (time of round R - time of
round 1) over R = 6 rounds, timed at each aggregation (so Ray's start-up is not counted).
"""
import gzip
import os
import time
import warnings

import numpy as np

from bench_common import report, wanted

warnings.filterwarnings("ignore")
os.environ.setdefault("RAY_DEDUP_LOGS", "0")

CLIENTS = 100
ROUNDS = 6
here = os.path.dirname(os.path.abspath(__file__))
with gzip.open(os.path.join(here, "..", "..", "Examples", "Data", "digits.csv.gz"), "rt") as file:
    table = np.loadtxt(file, delimiter=",", dtype=np.float32)
rng = np.random.default_rng(2026)
order = rng.permutation(len(table))
train = table[order[: int(0.8 * len(table))]]
features, labels = train[:, :64] / 16.0, train[:, 64].astype(np.int64)
parts = [np.arange(part, len(train), CLIENTS) for part in range(CLIENTS)]


def initial_parameters():
    init = np.random.default_rng(1)
    shapes = [(64, 32), (32,), (32, 10), (10,)]
    params = []
    for shape in shapes:
        fan_in = shape[0] if len(shape) == 2 else 32
        bound = 1 / np.sqrt(fan_in)
        params.append(init.uniform(-bound, bound, size=shape).astype(np.float32))
    return params


def train_epoch(params, x, y, seed):
    w1, b1, w2, b2 = [p.copy() for p in params]
    batches = np.random.default_rng(seed).permutation(len(x))
    for start in range(0, len(x), 32):
        index = batches[start:start + 32]
        xb, yb = x[index], y[index]
        hidden = np.maximum(xb @ w1 + b1, 0)
        logits = hidden @ w2 + b2
        logits -= logits.max(axis=1, keepdims=True)
        probabilities = np.exp(logits)
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        probabilities[np.arange(len(yb)), yb] -= 1
        grad_logits = probabilities / len(yb)
        grad_w2, grad_b2 = hidden.T @ grad_logits, grad_logits.sum(axis=0)
        grad_hidden = (grad_logits @ w2.T) * (hidden > 0)
        grad_w1, grad_b1 = xb.T @ grad_hidden, grad_hidden.sum(axis=0)
        for parameter, gradient in ((w1, grad_w1), (b1, grad_b1), (w2, grad_w2), (b2, grad_b2)):
            parameter -= 0.05 * gradient
    return [w1, b1, w2, b2]


def main():
    from flwr.client import ClientApp, NumPyClient
    from flwr.common import Context, ndarrays_to_parameters
    from flwr.server import ServerApp, ServerAppComponents, ServerConfig
    from flwr.server.strategy import FedAvg
    from flwr.simulation import run_simulation

    class DigitsClient(NumPyClient):
        def __init__(self, part):
            self.part = part

        def fit(self, parameters, config):
            rows = parts[self.part]
            return train_epoch(parameters, features[rows], labels[rows], self.part), len(rows), {}

    def client_fn(context: Context):
        return DigitsClient(int(context.node_config["partition-id"])).to_client()

    ends = []

    class TimedFedAvg(FedAvg):
        def aggregate_fit(self, server_round, results, failures):
            aggregated = super().aggregate_fit(server_round, results, failures)
            if len(results) == CLIENTS:
                ends.append(time.perf_counter())
            return aggregated

    def server_fn(context: Context):
        strategy = TimedFedAvg(
            fraction_fit=1.0, fraction_evaluate=0.0, min_fit_clients=CLIENTS, min_evaluate_clients=0,
            min_available_clients=CLIENTS, initial_parameters=ndarrays_to_parameters(initial_parameters()))
        return ServerAppComponents(strategy=strategy, config=ServerConfig(num_rounds=ROUNDS))

    run_simulation(
        server_app=ServerApp(server_fn=server_fn), client_app=ClientApp(client_fn=client_fn), num_supernodes=CLIENTS,
        backend_config={"client_resources": {"num_cpus": 1, "num_gpus": 0.0}}, verbose_logging=False)
    if len(ends) == ROUNDS:
        report("rounds_fedavg", (ROUNDS - 1) / (ends[-1] - ends[0]), "rounds/s")


if wanted("rounds_fedavg"):
    main()
