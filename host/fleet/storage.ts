/**
 * Fleet state behind a small interface ({@link FleetStore}) so that a
 * server database can replace the embedded default ({@link SqliteStore},
 * SQLite through better-sqlite3) for large fleets.
 */
import Database from "better-sqlite3"

/** A published firmware version. */
export interface VersionRecord {
    /** User's name for it, e.g. `v2` or `1.4.0` (unique). */
    name: string
    /** Program hash (see artifacts.ts), unique. */
    hash: string
    size: number
    note: string
    publishedAt: number
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
    lastSeen: number
    /** Program hash the device last reported. */
    currentHash: string
    lastDeployResult: DeployResult | ""
    lastDeployAt: number
    /** Hash the last deploy was for. */
    lastDeployHash: string
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

/** Storage the service and the CLI use. Every method is synchronous. */
export interface FleetStore {
    addVersion(v: VersionRecord): void
    versions(): VersionRecord[]
    versionByName(name: string): VersionRecord | undefined
    versionByHash(hash: string): VersionRecord | undefined

    upsertDevice(d: DeviceRecord): void
    device(id: string): DeviceRecord | undefined
    devices(): DeviceRecord[]

    /** State of a device (a default one when never seen). */
    state(id: string): DeviceState
    /** Merges `patch` into the device's state. */
    updateState(
        id: string,
        patch: Partial<Omit<DeviceState, "id">>
    ): DeviceState
    states(): DeviceState[]

    addRollout(r: Omit<Rollout, "id">): Rollout
    updateRollout(id: number, patch: Partial<Omit<Rollout, "id">>): Rollout
    /** All rollouts, oldest first. */
    rollouts(): Rollout[]

    /** Appends to the event log (shown by `fleet log`). */
    logEvent(deviceId: string, kind: string, detail: string): void
    events(
        limit?: number
    ): { at: number; deviceId: string; kind: string; detail: string }[]

    close(): void
}

/** A fresh state record. */
export function emptyState(id: string): DeviceState {
    return {
        id,
        connected: false,
        lastSeen: 0,
        currentHash: "",
        lastDeployResult: "",
        lastDeployAt: 0,
        lastDeployHash: "",
        lastError: "",
        lastErrorAt: 0,
        health: "unknown",
        lastException: "",
        lastExceptionAt: 0,
        deployFailures: 0,
    }
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS versions (
    name TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, size INTEGER NOT NULL,
    note TEXT NOT NULL, published_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS devices (
    id TEXT PRIMARY KEY, key TEXT NOT NULL, groups_json TEXT NOT NULL,
    platform_id TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS device_state (
    id TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rollouts (
    id INTEGER PRIMARY KEY AUTOINCREMENT, version TEXT NOT NULL REFERENCES versions(name),
    scope_json TEXT NOT NULL, status TEXT NOT NULL, created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL, reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, device_id TEXT NOT NULL,
    kind TEXT NOT NULL, detail TEXT NOT NULL);
`

/** The default store: one SQLite file (`:memory:` for tests). */
export class SqliteStore implements FleetStore {
    readonly db: Database.Database

    constructor(file: string) {
        this.db = new Database(file)
        this.db.pragma("journal_mode = WAL")
        this.db.pragma("busy_timeout = 5000")
        this.db.pragma("foreign_keys = ON")
        this.db.exec(SCHEMA)
    }

    addVersion(v: VersionRecord) {
        this.db
            .prepare(
                "INSERT INTO versions (name, hash, size, note, published_at) VALUES (?, ?, ?, ?, ?)"
            )
            .run(v.name, v.hash, v.size, v.note, v.publishedAt)
    }
    versions(): VersionRecord[] {
        return this.db
            .prepare("SELECT * FROM versions ORDER BY published_at, rowid")
            .all()
            .map(rowToVersion)
    }
    versionByName(name: string) {
        const r = this.db
            .prepare("SELECT * FROM versions WHERE name = ?")
            .get(name)
        return r ? rowToVersion(r) : undefined
    }
    versionByHash(hash: string) {
        const r = this.db
            .prepare("SELECT * FROM versions WHERE hash = ?")
            .get(hash)
        return r ? rowToVersion(r) : undefined
    }

    upsertDevice(d: DeviceRecord) {
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
    }
    device(id: string) {
        const r = this.db.prepare("SELECT * FROM devices WHERE id = ?").get(id)
        return r ? rowToDevice(r) : undefined
    }
    devices(): DeviceRecord[] {
        return this.db
            .prepare("SELECT * FROM devices ORDER BY id")
            .all()
            .map(rowToDevice)
    }

    state(id: string): DeviceState {
        const r = this.db
            .prepare("SELECT json FROM device_state WHERE id = ?")
            .get(id) as { json: string } | undefined
        return r
            ? { ...emptyState(id), ...JSON.parse(r.json), id }
            : emptyState(id)
    }
    updateState(
        id: string,
        patch: Partial<Omit<DeviceState, "id">>
    ): DeviceState {
        const next = { ...this.state(id), ...patch, id }
        this.db
            .prepare(
                "INSERT INTO device_state (id, json) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET json = excluded.json"
            )
            .run(id, JSON.stringify(next))
        return next
    }
    states(): DeviceState[] {
        return (
            this.db
                .prepare("SELECT id FROM device_state ORDER BY id")
                .all() as { id: string }[]
        ).map(r => this.state(r.id))
    }

    addRollout(r: Omit<Rollout, "id">): Rollout {
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
    }
    updateRollout(id: number, patch: Partial<Omit<Rollout, "id">>): Rollout {
        const cur = this.rollouts().find(r => r.id === id)
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
    }
    rollouts(): Rollout[] {
        return this.db
            .prepare("SELECT * FROM rollouts ORDER BY id")
            .all()
            .map((r: any) => ({
                id: r.id,
                version: r.version,
                scope: JSON.parse(r.scope_json),
                status: r.status,
                createdAt: r.created_at,
                updatedAt: r.updated_at,
                reason: r.reason,
            }))
    }

    logEvent(deviceId: string, kind: string, detail: string) {
        this.db
            .prepare(
                "INSERT INTO events (at, device_id, kind, detail) VALUES (?, ?, ?, ?)"
            )
            .run(Date.now(), deviceId, kind, detail)
    }
    events(limit = 100) {
        return (
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
    }

    close() {
        this.db.close()
    }
}

function rowToVersion(r: any): VersionRecord {
    return {
        name: r.name,
        hash: r.hash,
        size: r.size,
        note: r.note,
        publishedAt: r.published_at,
    }
}

function rowToDevice(r: any): DeviceRecord {
    return {
        id: r.id,
        key: r.key,
        groups: JSON.parse(r.groups_json),
        platformId: r.platform_id,
        createdAt: r.created_at,
    }
}
