import Foundation

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let mp = (month + 9) % 12
    let doy = (153 * mp + 2) / 5 + day - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146_097 + doe - 719_468
}

/// The calendar year of a time in seconds since 1970 (UTC).
func yearOf(seconds: Int64) -> Int {
    let days = Int((seconds >= 0 ? seconds : seconds - 86_399) / 86_400)
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let month = mp < 10 ? mp + 3 : mp - 9
    return yoe + era * 400 + (month <= 2 ? 1 : 0)
}

func secondsOf(year: Int, month: Int = 1, day: Int = 1) -> Int64 {
    Int64(daysFromCivil(year: year, month: month, day: day)) * 86_400
}

private let monthNames = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

/// Parses a date: "01-Jan-1995" (MovieLens 100K), "1995-01-31", "1995-01-31T12:00:00[Z]",
/// "1995-01-31 12:00:00", "1995" (a year), integer seconds since 1970, or a textual form such as
/// "22 Nov 1995" or "Nov 22, 1995". Nil otherwise (including days that do not exist).
func parseDate(_ text: String) -> Int64? {
    let s = text.trimmingCharacters(in: .whitespaces)
    if s.isEmpty { return nil }
    let utf8 = Array(s.utf8)
    func number(_ a: Int, _ b: Int) -> Int? {
        guard a >= 0, b <= utf8.count, a < b else { return nil }
        var v = 0
        for i in a..<b {
            let d = Int(utf8[i]) - 48
            guard d >= 0 && d < 10 else { return nil }
            v = v * 10 + d
        }
        return v
    }
    if utf8.count == 4, let year = number(0, 4) { return secondsOf(year: year) }
    if utf8.allSatisfy({ ($0 >= 48 && $0 < 58) || $0 == 45 }), let v = Int64(s) { return v }
    // d-Mon-yyyy or dd-Mon-yyyy
    let parts = s.split(separator: "-", omittingEmptySubsequences: false)
    if parts.count == 3, let m = monthNames.firstIndex(of: parts[1].lowercased()) {
        guard parts[0].count <= 2, let day = Int(parts[0]), parts[2].count == 4, let year = Int(parts[2]),
            isValidDay(year: year, month: m + 1, day: day)
        else { return nil }
        return secondsOf(year: year, month: m + 1, day: day)
    }
    // yyyy-mm-dd[(T| )hh:mm[:ss]][Z]
    if utf8.count >= 10, utf8[4] == 45, utf8[7] == 45, let year = number(0, 4), let month = number(5, 7),
        let day = number(8, 10),
        isValidDay(year: year, month: month, day: day)
    {
        var seconds = secondsOf(year: year, month: month, day: day)
        if utf8.count >= 16, utf8[10] == 84 || utf8[10] == 32, let h = number(11, 13), utf8[13] == 58,
            let m = number(14, 16)
        {
            seconds += Int64(h * 3600 + m * 60)
            if utf8.count >= 19, utf8[16] == 58, let sec = number(17, 19) { seconds += Int64(sec) }
        } else if utf8.count != 10 {
            return nil
        }
        return seconds
    }
    return parseTextualDate(s)
}

private let fullMonthNames = [
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december",
]

/// The month (1-12) of an English month name or its three-letter form, nil otherwise.
func monthNumber(_ name: Substring) -> Int? {
    let lower = name.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "."))
    if let m = monthNames.firstIndex(of: lower) { return m + 1 }
    if let m = fullMonthNames.firstIndex(of: lower) { return m + 1 }
    if lower == "sept" { return 9 }
    return nil
}

/// Whether day `day` exists in `month` of `year` (31 February does not).
func isValidDay(year: Int, month: Int, day: Int) -> Bool {
    guard (1...12).contains(month), day >= 1 else { return false }
    let lengths = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    return day <= (month == 2 && leap ? 29 : lengths[month - 1])
}

/// Textual dates: "22 Nov 1995", "22 November 1995", "Nov 22, 1995", "November 22 1995".
func parseTextualDate(_ text: String) -> Int64? {
    let parts = text.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "/" }).filter { !$0.isEmpty }
    guard parts.count == 3 else { return nil }
    let (day, month): (Substring, Int)
    if let m = monthNumber(parts[1]) {
        (day, month) = (parts[0], m)
    } else if let m = monthNumber(parts[0]) {
        (day, month) = (parts[1], m)
    } else {
        return nil
    }
    guard parts[2].count == 4, let year = Int(parts[2]), day.count <= 2, let d = Int(day),
        isValidDay(year: year, month: month, day: d)
    else { return nil }
    return secondsOf(year: year, month: month, day: d)
}

/// Parses `text` with a strptime-style `format` (the schema's `date_format`): %Y (4-digit
/// year), %y (2-digit, 1969-2068 as POSIX), %m, %d, %b/%B (month name), %H, %M, %S, %%; other
/// characters must match as they are. Nil when the text does not fit or names no real date.
func parseDate(_ text: String, format: String) -> Int64? {
    let input = Array(text.trimmingCharacters(in: .whitespaces))
    let pattern = Array(format)
    var i = 0
    var p = 0
    var year: Int?
    var month = 1
    var day = 1
    var hour = 0
    var minute = 0
    var second = 0
    func digits(_ maximum: Int) -> Int? {
        var value = 0
        var count = 0
        while count < maximum, i < input.count, let d = input[i].wholeNumberValue, input[i].isASCII {
            value = value * 10 + d
            i += 1
            count += 1
        }
        return count == 0 ? nil : value
    }
    while p < pattern.count {
        if pattern[p] == "%", p + 1 < pattern.count {
            let directive = pattern[p + 1]
            p += 2
            switch directive {
            case "Y":
                guard let v = digits(4) else { return nil }
                year = v
            case "y":
                guard let v = digits(2) else { return nil }
                year = v < 69 ? 2000 + v : 1900 + v
            case "m":
                guard let v = digits(2) else { return nil }
                month = v
            case "d":
                guard let v = digits(2) else { return nil }
                day = v
            case "H":
                guard let v = digits(2), v < 24 else { return nil }
                hour = v
            case "M":
                guard let v = digits(2), v < 60 else { return nil }
                minute = v
            case "S":
                guard let v = digits(2), v < 61 else { return nil }
                second = v
            case "b", "B":
                let start = i
                while i < input.count, input[i].isLetter { i += 1 }
                guard let m = monthNumber(Substring(String(input[start..<i]))) else { return nil }
                month = m
            case "%":
                guard i < input.count, input[i] == "%" else { return nil }
                i += 1
            default: return nil
            }
        } else {
            guard i < input.count, input[i] == pattern[p] else { return nil }
            i += 1
            p += 1
        }
    }
    guard i == input.count, let year, isValidDay(year: year, month: month, day: day) else { return nil }
    return secondsOf(year: year, month: month, day: day) + Int64(hour * 3600 + minute * 60 + second)
}

/// The year in a MovieLens title such as "Toy Story (1995)", nil when the title has none.
func yearInTitle(_ title: String) -> Int? {
    let u = Array(title.utf8)
    var end = u.count
    while end > 0 && (u[end - 1] == 32 || u[end - 1] == 9) { end -= 1 }
    guard end >= 6, u[end - 1] == 41, u[end - 6] == 40 else { return nil }
    var year = 0
    for i in (end - 5)..<(end - 1) {
        let d = Int(u[i]) - 48
        guard d >= 0 && d < 10 else { return nil }
        year = year * 10 + d
    }
    return year
}

/// A date in a schema's file: its `date_format` first, then the built-in forms.
func parseDate(_ text: String, schemaFormat: String?) -> Int64? {
    if let schemaFormat, let t = parseDate(text, format: schemaFormat) { return t }
    return parseDate(text)
}
