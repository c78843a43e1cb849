/// Dates, times and intervals as the server prints them under DateStyle ISO and
/// IntervalStyle postgres, read into the binary forms: days and microseconds since
/// 2000-01-01, microseconds since midnight, and (microseconds, days, months).
enum DateTimeText {
    static let postgresEpochJulian: Int64 = 2_451_545   // date2j(2000, 1, 1)
    static let microsPerDay: Int64 = 86_400_000_000

    /// The server's date2j: the Julian day of a proleptic Gregorian date.
    static func julian(_ year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        var y = year, m = month
        if m > 2 { m += 1; y += 4800 } else { m += 13; y += 4799 }
        let century = y / 100
        var j = y * 365 - 32167
        j += y / 4 - century + century / 4
        j += 7834 * m / 256 + day
        return j
    }

    /// `YYYY-MM-DD[ BC]` (a year of four or more digits), `infinity`, `-infinity`:
    /// days since 2000-01-01.
    static func date(_ t: inout TextReader) -> Int32? {
        if t.eat("infinity") { return .max }
        if t.eat("-infinity") { return .min }
        guard let c = calendar(&t) else { return nil }
        return Int32(exactly: days(c, bc: t.eat(" BC")))
    }

    static func calendar(_ t: inout TextReader) -> (year: Int64, month: Int64, day: Int64)? {
        guard let (y, yn) = t.digits(), yn >= 4, t.eat(UInt8(ascii: "-")),
              let (m, mn) = t.digits(), mn == 2, t.eat(UInt8(ascii: "-")),
              let (d, dn) = t.digits(), dn == 2, (1...12).contains(m), (1...31).contains(d) else { return nil }
        return (y, m, d)
    }

    /// Days since 2000-01-01; year y BC is the proleptic year 1 - y.
    static func days(_ c: (year: Int64, month: Int64, day: Int64), bc: Bool) -> Int64 {
        julian(bc ? 1 - c.year : c.year, c.month, c.day) - postgresEpochJulian
    }

    /// `HH:MM:SS[.ffffff]`, microseconds.
    static func time(_ t: inout TextReader) -> Int64? {
        guard let (h, hn) = t.digits(), hn >= 2, t.eat(UInt8(ascii: ":")),
              let (m, mn) = t.digits(), mn == 2, t.eat(UInt8(ascii: ":")),
              let (s, sn) = t.digits(), sn == 2 else { return nil }
        var micros = ((h * 60 + m) * 60 + s) * 1_000_000
        if t.eat(UInt8(ascii: ".")) {
            guard let (f, fn) = t.digits(), fn <= 6 else { return nil }
            var scaled = f
            for _ in fn..<6 { scaled *= 10 }
            micros += scaled
        }
        return micros
    }

    /// `+HH[:MM[:SS]]` or `-…`: seconds east of UTC.
    static func offset(_ t: inout TextReader) -> Int64? {
        let sign: Int64
        if t.eat(UInt8(ascii: "+")) { sign = 1 } else if t.eat(UInt8(ascii: "-")) { sign = -1 } else { return nil }
        guard let (h, hn) = t.digits(), hn == 2 else { return nil }
        var seconds = h * 3600
        if t.eat(UInt8(ascii: ":")) {
            guard let (m, mn) = t.digits(), mn == 2 else { return nil }
            seconds += m * 60
            if t.eat(UInt8(ascii: ":")) {
                guard let (s, sn) = t.digits(), sn == 2 else { return nil }
                seconds += s
            }
        }
        return sign * seconds
    }

    /// `YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM[:SS]]][ BC]`, microseconds since
    /// 2000-01-01 (UTC for timestamptz).
    static func timestamp(_ t: inout TextReader, zoned: Bool) -> Int64? {
        if t.eat("infinity") { return t.atEnd ? .max : nil }
        if t.eat("-infinity") { return t.atEnd ? .min : nil }
        guard let c = calendar(&t), t.eat(UInt8(ascii: " ")), let time = time(&t) else { return nil }
        var seconds: Int64 = 0
        if zoned {
            guard let o = offset(&t) else { return nil }
            seconds = o
        }
        let days = days(c, bc: t.eat(" BC"))
        guard t.atEnd else { return nil }
        let (a, o1) = days.multipliedReportingOverflow(by: microsPerDay)
        let (b, o2) = a.addingReportingOverflow(time - seconds * 1_000_000)
        return o1 || o2 ? nil : b
    }

    /// IntervalStyle postgres: `1 year 2 mons -3 days +04:05:06.5`, `00:00:00`.
    static func interval(_ t: inout TextReader) -> (Int64, Int32, Int32)? {
        var months: Int64 = 0, days: Int64 = 0, micros: Int64 = 0
        repeat {
            let negative = t.eat(UInt8(ascii: "-"))
            if !negative { _ = t.eat(UInt8(ascii: "+")) }
            let start = t.i
            guard let (n, _) = t.digits() else { return nil }
            if t.peek == UInt8(ascii: ":") {
                t.i = start
                guard let m = time(&t) else { return nil }
                micros = negative ? -m : m
            } else {
                let v = negative ? -n : n
                guard t.eat(UInt8(ascii: " ")) else { return nil }
                if t.eat("years") || t.eat("year") { months += v * 12 }
                else if t.eat("mons") || t.eat("mon") { months += v }
                else if t.eat("days") || t.eat("day") { days += v }
                else { return nil }
            }
        } while t.eat(UInt8(ascii: " "))
        guard t.atEnd, let d = Int32(exactly: days), let m = Int32(exactly: months) else { return nil }
        return (micros, d, m)
    }
}
