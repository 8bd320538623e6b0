/// The text of `io.waystation.Station.varlink` beside this file, returned by
/// `org.varlink.service.GetInterfaceDescription`. A test keeps the two identical.
enum InterfaceDefinition {
    static let name = "io.waystation.Station"
    static let text = #"""
        # Waystation: the daemon of a rider rest station. Status of the station and its appliances, live
        # reads and writes, self-test, maintenance, reload, a stream of changes, and the audit log.
        # Reading is open to whoever can connect; changes need uid 0 or the configured admin group.
        interface io.waystation.Station

        type StationInfo (
          id: string,
          name: string,
          capacity: int
        )

        type DeviceSummary (
          id: string,
          kind: string,
          profile: string,
          bus: string,
          unit: int,
          # unknown, online, degraded, offline
          state: string,
          maintenance: bool,
          maintenance_reason: ?string,
          # ISO 8601
          last_good: ?string,
          last_error: ?string
        )

        type PointReading (
          name: string,
          value: ?float,
          # for coded values: the value's label
          label: ?string,
          unit: ?string,
          # good, stale, bad, none
          quality: string,
          error: ?string,
          # seconds since the last good read
          age: ?float,
          writable: bool,
          min: ?float,
          max: ?float
        )

        type DeviceDetail (
          device: DeviceSummary,
          points: []PointReading
        )

        type DeviceCheck (
          id: string,
          ok: bool,
          error: ?string,
          latency_ms: float
        )

        type AuditEntry (
          at: string,
          uid: int,
          user: string,
          action: string,
          target: string,
          old: ?string,
          new: ?string
        )

        type Visit (
          id: int,
          # the rider's pseudonym (HMAC-SHA256 with the station's secret), never the raw id
          worker: string,
          category: string,
          source: ?string,
          checked_in: string,
          checked_out: ?string,
          # rider, auto
          closed_by: ?string
        )

        type CategoryCount (
          category: string,
          count: int
        )

        type VisitStats (
          from: string,
          to: string,
          visits: int,
          by_category: []CategoryCount,
          # visits that started in each hour of the day, 0-23, station time
          by_hour: []int,
          unique_riders: int,
          # seconds, over closed visits
          mean_stay: ?float,
          median_stay: ?float,
          peak_occupancy: int,
          peak_at: ?string
        )

        type Alert (
          fingerprint: string,
          name: string,
          device: string,
          # pending, firing, resolved
          state: string,
          severity: string,
          summary: string,
          labels: [string]string,
          value: ?float,
          since: ?string,
          resolved_at: ?string,
          acknowledged_by: ?string,
          ack_note: ?string,
          silenced: bool,
          # an interlock could not confirm the relay off
          escalated: bool
        )

        type LatchedSlot (
          slot: string,
          reason: string
        )

        type Event (
          # snapshot, device_state, maintenance, reload, check_in, check_out, visit_closed, alert, interlock
          kind: string,
          at: string,
          device: ?string,
          from: ?string,
          to: ?string,
          cause: ?string,
          devices: ?[]DeviceSummary,
          visit: ?Visit,
          occupancy: ?int
        )

        # The station at a glance.
        method GetStatus() -> (
          station: StationInfo,
          version: string,
          uptime: float,
          devices: []DeviceSummary,
          active_alerts: int,
          occupancy: int
        )

        method ListDevices() -> (devices: []DeviceSummary)

        # Every point of a device, with value, label, unit, quality and age (from the poll cache).
        method GetDevice(id: string) -> (device: DeviceDetail)

        # A live read from the device now, not the cache.
        method ReadPoint(device: string, point: string) -> (point: PointReading)

        # Writes, reads back, and returns the read-back value. Admin only.
        method WritePoint(device: string, point: string, value: float) -> (point: PointReading)

        # Reads every device once now; checks storage and the clock.
        method SelfTest() -> (ok: bool, devices: []DeviceCheck, storage_ok: bool, storage_error: ?string, clock_ok: bool, clock: string)

        # While on, the device shows as in maintenance and its alerts are held back. Admin only.
        method SetMaintenance(device: string, enabled: bool, reason: ?string) -> (device: DeviceSummary)

        # The same as SIGHUP: a bad config is refused and the running one stays. Admin only.
        method Reload() -> ()

        # With "more": the current state first, then every change as it happens.
        method Watch() -> (event: Event)

        # Checks a rider in (not admin-only: the kiosk calls it). A rider already inside gets the open
        # visit back. Occupancy above capacity is reported ("full"); nobody is refused.
        method CheckIn(worker: string, category: string, source: ?string) -> (visit: Visit, already_inside: bool, occupancy: int, capacity: int, full: bool)

        method CheckOut(worker: string) -> (visit: Visit, occupancy: int)

        # Visits that started in [since, until) (ISO 8601), optionally only those still open.
        method ListVisits(since: ?string, until: ?string, active: ?bool) -> (visits: []Visit)

        method VisitStats(from: string, to: string) -> (stats: VisitStats)

        # Alerts not inactive (or in one state), and the charging slots held off by an interlock.
        method ListAlerts(state: ?string) -> (alerts: []Alert, latched_slots: []LatchedSlot)

        # Admin only.
        method AcknowledgeAlert(fingerprint: string, note: ?string) -> (alert: Alert)

        # Holds back notifications of alerts whose labels match all matchers, for a duration ("2h"). Admin only.
        method Silence(matchers: [string]string, duration: string, comment: ?string) -> (id: int, until: string)

        # Re-enables a slot an interlock switched off; refused while the hazard is still there. Admin only.
        method EnableSlot(slot: string, device: ?string) -> ()

        # The newest changes first.
        method ListAudit(limit: ?int) -> (entries: []AuditEntry)

        error DeviceNotFound (device: string)
        error PointNotFound (device: string, point: string)
        error PointNotWritable (device: string, point: string)
        error ValueOutOfRange (device: string, point: string, value: float, min: ?float, max: ?float)
        error DeviceOffline (device: string, error: string)
        error PermissionDenied (method: string, uid: int, required: string)
        error ConfigRefused (errors: string)
        error NotCheckedIn (worker: string)
        error AlertNotFound (fingerprint: string)
        error AlertNotFiring (fingerprint: string, state: string)
        error SlotNotFound (slot: string)
        error SlotUnsafe (slot: string, reason: string)
        error UnknownCategory (category: string, known: []string)
        """#
}
