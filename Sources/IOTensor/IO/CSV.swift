/// Loads numeric CSV files — optionally gzip-compressed — into two-dimensional tensors.
///
/// ```swift
/// // 569 rows: 30 features and a label; the first line is a header.
/// let table: Tensor<Double> = try CSV.read(contentsOf: "breast_cancer.csv", headerLines: 1)
/// let features = try table.slice(alongAxis: 1, 0..<30)
/// ```
public enum CSV {
    /// The file at `path` as a `[rows, columns]` tensor. A file that starts with the gzip magic
    /// number is decompressed first, whatever its name.
    ///
    /// - Parameters:
    ///   - path: the file to read.
    ///   - type: the element type of the result.
    ///   - headerLines: leading lines to skip.
    ///   - delimiter: the field separator.
    /// - Throws: ``TensorIOError/fileNotFound(path:)`` for a missing file,
    ///   ``TensorIOError/invalidCSV(line:reason:)`` for a field that is not a number or a row with
    ///   another field count than the first.
    public static func read<Scalar: FloatingScalar>(
        contentsOf path: String, as type: Scalar.Type = Double.self, headerLines: Int = 0, delimiter: Character = ","
    ) throws(TensorIOError) -> Tensor<Scalar> {
        var bytes = try FileAccess.read(path)
        if Gzip.isCompressed(bytes) { bytes = try Gzip.decompress(bytes) }
        return try parse(bytes, as: type, headerLines: headerLines, delimiter: delimiter)
    }

    /// Parses CSV text (as UTF-8 bytes) into a `[rows, columns]` tensor. Blank lines are skipped;
    /// fields may be surrounded by spaces; line endings may be `\n` or `\r\n`.
    public static func parse<Scalar: FloatingScalar>(
        _ bytes: [UInt8], as type: Scalar.Type = Double.self, headerLines: Int = 0, delimiter: Character = ","
    ) throws(TensorIOError) -> Tensor<Scalar> {
        guard let separator = delimiter.asciiValue else {
            throw .invalidCSV(line: 0, reason: "the delimiter must be an ASCII character")
        }
        var values: [Scalar] = []
        var columns = -1
        var rows = 0
        var lineNumber = 0
        var start = 0
        while start < bytes.count {
            var end = start
            while end < bytes.count && bytes[end] != 0x0A { end += 1 }
            lineNumber += 1
            var lineEnd = end
            if lineEnd > start && bytes[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            defer { start = end + 1 }
            if lineNumber <= headerLines { continue }
            if bytes[start..<lineEnd].allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            var fields = 0
            var fieldStart = start
            while fieldStart <= lineEnd {
                var fieldEnd = fieldStart
                while fieldEnd < lineEnd && bytes[fieldEnd] != separator { fieldEnd += 1 }
                var low = fieldStart
                var high = fieldEnd
                while low < high && (bytes[low] == 0x20 || bytes[low] == 0x09) { low += 1 }
                while high > low && (bytes[high - 1] == 0x20 || bytes[high - 1] == 0x09) { high -= 1 }
                let text = String(decoding: bytes[low..<high], as: UTF8.self)
                guard let number = Double(text) else {
                    throw .invalidCSV(line: lineNumber, reason: "field \(fields + 1) (\"\(text)\") is not a number")
                }
                values.append(Scalar(number))
                fields += 1
                fieldStart = fieldEnd + 1
            }
            if columns < 0 {
                columns = fields
            } else if fields != columns {
                throw .invalidCSV(line: lineNumber, reason: "\(fields) fields where earlier rows have \(columns)")
            }
            rows += 1
        }
        do {
            return try Tensor(shape: [rows, Swift.max(columns, 0)], scalars: values)
        } catch {
            throw .invalidCSV(line: lineNumber, reason: error.description)
        }
    }
}
