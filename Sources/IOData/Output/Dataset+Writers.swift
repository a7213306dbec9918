import Foundation
import IOTensor

#if canImport(Glibc)
    import Glibc
#endif

extension Dataset {
    /// Runs the dataset and writes each row as one CSV line of the fields `fields` gives (quoted
    /// where they hold a comma, a quote or a line break), after a `header` line when one is given.
    ///
    /// The file appears whole or not at all: rows go to `path.partial`, renamed to `path` once the
    /// last is written; a failed run removes it.
    @discardableResult
    public func writeCSV(
        to path: String, header: [String]? = nil, progress: DatasetProgress? = nil, fields: @escaping @Sendable (Element) -> [String]
    ) async throws -> DatasetStatistics {
        try await writeLines(to: path, first: header.map(Self.csvLine), progress: progress) { Self.csvLine(fields($0)) }
    }

    /// Runs the dataset and writes `line(row)` for each row, one per line, to `path` (whole or
    /// not at all, as ``writeCSV(to:header:progress:fields:)``).
    func writeLines(
        to path: String, first: String?, progress: DatasetProgress?, line: @escaping @Sendable (Element) throws -> String
    ) async throws -> DatasetStatistics {
        let output = try OutputFile(path: path)
        do {
            if let first { try output.write(first + "\n") }
            let statistics = try await forEachBlock(progress: progress) { block in
                var text = ""
                for row in block { text += try line(row) + "\n" }
                try output.write(text)
            }
            try output.commit()
            return statistics
        } catch {
            output.abandon()
            throw error
        }
    }

    static func csvLine(_ fields: [String]) -> String {
        fields.map { field in
            guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
            return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }.joined(separator: ",")
    }
}

extension Dataset where Element: Encodable {
    /// Runs the dataset and writes each row as one line of JSON (whole or not at all, as
    /// ``writeCSV(to:header:progress:fields:)``).
    @discardableResult
    public func writeJSONLines(to path: String, progress: DatasetProgress? = nil) async throws -> DatasetStatistics {
        try await writeLines(to: path, first: nil, progress: progress) { row in
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return String(decoding: try encoder.encode(row), as: UTF8.self)
        }
    }
}

extension Dataset where Element == [Float] {
    /// Runs the dataset and writes its rows as safetensors shards of at most `rowsPerShard` rows
    /// each — `part-00000.safetensors`, `part-00001.safetensors`, … in `directory` — each holding
    /// one `[rows, columns]` tensor named `tensor`; ``Dataset/safetensors(files:tensor:blockSize:)``
    /// reads them back. Every row must have as many values as the first.
    ///
    /// Each shard appears whole or not at all.
    @discardableResult
    public func writeSafetensors(
        toDirectory directory: String, tensor name: String = "rows", rowsPerShard: Int = 65_536, progress: DatasetProgress? = nil
    ) async throws -> DatasetStatistics {
        guard rowsPerShard >= 1 else { throw DataError.invalidArgument("rowsPerShard must be at least 1, not \(rowsPerShard)") }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw DataError.file(path: directory, reason: "cannot create the directory: \(error.localizedDescription)")
        }
        let writer = ShardWriter(directory: directory, name: name)
        return try await repartition(blockSize: rowsPerShard).forEachBlock(progress: progress) { block in
            try writer.write(block)
        }
    }
}

/// Writes numbered safetensors shards.
final class ShardWriter: @unchecked Sendable {
    // Used by one run's consumer, one block at a time.
    private let directory: String
    private let name: String
    private var width: Int?
    private var index = 0

    init(directory: String, name: String) {
        self.directory = directory
        self.name = name
    }

    func write(_ rows: [[Float]]) throws {
        let width = self.width ?? rows.first?.count ?? 0
        self.width = width
        var scalars: [Float] = []
        scalars.reserveCapacity(rows.count * width)
        for (offset, row) in rows.enumerated() {
            guard row.count == width else {
                throw DataError.shapeMismatch("row \(index) · \(offset) of shard \(index) has \(row.count) values, the first had \(width)")
            }
            scalars.append(contentsOf: row)
        }
        let path = (directory as NSString).appendingPathComponent(String(format: "part-%05d.safetensors", index))
        do {
            let tensor = try Tensor<Float>(shape: [rows.count, width], scalars: scalars)
            try Safetensors.write([name: tensor], to: path + ".partial")
        } catch {
            throw DataError.file(path: path, reason: "\(error)")
        }
        guard rename(path + ".partial", path) == 0 else {
            throw DataError.file(path: path, reason: String(cString: strerror(errno)))
        }
        index += 1
    }
}

/// A file written under a temporary name and renamed into place at the end.
final class OutputFile: @unchecked Sendable {
    // Used by one run's consumer, one block at a time.
    let path: String
    private let handle: UnsafeMutablePointer<FILE>

    init(path: String) throws(DataError) {
        self.path = path
        guard let handle = fopen(path + ".partial", "w") else {
            throw .file(path: path, reason: String(cString: strerror(errno)))
        }
        self.handle = handle
    }

    func write(_ text: String) throws(DataError) {
        var text = text
        let written = text.withUTF8 { fwrite($0.baseAddress, 1, $0.count, handle) }
        guard written == text.utf8.count else { throw .file(path: path, reason: String(cString: strerror(errno))) }
    }

    func commit() throws(DataError) {
        guard fclose(handle) == 0 else {
            unlink(path + ".partial")
            throw .file(path: path, reason: String(cString: strerror(errno)))
        }
        guard rename(path + ".partial", path) == 0 else { throw .file(path: path, reason: String(cString: strerror(errno))) }
    }

    func abandon() {
        fclose(handle)
        unlink(path + ".partial")
    }
}
