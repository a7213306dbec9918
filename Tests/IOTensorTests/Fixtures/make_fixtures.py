"""Writes the fixtures that IOTensor's tests compare against, with NumPy and the Python
`safetensors` package (pip install numpy safetensors). Run from this folder:

    python3 make_fixtures.py

- python_written.safetensors: one tensor of every dtype IOTensor supports, written by
  `safetensors.numpy.save_file`, to check that IOTensor reads what Python writes and writes the
  same bytes for the same tensors.
- numpy_reference.safetensors: inputs and NumPy's results for linear algebra and reductions.
"""
import numpy as np
from safetensors.numpy import save_file

rng = np.random.default_rng(20261124)

written = {
    "weights": rng.standard_normal((3, 5)).astype(np.float32),
    "bias": rng.standard_normal(7),
    "indices": np.arange(6, dtype=np.int64).reshape(2, 3) - 2,
    "counts": np.array([1, -2, 3, 2**31 - 1], dtype=np.int32),
    "pixels": np.array([0, 1, 127, 128, 254, 255], dtype=np.uint8),
    "mask": np.array([True, False, True, True, False]),
    "empty": np.zeros((0, 3), dtype=np.float32),
    "scalar": np.array(2.5, dtype=np.float64),
}
save_file(written, "python_written.safetensors", metadata={"format": "np"})

a = rng.standard_normal((6, 6))
spd = a @ a.T + 6 * np.eye(6)
b = rng.standard_normal((6, 2))
tall = rng.standard_normal((9, 4))
tall_b = rng.standard_normal(9)
logits = (rng.standard_normal((4, 11)) * 30).astype(np.float32)
shifted = logits - logits.max(axis=1, keepdims=True)
softmax = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
u, s, vt = np.linalg.svd(tall, full_matrices=False)
eigenvalues = np.linalg.eigvalsh(spd)
solution, _, rank, singular = np.linalg.lstsq(tall, tall_b, rcond=None)

reference = {
    "a": a,
    "spd": spd,
    "b": b,
    "tall": tall,
    "tall_b": tall_b,
    "solve_a_b": np.linalg.solve(a, b),
    "inverse_a": np.linalg.inv(a),
    "determinant_a": np.array(np.linalg.det(a)),
    "cholesky_spd": np.linalg.cholesky(spd),
    "singular_values_tall": s,
    "eigenvalues_spd": eigenvalues,
    "lstsq_tall": solution,
    "logits": logits,
    "softmax_logits": softmax.astype(np.float32),
    "log_softmax_logits": (shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))).astype(np.float32),
    "variance_tall_axis0": tall.var(axis=0),
    "std_tall_axis1_ddof1": tall.std(axis=1, ddof=1),
}
save_file(reference, "numpy_reference.safetensors")
