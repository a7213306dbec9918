import Foundation
import Testing
import Yams

/// The Kubernetes manifests of `Examples/Deploy/kubernetes` parse, have the kinds their README
/// lists, and pass only options `iocompute` has.
@Suite("deployment manifests", .timeLimit(.minutes(2)))
struct DeployManifestTests {
    static var folder: URL {
        var directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) {
            directory.deleteLastPathComponent()
        }
        return directory.appendingPathComponent("Examples/Deploy/kubernetes")
    }

    /// Every document of `file`, as dictionaries.
    static func documents(_ file: String) throws -> [[String: Any]] {
        let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
        return try Yams.load_all(yaml: text).map { try #require($0 as? [String: Any], "\(file): a document that is not a mapping") }
    }

    @Test("each manifest parses as YAML with the kinds its README names")
    func kinds() throws {
        let expected = [
            "head.yaml": ["Deployment", "Service"], "nodes.yaml": ["StatefulSet"], "secrets.example.yaml": ["Secret", "Secret"],
        ]
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.folder.path).filter { $0.hasSuffix(".yaml") }
        #expect(Set(files) == Set(expected.keys))
        for (file, kinds) in expected {
            let documents = try Self.documents(file)
            #expect(documents.compactMap { $0["kind"] as? String } == kinds, "\(file)")
            #expect(documents.allSatisfy { ($0["apiVersion"] as? String)?.isEmpty == false && $0["metadata"] != nil }, "\(file)")
        }
        // The head's Service selects the head's pods; the nodes join the Service's name.
        let head = try Self.documents("head.yaml")
        let service = try #require(head.first { $0["kind"] as? String == "Service" })
        let selector = ((service["spec"] as? [String: Any])?["selector"] as? [String: Any]) ?? [:]
        let template = ((head[0]["spec"] as? [String: Any])?["template"] as? [String: Any])?["metadata"] as? [String: Any]
        #expect(selector.count == 2 && NSDictionary(dictionary: selector).isEqual(to: template?["labels"] as? [String: Any] ?? [:]))
        let serviceName = try #require((service["metadata"] as? [String: Any])?["name"] as? String)
        #expect(try Self.arguments("nodes.yaml").contains("\(serviceName):6380"))
    }

    @Test("every option the manifests pass to iocompute start exists")
    func options() async throws {
        let help = try await DemoCommandTests.run(["start", "--help"]).output
        for file in ["head.yaml", "nodes.yaml"] {
            let options = try Self.arguments(file).filter { $0.hasPrefix("--") }
            #expect(!options.isEmpty)
            for option in options { #expect(help.contains(option), "\(file) passes \(option), which `iocompute start` lacks") }
        }
    }

    /// The arguments of the first container of the workload in `file`.
    static func arguments(_ file: String) throws -> [String] {
        let workload = try #require(try documents(file).first { ["Deployment", "StatefulSet"].contains($0["kind"] as? String ?? "") })
        let spec = ((workload["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any]
        let container = try #require((spec?["containers"] as? [[String: Any]])?.first)
        return (container["args"] as? [String]) ?? []
    }
}
