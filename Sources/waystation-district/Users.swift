import ArgumentParser
import Foundation
import WaystationDistrict

#if canImport(Glibc)
    import Glibc
#endif

/// `users`: the desk's staff accounts (passwords from stdin; never on the command line, where `ps`
/// and the shell's history would keep them).
struct Users: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The district desk's staff accounts.",
        subcommands: [Add.self, Disable.self, Password.self, List.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add an account; its password is one line on stdin (asked twice, unechoed, at a terminal).")
        @OptionGroup var global: Global
        @Argument(help: "The name: 1-64 of a-z 0-9 . _ -") var name: String
        @Option(
            help: "viewer (sees), desk (also judges reports, riders, notices, silences), admin (also users, audit).")
        var role: String

        func run() async throws {
            guard let role = DeskRole(rawValue: role) else {
                throw ValidationError("--role must be viewer, desk or admin, not \"\(role)\"")
            }
            guard HubStore.validStaffName(name) else {
                throw ValidationError("the name \"\(name)\" is not 1-64 of a-z 0-9 . _ - (not only dots)")
            }
            let config = try global.load()
            // Before asking for a password that would be thrown away.
            if try await global.withStore(config, { store in try await store.staff(name) != nil }) {
                global.fail("the account \(name) already exists")
            }
            let hash = try await PasswordInput.hashed(global, for: name)
            try await global.withStore(config) { store in
                try await store.addStaff(name: name, role: role, passwordHash: hash)
                try await store.audit(
                    staff: "cli", address: nil, action: "user.add", target: name, detail: role.rawValue)
            }
            print("added \(name) (\(role.rawValue))")
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Disable an account: its sessions end at once and it can no longer log in.")
        @OptionGroup var global: Global
        @Argument var name: String

        func run() async throws {
            let config = try global.load()
            let found = try await global.withStore(config) { store in
                let found = try await store.disableStaff(name)
                if found {
                    try await store.audit(staff: "cli", address: nil, action: "user.disable", target: name, detail: nil)
                }
                return found
            }
            guard found else { global.fail("no account \(name)") }
            print("disabled \(name)")
        }
    }

    struct Password: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set an account's password (one line on stdin); its sessions end.")
        @OptionGroup var global: Global
        @Argument var name: String

        func run() async throws {
            let config = try global.load()
            guard try await global.withStore(config, { store in try await store.staff(name) != nil }) else {
                global.fail("no account \(name)")
            }
            let hash = try await PasswordInput.hashed(global, for: name)
            let found = try await global.withStore(config) { store in
                let found = try await store.setStaffPassword(name, passwordHash: hash)
                if found {
                    try await store.audit(
                        staff: "cli", address: nil, action: "user.password", target: name, detail: nil)
                }
                return found
            }
            guard found else { global.fail("no account \(name)") }
            print("password of \(name) changed; their sessions have ended")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The accounts: name, role, created, disabled (or -), tab-separated.")
        @OptionGroup var global: Global

        func run() async throws {
            let config = try global.load()
            let staff = try await global.withStore(config) { store in try await store.staffList() }
            for m in staff { print("\(m.name)\t\(m.role.rawValue)\t\(m.created)\t\(m.disabled ?? "-")") }
        }
    }
}

/// Reads a new password: at a terminal asked twice without echo; otherwise one line from stdin.
enum PasswordInput {
    static func hashed(_ global: Global, for name: String) async throws -> String {
        let password: String
        if isatty(STDIN_FILENO) == 1 {
            guard let first = prompt("Password for \(name) (at least \(StaffPassword.minCharacters) characters): "),
                let again = prompt("Again: ")
            else { global.fail("no password given") }
            guard first == again else { global.fail("the two passwords differ; nothing changed") }
            password = first
        } else {
            guard let line = readLine(strippingNewline: true) else {
                global.fail("no password on stdin (give it as one line)")
            }
            password = line.hasSuffix("\r") ? String(line.dropLast()) : line
        }
        do {
            try StaffPassword.check(password)
        } catch {
            global.fail(error.description)
        }
        return try await StaffPassword.hash(password)
    }

    /// One line from the terminal with echo off (restored even when reading fails).
    static func prompt(_ text: String) -> String? {
        FileHandle.standardError.write(Data(text.utf8))
        var saved = termios()
        guard tcgetattr(STDIN_FILENO, &saved) == 0 else { return readLine(strippingNewline: true) }
        var quiet = saved
        quiet.c_lflag &= ~tcflag_t(ECHO)
        _ = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet)
        defer {
            _ = tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved)
            FileHandle.standardError.write(Data("\n".utf8))
        }
        return readLine(strippingNewline: true)
    }
}
