// The FleetStore contract against both backends: SQLite (embedded default)
// and PostgreSQL (a private server started here; a failure to start fails
// the tests). Also migrations of old SQLite files, leases, transactions
// across instances, and connection errors that keep the password secret.
import { test, before, after, describe } from "node:test"
import assert from "node:assert/strict"
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import Database from "better-sqlite3"
import pg from "pg"
import { SqliteStore } from "../../host/fleet/store/sqlite.ts"
import type { DeviceState, FleetStore } from "../../host/fleet/store/types.ts"
import { PostgresStore } from "../../host/fleet/store/postgres.ts"
import { openFleetStore } from "../../host/fleet/store/open.ts"
import { SCHEMA_VERSION } from "../../host/fleet/store/schema.ts"
import { desiredAndStateNow } from "../../host/fleet/rollout/desired.ts"
import {
    startLocalPostgres,
    type LocalPostgres,
} from "../../host/postgres/local-server.ts"

let dir: string
let server: LocalPostgres
let pgStartMs = 0
let dbCount = 0

before(async () => {
    dir = mkdtempSync(join(tmpdir(), "fleet-backends-"))
    const t = Date.now()
    server = await startLocalPostgres({ unsafeFast: true })
    pgStartMs = Date.now() - t
    console.log(`# test PostgreSQL started in ${pgStartMs} ms`)
})
after(async () => {
    await server?.stop({ remove: true })
    rmSync(dir, { recursive: true, force: true })
})

/** A fresh, empty PostgreSQL database on the test server; its URL. */
async function freshPgDatabase(): Promise<string> {
    const name = `t${++dbCount}`
    const c = new pg.Client({ connectionString: server.url })
    await c.connect()
    await c.query(`CREATE DATABASE ${name}`)
    await c.end()
    return server.url.replace(/\/fleet$/, `/${name}`)
}

/** Runs raw SQL on a store's database (to plant old rows). */
async function rawExec(s: FleetStore, sql: string) {
    if (s instanceof SqliteStore) s.db.exec(sql)
    else await (s as PostgresStore).pool.query(sql)
}

interface Backend {
    name: string
    /**
     * Two stores on one fresh database (two instances sharing it). With
     * `overlapping`, for transactions that overlap in time: SQLite gives
     * the same store twice, as two SqliteStores in one process deadlock (a
     * transaction that awaits holds the file's write lock while the other
     * one's BEGIN blocks the event loop); across processes SQLite's lock
     * serialises them.
     */
    pair(
        retention?: { maxEvents?: number; maxAgeMs?: number },
        overlapping?: boolean
    ): Promise<[FleetStore, FleetStore]>
}

const backends: Backend[] = [
    {
        name: "SQLite",
        async pair(retention, overlapping) {
            const file = join(dir, `s${++dbCount}.db`)
            if (overlapping) {
                const one = new SqliteStore(file, retention)
                return [one, one]
            }
            return [
                new SqliteStore(file, retention),
                new SqliteStore(file, retention),
            ]
        },
    },
    {
        name: "PostgreSQL",
        async pair(retention) {
            const url = await freshPgDatabase()
            return [
                await PostgresStore.open(url, retention),
                await PostgresStore.open(url, retention),
            ]
        },
    },
]

const version = (name: string, hash: string) => ({
    name,
    hash,
    size: 64,
    note: "n",
    publishedAt: 1_700_000_000_000,
    signature: "",
})

for (const b of backends)
    describe(`${b.name} store`, () => {
        test("unsettledStates: connected, deploying, or updated with health unknown; not the rest", async () => {
            const [s, other] = await b.pair()
            const patches: Record<string, Partial<DeviceState>> = {
                connected: { connected: true, connectedTo: "i1" },
                deploying: { lastDeployResult: "in-progress" },
                "updated-unknown": { lastDeployResult: "ok" },
                "updated-healthy": { lastDeployResult: "ok", health: "ok" },
                "failed-idle": { lastDeployResult: "failed" },
                "was-connected": { connected: false, lastSeen: 5 },
                idle: { currentHash: "aa" },
            }
            for (const [id, patch] of Object.entries(patches))
                await s.updateState(id, patch)
            // a row written before the state had a health field reads as unknown
            await rawExec(
                s,
                `INSERT INTO device_state (id, json) VALUES ('old-updated', '{"lastDeployResult":"ok"}')`
            )
            const ids = (await other.unsettledStates()).map(x => x.id)
            assert.deepEqual(ids, [
                "connected",
                "deploying",
                "old-updated",
                "updated-unknown",
            ])
            const all = new Map((await other.states()).map(x => [x.id, x]))
            for (const x of await other.unsettledStates())
                assert.deepEqual(
                    x,
                    all.get(x.id),
                    "the same records as states()"
                )
        })

        test("round-trips versions, devices, states, rollouts and events", async () => {
            const [s, other] = await b.pair()
            await s.addVersion(version("v1", "aa"))
            await s.setVersionSignature("v1", "sig")
            const image = Buffer.from([0, 1, 2, 255, 0, 128])
            await s.putImage("aa", image)
            await s.putImage("aa", Buffer.from([9])) // kept once
            assert.deepEqual(await other.image("aa"), image, "images: bytes")
            assert.equal(await other.image("bb"), undefined)
            await s.upsertDevice({
                id: "d1",
                key: "aa".repeat(32),
                groups: ["lab"],
                platformId: "pk/d1",
                createdAt: 1_700_000_000_123,
            })
            await s.updateState("d1", { connected: true, currentHash: "aa" })
            await s.updateState("d1", {
                lastError: "x",
                lastSeen: 1_700_000_000_999,
            })
            const r = await s.addRollout({
                version: "v1",
                scope: { kind: "all" },
                status: "active",
                createdAt: 10,
                updatedAt: 10,
                reason: "",
            })
            assert.equal(typeof r.id, "number")
            const u = await s.updateRollout(r.id, {
                status: "stopped",
                reason: "by hand",
                updatedAt: 11,
            })
            assert.equal(u.status, "stopped")
            await assert.rejects(s.updateRollout(999, {}), RangeError)
            await s.logEvent("d1", "connected", "")
            // the other instance sees it all
            assert.deepEqual(await other.versionByName("v1"), {
                ...version("v1", "aa"),
                signature: "sig",
            })
            assert.equal((await other.versionByHash("aa"))!.name, "v1")
            assert.equal(await other.versionByName("nope"), undefined)
            assert.equal((await other.versions()).length, 1)
            assert.deepEqual((await other.device("d1"))!.groups, ["lab"])
            assert.equal(
                (await other.device("d1"))!.createdAt,
                1_700_000_000_123
            )
            assert.equal((await other.devices()).length, 1)
            const st = await other.state("d1")
            assert.equal(st.connected, true)
            assert.equal(st.currentHash, "aa")
            assert.equal(st.lastError, "x")
            assert.equal(st.lastSeen, 1_700_000_000_999)
            assert.equal((await other.state("never")).health, "unknown")
            assert.equal((await other.states()).length, 1)
            assert.deepEqual(await other.rollouts(), [u])
            assert.equal((await other.events())[0].kind, "connected")
            assert.equal(await other.eventCount(), 1)
            await assert.rejects(
                s.addVersion(version("v1", "bb")),
                /unique/i,
                "a version name is published once"
            )
            await assert.rejects(
                s.addVersion(version("again", "aa")),
                /unique/i,
                "the same image under another name"
            )
            await s.close()
            await other.close()
        })

        test("the event log is bounded by count", async () => {
            const [s, o] = await b.pair({ maxEvents: 5 })
            for (let i = 0; i < 12; i++) await s.logEvent("d1", `e${i}`, "")
            assert.equal(await s.eventCount(), 5)
            assert.deepEqual(
                (await s.events()).map(e => e.kind),
                ["e7", "e8", "e9", "e10", "e11"]
            )
            assert.equal((await s.events(2)).length, 2)
            await s.close()
            await o.close()
        })

        test("the event log is bounded by age", async () => {
            const day = 24 * 3600 * 1000
            const [s, o] = await b.pair({ maxAgeMs: day })
            await rawExec(
                s,
                `INSERT INTO events (at, device_id, kind, detail) VALUES (${Date.now() - 2 * day}, 'd1', 'old', '')`
            )
            assert.equal(await s.eventCount(), 1)
            await s.logEvent("d1", "new", "")
            assert.deepEqual(
                (await s.events()).map(e => e.kind),
                ["new"],
                "older than the age limit: dropped"
            )
            await s.close()
            await o.close()
        })

        test("leases: take, refuse, renew, expire, release", async () => {
            const [s, o] = await b.pair()
            assert.equal(await s.lease("deploy:d1", "A", 1000, 0), true)
            assert.equal(await o.lease("deploy:d1", "B", 1000, 500), false)
            assert.equal(
                await s.lease("deploy:d1", "A", 1000, 900),
                true,
                "renew"
            )
            assert.equal(await o.lease("deploy:d1", "B", 1000, 1800), false)
            assert.equal(
                await o.lease("deploy:d1", "B", 1000, 1900),
                true,
                "expired"
            )
            assert.equal(await s.lease("deploy:d1", "A", 1000, 2000), false)
            await s.releaseLease("deploy:d1", "A") // not A's: no effect
            assert.equal(await s.lease("deploy:d1", "A", 1000, 2000), false)
            await o.releaseLease("deploy:d1", "B")
            assert.equal(await s.lease("deploy:d1", "A", 1000, 2000), true)
            await s.close()
            await o.close()
        })

        test("two owners racing for a lease: exactly one wins", async () => {
            const [s, o] = await b.pair()
            for (let round = 0; round < 10; round++) {
                const got = await Promise.all([
                    s.lease(`race${round}`, "A", 1000, 0),
                    o.lease(`race${round}`, "B", 1000, 0),
                ])
                assert.equal(got.filter(Boolean).length, 1, `round ${round}`)
            }
            await s.close()
            await o.close()
        })

        test("a throw inside a transaction rolls everything back", async () => {
            const [s, o] = await b.pair()
            await assert.rejects(
                s.atomically(async tx => {
                    await tx.updateState("d1", { connected: true })
                    await tx.logEvent("d1", "half", "")
                    await tx.atomically(async t2 => t2.lease("l", "A", 10, 0))
                    throw new Error("killed here")
                }),
                /killed here/
            )
            assert.equal((await o.state("d1")).connected, false)
            assert.ok(!(await o.events()).some(e => e.kind === "half"))
            assert.equal(await o.lease("l", "B", 10, 0), true)
            const out = await s.atomically(async tx => {
                await tx.updateState("d1", { connected: true })
                return tx.atomically(
                    async t2 => (await t2.state("d1")).connected
                )
            })
            assert.equal(out, true)
            await s.close()
            await o.close()
        })

        test("concurrent read-increment-write transactions from two instances serialise", async () => {
            const [s, o] = await b.pair({}, true)
            await s.updateState("c", { deployFailures: 0 })
            const bump = (st: FleetStore) =>
                st.atomically(async tx => {
                    const n = (await tx.state("c")).deployFailures
                    await new Promise(r => setTimeout(r, 1))
                    await tx.updateState("c", { deployFailures: n + 1 })
                })
            await Promise.all(
                Array.from({ length: 20 }, (_, i) => bump(i % 2 ? s : o))
            )
            assert.equal((await s.state("c")).deployFailures, 20)
            await s.close()
            if (o !== s) await o.close()
        })

        test("updateState merges concurrent patches from two instances", async () => {
            const [s, o] = await b.pair()
            await Promise.all([
                s.updateState("m", { connected: true }),
                o.updateState("m", { lastError: "boom" }),
                s.updateState("m", { currentHash: "h" }),
                o.updateState("m", { health: "ok" }),
            ])
            const st = await s.state("m")
            assert.equal(st.connected, true)
            assert.equal(st.lastError, "boom")
            assert.equal(st.currentHash, "h")
            assert.equal(st.health, "ok")
            await s.close()
            await o.close()
        })
    })

/** The schema the code created before migrations (CREATE IF NOT EXISTS). */
const OLD_SCHEMA = `
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
CREATE INDEX IF NOT EXISTS events_at ON events (at);
`

test("an SQLite file made by the old schema (no signature, no leases) opens and migrates", async () => {
    for (const withSignature of [false, true]) {
        const file = join(dir, `old-${withSignature}.db`)
        const old = new Database(file)
        old.exec(OLD_SCHEMA)
        if (withSignature)
            old.exec(
                "ALTER TABLE versions ADD COLUMN signature TEXT NOT NULL DEFAULT ''"
            )
        old.prepare(
            "INSERT INTO versions (name, hash, size, note, published_at) VALUES ('v1', 'aa', 64, '', 5)"
        ).run()
        old.close()
        const s = new SqliteStore(file)
        assert.equal((await s.versionByName("v1"))!.signature, "")
        assert.equal(await s.lease("x", "A", 10, 0), true)
        const applied = s.db
            .prepare("SELECT MAX(version) AS v FROM schema_migrations")
            .get() as { v: number }
        assert.equal(applied.v, SCHEMA_VERSION)
        await s.close()
        const again = new SqliteStore(file) // nothing left to apply
        assert.equal((await again.versions()).length, 1)
        await again.close()
    }
})

test("PostgreSQL: instances starting together migrate once; openFleetStore picks the backend", async () => {
    const url = await freshPgDatabase()
    const stores = await Promise.all(
        Array.from({ length: 4 }, () => openFleetStore(url))
    )
    assert.ok(stores.every(s => s instanceof PostgresStore))
    const c = new pg.Client({ connectionString: url })
    await c.connect()
    const r = await c.query(
        "SELECT version FROM schema_migrations ORDER BY version"
    )
    await c.end()
    assert.deepEqual(
        r.rows.map(x => x.version),
        Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1)
    )
    for (const s of stores) await s.close()
    const lite = await openFleetStore(":memory:")
    assert.ok(lite instanceof SqliteStore)
    await lite.close()
})

test("PostgreSQL: a read-only transaction waits for no transaction of the whole fleet, sees one snapshot, and may not write", async () => {
    const url = await freshPgDatabase()
    const [s, o] = await Promise.all([openFleetStore(url), openFleetStore(url)])
    try {
        await s.updateState("r", { currentHash: "old" })
        // another instance holds a transaction of the whole fleet open
        let finish!: () => void
        let entered!: () => void
        const inside = new Promise<void>(r => (entered = r))
        const held = o.atomically(async tx => {
            await tx.updateState("r", { currentHash: "new" })
            entered()
            await new Promise<void>(r => (finish = r))
        })
        await inside
        // a check-in's read (session.ts) runs meanwhile and sees what was committed
        const seen = (await desiredAndStateNow(s, "r")).state.currentHash
        assert.equal(seen, "old")
        finish()
        await held
        // one snapshot: a commit in between is not seen by the second read
        const reads = await s.atomically(
            async tx => {
                const first = (await tx.state("r")).currentHash
                await o.updateState("r", { currentHash: "newer" })
                return [first, (await tx.state("r")).currentHash]
            },
            { readOnly: true }
        )
        assert.deepEqual(reads, ["new", "new"])
        await assert.rejects(
            s.atomically(tx => tx.updateState("r", { health: "ok" }), {
                readOnly: true,
            }),
            /read-only transaction/
        )
        assert.equal((await s.state("r")).health, "unknown")
    } finally {
        await s.close()
        await o.close()
    }
})

test("an unreachable PostgreSQL: one clear line naming host and database, never the password", async () => {
    const secret = "s3cr3t-Pa55"
    const url = `postgres://fleet:${secret}@127.0.0.1:1/fleetdb`
    const err = await openFleetStore(url).then(
        () => assert.fail("opened"),
        e => e as Error
    )
    assert.match(err.message, /127\.0\.0\.1:1\/fleetdb/)
    assert.ok(!err.message.includes(secret), err.message)
    assert.ok(!err.message.includes("\n"))
    assert.ok(!String(err.stack).includes(secret))
    // a refused password: the message names the user's failure, not the secret
    const bad = server.url.replace(/\/\/[^@]*@/, `//nobody:${secret}@`)
    const err2 = await openFleetStore(bad).then(
        () => assert.fail("opened"),
        e => e as Error
    )
    assert.ok(!err2.message.includes(secret), err2.message)
})

test("the local PostgreSQL lets no one in without its password, which is kept 0600", async () => {
    assert.equal(statSync(server.passwordFile).mode & 0o777, 0o600)
    const password = readFileSync(server.passwordFile, "utf8").trim()
    assert.match(password, /^[0-9a-f]{48}$/)
    assert.ok(!server.publicUrl.includes(password), "printable URL")
    const as = (user: string, pw?: string) =>
        new pg.Client({
            host: "127.0.0.1",
            port: server.port,
            user,
            database: "fleet",
            password: pw,
        })
    for (const user of ["fleet", "postgres"]) {
        const c = as(user)
        // the server asks for a password (SCRAM), which pg cannot give
        await assert.rejects(
            c.connect(),
            /SASL.*client password must be a string/
        )
        await c.end().catch(() => {})
    }
    const wrong = as("fleet", "0".repeat(48))
    await assert.rejects(wrong.connect(), /password authentication failed/)
    await wrong.end().catch(() => {})
    const ok = as("fleet", password)
    await ok.connect()
    assert.equal((await ok.query("SELECT 1 AS one")).rows[0].one, 1)
    await ok.end()
})
