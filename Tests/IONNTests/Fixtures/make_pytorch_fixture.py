"""Writes the PyTorch fixture IONN's tests compare against (pip install torch safetensors).
Run from this folder:

    python3 make_pytorch_fixture.py

- pytorch_model.safetensors: the state dict of a small CNN (every layer kind IONN has a PyTorch
  twin of, in an nn.Sequential so that the names are "0.weight", ...). BatchNorm's
  `num_batches_tracked` counter (an int64 PyTorch keeps for its own momentum schedule) is left
  out: IONN's BatchNorm1d does not use it.
- pytorch_io.safetensors: an input batch and the model's output in evaluation mode, plus the
  gradient of the sum of the outputs with respect to the input and to the first weight.
"""
import torch
from torch import nn
from safetensors.torch import save_file

torch.manual_seed(20261124)
model = nn.Sequential(
    nn.Conv2d(1, 4, 3, padding=1),   # 0
    nn.ReLU(),                       # 1
    nn.MaxPool2d(2),                 # 2
    nn.Conv2d(4, 6, 3, stride=2, padding=1),  # 3
    nn.GELU(),                       # 4
    nn.AvgPool2d(2),                 # 5
    nn.Flatten(),                    # 6
    nn.Linear(6, 16),                # 7
    nn.BatchNorm1d(16),              # 8
    nn.LayerNorm(16),                # 9
    nn.Tanh(),                       # 10
    nn.Linear(16, 10),               # 11
    nn.Sigmoid(),                    # 12
).double()

# Give BatchNorm running statistics that are not the defaults.
model.train()
with torch.no_grad():
    for _ in range(3):
        model(torch.randn(8, 1, 8, 8, dtype=torch.float64) * 2 + 1)
model.eval()

x = torch.randn(5, 1, 8, 8, dtype=torch.float64, requires_grad=True)
y = model(x)
y.sum().backward()

state = {k: v.detach().contiguous() for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
save_file(state, "pytorch_model.safetensors", metadata={"torch": torch.__version__})
save_file(
    {
        "input": x.detach().contiguous(),
        "output": y.detach().contiguous(),
        "input_gradient": x.grad.contiguous(),
        "weight0_gradient": model[0].weight.grad.contiguous(),
    },
    "pytorch_io.safetensors",
    metadata={"torch": torch.__version__},
)
print("wrote the fixtures with torch", torch.__version__)
