"""Records Opacus's RDP accountant on a grid of settings, for IOFederated's accountant tests.

    Benchmarks/.venv-bench/bin/pip install opacus==1.6.0
    Benchmarks/.venv-bench/bin/python Tests/IOFederatedTests/Fixtures/record_opacus_rdp.py \
        > Tests/IOFederatedTests/Fixtures/opacus_rdp.json

Each case gives the sampling rate q, the noise multiplier sigma, the number of steps, delta,
Opacus's epsilon and best order over its default orders, and its RDP at a few orders (integer
and fractional) so that both of the sampled Gaussian mechanism's series are checked.
"""
import json

import opacus
from opacus.accountants.analysis.rdp import compute_rdp, get_privacy_spent
from opacus.accountants.rdp import RDPAccountant

cases = []
for q, sigma, steps, delta in [
    (0.01, 1.1, 1000, 1e-5),
    (0.1, 1.0, 100, 1e-5),
    (0.05, 0.8, 50, 1e-6),
    (0.2, 2.0, 200, 1e-5),
    (1.0, 1.5, 30, 1e-5),
    (0.001, 0.6, 10000, 1e-5),
    (0.3, 5.0, 1, 1e-3),
]:
    orders = RDPAccountant.DEFAULT_ALPHAS
    rdp = compute_rdp(q=q, noise_multiplier=sigma, steps=steps, orders=orders)
    epsilon, order = get_privacy_spent(orders=orders, rdp=rdp, delta=delta)
    probe = [1.5, 2.0, 3.7, 8.0, 32.0]
    probe_rdp = compute_rdp(q=q, noise_multiplier=sigma, steps=1, orders=probe)
    cases.append({
        "sampleRate": q, "noiseMultiplier": sigma, "steps": steps, "delta": delta,
        "epsilon": float(epsilon), "order": float(order),
        "probeOrders": probe, "probeRDP": [float(x) for x in probe_rdp],
    })
print(json.dumps({"opacus": opacus.__version__, "cases": cases}, indent=1))
