import Glibc

/// One JSON object on one line, keys in the order added (no Foundation needed).
struct JSONLine {
    private var parts: [String] = []

    mutating func add(_ key: String, _ value: Int) { parts.append("\(quote(key)):\(value)") }
    mutating func add(_ key: String, _ value: Double) {
        parts.append("\(quote(key)):" + (value.isFinite ? String(format3(value)) : "null"))
    }
    mutating func add(_ key: String, _ value: String) { parts.append("\(quote(key)):\(quote(value))") }
    mutating func add(_ key: String, _ value: Bool) { parts.append("\(quote(key)):\(value)") }
    mutating func add(_ key: String, _ value: Int?) { parts.append("\(quote(key)):" + (value.map(String.init) ?? "null")) }
    mutating func add(_ key: String, _ value: Double?) {
        if let value { add(key, value) } else { parts.append("\(quote(key)):null") }
    }
    mutating func add(_ key: String, _ value: String?) {
        if let value { add(key, value) } else { parts.append("\(quote(key)):null") }
    }
    mutating func addRaw(_ key: String, _ json: String) { parts.append("\(quote(key)):\(json)") }

    var text: String { "{" + parts.joined(separator: ",") + "}" }

    private func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 { out += "\\u00" + (u.value < 0x10 ? "0" : "") + String(u.value, radix: 16) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }
}

/// A number with at most three decimals, no exponent.
func format3(_ v: Double) -> String {
    let scaled = (v * 1000).rounded()
    guard abs(scaled) < 9e15 else { return String(v) }
    let i = Int(scaled)
    let sign = i < 0 ? "-" : ""
    let a = abs(i)
    let frac = a % 1000
    if frac == 0 { return "\(sign)\(a / 1000)" }
    var f = String(frac)
    while f.count < 3 { f = "0" + f }
    while f.hasSuffix("0") { f.removeLast() }
    return "\(sign)\(a / 1000).\(f)"
}

/// Writes a line to stdout (machine-readable) and flushes, so a script can watch for it.
func emit(_ line: JSONLine) {
    print(line.text)
    fflush(nil)
}

/// Writes a line of the human summary to stderr.
func say(_ text: String) {
    let bytes = Array((text + "\n").utf8)
    bytes.withUnsafeBytes { _ = write(2, $0.baseAddress, $0.count) }
}

/// Sorted-sample percentiles, in milliseconds.
struct LatencySummary {
    let count: Int
    let p50: Double, p90: Double, p99: Double, p999: Double, max: Double, mean: Double

    init?(_ samplesNs: inout [Int64]) {
        guard !samplesNs.isEmpty else { return nil }
        samplesNs.sort()
        func at(_ q: Double) -> Double { Double(samplesNs[Int(q * Double(samplesNs.count - 1))]) / 1e6 }
        count = samplesNs.count
        p50 = at(0.5); p90 = at(0.9); p99 = at(0.99); p999 = at(0.999)
        max = Double(samplesNs[samplesNs.count - 1]) / 1e6
        var sum = 0.0
        for s in samplesNs { sum += Double(s) }
        mean = sum / Double(samplesNs.count) / 1e6
    }
}
