/**
 * The embedded default {@link FleetStore}: one SQLite file through
 * better-sqlite3 (a server database, postgres.ts, can replace it for large
 * fleets).
 */
import Database from "better-sqlite3"
import {
    chmodSync,
    closeSync,
    existsSync,
    openSync,
    realpathSync,
} from "node:fs"
import {
    emptyState,
    rowToDevice,
    rowToRollout,
    rowToVersion,
    toState,
    UNSETTLED_SQLITE,
} from "./rows.ts"
import { migrateSqlite } from "./sqlite-migrate.ts"
import {
    DEFAULT_EVENTS_MAX,
    DEFAULT_EVENTS_MAX_AGE_MS,
    type DeviceRecord,
    type DeviceState,
    type EventRetention,
    type FleetEvent,
    type FleetStore,
    type Rollout,
    type TransactionScope,
    type VersionRecord,
} from "./types.ts"

/** The least string greater than every string that starts with `prefix`. */
function prefixEnd(prefix: string): string {
    return (
        prefix.slice(0, -1) +
        String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1)
    )
}

/** Mode of the database file and its `-wal` / `-shm` companions. */
export const DB_FILE_MODE = 0o600

/**
 * Creates `file` with mode 0600 when missing and narrows an existing one
 * and its WAL companions to 0600: the database holds every device key.
 */
function protectDatabaseFiles(file: string) {
    if (!existsSync(file)) closeSync(openSync(file, "a", DB_FILE_MODE))
    for (const f of [file, `${file}-wal`, `${file}-shm`])
        if (existsSync(f)) chmodSync(f, DB_FILE_MODE)
}

/** Whether a transaction is open on a database file, for every store of it. */
interface Gate {
    /** Settles when the transaction now open ends; undefined when none is. */
    open: Promise<void> | undefined
    /** Stores of this process that use it. */
    users: number
}

/**
 * The gates of the files open in this process: SqliteStores of one file
 * (several service instances in one process, as tests run them) take
 * turns. Without it one store's BEGIN would wait for the file's lock
 * synchronously, blocking the thread, while another store's transaction,
 * which holds that lock, awaits: nothing would move until busy_timeout.
 */
const gates = new Map<string, Gate>()

/** How a SQLite store writes. */
export interface SqliteOptions {
    /**
     * Each commit waits for the disk (`synchronous = FULL`, the default
     * here). `false` (`synchronous = NORMAL`, better-sqlite3's own default
     * in WAL mode): the WAL reaches the disk at each checkpoint instead; a
     * power cut or an OS crash may lose the last commits, never corrupts
     * the file, and a killed process loses nothing. The service uses it
     * (an fsync per commit would block its event loop, for records the
     * devices report again at their next check-in); an operator's commands
     * (assign, stop, rollback, publish) keep theirs.
     */
    syncEveryCommit?: boolean
}

/**
 * The default store: one SQLite file (`:memory:` for tests), through
 * better-sqlite3. Its calls are synchronous underneath; a transaction that
 * awaits holds the others back, so nothing else runs inside it.
 */
export class SqliteStore implements FleetStore {
    readonly db: Database.Database
    private readonly maxEvents: number
    private readonly maxEventAgeMs: number
    /** Shared by the stores of this file in this process. */
    private readonly gate: Gate
    private readonly gateKey: string | undefined
    private readonly inside: FleetStore

    /**
     * Opens (creating when missing) the database `file`, mode 0600 with its
     * WAL files; `:memory:` for tests.
     */
    constructor(
        file: string,
        retention: EventRetention = {},
        options: SqliteOptions = {}
    ) {
        this.maxEvents = retention.maxEvents ?? DEFAULT_EVENTS_MAX
        this.maxEventAgeMs = retention.maxAgeMs ?? DEFAULT_EVENTS_MAX_AGE_MS
        const onDisk = file !== ":memory:" && file !== ""
        if (onDisk) protectDatabaseFiles(file)
        this.db = new Database(file)
        this.db.pragma("journal_mode = WAL")
        this.db.pragma(
            `synchronous = ${options.syncEveryCommit === false ? "NORMAL" : "FULL"}`
        )
        this.db.pragma("busy_timeout = 5000")
        this.db.pragma("foreign_keys = ON")
        migrateSqlite(this.db)
        if (onDisk) protectDatabaseFiles(file) // the WAL files exist now
        this.gateKey = onDisk ? realpathSync(file) : undefined
        this.gate = (this.gateKey && gates.get(this.gateKey)) || {
            open: undefined,
            users: 0,
        }
        this.gate.users++
        if (this.gateKey) gates.set(this.gateKey, this.gate)
        this.inside = this.transactionView()
    }

    /** Statements prepared once, by their SQL (preparing was a tenth of the deploy path's CPU). */
    private readonly statements = new Map<string, Database.Statement>()
    private statement(sql: string): Database.Statement {
        let st = this.statements.get(sql)
        if (!st) this.statements.set(sql, (st = this.db.prepare(sql)))
        return st
    }

    /**
     * `fn` as one transaction that takes the write lock before it reads
     * (BEGIN IMMEDIATE; a savepoint inside a transaction already open),
     * built once. A deferred transaction that reads and then writes fails
     * at once (SQLITE_BUSY) when another process holds the lock or wrote
     * since the read; this one waits for it (busy_timeout) and reads what
     * it wrote.
     */
    private writeTransaction<A extends unknown[], T>(
        fn: (...args: A) => T
    ): (...args: A) => T {
        let tx: ((...args: A) => T) | undefined
        return (...args) => (tx ??= this.db.transaction(fn).immediate)(...args)
    }

    /**
     * Runs a synchronous step once no transaction is open. The check and
     * the step run in one turn, so no transaction can open between them.
     */
    private async run<T>(step: () => T): Promise<T> {
        while (this.gate.open) await this.gate.open
        return step()
    }

    /**
     * Every transaction of this process is serialised here. A read-only
     * scope reads one snapshot and takes no write lock, so it never waits
     * for another process's writer (a wait here blocks the thread); a
     * write in it is undone and fails. Any other takes the write lock first.
     */
    async atomically<T>(
        fn: (tx: FleetStore) => Promise<T>,
        scope?: TransactionScope
    ): Promise<T> {
        while (this.gate.open) await this.gate.open
        let done!: () => void
        this.gate.open = new Promise<void>(r => (done = r))
        const readOnly = scope !== undefined && "readOnly" in scope
        // IMMEDIATE: another process sharing the file waits for the write lock now
        this.statement(readOnly ? "BEGIN DEFERRED" : "BEGIN IMMEDIATE").run()
        const changesBefore = readOnly ? this.totalChanges() : 0
        try {
            const out = await fn(this.inside)
            // (query_only would say so at the write, but setting it made
            // this transaction three times slower)
            if (readOnly && this.totalChanges() !== changesBefore)
                throw new Error("a write in a read-only transaction")
            this.statement("COMMIT").run()
            return out
        } catch (e) {
            if (this.db.inTransaction) this.statement("ROLLBACK").run()
            throw e
        } finally {
            this.gate.open = undefined
            done()
        }
    }

    private totalChanges(): number {
        return (
            this.statement("SELECT total_changes() AS n").get() as {
                n: number
            }
        ).n
    }

    /** The store as seen inside the open transaction: no waiting. */
    private transactionView(): FleetStore {
        const view: FleetStore = Object.create(this)
        const direct = async <T>(step: () => T) => step()
        Object.defineProperty(view, "run", { value: direct })
        Object.defineProperty(view, "atomically", {
            value: <T>(fn: (tx: FleetStore) => Promise<T>) => fn(view),
        })
        return view
    }

    addVersion(v: VersionRecord) {
        return this.run(() => {
            this.statement(
                "INSERT INTO versions (name, hash, size, note, published_at, signature) VALUES (?, ?, ?, ?, ?, ?)"
            ).run(v.name, v.hash, v.size, v.note, v.publishedAt, v.signature)
        })
    }
    versions() {
        return this.run(() =>
            this.statement(
                "SELECT * FROM versions ORDER BY published_at, rowid"
            )
                .all()
                .map(rowToVersion)
        )
    }
    versionByName(name: string) {
        return this.run(() => {
            const r = this.statement(
                "SELECT * FROM versions WHERE name = ?"
            ).get(name)
            return r ? rowToVersion(r) : undefined
        })
    }
    versionByHash(hash: string) {
        return this.run(() => {
            const r = this.statement(
                "SELECT * FROM versions WHERE hash = ?"
            ).get(hash)
            return r ? rowToVersion(r) : undefined
        })
    }

    setVersionSignature(name: string, signature: string) {
        return this.run(() => {
            this.statement(
                "UPDATE versions SET signature = ? WHERE name = ?"
            ).run(signature, name)
        })
    }

    putImage(hash: string, image: Buffer) {
        return this.run(() => {
            this.statement(
                "INSERT INTO images (hash, image) VALUES (?, ?) ON CONFLICT(hash) DO NOTHING"
            ).run(hash, image)
        })
    }
    image(hash: string) {
        return this.run(() => {
            const r = this.statement(
                "SELECT image FROM images WHERE hash = ?"
            ).get(hash) as { image: Buffer } | undefined
            return r?.image
        })
    }

    upsertDevice(d: DeviceRecord) {
        return this.run(() => {
            this.statement(
                `INSERT INTO devices (id, key, groups_json, platform_id, created_at) VALUES (?, ?, ?, ?, ?)
                 ON CONFLICT(id) DO UPDATE SET key = excluded.key, groups_json = excluded.groups_json,
                 platform_id = excluded.platform_id`
            ).run(
                d.id,
                d.key,
                JSON.stringify(d.groups),
                d.platformId,
                d.createdAt
            )
        })
    }
    device(id: string) {
        return this.run(() => {
            const r = this.statement("SELECT * FROM devices WHERE id = ?").get(
                id
            )
            return r ? rowToDevice(r) : undefined
        })
    }
    devices() {
        return this.run(() =>
            this.statement("SELECT * FROM devices ORDER BY id")
                .all()
                .map(rowToDevice)
        )
    }

    deviceCount() {
        return this.run(
            () =>
                (
                    this.statement(
                        "SELECT COUNT(*) AS n FROM devices"
                    ).get() as { n: number }
                ).n
        )
    }

    state(id: string) {
        return this.run(() => this.stateNow(id))
    }
    private stateNow(id: string): DeviceState {
        const r = this.statement(
            "SELECT json FROM device_state WHERE id = ?"
        ).get(id) as { json: string } | undefined
        return r ? toState(id, r.json) : emptyState(id)
    }
    updateState(id: string, patch: Partial<Omit<DeviceState, "id">>) {
        return this.run(() => this.patchState(id, patch))
    }
    private readonly patchState = this.writeTransaction(
        (id: string, patch: Partial<Omit<DeviceState, "id">>) => {
            const row = this.statement(
                "SELECT json FROM device_state WHERE id = ?"
            ).get(id) as { json: string } | undefined
            const before = row ? toState(id, row.json) : emptyState(id)
            const next = { ...before, ...patch, id }
            const json = JSON.stringify(next)
            // a patch that changes nothing (a check-in's hash, the same as
            // last time) writes no page to the WAL
            if (row && json === JSON.stringify(before)) return next
            this.statement(
                "INSERT INTO device_state (id, json) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET json = excluded.json"
            ).run(id, json)
            return next
        }
    )
    states() {
        return this.run(() =>
            (
                this.statement(
                    "SELECT id, json FROM device_state ORDER BY id"
                ).all() as { id: string; json: string }[]
            ).map(r => toState(r.id, r.json))
        )
    }

    unsettledStates() {
        return this.run(() =>
            (
                this.statement(
                    `SELECT id, json FROM device_state WHERE ${UNSETTLED_SQLITE} ORDER BY id`
                ).all() as { id: string; json: string }[]
            ).map(r => toState(r.id, r.json))
        )
    }

    addRollout(r: Omit<Rollout, "id">) {
        return this.run(() => {
            const info = this.statement(
                "INSERT INTO rollouts (version, scope_json, status, created_at, updated_at, reason) VALUES (?, ?, ?, ?, ?, ?)"
            ).run(
                r.version,
                JSON.stringify(r.scope),
                r.status,
                r.createdAt,
                r.updatedAt,
                r.reason
            )
            return { ...r, id: Number(info.lastInsertRowid) }
        })
    }
    updateRollout(id: number, patch: Partial<Omit<Rollout, "id">>) {
        return this.run(() => this.patchRollout(id, patch))
    }
    private readonly patchRollout = this.writeTransaction(
        (id: number, patch: Partial<Omit<Rollout, "id">>) => {
            const cur = this.rolloutsNow().find(r => r.id === id)
            if (!cur) throw new RangeError(`no rollout ${id}`)
            const n = { ...cur, ...patch, id }
            this.statement(
                "UPDATE rollouts SET version = ?, scope_json = ?, status = ?, updated_at = ?, reason = ? WHERE id = ?"
            ).run(
                n.version,
                JSON.stringify(n.scope),
                n.status,
                n.updatedAt,
                n.reason,
                id
            )
            return n
        }
    )
    rollouts() {
        return this.run(() => this.rolloutsNow())
    }
    private rolloutsNow(): Rollout[] {
        return this.statement("SELECT * FROM rollouts ORDER BY id")
            .all()
            .map(rowToRollout)
    }

    /** Appends an event and drops the rows beyond the count and age limits. */
    logEvent(deviceId: string, kind: string, detail: string) {
        const at = Date.now()
        return this.run(() => this.appendEvent(at, deviceId, kind, detail))
    }
    private readonly appendEvent = this.writeTransaction(
        (at: number, deviceId: string, kind: string, detail: string) => {
            const info = this.statement(
                "INSERT INTO events (at, device_id, kind, detail) VALUES (?, ?, ?, ?)"
            ).run(at, deviceId, kind, detail)
            const seq = Number(info.lastInsertRowid)
            this.statement("DELETE FROM events WHERE seq <= ? OR at < ?").run(
                seq - this.maxEvents,
                at - this.maxEventAgeMs
            )
        }
    )
    /** Rows in the event log. */
    eventCount() {
        return this.run(
            () =>
                (
                    this.statement(
                        "SELECT COUNT(*) AS n FROM events"
                    ).get() as { n: number }
                ).n
        )
    }
    events(limit = 100) {
        return this.run(() =>
            (
                this.statement(
                    "SELECT * FROM events ORDER BY seq DESC LIMIT ?"
                ).all(limit) as any[]
            )
                .reverse()
                .map(r => ({
                    at: r.at,
                    deviceId: r.device_id,
                    kind: r.kind,
                    detail: r.detail,
                }))
        )
    }

    lease(name: string, owner: string, ttlMs: number, now: number) {
        return this.run(() => {
            const info = this.statement(
                `INSERT INTO leases (name, owner, expires_at) VALUES (?, ?, ?)
                     ON CONFLICT(name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
                     WHERE leases.owner = excluded.owner OR leases.expires_at <= ?`
            ).run(name, owner, now + ttlMs, now)
            return info.changes === 1
        })
    }
    releaseLease(name: string, owner: string) {
        return this.run(() => {
            this.statement(
                "DELETE FROM leases WHERE name = ? AND owner = ?"
            ).run(name, owner)
        })
    }

    countLeases(prefix: string, now: number, except = "") {
        return this.run(
            () =>
                (
                    this.statement(
                        "SELECT COUNT(*) AS n FROM leases WHERE name >= ? AND name < ? AND expires_at > ? AND name <> ?"
                    ).get(prefix, prefixEnd(prefix), now, except) as {
                        n: number
                    }
                ).n
        )
    }

    /** SQLite's `data_version`: it changes when another connection commits. */
    async changeMark(): Promise<string> {
        return String(this.db.pragma("data_version", { simple: true }))
    }

    async close() {
        while (this.gate.open) await this.gate.open
        if (!this.db.open) return
        this.db.close()
        if (--this.gate.users === 0 && this.gateKey) gates.delete(this.gateKey)
    }
}
