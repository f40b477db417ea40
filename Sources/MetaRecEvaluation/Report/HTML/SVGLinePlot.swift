import Foundation

/// A line plot as inline SVG: axes with rounded ticks, one polyline per series with a marker per
/// point, error bars for a spread, and a legend. Written here because the report must be one
/// file with no scripts or fonts fetched from anywhere; every element carries its data
/// (`data-series`, `data-x`, `data-y`) so a reader or a test can check what is drawn.
public struct SVGLinePlot: Sendable {
    public struct Point: Sendable, Equatable {
        public var x: Double
        public var y: Double
        /// Half the height of the error bar (one standard deviation), if any.
        public var spread: Double?
        public init(x: Double, y: Double, spread: Double? = nil) {
            self.x = x
            self.y = y
            self.spread = spread
        }
    }

    public struct Series: Sendable {
        public var name: String
        public var points: [Point]
        /// Drawn dashed: reference lines such as the baselines.
        public var dashed: Bool
        public init(name: String, points: [Point], dashed: Bool = false) {
            self.name = name
            self.points = points
            self.dashed = dashed
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]
    /// Labels for x = 0, 1, 2, … when the x axis is a set of categories (support sizes, rounds).
    public var categories: [String]?
    public var width = 680.0
    public var height = 340.0

    public init(title: String, xLabel: String, yLabel: String, series: [Series], categories: [String]? = nil) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.categories = categories
    }

    /// Okabe and Ito's palette, distinguishable with the common colour-vision deficiencies.
    static let colours = [
        "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#8C6D31", "#7F7F7F",
    ]
    static let markers = ["circle", "square", "diamond", "triangle"]

    /// Rounded tick values covering `low...high`, about `count` of them (steps of 1, 2 or 5 × 10ⁿ).
    static func ticks(_ low: Double, _ high: Double, count: Int = 5) -> [Double] {
        guard high > low, low.isFinite, high.isFinite else { return [low] }
        let raw = (high - low) / Double(max(count, 1))
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        // Integer multiples of the step, so ticks do not accumulate rounding errors.
        let first = Int((low / step - 1e-9).rounded(.up))
        let last = Int((high / step + 1e-9).rounded(.down))
        guard first <= last else { return [low] }
        let values = (first...last).map { Double($0) * step }
        return values
    }

    static func label(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e6 { return String(Int(value)) }
        let text = String(format: "%.4g", value)
        return text
    }

    public func svg() -> String {
        let drawn = series.filter { !$0.points.isEmpty }
        let left = 64.0
        let right = 16.0
        let top = 36.0
        // Two legend columns unless a long name would run into the next column.
        let columns = (drawn.map(\.name.count).max() ?? 0) > 40 ? 1 : 2
        let legendHeight = 18.0 * Double((max(1, drawn.count) + columns - 1) / columns)
        // `height` is the plot without its legend; the legend adds rows below.
        let plotWidth = width - left - right
        let plotHeight = height - top - 52
        let totalHeight = height + legendHeight
        let points = drawn.flatMap(\.points)
        var lowY = points.map { $0.y - ($0.spread ?? 0) }.min() ?? 0
        var highY = points.map { $0.y + ($0.spread ?? 0) }.max() ?? 1
        if highY - lowY < 1e-9 {
            lowY -= 0.5
            highY += 0.5
        }
        let padding = (highY - lowY) * 0.05
        lowY -= padding
        highY += padding
        let lowX: Double
        let highX: Double
        if let categories {
            lowX = -0.25
            highX = Double(max(categories.count - 1, 0)) + 0.25
        } else {
            lowX = points.map(\.x).min() ?? 0
            let maximum = points.map(\.x).max() ?? 1
            highX = maximum > lowX ? maximum : lowX + 1
        }
        func px(_ x: Double) -> Double { left + (x - lowX) / (highX - lowX) * plotWidth }
        func py(_ y: Double) -> Double { top + (highY - y) / (highY - lowY) * plotHeight }
        func f(_ value: Double) -> String { String(format: "%.1f", value) }

        var svg: [String] = []
        svg.append(
            "<svg class=\"plot\" viewBox=\"0 0 \(f(width)) \(f(totalHeight))\" role=\"img\" aria-label=\"\(HTML.escape(title))\" data-series-count=\"\(drawn.count)\">"
        )
        svg.append("<title>\(HTML.escape(title))</title>")
        svg.append("<text class=\"plot-title\" x=\"\(f(left))\" y=\"22\">\(HTML.escape(title))</text>")
        // Grid and ticks.
        for tick in Self.ticks(lowY, highY) {
            let y = py(tick)
            svg.append(
                "<line class=\"grid\" x1=\"\(f(left))\" x2=\"\(f(left + plotWidth))\" y1=\"\(f(y))\" y2=\"\(f(y))\"/>")
            svg.append(
                "<text class=\"tick y-tick\" x=\"\(f(left - 6))\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(Self.label(tick))</text>"
            )
        }
        let xTicks: [(Double, String)] =
            categories.map { $0.enumerated().map { (Double($0.offset), $0.element) } }
            ?? Self.ticks(lowX, highX).map { ($0, Self.label($0)) }
        for (value, text) in xTicks {
            let x = px(value)
            svg.append(
                "<line class=\"tick-mark\" x1=\"\(f(x))\" x2=\"\(f(x))\" y1=\"\(f(top + plotHeight))\" y2=\"\(f(top + plotHeight + 5))\"/>"
            )
            svg.append(
                "<text class=\"tick x-tick\" x=\"\(f(x))\" y=\"\(f(top + plotHeight + 18))\" text-anchor=\"middle\">\(HTML.escape(text))</text>"
            )
        }
        svg.append(
            "<rect class=\"frame\" x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotWidth))\" height=\"\(f(plotHeight))\"/>"
        )
        svg.append(
            "<text class=\"axis-label\" x=\"\(f(left + plotWidth / 2))\" y=\"\(f(top + plotHeight + 36))\" text-anchor=\"middle\">\(HTML.escape(xLabel))</text>"
        )
        svg.append(
            "<text class=\"axis-label\" transform=\"translate(14 \(f(top + plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\">\(HTML.escape(yLabel))</text>"
        )
        // Series.
        for (index, series) in drawn.enumerated() {
            let colour = Self.colours[index % Self.colours.count]
            let marker = Self.markers[index % Self.markers.count]
            let name = HTML.escape(series.name)
            let coordinates = series.points.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
            svg.append("<g class=\"series\" data-series=\"\(name)\" data-points=\"\(series.points.count)\">")
            svg.append(
                "<polyline class=\"line\" points=\"\(coordinates)\" stroke=\"\(colour)\"\(series.dashed ? " stroke-dasharray=\"6 4\"" : "")/>"
            )
            for point in series.points {
                let x = px(point.x)
                let y = py(point.y)
                if let spread = point.spread, spread > 0 {
                    let high = py(point.y + spread)
                    let low = py(point.y - spread)
                    svg.append(
                        "<path class=\"error-bar\" d=\"M\(f(x)) \(f(high))V\(f(low))M\(f(x - 4)) \(f(high))h8M\(f(x - 4)) \(f(low))h8\" stroke=\"\(colour)\"/>"
                    )
                }
                let tip =
                    "<title>\(name): \(Self.label(point.x)) → \(String(format: "%.4f", point.y))\(point.spread.map { String(format: " ± %.4f", $0) } ?? "")</title>"
                svg.append(
                    Self.marker(
                        marker, x: x, y: y, colour: colour, data: "data-x=\"\(point.x)\" data-y=\"\(point.y)\"",
                        tip: tip))
            }
            svg.append("</g>")
        }
        // Legend under the axis label.
        let columnWidth = plotWidth / Double(columns)
        for (index, series) in drawn.enumerated() {
            let colour = Self.colours[index % Self.colours.count]
            let x = left + Double(index % columns) * columnWidth
            let y = top + plotHeight + 52 + 18 * Double(index / columns)
            svg.append("<g class=\"legend-entry\">")
            svg.append(
                "<line x1=\"\(f(x))\" x2=\"\(f(x + 24))\" y1=\"\(f(y - 4))\" y2=\"\(f(y - 4))\" stroke=\"\(colour)\" stroke-width=\"2\"\(series.dashed ? " stroke-dasharray=\"6 4\"" : "")/>"
            )
            svg.append(
                Self.marker(
                    Self.markers[index % Self.markers.count], x: x + 12, y: y - 4, colour: colour, data: "", tip: ""))
            svg.append("<text class=\"legend\" x=\"\(f(x + 30))\" y=\"\(f(y))\">\(HTML.escape(series.name))</text>")
            svg.append("</g>")
        }
        svg.append("</svg>")
        return svg.joined(separator: "\n")
    }

    static func marker(_ shape: String, x: Double, y: Double, colour: String, data: String, tip: String) -> String {
        func f(_ value: Double) -> String { String(format: "%.1f", value) }
        let attributes = "class=\"point\" fill=\"\(colour)\" \(data)"
        switch shape {
        case "square":
            return "<rect \(attributes) x=\"\(f(x - 3.5))\" y=\"\(f(y - 3.5))\" width=\"7\" height=\"7\">\(tip)</rect>"
        case "diamond":
            return
                "<path \(attributes) d=\"M\(f(x)) \(f(y - 5))L\(f(x + 5)) \(f(y))L\(f(x)) \(f(y + 5))L\(f(x - 5)) \(f(y))Z\">\(tip)</path>"
        case "triangle":
            return
                "<path \(attributes) d=\"M\(f(x)) \(f(y - 5))L\(f(x + 5)) \(f(y + 4))L\(f(x - 5)) \(f(y + 4))Z\">\(tip)</path>"
        default:
            return "<circle \(attributes) cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"4\">\(tip)</circle>"
        }
    }
}
