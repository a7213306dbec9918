import Foundation
import IOData
import IOTensor
import Testing

struct Patient: Codable, Sendable, Equatable {
    let id: Int
    let score: Double
}

@Suite("Dataset sources and writers on files")
struct DatasetFileTests {
    @Test("CSV files: gzip and plain, read as rows that match the tensor reader")
    func csv() async throws {
        let path = dataFolder.appendingPathComponent("digits.csv.gz").path
        let rows = try await Dataset.csv(files: [path], headerLines: 0, blockSize: 100).collect()
        let table: Tensor<Double> = try CSV.read(contentsOf: path, headerLines: 0)
        #expect(rows.count == table.shape[0] && rows.first?.count == table.shape[1])
        #expect(rows.flatMap { $0 } == table.scalars)
        let cancer = try await Dataset.csv(files: [dataFolder.appendingPathComponent("breast_cancer.csv").path]).count()
        #expect(cancer == 569)
        await #expect(throws: DataError.self) { _ = try await Dataset.csv(files: ["/nonexistent/file.csv"]).collect() }
    }

    @Test("JSON lines decode to typed records; a bad line is named; globs list files in order")
    func jsonLines() async throws {
        try await withTemporaryFolder { folder in
            let good = "\(folder)/a.jsonl"
            try "{\"id\": 1, \"score\": 0.5}\n\n{\"id\": 2, \"score\": 1.5}\r\n".write(toFile: good, atomically: true, encoding: .utf8)
            let bad = "\(folder)/b.jsonl"
            try "{\"id\": 3, \"score\": 2}\n{\"id\": \"x\"}\n".write(toFile: bad, atomically: true, encoding: .utf8)
            let files = try await Dataset<String>.files(matching: "\(folder)/*.jsonl").collect()
            #expect(files == [good, bad])
            #expect(
                try await Dataset.jsonLines(files: [good], as: Patient.self).collect() == [
                    Patient(id: 1, score: 0.5), Patient(id: 2, score: 1.5),
                ])
            await #expect(throws: DataError.invalidRecord(path: bad, line: 2, reason: "id is not Int")) {
                _ = try await Dataset.jsonLines(files: [good, bad], as: Patient.self).collect()
            }
            #expect(throws: DataError.self) { _ = try Dataset<String>.files(matching: "\(folder)/*.none") }
        }
    }

    @Test("written CSV, JSON lines and safetensors shards read back the same; a failed write leaves no file")
    func writers() async throws {
        try await withTemporaryFolder { folder in
            let patients = (0..<25).map { Patient(id: $0, score: Double($0) / 4) }
            let dataset = Dataset(patients, blockSize: 7)
            try await dataset.writeJSONLines(to: "\(folder)/out.jsonl")
            #expect(try await Dataset.jsonLines(files: ["\(folder)/out.jsonl"], as: Patient.self).collect() == patients)

            let stats = try await dataset.writeCSV(to: "\(folder)/out.csv", header: ["id", "score, scaled"]) {
                ["\($0.id)", "\($0.score)"]
            }
            #expect(stats.rows == 25)
            let text = try String(contentsOfFile: "\(folder)/out.csv", encoding: .utf8)
            #expect(text.hasPrefix("id,\"score, scaled\"\n0,0.0\n1,0.25\n"))
            let back = try await Dataset.csv(files: ["\(folder)/out.csv"]).collect()
            #expect(back == patients.map { [Double($0.id), $0.score] })

            let rows = (0..<10).map { row in (0..<3).map { Float(row * 3 + $0) } }
            try await Dataset(rows, blockSize: 4).writeSafetensors(toDirectory: "\(folder)/shards", tensor: "x", rowsPerShard: 4)
            let shards = try await Dataset<String>.files(matching: "\(folder)/shards/*.safetensors").collect()
            #expect(
                shards.map { ($0 as NSString).lastPathComponent } == [
                    "part-00000.safetensors", "part-00001.safetensors", "part-00002.safetensors",
                ])
            #expect(try await Dataset.safetensors(files: shards, tensor: "x").collect() == rows)
            await #expect(throws: DataError.self) { _ = try await Dataset.safetensors(files: shards, tensor: "y").collect() }
            await #expect(throws: DataError.self) {
                try await Dataset([[Float(1), 2], [3]]).writeSafetensors(toDirectory: "\(folder)/ragged")
            }

            // A run that fails midway leaves neither the file nor its partial copy.
            await #expect(throws: TestError.self) {
                try await Dataset.range(100).map { value -> Int in
                    if value == 60 { throw TestError() }
                    return value
                }.writeCSV(to: "\(folder)/failed.csv") { ["\($0)"] }
            }
            #expect(!FileManager.default.fileExists(atPath: "\(folder)/failed.csv"))
            #expect(!FileManager.default.fileExists(atPath: "\(folder)/failed.csv.partial"))
        }
    }
}
