import Testing
import WaystationCore

/// The TOML parser the loaders use (our own: no leak per reload, a line on every error).
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
    }

    @Test(
        "errors carry the line and say what was expected",
        arguments: [
            ("a = 1\nb = \n", 2, "expected a value"), ("a = 1\na = 2\n", 2, "set twice"),
            ("x = \"open\n", 1, "not closed"),
            ("[t]\n[t]\n", 2, "defined twice"), ("k = 2026-01-01\n", 1, "dates and times"),
            ("k = 01\n", 1, "invalid number"),
            ("k = [1, 2\n", 2, "not closed"), ("k = bare\n", 1, "needs quotes"), ("k = 1 2\n", 1, "end of the line"),
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

    @Test("nan and inf parse as floats (the loaders then refuse them where a number must be finite)")
    func special() throws {
        let t = try TOMLParser.parse("a = nan\nb = -inf\n")
        #expect(t["a"]?.double?.isNaN == true && t["b"]?.double == -.infinity)
    }
}
