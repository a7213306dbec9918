import ArgumentParser
import Foundation
import IOCompute

/// `iocompute demo`: the tensor layer doing real work on a real data set.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Fit classifiers to the breast-cancer data set with BLAS and LAPACK, train an MLP on handwritten digits with autograd, alone and data-parallel on two workers, tune its learning rate and width, teach PPO to balance CartPole with two env runners, then run task graphs on the embedded cluster."
    )

    @Option(help: "The breast-cancer CSV (default: Examples/Data/breast_cancer.csv, found from here or from the executable).")
    var data: String?

    @Option(help: "The digits CSV (default: Examples/Data/digits.csv.gz, found from here or from the executable).")
    var digits: String?

    @Option(help: "The seed of the train/test split.")
    var seed: UInt64 = 42

    func run() async throws {
        guard let path = data ?? DataLocator.find("Examples/Data/breast_cancer.csv") else {
            throw ValidationError("could not find Examples/Data/breast_cancer.csv; pass --data PATH")
        }
        print("IOCompute demo — the tensor layer on the Breast Cancer Wisconsin data set")
        print("BLAS core: \(TensorBackend.blasCoreName ?? "not OpenBLAS"), threads: \(TensorBackend.threadCount)\n")
        guard let digitsPath = digits ?? DataLocator.find("Examples/Data/digits.csv.gz") else {
            throw ValidationError("could not find Examples/Data/digits.csv.gz; pass --digits PATH")
        }
        let summary = try BreastCancerDemo(path: path, seed: seed).run()
        print("")
        let digitsSummary = try DigitsDemo(path: digitsPath, seed: seed).run()
        print("")
        let parallelSummary = try await DataParallelDemo.run(path: digitsPath, seed: seed)
        print("")
        let tuneSummary = try await TuneDemo.run(path: digitsPath, seed: seed)
        print("")
        let reinforcementSummary = try await ReinforcementLearningDemo.run(seed: seed)
        print("")
        let graph = try await TaskGraphDemo.run(path: path, seed: seed)
        print("\n" + graph)
        print(digitsSummary)
        print(parallelSummary)
        print(tuneSummary)
        print(reinforcementSummary)
        print(summary)
    }
}

/// Finds a file of the repository from the working directory or from the executable's folder.
enum DataLocator {
    static func find(_ relativePath: String) -> String? {
        var candidates = [FileManager.default.currentDirectoryPath]
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            candidates.append(folder.path)
            folder = folder.deletingLastPathComponent()
        }
        for base in candidates {
            let path = URL(fileURLWithPath: base).appendingPathComponent(relativePath).path
            if FileManager.default.fileExists(atPath: path) { return path }
        }
        return nil
    }
}
