import Foundation
import Testing

@testable import IOTensor

@Suite("Random numbers", .timeLimit(.minutes(3)))
struct RandomTests {
    @Test("Philox4x32-10 reproduces the Random123 known-answer vectors")
    func knownAnswers() {
        let zero = Philox4x32(seed: 0).block(0, stream: 0)
        #expect([zero.0, zero.1, zero.2, zero.3] == [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8])
        let ones = Philox4x32(seed: .max).block(.max, stream: .max)
        #expect([ones.0, ones.1, ones.2, ones.3] == [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd])
        let pi = Philox4x32(seed: 0x299f_31d0_a409_3822).block(0x85a3_08d3_243f_6a88, stream: 0x0370_7344_1319_8a2e)
        #expect([pi.0, pi.1, pi.2, pi.3] == [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1])
    }

    @Test("the same seed gives the same tensor; another seed another one")
    func reproducible() throws {
        let a = try Tensor<Float>.randomNormal([1001], seed: 7)
        #expect(a == (try Tensor<Float>.randomNormal([1001], seed: 7)))
        #expect(a != (try Tensor<Float>.randomNormal([1001], seed: 8)))
        // An element depends only on its position: a longer tensor starts with the shorter one.
        let longer = try Tensor<Float>.randomNormal([100_003], seed: 7)
        #expect(Array(longer.scalars.prefix(1001)) == a.scalars)
        let doubles = try Tensor<Double>.randomUniform([99_999], seed: 3)
        let short = try Tensor<Double>.randomUniform([5], seed: 3)
        #expect(short.scalars == Array(doubles.scalars.prefix(5)))
    }

    @Test("distributions have the moments and ranges they should", arguments: [1, 2, 77, 200_001])
    func moments(count: Int) throws {
        let uniform = try Tensor<Double>.randomUniform([count], lowerBound: -2, upperBound: 3, seed: 1).scalars
        #expect(uniform.allSatisfy { $0 >= -2 && $0 < 3 })
        let floats = try Tensor<Float>.randomUniform([count], seed: 2).scalars
        #expect(floats.allSatisfy { $0 >= 0 && $0 < 1 })
        guard count > 1000 else { return }
        let n = Double(count)
        let uniformMean = uniform.reduce(0, +) / n
        #expect(Swift.abs(uniformMean - 0.5) < 5 * (25.0 / 12 / n).squareRoot())

        let normals = [
            try Tensor<Double>.randomNormal([count], mean: 1, standardDeviation: 2, seed: 4).scalars,
            doublesOf(try Tensor<Float>.randomNormal([count], mean: 1, standardDeviation: 2, seed: 5)),
        ]
        for normal in normals {
            let mean = normal.reduce(0, +) / n
            let variance = normal.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / n
            #expect(Swift.abs(mean - 1) < 5 * 2 / n.squareRoot())
            #expect(Swift.abs(variance - 4) < 0.1)
            #expect(normal.allSatisfy { $0.isFinite })
        }

        let coins = try Tensor<Float>.randomBernoulli([count], probability: 0.3, seed: 6).scalars
        #expect(coins.allSatisfy { $0 == 0 || $0 == 1 })
        #expect(Swift.abs(Double(coins.reduce(0, +)) / n - 0.3) < 5 * (0.21 / n).squareRoot())
    }

    @Test("invalid distribution parameters are typed errors")
    func invalid() {
        #expect(throws: TensorError.self) { try Tensor<Float>.randomBernoulli([3], probability: 1.5, seed: 0) }
        #expect(throws: TensorError.self) { try Tensor<Float>.randomNormal([3], standardDeviation: -1, seed: 0) }
        #expect(throws: TensorError.self) { try Tensor<Double>.randomUniform([3], lowerBound: 2, upperBound: 1, seed: 0) }
        #expect(throws: TensorError.self) { try Tensor<Double>.randomUniform([-3], seed: 0) }
    }

    func doublesOf(_ tensor: Tensor<Float>) -> [Double] { tensor.scalars.map(Double.init) }
}
