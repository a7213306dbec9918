import Foundation
import Testing

@testable import IOTune

@Suite("search spaces and configurations")
struct SearchSpaceTests {
    @Test(
        "distributions that cannot be sampled are typed errors naming the parameter",
        arguments: [
            Distribution.uniform(1, 0), .uniform(0, .infinity), .logUniform(0, 1), .logUniform(-1, 1), .uniform(0, 1, step: 0.3),
            .uniform(0, 1, step: 0), .normal(mean: 0, standardDeviation: 0), .integer(5...5, step: 0), .integer(0...10, log: true),
            .integer(1...10, step: 2, log: true), .choice([]), .choice(["a", "a"]),
        ])
    func invalid(distribution: Distribution) {
        #expect {
            try distribution.validated("p")
        } throws: { error in
            guard case .invalidDistribution(let parameter, _) = error as? TuneError else { return false }
            return parameter == "p"
        }
    }

    @Test("valid distributions pass, and contain exactly the values they can give")
    func valid() throws {
        for distribution in [
            Distribution.uniform(0, 1), .uniform(2, 2), .logUniform(1e-5, 1), .uniform(0, 1, step: 0.25),
            .normal(mean: 0, standardDeviation: 1),
            .integer(1...1), .integer(0...10, step: 5), .integer(1...64, log: true), .choice([1, "x", true]), .grid([0.1, 0.01]),
        ] {
            _ = try distribution.validated("p")
        }
        #expect(Distribution.uniform(0, 1).contains(0.5) && !Distribution.uniform(0, 1).contains(1.5))
        #expect(!Distribution.uniform(0, 1).contains(1))  // An integer is not a float here.
        #expect(Distribution.integer(0...10, step: 5).contains(5) && !Distribution.integer(0...10, step: 5).contains(3))
        #expect(Distribution.choice(["a"]).contains("a") && !Distribution.choice(["a"]).contains("b"))
        #expect(Distribution.grid([1, 2]).isGridAxis && !Distribution.choice([1, 2]).isGridAxis)
    }

    @Test("a space keeps its order, refuses a name twice and round-trips through JSON")
    func space() throws {
        let space: SearchSpace = ["lr": .logUniform(1e-4, 1e-1), "width": .integer(16...256)]
        #expect(space.parameterNames == ["lr", "width"])
        let bigger = try space.adding("decay", .uniform(0, 0.1))
        #expect(bigger.parameterNames == ["lr", "width", "decay"] && bigger.distribution(of: "decay") == .uniform(0, 0.1))
        #expect(throws: TuneError.conflictingParameter("lr", reason: "it is in the search space already")) {
            try space.adding("lr", .uniform(0, 1))
        }
        #expect(throws: TuneError.self) { try space.adding("bad", .logUniform(0, 1)) }
        let decoded = try JSONDecoder().decode(SearchSpace.self, from: try JSONEncoder().encode(bigger))
        #expect(decoded == bigger)
    }

    @Test("configurations read each parameter as its type; unknown names and wrong types are typed errors")
    func configuration() throws {
        let configuration = Configuration(["lr": 0.01, "width": 64, "optimizer": "adam", "nesterov": true])
        #expect(try configuration.float("lr") == 0.01 && configuration.int("width") == 64)
        #expect(try configuration.float("width") == 64)  // Integers read as floats too.
        #expect(try configuration.choice("optimizer") == "adam" && configuration.bool("nesterov"))
        #expect(throws: TuneError.unknownParameter("momentum", known: ["lr", "nesterov", "optimizer", "width"])) {
            try configuration.float("momentum")
        }
        #expect(throws: TuneError.wrongType(parameter: "optimizer", expected: "an integer", actual: "a string")) {
            try configuration.int("optimizer")
        }
        #expect(throws: TuneError.wrongType(parameter: "lr", expected: "a flag", actual: "a float")) { try configuration.bool("lr") }
        #expect(
            TuneError.unknownParameter("m", known: ["lr"]).description == "no parameter \"m\" in the search space (it has \"lr\")")
    }
}

@Suite("grid and random searchers")
struct SearcherTests {
    @Test("a grid walks every combination in order, as often as the trials allow; other parameters are random")
    func grid() throws {
        let space: SearchSpace = [
            "lr": .grid([0.1, 0.01]), "decay": .uniform(0, 1), "width": .grid([16, 32, 64]),
        ]
        var searcher = try GridSearcher(space: space, seed: 3)
        #expect(searcher.combinations == 6)
        let configurations = (0..<12).map { space.configuration(trial: $0, from: &searcher) }
        let points = configurations.map { [$0.values["lr"]!, $0.values["width"]!] }
        #expect(
            Array(points.prefix(6)) == [[0.1, 16], [0.1, 32], [0.1, 64], [0.01, 16], [0.01, 32], [0.01, 64]],
            "the last axis changes fastest")
        #expect(Array(points.suffix(6)) == Array(points.prefix(6)), "12 trials cover the grid twice")
        // The non-grid parameter is what a random searcher with the same seed gives.
        let random = RandomSearcher(seed: 3)
        #expect(configurations[4].values["decay"] == random.suggest("decay", .uniform(0, 1), trial: 4))
        #expect(throws: TuneError.self) { try GridSearcher(space: ["x": .choice([])]) }
        #expect(try GridSearcher(space: ["x": .uniform(0, 1)]).combinations == 1)
    }
}
