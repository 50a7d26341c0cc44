/**
 * The fleet's records and the {@link FleetStore} interface that every
 * backend implements: SQLite (sqlite.ts, the embedded default) and
 * PostgreSQL (postgres.ts, for several service instances).
 */

/** A published firmware version. */
export interface VersionRecord {
    /** User's name for it, e.g. `v2` or `1.4.0` (unique). */
    name: string
    /** Program hash (see release/artifacts.ts), unique. */
    hash: string
    size: number
    note: string
    publishedAt: number
    /** Ed25519 release signature of the image, base64 (see release/signing.ts). */
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
    /** How many devices are registered. */
    deviceCount(): Promise<number>

    /** State of a device (a default one when never seen). */
    state(id: string): Promise<DeviceState>
    /** Merges `patch` into the device's state. */
    updateState(
        id: string,
        patch: Partial<Omit<DeviceState, "id">>
    ): Promise<DeviceState>
    states(): Promise<DeviceState[]>
    /**
     * The states recovery, shutdown and the health check look at: devices
     * connected, with a deploy in progress, or updated with their health
     * unknown; the rest of the fleet is not read.
     */
    unsettledStates(): Promise<DeviceState[]>

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
     * Leases whose name starts with `prefix` that have not expired at
     * `now`, leaving out `except` (a range of the leases' primary key, not
     * a read of the whole table).
     */
    countLeases(prefix: string, now: number, except?: string): Promise<number>

    /**
     * Runs `fn` as one transaction, serialised with every other transaction
     * on the store (by every instance that shares it): each change made
     * through `tx` is committed together or not at all. Inside, use `tx`
     * only; `tx.atomically` joins the outer transaction.
     *
     * With a `scope`, the transaction is serialised only with the
     * transactions of the same scope and with those that have none (a
     * backend may run scoped transactions of different devices side by
     * side): `fn` may then change only that device's state, its events and
     * its deploy lease (`{ device }`), or take a deploy lease after
     * counting them (`{ deploySlots: true }`). With `{ readOnly: true }`,
     * `fn` only reads, and sees one consistent view of the store without
     * waiting for any other transaction (a backend may serialise it all
     * the same).
     */
    atomically<T>(
        fn: (tx: FleetStore) => Promise<T>,
        scope?: TransactionScope
    ): Promise<T>

    /**
     * A mark that differs from the last one taken whenever another
     * connection (another process, another instance) may have committed a
     * change since: a view of the store (the console) reads it again only
     * then. Changes made through this store object need not change it.
     */
    changeMark(): Promise<string>

    close(): Promise<void>
}

/** What a transaction is limited to (see {@link FleetStore.atomically}). */
export type TransactionScope =
    | { device: string }
    | { deploySlots: true }
    | { readOnly: true }

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
