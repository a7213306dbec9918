import IONN
import IOTensor
import Testing

@Suite("autograd semantics", .timeLimit(.minutes(3)))
struct AutogradTests {
    typealias V = Variable<Double>

    func vector(_ scalars: [Double], grad: Bool = true) throws -> V {
        V(try Tensor(shape: [scalars.count], scalars: scalars), requiresGradient: grad)
    }

    @Test("gradients accumulate over backward passes until cleared")
    func accumulation() throws {
        let w = try vector([1, 2])
        let x = try vector([3, 4], grad: false)
        try (w * x).sum().backward()
        try (w * x).sum().backward()
        #expect(w.gradient?.scalars == [6, 8])
        #expect(x.gradient == nil, "inputs that need no gradient get none")
        w.gradient = nil
        try (w * w).sum().backward()
        #expect(w.gradient?.scalars == [2, 4])
    }

    @Test("a variable used twice gets the sum of both paths")
    func sharedUse() throws {
        let x = try vector([2])
        let y = try x * x + x * 3  // dy/dx = 2x + 3 = 7
        try y.sum().backward()
        #expect(x.gradient?.scalars == [7])
    }

    @Test("without gradients nothing is recorded; detached values cut the graph")
    func noGradientAndDetach() throws {
        let w = try vector([1, 2])
        let untracked = try withoutGradients { try (w * w).sum() }
        #expect(!untracked.requiresGradient && untracked.isLeaf)
        #expect(throws: AutogradError.noGradientRequired) { try untracked.backward() }
        let cut = try (w.detached() * w).sum()
        try cut.backward()
        #expect(w.gradient?.scalars == [1, 2], "only the tracked factor contributes")
    }

    @Test("a released graph is a typed error on a second pass; retaining it allows one")
    func graphRelease() throws {
        let w = try vector([1, 2])
        let loss = try (w * w).sum()
        try loss.backward(retainingGraph: true)
        try loss.backward()
        #expect(w.gradient?.scalars == [4, 8])
        #expect(throws: AutogradError.graphReleased) { try loss.backward() }
        let vectorOutput = try w * w
        #expect(throws: AutogradError.nonScalarOutput(shape: [2])) { try vectorOutput.backward() }
        try vectorOutput.backward(seed: Tensor(shape: [2], scalars: [1, 0]))
        #expect(w.gradient?.scalars == [6, 8])
    }

    @Test("backward frees intermediate results, so memory does not grow with steps")
    func intermediatesFreed() throws {
        let w = try vector([1, 2, 3])
        weak var intermediate: V?
        do {
            let hidden = try (w * w).exp()
            intermediate = hidden
            let loss = try (hidden * w).sum()
            try loss.backward()
        }
        #expect(intermediate == nil)
        #expect(w.gradient != nil)
    }

    @Test("assign replaces a leaf's value of the same shape only")
    func assign() throws {
        let w = try vector([1, 2])
        try w.assign(Tensor(shape: [2], scalars: [5, 6]))
        #expect(w.value.scalars == [5, 6])
        #expect(throws: AutogradError.shapeMismatch(operation: "assign", expected: [2], actual: [3])) {
            try w.assign(Tensor(shape: [3], scalars: [1, 2, 3]))
        }
        let computed = try w * w
        #expect(throws: AutogradError.notALeaf) { try computed.assign(Tensor(shape: [2], scalars: [0, 0])) }
    }
}
