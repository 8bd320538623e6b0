/// The hub's schema, one versioned step at a time (never edit a released step; add one).
///
/// Rows the stations must hear about carry `tx` (the id of the transaction that last wrote them):
/// a station's cursor is the oldest transaction still running when it last asked, so anything
/// committed after that is sent again at worst, never missed.
public struct DistrictMigration: Sendable {
    public let version: Int
    public let statements: [String]
}

public enum DistrictMigrations {
    public static let all: [DistrictMigration] = [
        DistrictMigration(version: 1, statements: v1),
        DistrictMigration(version: 2, statements: v2),
    ]

    /// The desk (issue 23): staff and their sessions, failed log-ins, the audit log, and a verified
    /// report's dispatch to a department until it is fixed.
    static let v2 = [
        """
        CREATE TABLE staff (
          name text PRIMARY KEY CHECK (name ~ '^[a-z0-9._-]{1,64}$'),
          role text NOT NULL CHECK (role IN ('viewer', 'desk', 'admin')),
          password_hash text NOT NULL, created timestamptz NOT NULL DEFAULT now(), disabled timestamptz)
        """,
        """
        CREATE TABLE desk_sessions (
          token_sha256 bytea PRIMARY KEY, staff text NOT NULL REFERENCES staff ON DELETE CASCADE,
          csrf text NOT NULL, created timestamptz NOT NULL DEFAULT now(), expires timestamptz NOT NULL)
        """,
        "CREATE INDEX desk_sessions_staff ON desk_sessions (staff)",
        "CREATE TABLE login_failures (key text PRIMARY KEY, failures integer NOT NULL, last_failure timestamptz NOT NULL)",
        """
        CREATE TABLE audit (
          id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), staff text NOT NULL,
          address text, action text NOT NULL, target text, detail text)
        """,
        "CREATE INDEX audit_at ON audit (at DESC)",
        """
        ALTER TABLE reports
          ADD COLUMN dispatch text CHECK (dispatch IN ('dispatched', 'fixed')),
          ADD COLUMN department text, ADD COLUMN dispatched timestamptz, ADD COLUMN dispatched_by text,
          ADD COLUMN dispatch_note text, ADD COLUMN fixed timestamptz, ADD COLUMN fixed_by text
        """,
    ]

    static let v1 = [
        """
        CREATE FUNCTION rfc3339(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE
        AS $$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') $$
        """,
        """
        CREATE TABLE stations (
          id text PRIMARY KEY, name text NOT NULL, address text NOT NULL,
          token_sha256 bytea NOT NULL UNIQUE, created timestamptz NOT NULL DEFAULT now(),
          revoked timestamptz, last_seen timestamptz, software text, config_hash text, reported timestamptz)
        """,
        """
        CREATE TABLE categories (
          id text PRIMARY KEY, name text NOT NULL, name_zh text NOT NULL,
          points integer NOT NULL CHECK (points >= 0), active boolean NOT NULL DEFAULT true,
          tx xid8 NOT NULL DEFAULT pg_current_xact_id())
        """,
        "CREATE TABLE riders (pseudonym text PRIMARY KEY, first_seen timestamptz NOT NULL DEFAULT now())",
        """
        CREATE TABLE station_riders (
          station text NOT NULL REFERENCES stations, rider text NOT NULL REFERENCES riders,
          tx xid8 NOT NULL DEFAULT pg_current_xact_id(), PRIMARY KEY (station, rider))
        """,
        "CREATE INDEX station_riders_rider ON station_riders (rider)",
        """
        CREATE TABLE reports (
          id bigserial PRIMARY KEY, station text NOT NULL REFERENCES stations,
          station_report bigint NOT NULL, key text NOT NULL, category text NOT NULL,
          category_known boolean NOT NULL, location text NOT NULL, note text, rider text,
          created timestamptz NOT NULL, received timestamptz NOT NULL DEFAULT now(),
          status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'verified', 'rejected')),
          verdict_note text, points integer NOT NULL DEFAULT 0, judged timestamptz, judged_by text,
          tx xid8 NOT NULL DEFAULT pg_current_xact_id(), UNIQUE (station, station_report))
        """,
        "CREATE INDEX reports_status ON reports (status, id)",
        "CREATE INDEX reports_created ON reports (created)",
        """
        CREATE TABLE ledger (
          id bigserial PRIMARY KEY, rider text NOT NULL REFERENCES riders, points integer NOT NULL,
          why text NOT NULL, report bigint UNIQUE REFERENCES reports, redemption text UNIQUE,
          station text, by_whom text, at timestamptz NOT NULL DEFAULT now(),
          tx xid8 NOT NULL DEFAULT pg_current_xact_id())
        """,
        "CREATE INDEX ledger_rider ON ledger (rider, id)",
        """
        CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql
        AS $$ BEGIN RAISE EXCEPTION 'the ledger is append-only: add a correcting entry'; END $$
        """,
        """
        CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger
        FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()
        """,
        """
        CREATE TABLE visits (
          station text NOT NULL REFERENCES stations, day date NOT NULL, category text NOT NULL,
          visits integer NOT NULL CHECK (visits >= 0), updated timestamptz NOT NULL DEFAULT now(),
          PRIMARY KEY (station, day, category))
        """,
        """
        CREATE TABLE notices (
          id bigserial PRIMARY KEY, title text NOT NULL, title_zh text, body text, body_zh text,
          valid_from timestamptz NOT NULL, valid_until timestamptz NOT NULL, stations text[],
          withdrawn boolean NOT NULL DEFAULT false, tx xid8 NOT NULL DEFAULT pg_current_xact_id())
        """,
        """
        CREATE TABLE services (
          id text PRIMARY KEY, name text NOT NULL, name_zh text, description text, description_zh text,
          days text[], hours text, stations text[], withdrawn boolean NOT NULL DEFAULT false,
          tx xid8 NOT NULL DEFAULT pg_current_xact_id())
        """,
    ]
}
