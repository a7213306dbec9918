import Foundation
import IOTensor
import Testing

@Suite("Safetensors and CSV", .timeLimit(.minutes(3)))
struct IOTests {
    let pythonFile = fixtures.appendingPathComponent("python_written.safetensors").path

    @Test("a file written by the Python safetensors package reads with every dtype intact")
    func readPython() throws {
        let archive = try Safetensors.read(contentsOf: pythonFile)
        #expect(archive.metadata == ["format": "np"])
        #expect(Set(archive.tensors.keys) == ["weights", "bias", "indices", "counts", "pixels", "mask", "empty", "scalar"])
        let weights: Tensor<Float> = try archive.tensor("weights")
        #expect(weights.shape == [3, 5])
        #expect(try archive.tensor("indices", as: Int64.self).scalars == [-2, -1, 0, 1, 2, 3])
        #expect(try archive.tensor("indices", as: Int.self).shape == [2, 3])
        #expect(try archive.tensor("counts", as: Int32.self).scalars == [1, -2, 3, Int32.max])
        #expect(try archive.tensor("pixels", as: UInt8.self).scalars == [0, 1, 127, 128, 254, 255])
        #expect(try archive.tensor("mask", as: Bool.self).scalars == [true, false, true, true, false])
        #expect(try archive.tensor("empty", as: Float.self).shape == [0, 3])
        #expect(try archive.tensor("scalar", as: Double.self).scalar == 2.5)
        #expect(throws: TensorError.self) { try archive.tensor("weights", as: Double.self) }
        #expect(throws: TensorError.self) { try archive.tensor("missing", as: Double.self) }
    }

    @Test("writing the same tensors gives the same bytes as Python")
    func byteCompatible() throws {
        let original = try FileAccessHelper.bytes(pythonFile)
        let archive = try Safetensors.decode(original)
        let encoded = try Safetensors.encode(archive.tensors, metadata: archive.metadata)
        #expect(encoded == original)

        let path = temporaryPath("roundtrip.safetensors")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Safetensors.write(["w": try Tensor<Double>.randomNormal([4, 4], seed: 1)], to: path)
        #expect(try Safetensors.read(contentsOf: path).tensor("w", as: Double.self) == (try Tensor<Double>.randomNormal([4, 4], seed: 1)))
    }

    @Test("every truncation of a file is a typed error, never a crash")
    func truncated() throws {
        let bytes = try FileAccessHelper.bytes(pythonFile)
        for length in 0..<bytes.count {
            #expect(throws: TensorIOError.self, "length \(length)") { try Safetensors.decode(Array(bytes[..<length])) }
        }
    }

    @Test(
        "corrupt headers are typed errors",
        arguments: [
            #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#,
            #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
            #"{"a":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}"#,
            #"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#,
            #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#,
            #"{"a":{"dtype":"F32","shape":[1]}}"#,
            #"{"a":{"dtype":"F32","shape":[9223372036854775807,4],"data_offsets":[0,4]}}"#,
            #"{"a":[1,2]}"#, #"[1,2]"#, #"{"a":"#, #"not json"#, #"{"__metadata__":{"k":1}}"#,
            #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}} x"#,
            String(repeating: "[", count: 100_000),
        ])
    func corrupt(header: String) {
        var bytes: [UInt8] = []
        let json = Array(header.utf8)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes += json + [0, 0, 128, 63]
        #expect(throws: TensorIOError.self) { try Safetensors.decode(bytes) }
    }

    @Test("a header length beyond the file or the limit is rejected before reading on")
    func headerLength() {
        var bytes: [UInt8] = []
        withUnsafeBytes(of: UInt64.max.littleEndian) { bytes.append(contentsOf: $0) }
        #expect(throws: TensorIOError.self) { try Safetensors.decode(bytes + Array("{}".utf8)) }
        #expect(throws: TensorIOError.fileNotFound(path: "/nonexistent/model.safetensors")) {
            try Safetensors.read(contentsOf: "/nonexistent/model.safetensors")
        }
    }

    @Test("CSV files load as tensors, gzip-compressed or not")
    func csv() throws {
        let cancer: Tensor<Double> = try CSV.read(contentsOf: exampleData.appendingPathComponent("breast_cancer.csv").path, headerLines: 1)
        #expect(cancer.shape == [569, 31])
        let labels = try cancer.select(30, alongAxis: 1)
        #expect(labels.sum().scalar == 357)  // benign cases in the Wisconsin data set

        let digits = try CSV.read(contentsOf: exampleData.appendingPathComponent("digits.csv.gz").path, as: Float.self)
        #expect(digits.shape == [1797, 65])
        #expect(try digits.max().scalar == 16)
        #expect(try digits.select(64, alongAxis: 1).max().scalar == 9)

        let parsed = try CSV.parse(Array("a;b\r\n1; 2.5\r\n\r\n-3;4e2\n".utf8), as: Float.self, headerLines: 1, delimiter: ";")
        #expect(parsed.shape == [2, 2])
        #expect(parsed.scalars == [1, 2.5, -3, 400])
    }

    @Test("bad CSV input names the line; missing and corrupt files are typed errors")
    func csvErrors() throws {
        #expect(throws: TensorIOError.invalidCSV(line: 2, reason: "2 fields where earlier rows have 3")) {
            try CSV.parse(Array("1,2,3\n4,5\n".utf8), as: Double.self)
        }
        #expect(throws: TensorIOError.self) { try CSV.parse(Array("1,x\n".utf8), as: Double.self) }
        #expect(throws: TensorIOError.fileNotFound(path: "/nonexistent.csv")) {
            try CSV.read(contentsOf: "/nonexistent.csv", as: Double.self)
        }

        let compressed = try FileAccessHelper.bytes(exampleData.appendingPathComponent("digits.csv.gz").path)
        #expect(throws: TensorIOError.self) { try Gzip.decompress(Array(compressed.prefix(compressed.count / 2))) }
        var damaged = compressed
        for index in stride(from: 20, to: 400, by: 7) { damaged[index] ^= 0x5A }
        #expect(throws: TensorIOError.self) { try Gzip.decompress(damaged) }
        #expect(throws: TensorIOError.tooLarge(what: "decompressed gzip data", limit: 1000)) {
            try Gzip.decompress(compressed, limit: 1000)
        }
    }
}

enum FileAccessHelper {
    static func bytes(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else { throw TensorIOError.fileNotFound(path: path) }
        return [UInt8](data)
    }
}
