/**
 * Fleet state behind a small interface ({@link FleetStore}) so that a
 * server database can replace the embedded default ({@link SqliteStore},
 * SQLite through better-sqlite3) for large fleets.
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
} from "./store/rows.ts"
import { migrateSqlite } from "./store/sqlite-migrate.ts"

export { emptyState }

/** A published firmware version. */
export interface VersionRecord {
    /** User's name for it, e.g. `v2` or `1.4.0` (unique). */
    name: string
    /** Program hash (see artifacts.ts), unique. */
    hash: string
    size: number
    note: string
    publishedAt: number
    /** Ed25519 release signature of the image, base64 (see signing.ts). */
    signature: string
}

/** A registered device. */
export interface DeviceRecord {
    /** The device's id: the last part of its websocket path `/wssk/<id>`. */
    id: string
    /** 32-byte master key, hex (the secret in its connection string). */
    key: string
    /** Named groups, e.g. `["lab", "eu"]`. */
    groups: string[]
    /** The platform identity it reports as, `productKey/deviceName`, if known. */
    platformId: string
    createdAt: number
}

/** Deploy outcomes. */
export type DeployResult = "ok" | "failed" | "refused" | "in-progress"
/** Health after an update. */
export type Health = "ok" | "crashed" | "silent" | "unknown"

/** What the service last saw of a device. */
export interface DeviceState {
    id: string
    connected: boolean
    /**
     * Owner id of the service instance that holds the connection ("" when
     * none, or written before instances had ids): a disconnect on another
     * instance leaves `connected` alone.
     */
    connectedTo: string
    lastSeen: number
    /** Program hash the device last reported. */
    currentHash: string
    lastDeployResult: DeployResult | ""
    lastDeployAt: number
    /** Hash the last deploy was for. */
    lastDeployHash: string
    /** Owner id of the instance that ran (or runs) the last deploy ("" when unknown). */
    deployBy: string
    lastError: string
    lastErrorAt: number
    health: Health
    /** Last exception report text (program crash), trimmed. */
    lastException: string
    lastExceptionAt: number
    /** Failed deploys of `lastDeployHash` in a row. */
    deployFailures: number
}

/** Scope of a rollout. */
export type Scope =
    | { kind: "device"; value: string }
    | { kind: "group"; value: string }
    | { kind: "percent"; value: number }
    | { kind: "all" }

export type RolloutStatus = "active" | "stopped" | "rolled-back"

/** An assignment of a version to part of the fleet. */
export interface Rollout {
    id: number
    version: string
    scope: Scope
    status: RolloutStatus
    createdAt: number
    updatedAt: number
    /** Why it was stopped (by hand, or the breakage that stopped it). */
    reason: string
}

/**
 * Storage the service, the CLI and the console use. Every method is
 * asynchronous, so that a server database (PostgreSQL) can stand behind it;
 * several service instances may share one store.
 */
export interface FleetStore {
    addVersion(v: VersionRecord): Promise<void>
    versions(): Promise<VersionRecord[]>
    versionByName(name: string): Promise<VersionRecord | undefined>
    versionByHash(hash: string): Promise<VersionRecord | undefined>
    /** Records the release signature of a version published without one. */
    setVersionSignature(name: string, signature: string): Promise<void>
    /**
     * Keeps a published image under its hash, so that every instance
     * sharing the store can deploy it (the same image twice is kept once).
     */
    putImage(hash: string, image: Buffer): Promise<void>
    /** The image kept under `hash`, as stored: callers re-hash and re-check it. */
    image(hash: string): Promise<Buffer | undefined>

    upsertDevice(d: DeviceRecord): Promise<void>
    device(id: string): Promise<DeviceRecord | undefined>
    devices(): Promise<DeviceRecord[]>

    /** State of a device (a default one when never seen). */
    state(id: string): Promise<DeviceState>
    /** Merges `patch` into the device's state. */
    updateState(
        id: string,
        patch: Partial<Omit<DeviceState, "id">>
    ): Promise<DeviceState>
    states(): Promise<DeviceState[]>

    addRollout(r: Omit<Rollout, "id">): Promise<Rollout>
    updateRollout(
        id: number,
        patch: Partial<Omit<Rollout, "id">>
    ): Promise<Rollout>
    /** All rollouts, oldest first. */
    rollouts(): Promise<Rollout[]>

    /** Appends to the event log (shown by `fleet log`). */
    logEvent(deviceId: string, kind: string, detail: string): Promise<void>
    events(limit?: number): Promise<FleetEvent[]>
    /** Rows in the event log (bounded, see {@link EventRetention}). */
    eventCount(): Promise<number>

    /**
     * Takes the lease `name` for `owner` until `now + ttlMs`, or renews it
     * when `owner` holds it already. False when another owner holds it and
     * it has not expired. Used so that one instance of several deploys to a
     * device, and one runs the fleet's health check.
     */
    lease(
        name: string,
        owner: string,
        ttlMs: number,
        now: number
    ): Promise<boolean>
    /** Gives the lease `name` up, if `owner` holds it. */
    releaseLease(name: string, owner: string): Promise<void>

    /**
     * Runs `fn` as one transaction, serialised with every other transaction
     * on the store (by every instance that shares it): each change made
     * through `tx` is committed together or not at all. Inside, use `tx`
     * only; `tx.atomically` joins the outer transaction.
     */
    atomically<T>(fn: (tx: FleetStore) => Promise<T>): Promise<T>

    close(): Promise<void>
}

/** A row of the event log. */
export interface FleetEvent {
    at: number
    deviceId: string
    kind: string
    detail: string
}

/** How long the event log is kept. */
export interface EventRetention {
    /** At most this many rows (default 10 000). */
    maxEvents?: number
    /** Rows older than this are dropped (default 30 days). */
    maxAgeMs?: number
}

export const DEFAULT_EVENTS_MAX = 10_000
export const DEFAULT_EVENTS_MAX_AGE_MS = 30 * 24 * 3600 * 1000

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
    constructor(file: string, retention: EventRetention = {}) {
        this.maxEvents = retention.maxEvents ?? DEFAULT_EVENTS_MAX
        this.maxEventAgeMs = retention.maxAgeMs ?? DEFAULT_EVENTS_MAX_AGE_MS
        const onDisk = file !== ":memory:" && file !== ""
        if (onDisk) protectDatabaseFiles(file)
        this.db = new Database(file)
        this.db.pragma("journal_mode = WAL")
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

    /**
     * Runs a synchronous step once no transaction is open. The check and
     * the step run in one turn, so no transaction can open between them.
     */
    private async run<T>(step: () => T): Promise<T> {
        while (this.gate.open) await this.gate.open
        return step()
    }

    async atomically<T>(fn: (tx: FleetStore) => Promise<T>): Promise<T> {
        while (this.gate.open) await this.gate.open
        let done!: () => void
        this.gate.open = new Promise<void>(r => (done = r))
        // IMMEDIATE: another process sharing the file waits for the write lock now
        this.db.exec("BEGIN IMMEDIATE")
        try {
            const out = await fn(this.inside)
            this.db.exec("COMMIT")
            return out
        } catch (e) {
            if (this.db.inTransaction) this.db.exec("ROLLBACK")
            throw e
        } finally {
            this.gate.open = undefined
            done()
        }
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
            this.db
                .prepare(
                    "INSERT INTO versions (name, hash, size, note, published_at, signature) VALUES (?, ?, ?, ?, ?, ?)"
                )
                .run(v.name, v.hash, v.size, v.note, v.publishedAt, v.signature)
        })
    }
    versions() {
        return this.run(() =>
            this.db
                .prepare("SELECT * FROM versions ORDER BY published_at, rowid")
                .all()
                .map(rowToVersion)
        )
    }
    versionByName(name: string) {
        return this.run(() => {
            const r = this.db
                .prepare("SELECT * FROM versions WHERE name = ?")
                .get(name)
            return r ? rowToVersion(r) : undefined
        })
    }
    versionByHash(hash: string) {
        return this.run(() => {
            const r = this.db
                .prepare("SELECT * FROM versions WHERE hash = ?")
                .get(hash)
            return r ? rowToVersion(r) : undefined
        })
    }

    setVersionSignature(name: string, signature: string) {
        return this.run(() => {
            this.db
                .prepare("UPDATE versions SET signature = ? WHERE name = ?")
                .run(signature, name)
        })
    }

    putImage(hash: string, image: Buffer) {
        return this.run(() => {
            this.db
                .prepare(
                    "INSERT INTO images (hash, image) VALUES (?, ?) ON CONFLICT(hash) DO NOTHING"
                )
                .run(hash, image)
        })
    }
    image(hash: string) {
        return this.run(() => {
            const r = this.db
                .prepare("SELECT image FROM images WHERE hash = ?")
                .get(hash) as { image: Buffer } | undefined
            return r?.image
        })
    }

    upsertDevice(d: DeviceRecord) {
        return this.run(() => {
            this.db
                .prepare(
                    `INSERT INTO devices (id, key, groups_json, platform_id, created_at) VALUES (?, ?, ?, ?, ?)
                 ON CONFLICT(id) DO UPDATE SET key = excluded.key, groups_json = excluded.groups_json,
                 platform_id = excluded.platform_id`
                )
                .run(
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
            const r = this.db
                .prepare("SELECT * FROM devices WHERE id = ?")
                .get(id)
            return r ? rowToDevice(r) : undefined
        })
    }
    devices() {
        return this.run(() =>
            this.db
                .prepare("SELECT * FROM devices ORDER BY id")
                .all()
                .map(rowToDevice)
        )
    }

    state(id: string) {
        return this.run(() => this.stateNow(id))
    }
    private stateNow(id: string): DeviceState {
        const r = this.db
            .prepare("SELECT json FROM device_state WHERE id = ?")
            .get(id) as { json: string } | undefined
        return r ? toState(id, r.json) : emptyState(id)
    }
    updateState(id: string, patch: Partial<Omit<DeviceState, "id">>) {
        return this.run(() =>
            this.db.transaction(() => {
                const next = { ...this.stateNow(id), ...patch, id }
                this.db
                    .prepare(
                        "INSERT INTO device_state (id, json) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET json = excluded.json"
                    )
                    .run(id, JSON.stringify(next))
                return next
            })()
        )
    }
    states() {
        return this.run(() =>
            (
                this.db
                    .prepare("SELECT id, json FROM device_state ORDER BY id")
                    .all() as { id: string; json: string }[]
            ).map(r => toState(r.id, r.json))
        )
    }

    addRollout(r: Omit<Rollout, "id">) {
        return this.run(() => {
            const info = this.db
                .prepare(
                    "INSERT INTO rollouts (version, scope_json, status, created_at, updated_at, reason) VALUES (?, ?, ?, ?, ?, ?)"
                )
                .run(
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
        return this.run(() =>
            this.db.transaction(() => {
                const cur = this.rolloutsNow().find(r => r.id === id)
                if (!cur) throw new RangeError(`no rollout ${id}`)
                const n = { ...cur, ...patch, id }
                this.db
                    .prepare(
                        "UPDATE rollouts SET version = ?, scope_json = ?, status = ?, updated_at = ?, reason = ? WHERE id = ?"
                    )
                    .run(
                        n.version,
                        JSON.stringify(n.scope),
                        n.status,
                        n.updatedAt,
                        n.reason,
                        id
                    )
                return n
            })()
        )
    }
    rollouts() {
        return this.run(() => this.rolloutsNow())
    }
    private rolloutsNow(): Rollout[] {
        return this.db
            .prepare("SELECT * FROM rollouts ORDER BY id")
            .all()
            .map(rowToRollout)
    }

    /** Appends an event and drops the rows beyond the count and age limits. */
    logEvent(deviceId: string, kind: string, detail: string) {
        const at = Date.now()
        return this.run(() =>
            this.db.transaction(() => {
                const info = this.db
                    .prepare(
                        "INSERT INTO events (at, device_id, kind, detail) VALUES (?, ?, ?, ?)"
                    )
                    .run(at, deviceId, kind, detail)
                const seq = Number(info.lastInsertRowid)
                this.db
                    .prepare("DELETE FROM events WHERE seq <= ? OR at < ?")
                    .run(seq - this.maxEvents, at - this.maxEventAgeMs)
            })()
        )
    }
    /** Rows in the event log. */
    eventCount() {
        return this.run(
            () =>
                (
                    this.db
                        .prepare("SELECT COUNT(*) AS n FROM events")
                        .get() as { n: number }
                ).n
        )
    }
    events(limit = 100) {
        return this.run(() =>
            (
                this.db
                    .prepare("SELECT * FROM events ORDER BY seq DESC LIMIT ?")
                    .all(limit) as any[]
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
            const info = this.db
                .prepare(
                    `INSERT INTO leases (name, owner, expires_at) VALUES (?, ?, ?)
                     ON CONFLICT(name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
                     WHERE leases.owner = excluded.owner OR leases.expires_at <= ?`
                )
                .run(name, owner, now + ttlMs, now)
            return info.changes === 1
        })
    }
    releaseLease(name: string, owner: string) {
        return this.run(() => {
            this.db
                .prepare("DELETE FROM leases WHERE name = ? AND owner = ?")
                .run(name, owner)
        })
    }

    async close() {
        while (this.gate.open) await this.gate.open
        if (!this.db.open) return
        this.db.close()
        if (--this.gate.users === 0 && this.gateKey) gates.delete(this.gateKey)
    }
}
