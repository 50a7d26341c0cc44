/**
 * A {@link FleetStore} in PostgreSQL, for several service instances that
 * share one database. Same schema and migrations as SQLite (store/schema.ts).
 */
import pg from "pg"
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
import { MIGRATIONS, MIGRATIONS_TABLE_SQL, forDialect } from "./schema.ts"
import { describeDatabase } from "./db-url.ts"
import {
    emptyState,
    rowToDevice,
    rowToRollout,
    rowToVersion,
    toState,
    UNSETTLED_POSTGRES,
} from "./rows.ts"

/**
 * Advisory lock key every store transaction takes: exclusively when it has
 * no scope (serialised with all), shared when it has one.
 */
export const TRANSACTION_LOCK = 0x666c_7478 // "fltx"
/** Advisory lock key of the transactions that count and take deploy slots. */
export const DEPLOY_SLOTS_LOCK = 0x666c_736c // "flsl"
/** Advisory lock key the migrations run under. */
export const MIGRATION_LOCK = 0x666c_6d67 // "flmg"

const INT8 = 20
/** int8 (BIGINT, COUNT) as a JS number: ms timestamps and ids fit in 2^53. */
const types = {
    getTypeParser: ((oid: number, format?: any) =>
        oid === INT8
            ? (v: string) => Number(v)
            : pg.types.getTypeParser(
                  oid,
                  format
              )) as typeof pg.types.getTypeParser,
}

type Queryable = pg.Pool | pg.PoolClient

/**
 * PostgreSQL store through a `pg.Pool`. Each top-level call is one
 * statement or its own transaction. {@link atomically} checks one client
 * out, opens a transaction and takes the transaction-scoped advisory lock
 * {@link TRANSACTION_LOCK}: every store transaction, by every instance
 * sharing the database, runs one at a time. Simple and correct; the
 * transactions are short (rollout decisions, deploy bookkeeping).
 */
export class PostgresStore implements FleetStore {
    private readonly maxEvents: number
    private readonly maxEventAgeMs: number
    /** Set on the view bound to an open transaction. */
    private client: pg.PoolClient | undefined

    private constructor(
        readonly pool: pg.Pool,
        /** Host, port and database, never the password (for messages). */
        readonly where: string,
        retention: EventRetention
    ) {
        this.maxEvents = retention.maxEvents ?? DEFAULT_EVENTS_MAX
        this.maxEventAgeMs = retention.maxAgeMs ?? DEFAULT_EVENTS_MAX_AGE_MS
    }

    /**
     * Connects to `url` (`postgres://user:password@host:port/db`) and brings
     * the schema up to date (under an advisory lock, so instances starting
     * together do not race). Throws a one-line error naming host and
     * database, never the password, when it cannot.
     */
    static async open(
        url: string,
        retention: EventRetention = {},
        poolOptions: pg.PoolConfig = {}
    ): Promise<PostgresStore> {
        const where = describeDatabase(url)
        const pool = new pg.Pool({
            connectionString: url,
            connectionTimeoutMillis: 10_000,
            // nothing the store does waits for ever: the server cancels a
            // statement (a lock wait included) after 30 s, the client gives
            // up on a silent server after 40 s, and a transaction left idle
            // by a hung caller is ended after 60 s (its locks released)
            statement_timeout: 30_000,
            query_timeout: 40_000,
            idle_in_transaction_session_timeout: 60_000,
            ...poolOptions,
            types,
        })
        // an idle client losing its connection must not crash the process
        pool.on("error", e =>
            console.error(`fleet: PostgreSQL ${where}: ${e.message}`)
        )
        const store = new PostgresStore(pool, where, retention)
        try {
            await store.migrate()
        } catch (e) {
            await pool.end().catch(() => {})
            throw new Error(
                `cannot open the fleet database PostgreSQL ${where}: ${oneLine(e, url)}`
            )
        }
        return store
    }

    private async migrate() {
        const c = await this.pool.connect()
        try {
            await c.query("BEGIN")
            await c.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK])
            await c.query(forDialect(MIGRATIONS_TABLE_SQL, "postgres"))
            const done = new Set(
                (
                    await c.query("SELECT version FROM schema_migrations")
                ).rows.map(r => r.version)
            )
            for (const m of MIGRATIONS) {
                if (done.has(m.version)) continue
                if ("sql" in m) await c.query(forDialect(m.sql, "postgres"))
                else {
                    const { table, column, definition } = m.addColumn
                    await c.query(
                        `ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS ${column} ${definition}`
                    )
                }
                await c.query(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                    [m.version, m.name, Date.now()]
                )
            }
            await c.query("COMMIT")
        } catch (e) {
            await c.query("ROLLBACK").catch(() => {})
            throw e
        } finally {
            c.release()
        }
    }

    private get db(): Queryable {
        return this.client ?? this.pool
    }
    private async rows(sql: string, params: unknown[] = []): Promise<any[]> {
        return (await this.db.query(sql, params)).rows
    }

    /**
     * Without a scope, the advisory lock {@link TRANSACTION_LOCK} held
     * exclusively: serialised with every transaction. With one, that lock
     * shared (so an unscoped transaction still waits for it alone), then
     * the device's row locked (`SELECT ... FOR UPDATE`) or, for the deploy
     * slots, the advisory lock {@link DEPLOY_SLOTS_LOCK}: transactions of
     * different devices run side by side, on every instance. A read-only
     * one takes no lock: one snapshot (REPEATABLE READ), and the server
     * refuses a write in it.
     */
    async atomically<T>(
        fn: (tx: FleetStore) => Promise<T>,
        scope?: TransactionScope
    ): Promise<T> {
        if (this.client) return fn(this)
        const client = await this.pool.connect()
        const view: PostgresStore = Object.create(this)
        view.client = client
        try {
            if (scope && "readOnly" in scope)
                await client.query(
                    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
                )
            else await client.query("BEGIN")
            if (!scope)
                await client.query("SELECT pg_advisory_xact_lock($1)", [
                    TRANSACTION_LOCK,
                ])
            else if ("device" in scope) {
                await client.query("SELECT pg_advisory_xact_lock_shared($1)", [
                    TRANSACTION_LOCK,
                ])
                await client.query(
                    "SELECT id FROM devices WHERE id = $1 FOR UPDATE",
                    [scope.device]
                )
            } else if ("deploySlots" in scope)
                await client.query(
                    "SELECT pg_advisory_xact_lock_shared($1), pg_advisory_xact_lock($2)",
                    [TRANSACTION_LOCK, DEPLOY_SLOTS_LOCK]
                )
            const out = await fn(view)
            await client.query("COMMIT")
            return out
        } catch (e) {
            await client.query("ROLLBACK").catch(() => {})
            throw e
        } finally {
            view.client = undefined
            client.release()
        }
    }

    async addVersion(v: VersionRecord) {
        await this.db.query(
            "INSERT INTO versions (name, hash, size, note, published_at, signature) VALUES ($1, $2, $3, $4, $5, $6)",
            [v.name, v.hash, v.size, v.note, v.publishedAt, v.signature]
        )
    }
    async versions() {
        return (
            await this.rows(
                "SELECT * FROM versions ORDER BY published_at, name"
            )
        ).map(rowToVersion)
    }
    async versionByName(name: string) {
        const [r] = await this.rows("SELECT * FROM versions WHERE name = $1", [
            name,
        ])
        return r ? rowToVersion(r) : undefined
    }
    async versionByHash(hash: string) {
        const [r] = await this.rows("SELECT * FROM versions WHERE hash = $1", [
            hash,
        ])
        return r ? rowToVersion(r) : undefined
    }
    async setVersionSignature(name: string, signature: string) {
        await this.db.query(
            "UPDATE versions SET signature = $1 WHERE name = $2",
            [signature, name]
        )
    }

    async putImage(hash: string, image: Buffer) {
        await this.db.query(
            "INSERT INTO images (hash, image) VALUES ($1, $2) ON CONFLICT (hash) DO NOTHING",
            [hash, image]
        )
    }
    async image(hash: string) {
        const res = await this.db.query(
            "SELECT image FROM images WHERE hash = $1",
            [hash]
        )
        return res.rows.length ? (res.rows[0].image as Buffer) : undefined
    }

    async upsertDevice(d: DeviceRecord) {
        await this.db.query(
            `INSERT INTO devices (id, key, groups_json, platform_id, created_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (id) DO UPDATE SET key = excluded.key, groups_json = excluded.groups_json,
             platform_id = excluded.platform_id`,
            [d.id, d.key, JSON.stringify(d.groups), d.platformId, d.createdAt]
        )
    }
    async device(id: string) {
        const [r] = await this.rows("SELECT * FROM devices WHERE id = $1", [id])
        return r ? rowToDevice(r) : undefined
    }
    async devices() {
        return (await this.rows("SELECT * FROM devices ORDER BY id")).map(
            rowToDevice
        )
    }

    async deviceCount() {
        const [r] = await this.rows("SELECT COUNT(*) AS n FROM devices")
        return r.n as number
    }

    async state(id: string) {
        const [r] = await this.rows(
            "SELECT json FROM device_state WHERE id = $1",
            [id]
        )
        return r ? toState(id, r.json) : emptyState(id)
    }
    /** One statement: the patch is merged into the stored JSON (jsonb `||`). */
    async updateState(id: string, patch: Partial<Omit<DeviceState, "id">>) {
        const [r] = await this.rows(
            `INSERT INTO device_state (id, json) VALUES ($1, $2)
             ON CONFLICT (id) DO UPDATE SET json = (device_state.json::jsonb || excluded.json::jsonb)::text
             RETURNING json`,
            [id, JSON.stringify(patch)]
        )
        return toState(id, r.json)
    }
    async states() {
        return (
            await this.rows("SELECT id, json FROM device_state ORDER BY id")
        ).map(r => toState(r.id, r.json))
    }

    async unsettledStates() {
        return (
            await this.rows(
                `SELECT id, json FROM device_state WHERE ${UNSETTLED_POSTGRES} ORDER BY id`
            )
        ).map(r => toState(r.id, r.json))
    }

    async addRollout(r: Omit<Rollout, "id">) {
        const [row] = await this.rows(
            "INSERT INTO rollouts (version, scope_json, status, created_at, updated_at, reason) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            [
                r.version,
                JSON.stringify(r.scope),
                r.status,
                r.createdAt,
                r.updatedAt,
                r.reason,
            ]
        )
        return { ...r, id: row.id }
    }
    updateRollout(id: number, patch: Partial<Omit<Rollout, "id">>) {
        return this.atomically(async tx => {
            const self = tx as PostgresStore
            // the row locked until the update commits (a conditional write)
            const [cur] = await self.rows(
                "SELECT * FROM rollouts WHERE id = $1 FOR UPDATE",
                [id]
            )
            if (!cur) throw new RangeError(`no rollout ${id}`)
            const n = { ...rowToRollout(cur), ...patch, id }
            await self.db.query(
                "UPDATE rollouts SET version = $1, scope_json = $2, status = $3, updated_at = $4, reason = $5 WHERE id = $6",
                [
                    n.version,
                    JSON.stringify(n.scope),
                    n.status,
                    n.updatedAt,
                    n.reason,
                    id,
                ]
            )
            return n
        })
    }
    async rollouts() {
        return (await this.rows("SELECT * FROM rollouts ORDER BY id")).map(
            rowToRollout
        )
    }

    /**
     * Appends an event and, in the same statement, drops the rows beyond
     * the count and age limits.
     */
    async logEvent(deviceId: string, kind: string, detail: string) {
        const at = Date.now()
        await this.db.query(
            `WITH ins AS (
                INSERT INTO events (at, device_id, kind, detail) VALUES ($1, $2, $3, $4) RETURNING seq)
             DELETE FROM events WHERE seq <= (SELECT seq FROM ins) - $5 OR at < $6`,
            [
                at,
                deviceId,
                kind,
                detail,
                this.maxEvents,
                at - this.maxEventAgeMs,
            ]
        )
    }
    async events(limit = 100): Promise<FleetEvent[]> {
        return (
            await this.rows("SELECT * FROM events ORDER BY seq DESC LIMIT $1", [
                limit,
            ])
        )
            .reverse()
            .map(r => ({
                at: r.at,
                deviceId: r.device_id,
                kind: r.kind,
                detail: r.detail,
            }))
    }
    async eventCount() {
        const [r] = await this.rows("SELECT COUNT(*) AS n FROM events")
        return r.n as number
    }

    /** One atomic UPSERT: taken when free, expired, or already ours. */
    async lease(name: string, owner: string, ttlMs: number, now: number) {
        const res = await this.db.query(
            `INSERT INTO leases (name, owner, expires_at) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
             WHERE leases.owner = excluded.owner OR leases.expires_at <= $4
             RETURNING name`,
            [name, owner, now + ttlMs, now]
        )
        return res.rowCount === 1
    }
    async releaseLease(name: string, owner: string) {
        await this.db.query(
            "DELETE FROM leases WHERE name = $1 AND owner = $2",
            [name, owner]
        )
    }

    /** `starts_with`, not a range: a locale collation may not order by code point. */
    async countLeases(prefix: string, now: number, except = "") {
        const [r] = await this.rows(
            `SELECT COUNT(*) AS n FROM leases
             WHERE starts_with(name, $1) AND expires_at > $2 AND name <> $3`,
            [prefix, now, except]
        )
        return r.n as number
    }

    /**
     * The server's current snapshot (`xmin:xmax:in-progress ids`): it moves
     * whenever a transaction that writes starts or ends, in any database of
     * the server (a change elsewhere costs a needless re-read, nothing more).
     */
    async changeMark(): Promise<string> {
        const [r] = await this.rows(
            "SELECT pg_current_snapshot()::text AS mark"
        )
        return r.mark
    }

    async close() {
        if (this.client) return // a transaction's view: the store owns the pool
        await this.pool.end()
    }
}

/** An error's message on one line, with `url` (and its password) taken out. */
function oneLine(e: unknown, url: string): string {
    let msg = e instanceof Error ? e.message : String(e)
    if ((e as any)?.code && !msg.includes((e as any).code))
        msg = `${(e as any).code} ${msg}`
    msg = msg.split(url).join("<url>")
    try {
        const pw = decodeURIComponent(new URL(url).password)
        if (pw) msg = msg.split(pw).join("***")
    } catch {}
    return msg.replace(/\s+/g, " ").trim() || "unknown error"
}
