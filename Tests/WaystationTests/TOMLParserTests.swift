import Testing
import WaystationCore

/// The TOML parser the loaders use (toml++ behind `CTOML`): a line on every error, bounded size and
/// depth, no recursion on the way into Swift.
@Suite("TOML parser")
struct TOMLParserTests {
    @Test("tables, arrays of tables, dotted keys, strings, numbers, arrays, inline tables")
    func document() throws {
        let t = try TOMLParser.parse(
            """
            # comment
            title = "a \\"quoted\\" \\u00e9"   # trailing comment
            lit = 'C:\\path'
            multi = \"\"\"
            one
            two\"\"\"
            n = 1_000
            hex = 0xff
            neg = -12
            f = -1.5e2
            yes = true
            list = [1, 2,
              3,  # inside
            ]
            inline = { a = 1, "b c" = "x" }
            a.b = 2

            [station]
            id = "hy-042"

            [[device]]
            id = "one"
            [[device]]
            id = "two"
            [device.labels]
            x = "y"
            """)
        #expect(t["title"]?.string == "a \"quoted\" é")
        #expect(t["lit"]?.string == "C:\\path")
        #expect(t["multi"]?.string == "one\ntwo")
        #expect(t["n"]?.int == 1000 && t["hex"]?.int == 255 && t["neg"]?.int == -12)
        #expect(t["f"]?.double == -150 && t["yes"]?.bool == true)
        #expect(t["list"]?.array?.compactMap(\.int) == [1, 2, 3])
        #expect(t["inline"]?.table?["b c"]?.string == "x")
        #expect(t["a"]?.table?["b"]?.int == 2)
        #expect(t["station"]?.table?["id"]?.string == "hy-042")
        let devices = try #require(t["device"]?.array)
        #expect(devices.compactMap { $0.table?["id"]?.string } == ["one", "two"])
        #expect(devices.last?.table?["labels"]?.table?["x"]?.string == "y")
        #expect(t.lines["n"] == 7)
        #expect(t["station"]?.table?.lines["id"] == 19)
        #expect(t["station"]?.table?.line == 18)
        #expect(devices.compactMap { $0.table?.line } == [21, 23])
        #expect(
            t.keys == [
                "title", "lit", "multi", "n", "hex", "neg", "f", "yes", "list", "inline", "a", "station", "device",
            ])
    }

    @Test(
        "errors carry the line and say what was expected",
        arguments: [
            ("a = 1\nb = \n", 2, "expected value"), ("a = 1\na = 2\n", 2, "cannot redefine existing integer 'a'"),
            ("x = \"open\n", 1, "unescaped control characters"),
            ("[t]\n[t]\n", 2, "cannot redefine existing table 't'"), ("k = 2026-01-01\n", 1, "dates and times"),
            ("k = 01\n", 1, "leading zeroes"),
            ("k = [1, 2\n", 1, "end-of-file"), ("k = bare\n", 1, "needs quotes"),
            ("k = 1 2\n", 1, "expected a comment or whitespace"),
            ("a = 1\nk = \"\u{1}\"\n", 2, "control characters"),
            ("a = 1\n[t]\n[[t]]\n", 3, "cannot redefine"),
            ("a = 1_\n", 1, "saw '_'"),
        ])
    func errors(text: String, line: Int, message: String) {
        do {
            _ = try TOMLParser.parse(text)
            Issue.record("parsed: \(text)")
        } catch {
            #expect(error.line == line, "\(text): \(error)")
            #expect(error.message.contains(message), "\(text): \(error)")
        }
    }

    @Test("a date is refused naming its key and line; toml-test's decoder may have it")
    func dates() throws {
        do {
            _ = try TOMLParser.parse("[a]\nx = 1\nb.when = 2026-01-01T10:00:00Z\n")
            Issue.record("a date was accepted")
        } catch {
            #expect(error.line == 3 && error.key == "a.b.when", "\(error)")
            #expect(error.message.contains("dates and times are not supported"))
        }
        let t = try TOMLParser.parse("d = 1979-05-27T07:32:00.5-08:00\nt = 07:32:00\n", allowDates: true)
        #expect(t["d"] == .dateTime(TOMLDateTime(kind: .offsetDateTime, text: "1979-05-27T07:32:00.5-08:00")))
        #expect(t["t"] == .dateTime(TOMLDateTime(kind: .localTime, text: "07:32:00")))
    }

    @Test("nan and inf parse as floats (the loaders then refuse them where a number must be finite)")
    func special() throws {
        let t = try TOMLParser.parse("a = nan\nb = -inf\n")
        #expect(t["a"]?.double?.isNaN == true && t["b"]?.double == -.infinity)
    }

    @Test("what the hand-made parser refused: a BOM, int64's minimum, [[point]] with [point.labels] repeated")
    func keptParser() throws {
        let bom = try TOMLParser.parse(bytes: [0xEF, 0xBB, 0xBF] + Array("a = 1\n".utf8))
        #expect(bom["a"]?.int == 1)
        let min = try TOMLParser.parse("a = -9223372036854775808\nb = 9223372036854775807\n")
        #expect(min["a"]?.int == Int.min && min["b"]?.int == Int.max)
        let points = try TOMLParser.parse(
            "[[point]]\nname = \"a\"\n[point.labels]\n0 = \"off\"\n[[point]]\nname = \"b\"\n[point.labels]\n1 = \"on\"\n"
        )
        let labels = points["point"]?.array?.compactMap { $0.table?["labels"]?.table?.keys }
        #expect(labels == [["0"], ["1"]])
    }

    @Test("invalid UTF-8 is refused with its line")
    func invalidUTF8() {
        do {
            _ = try TOMLParser.parse(bytes: Array("a = 1\nb = \"".utf8) + [0xFF, 0x22, 0x0A])
            Issue.record("invalid UTF-8 was accepted")
        } catch {
            #expect(error.line == 2 && error.message.contains("utf-8"), "\(error)")
        }
    }

    /// 50,000 levels of each shape (about 100 KB): the old parser overflowed its stack on them.
    static let deep: [(String, String)] = {
        let n = 50_000
        let dotted = Array(repeating: "a", count: n).joined(separator: ".")
        return [
            ("arrays", "a = " + String(repeating: "[", count: n) + String(repeating: "]", count: n) + "\n"),
            (
                "inline tables",
                "a = " + String(repeating: "{b=", count: n) + "1" + String(repeating: "}", count: n) + "\n"
            ),
            ("dotted keys", "x = 1\n" + dotted + " = 1\n"),
            ("table headers", "x = 1\n[" + dotted + "]\n"),
            ("array-of-tables headers", "x = 1\n[[" + dotted + "]]\n"),
            (
                "mixed",
                "x = 1\n" + dotted + " = " + String(repeating: "[{b=", count: n) + "1"
                    + String(repeating: "}]", count: n)
            ),
        ]
    }()

    @Test("a deeply nested document is refused with its line, not a crash", arguments: deep.map(\.0))
    func deepNesting(shape: String) throws {
        let text = try #require(Self.deep.first { $0.0 == shape }?.1)
        do {
            _ = try TOMLParser.parse(text)
            Issue.record("\(shape): accepted")
        } catch {
            #expect(error.message.contains("nested deeper than \(TOMLParser.maxDepth) levels"), "\(error)")
            #expect(error.line == (shape == "arrays" || shape == "inline tables" ? 1 : 2), "\(error)")
        }
    }

    @Test("nesting up to the limit is accepted")
    func nestingAtTheLimit() throws {
        let depth = TOMLParser.maxDepth
        let dotted = Array(repeating: "a", count: depth).joined(separator: ".")
        let t = try TOMLParser.parse(dotted + " = 1\n")
        var table = t
        for _ in 1..<depth { table = try #require(table["a"]?.table) }
        #expect(table["a"]?.int == 1)
        let arrays = "b = " + String(repeating: "[", count: depth - 1) + String(repeating: "]", count: depth - 1)
        #expect(throws: Never.self) { try TOMLParser.parse(arrays) }
    }

    @Test("a document over 1 MiB is refused")
    func size() {
        let big = "a = \"" + String(repeating: "x", count: TOMLParser.maxBytes) + "\"\n"
        do {
            _ = try TOMLParser.parse(big)
            Issue.record("accepted")
        } catch {
            #expect(error.message.contains("larger than \(TOMLParser.maxBytes) bytes (1 MiB)"), "\(error)")
        }
    }
}
