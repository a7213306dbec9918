import Benchmark
import IOTensor

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .mallocCountTotal, .peakMemoryResident], maxDuration: .seconds(2))

    Benchmark("matmul float32 1024x1024") { benchmark in
        let a = try Tensor<Float>.randomNormal([1024, 1024], seed: 1)
        let b = try Tensor<Float>.randomNormal([1024, 1024], seed: 2)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(try a.matmul(b)) }
    }

    Benchmark("add float32 10M") { benchmark in
        let a = try Tensor<Float>.randomUniform([10_000_000], seed: 1)
        let b = try Tensor<Float>.randomUniform([10_000_000], seed: 2)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(try a + b) }
    }

    Benchmark("exp float32 10M") { benchmark in
        let a = try Tensor<Float>.randomUniform([10_000_000], seed: 1)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(a.exp()) }
    }

    Benchmark("sum float32 10M") { benchmark in
        let a = try Tensor<Float>.randomUniform([10_000_000], seed: 1)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(a.sum()) }
    }

    Benchmark("softmax float32 4096x1024") { benchmark in
        let a = try Tensor<Float>.randomNormal([4096, 1024], seed: 1)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(try a.softmax()) }
    }
}
