/// Conversions between Unix milliseconds and the contract's ISO-8601 UTC form with
/// milliseconds (`2026-11-26T10:32:49.123Z`), without Foundation.
public enum Timestamp {
    /// Appends `ms` as `YYYY-MM-DDTHH:MM:SS.sssZ` (proleptic Gregorian, UTC).
    /// Years outside 0...9999 are clamped to that range's ends.
    public static func appendISO8601(ms: Int64, to out: inout [UInt8]) {
        let clamped = min(max(ms, minMs), maxMs)
        let days = floorDiv(clamped, 86_400_000)
        let msOfDay = clamped - days * 86_400_000
        let (year, month, day) = civil(fromDays: days)
        func put(_ value: Int64, width: Int) {
            var divisor: Int64 = 1
            for _ in 1..<width { divisor *= 10 }
            var v = value
            while divisor > 0 {
                out.append(UInt8(ascii: "0") + UInt8(v / divisor))
                v %= divisor
                divisor /= 10
            }
        }
        put(year, width: 4); out.append(UInt8(ascii: "-"))
        put(month, width: 2); out.append(UInt8(ascii: "-"))
        put(day, width: 2); out.append(UInt8(ascii: "T"))
        put(msOfDay / 3_600_000, width: 2); out.append(UInt8(ascii: ":"))
        put(msOfDay / 60_000 % 60, width: 2); out.append(UInt8(ascii: ":"))
        put(msOfDay / 1000 % 60, width: 2); out.append(UInt8(ascii: "."))
        put(msOfDay % 1000, width: 3); out.append(UInt8(ascii: "Z"))
    }

    /// `ms` as an ISO-8601 string.
    public static func iso8601(ms: Int64) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(24)
        appendISO8601(ms: ms, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Parses exactly the form `appendISO8601` writes; `nil` for anything else.
    public static func parseISO8601(_ text: String) -> Int64? {
        let b = Array(text.utf8)
        guard b.count == 24, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"), b[10] == UInt8(ascii: "T"),
              b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"), b[19] == UInt8(ascii: "."),
              b[23] == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int64? {
            var v: Int64 = 0
            for i in range {
                guard (0x30...0x39).contains(b[i]) else { return nil }
                v = v * 10 + Int64(b[i] - 0x30)
            }
            return v
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
              let millis = number(20..<23),
              (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day),
              hour < 24, minute < 60, second < 60 else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        return ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millis
    }

    private static let minMs: Int64 = -62_167_219_200_000      // 0000-01-01T00:00:00.000Z
    private static let maxMs: Int64 = 253_402_300_799_999      // 9999-12-31T23:59:59.999Z

    private static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    private static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    // Howard Hinnant's days-from-civil algorithms: exact for the proleptic Gregorian calendar.
    private static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = floorDiv(z, 146_097)
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private static func daysFromCivil(year y0: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? y0 - 1 : y0
        let era = floorDiv(y, 400)
        let yoe = y - era * 400
        let mp = month > 2 ? month - 3 : month + 9
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
