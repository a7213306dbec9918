import Foundation

// SVG plots of an experiment: every trial's metric over its steps, and the best configurations
// in parallel coordinates. Plain SVG 1.1, readable in any browser.
extension TuneResults {
    /// Every trial's metric over its steps: completed trials in colour, the ones stopped early in
    /// grey, the best trial thick.
    public func curvesSVG(title: String? = nil) -> String {
        let (width, height, left, right, top, bottom) = (720.0, 420.0, 64.0, 16.0, 36.0, 44.0)
        let series = trials.map { record in record.reports.compactMap { report in report.metrics[metric].map { (Double(report.step), $0) } }
        }
        let points = series.flatMap { $0 }.filter { $0.1.isFinite }
        var svg = SVG(width: width, height: height, title: title ?? "\(metric) per step")
        guard let maxStep = points.map(\.0).max(), let low = points.map(\.1).min(), let high = points.map(\.1).max() else {
            return svg.finished()
        }
        let x = Axis(low: 1, high: max(maxStep, 2), from: left, to: width - right)
        let y = Axis(low: low, high: high == low ? low + 1 : high, from: height - bottom, to: top)
        svg.axes(x: x, y: y, xLabel: "step", yLabel: metric, left: left, bottom: height - bottom, top: top, right: width - right)
        let bestTrial = best?.trial
        for (record, points) in zip(trials, series) where !points.isEmpty && record.trial != bestTrial {
            let colour = record.status == .pruned ? "#b0b0b0" : SVG.palette[record.trial % SVG.palette.count]
            svg.polyline(points.map { (x.position($0.0), y.position($0.1)) }, colour: colour, width: 1.2, tooltip: "trial \(record.trial)")
        }
        if let bestTrial, !series[bestTrial].isEmpty {
            svg.polyline(
                series[bestTrial].map { (x.position($0.0), y.position($0.1)) }, colour: "#d62728", width: 3,
                tooltip: "best: trial \(bestTrial) (\(trials[bestTrial].configuration))")
        }
        return svg.finished()
    }

    /// Writes ``curvesSVG(title:)`` to `path`.
    public func writeCurves(to path: String, title: String? = nil) throws {
        try Data(curvesSVG(title: title).utf8).write(to: URL(fileURLWithPath: path))
    }

    /// The `count` best trials (by their last value) in parallel coordinates: one vertical axis per
    /// parameter and one for the metric, one line per trial, darker for better. Numbers spanning
    /// more than two decades are drawn on a log scale, choices evenly spaced.
    public func parallelCoordinatesSVG(count: Int = 10, title: String? = nil) -> String {
        let ranked = trials.compactMap { record in record.last(metric).flatMap { $0.isFinite ? (record, $0) : nil } }
            .sorted { objective.reward($0.1) > objective.reward($1.1) }.prefix(count)
        let names = Array(Set(ranked.flatMap { $0.0.configuration.values.keys })).sorted()
        let columns = names.count + 1
        let (width, height, left, right, top, bottom) = (max(480.0, Double(columns) * 130), 420.0, 70.0, 70.0, 40.0, 50.0)
        var svg = SVG(width: width, height: height, title: title ?? "the \(ranked.count) best trials by \(metric)")
        guard !ranked.isEmpty else { return svg.finished() }
        let spacing = columns > 1 ? (width - left - right) / Double(columns - 1) : 0
        var scales: [(String, ParameterValue?) -> Double?] = []
        for (column, name) in names.enumerated() {
            let values = ranked.compactMap { $0.0.configuration.values[name] }
            scales.append(
                svg.parallelAxis(name: name, values: values, at: left + Double(column) * spacing, top: top, bottom: height - bottom))
        }
        let metricValues = ranked.map { ParameterValue.float($0.1) }
        let metricScale = svg.parallelAxis(
            name: metric, values: metricValues, at: left + Double(names.count) * spacing, top: top, bottom: height - bottom)
        for (rank, (record, value)) in ranked.enumerated().reversed() {
            var points: [(Double, Double)] = []
            for (column, name) in names.enumerated() {
                if let position = scales[column](name, record.configuration.values[name]) {
                    points.append((left + Double(column) * spacing, position))
                }
            }
            if let position = metricScale(metric, .float(value)) { points.append((left + Double(names.count) * spacing, position)) }
            let shade = ranked.count > 1 ? Double(rank) / Double(ranked.count - 1) : 0
            svg.polyline(
                points, colour: SVG.blend(shade), width: rank == 0 ? 3 : 1.6,
                tooltip: "trial \(record.trial): \(metric) \(ResultsTable.format(value)) (\(record.configuration))")
        }
        return svg.finished()
    }

    /// Writes ``parallelCoordinatesSVG(count:title:)`` to `path`.
    public func writeParallelCoordinates(to path: String, count: Int = 10, title: String? = nil) throws {
        try Data(parallelCoordinatesSVG(count: count, title: title).utf8).write(to: URL(fileURLWithPath: path))
    }
}

/// A linear or logarithmic map from values to pixels.
private struct Axis {
    let low: Double
    let high: Double
    let from: Double
    let to: Double
    var logarithmic = false

    func position(_ value: Double) -> Double {
        let (a, b, v) = logarithmic ? (Foundation.log10(low), Foundation.log10(high), Foundation.log10(value)) : (low, high, value)
        return b == a ? (from + to) / 2 : from + (v - a) / (b - a) * (to - from)
    }

    /// About five round values across the axis.
    var ticks: [Double] {
        if logarithmic {
            return
                (Int(
                    Foundation.log10(low).rounded(.up))...max(
                    Int(Foundation.log10(low).rounded(.up)), Int(Foundation.log10(high).rounded(.down))))
                .map { Foundation.pow(10, Double($0)) }.filter { $0 >= low && $0 <= high }
        }
        let raw = (high - low) / 5
        let magnitude = Foundation.pow(10, (Foundation.log10(raw)).rounded(.down))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
        var ticks: [Double] = []
        var tick = (low / step).rounded(.up) * step
        while tick <= high + step * 1e-9 {
            ticks.append(tick)
            tick += step
        }
        return ticks
    }
}

/// An SVG document built element by element.
private struct SVG {
    static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"]
    private var body: [String] = []
    private let width: Double
    private let height: Double

    init(width: Double, height: Double, title: String) {
        self.width = width
        self.height = height
        body.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>")
        text(title, x: width / 2, y: 22, anchor: "middle", size: 15)
    }

    /// Dark blue for the best (0) to light blue for the last (1).
    static func blend(_ shade: Double) -> String {
        let (dark, light) = ((8.0, 48.0, 107.0), (158.0, 202.0, 225.0))
        let mix = { (a: Double, b: Double) in Int((a + (b - a) * shade).rounded()) }
        return String(format: "#%02x%02x%02x", mix(dark.0, light.0), mix(dark.1, light.1), mix(dark.2, light.2))
    }

    mutating func text(_ text: String, x: Double, y: Double, anchor: String = "start", size: Double = 11, rotate: Bool = false) {
        let transform = rotate ? " transform=\"rotate(-90 \(Self.number(x)) \(Self.number(y)))\"" : ""
        body.append(
            "<text x=\"\(Self.number(x))\" y=\"\(Self.number(y))\" font-family=\"sans-serif\" font-size=\"\(Self.number(size))\" text-anchor=\"\(anchor)\"\(transform)>\(Self.escaped(text))</text>"
        )
    }

    mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, colour: String = "#444", width: Double = 1) {
        body.append(
            "<line x1=\"\(Self.number(x1))\" y1=\"\(Self.number(y1))\" x2=\"\(Self.number(x2))\" y2=\"\(Self.number(y2))\" stroke=\"\(colour)\" stroke-width=\"\(Self.number(width))\"/>"
        )
    }

    mutating func polyline(_ points: [(Double, Double)], colour: String, width: Double, tooltip: String) {
        let coordinates = points.map { "\(Self.number($0.0)),\(Self.number($0.1))" }.joined(separator: " ")
        body.append(
            "<polyline points=\"\(coordinates)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"\(Self.number(width))\" stroke-opacity=\"0.85\"><title>\(Self.escaped(tooltip))</title></polyline>"
        )
    }

    mutating func axes(x: Axis, y: Axis, xLabel: String, yLabel: String, left: Double, bottom: Double, top: Double, right: Double) {
        line(left, bottom, right, bottom)
        line(left, bottom, left, top)
        for tick in x.ticks where tick == tick.rounded() {
            line(x.position(tick), bottom, x.position(tick), bottom + 4)
            text(ResultsTable.format(tick), x: x.position(tick), y: bottom + 16, anchor: "middle")
        }
        for tick in y.ticks {
            line(left - 4, y.position(tick), left, y.position(tick))
            text(ResultsTable.format(tick), x: left - 6, y: y.position(tick) + 4, anchor: "end")
        }
        text(xLabel, x: (left + right) / 2, y: bottom + 34, anchor: "middle", size: 12)
        text(yLabel, x: 16, y: (top + bottom) / 2, anchor: "middle", size: 12, rotate: true)
    }

    /// Draws a vertical axis for `values` at `x` and returns the map from a value to its height.
    mutating func parallelAxis(name: String, values: [ParameterValue], at x: Double, top: Double, bottom: Double)
        -> (String, ParameterValue?) -> Double?
    {
        line(x, top, x, bottom)
        text(name, x: x, y: bottom + 20, anchor: "middle", size: 12)
        let numbers = values.compactMap(\.number)
        if numbers.count == values.count, let low = numbers.min(), let high = numbers.max() {
            let logarithmic = low > 0 && high / low > 100
            let axis = Axis(low: low, high: high == low ? low * 1.001 + 1e-12 : high, from: bottom, to: top, logarithmic: logarithmic)
            text(ResultsTable.format(low), x: x + 5, y: bottom - 2, size: 10)
            text(ResultsTable.format(high), x: x + 5, y: top + 10, size: 10)
            return { _, value in value?.number.map(axis.position) }
        }
        let categories = Array(Set(values.map(\.description))).sorted()
        for (index, category) in categories.enumerated() {
            let y = categories.count > 1 ? bottom + (top - bottom) * Double(index) / Double(categories.count - 1) : (top + bottom) / 2
            text(category, x: x + 5, y: y + 4, size: 10)
        }
        return { _, value in
            guard let value, let index = categories.firstIndex(of: value.description) else { return nil }
            return categories.count > 1 ? bottom + (top - bottom) * Double(index) / Double(categories.count - 1) : (top + bottom) / 2
        }
    }

    func finished() -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Self.number(width))\" height=\"\(Self.number(height))\" viewBox=\"0 0 \(Self.number(width)) \(Self.number(height))\">\n"
            + body.joined(separator: "\n") + "\n</svg>\n"
    }

    static func number(_ value: Double) -> String { String(format: "%.1f", value) }

    static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(
            of: ">", with: "&gt;"
        )
        .replacingOccurrences(of: "\"", with: "&quot;")
    }
}
