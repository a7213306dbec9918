import IORuntime
import IORuntimeTensor
import IOTensor
import Testing

enum Arity {
    static let five = RemoteFunction("five") { (a: Int, b: Int, c: Int, d: Int, e: Int) async throws -> Int in a + b + c + d + e }
    static let four = RemoteFunction("four") {
        (a: Tensor<Double>, b: Tensor<Double>, c: Tensor<Double>, d: Tensor<Double>, seed: UInt64) async throws -> Double in
        try (a + b + c + d).sum().scalar + Double(seed)
    }
    static let tensors = RemoteFunction("tensors") { (a: Tensor<Double>, b: Tensor<Double>, seed: UInt64) async throws -> Double in
        try (a + b).sum().scalar + Double(seed)
    }
}

@Suite("Arity", .timeLimit(.minutes(3)))
struct ArityTests {
    @Test("five parameters") func five() async throws {
        let registry = Registry().function(Arity.five)
        let cluster = try await Cluster.start(.inProcess(workers: 1), registry: registry)
        #expect(try await cluster.submit(Arity.five, 1, 2, 3, 4, 5).get() == 15)
        await cluster.shutdown()
    }

    @Test("four tensor parameters registered first") func four() async throws {
        let registry = Registry().function(Arity.four).function(Arity.five)
        let cluster = try await Cluster.start(.inProcess(workers: 1), registry: registry)
        let one = try Tensor<Double>.ones([2])
        #expect(try await cluster.submit(Arity.four, one, one, one, one, UInt64(1)).get() == 9)
        await cluster.shutdown()
    }

    @Test("tensor parameters") func tensors() async throws {
        let registry = Registry().function(Arity.tensors)
        let cluster = try await Cluster.start(.inProcess(workers: 1), registry: registry)
        let one = try Tensor<Double>.ones([2])
        #expect(try await cluster.submit(Arity.tensors, one, one, UInt64(1)).get() == 5)
        await cluster.shutdown()
    }
}
