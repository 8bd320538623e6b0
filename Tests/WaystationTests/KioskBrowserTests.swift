import Foundation
import TestSupport
import Testing

/// The kiosk page in headless Chromium (Selenium), against the real simulator, daemon and
/// waystation-web: `Tests/kiosk/run.sh` runs `Tests/kiosk/test_kiosk.py` with all of its parts.
@Suite("Kiosk page in Chromium")
struct KioskBrowserTests {
    @Test(
        "a storage-recovery latch shown as such, check-in and out, a slot cut live, the smoke alarm, a report by touch raising the balance, no raw id anywhere"
    )
    func browser() async throws {
        for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
            #expect(
                FileManager.default.isExecutableFile(atPath: tool),
                "\(tool) is missing: apt-get install chromium chromium-driver fonts-noto-cjk (make deps)")
        }
        var env = ProcessInfo.processInfo.environment
        env["WAYSTATION_BIN"] = BuildPaths.binDir
        env["KIOSK_SCREENSHOTS"] = nil
        let (status, output) = try await Spawned.run(
            "/bin/bash", [BuildPaths.repo + "/Tests/kiosk/run.sh"], environment: env, timeout: .seconds(300))
        #expect(status == 0, "\(output)")
        #expect(output.contains("kiosk: 18 passed, 0 failed, 0 skipped"), "\(output)")
    }
}
