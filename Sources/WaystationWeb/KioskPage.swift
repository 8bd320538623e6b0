/// The kiosk page (`Kiosk/kiosk.html`), embedded at build time.
public enum KioskPage {
    public static let html: [UInt8] = PackageResources.kiosk_html
}
