// A tour of IOTensor in one page: make tensors, broadcast, reduce, multiply, solve, save.
//
//     swift run -c release TensorTour
import IOCompute

// Reproducible random numbers: the same seed gives the same tensor on every machine.
let points = try Tensor<Double>.randomNormal([1000, 3], seed: 1)
let trueWeights = Tensor<Double>([2, -1, 0.5])
let noise = try Tensor<Double>.randomNormal([1000], standardDeviation: 0.1, seed: 2)

// Broadcasting and BLAS: y = X·w + 3 + noise.
let targets = try points.matmul(trueWeights) + 3 + noise

// Least squares through LAPACK recovers the weights and the intercept.
let design = try Tensor.concatenate([points, try Tensor<Double>.ones([1000, 1])], alongAxis: 1)
let fit = try design.leastSquares(targets)
print("fitted weights and intercept:", fit.solution.scalars.map { ($0 * 100).rounded() / 100 })

// Reductions and masks: how many residuals are within two standard deviations?
let residuals = try targets - design.matmul(fit.solution)
let spread = try residuals.standardDeviation().scalar
let within = (residuals.abs() .< 2 * spread).trueCount
print("residual standard deviation \(spread), \(within) of 1000 within two of them")

// A numerically stable softmax over rows, and the most likely class of each.
let logits = try Tensor<Float>.randomNormal([4, 5], standardDeviation: 10, seed: 3)
print("softmax rows sum to", try logits.softmax().sum(alongAxis: 1).scalars)
print("argmax per row:", try logits.argmax(alongAxis: 1).scalars)

// Save and load with safetensors, the format PyTorch and Hugging Face use.
let path = "tensor-tour.safetensors"
try Safetensors.write(["weights": AnyTensor(fit.solution), "logits": AnyTensor(logits)], to: path)
let archive = try Safetensors.read(contentsOf: path)
print("reloaded:", archive.tensors.keys.sorted(), try archive.tensor("logits", as: Float.self) == logits)
