/**
 * Stores that several service instances share, for the multi-instance
 * tests: a factory opens a new connection to one database each call, as
 * each instance (process) has its own. SQLite here: one file, one
 * SqliteStore per instance (BEGIN IMMEDIATE and busy_timeout serialise
 * them). PostgreSQL: a private server (started once, on first use), a
 * fresh database per test, one PostgresStore (pool) per instance.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import pg from "pg"
import { PostgresStore } from "../../host/fleet/store/postgres.ts"
import { SqliteStore } from "../../host/fleet/store/sqlite.ts"
import type { FleetStore } from "../../host/fleet/store/types.ts"
import {
    startLocalPostgres,
    type LocalPostgres,
} from "../../host/postgres/local-server.ts"

/** One shared database: `open` gives a new connection to it. */
export interface SharedStore {
    open(): Promise<FleetStore>
    /** Closes what `open` gave and deletes the database. */
    remove(): Promise<void>
}

/** A factory of shared databases, by name (test titles carry it). */
export interface SharedStoreKind {
    name: string
    create(): Promise<SharedStore>
}

/** A new SQLite file in a temporary directory. */
export async function sharedSqlite(): Promise<SharedStore> {
    const dir = mkdtempSync(join(tmpdir(), "fleet-shared-"))
    const opened: FleetStore[] = []
    return {
        async open() {
            const s = new SqliteStore(join(dir, "fleet.db"))
            opened.push(s)
            return s
        },
        async remove() {
            for (const s of opened) await s.close().catch(() => {})
            rmSync(dir, { recursive: true, force: true })
        },
    }
}

let server: Promise<LocalPostgres> | undefined
let databases = 0

/** A fresh database on the test PostgreSQL server (started on first use). */
export async function sharedPostgres(): Promise<SharedStore> {
    server ??= startLocalPostgres({ unsafeFast: true })
    const { url } = await server
    const name = `shared${++databases}`
    const c = new pg.Client({ connectionString: url })
    await c.connect()
    await c.query(`CREATE DATABASE ${name}`)
    await c.end()
    const dbUrl = url.replace(/\/[^/]*$/, `/${name}`)
    const opened: FleetStore[] = []
    return {
        async open() {
            const s = await PostgresStore.open(dbUrl)
            opened.push(s)
            return s
        },
        async remove() {
            for (const s of opened) await s.close().catch(() => {})
        },
    }
}

/** Stops the PostgreSQL server, when one was started (call in `after`). */
export async function stopSharedStores() {
    if (server) await (await server).stop({ remove: true })
    server = undefined
}

/** Every kind of shared database the multi-instance tests run on. */
export const SHARED_STORES: SharedStoreKind[] = [
    { name: "SQLite", create: sharedSqlite },
    { name: "PostgreSQL", create: sharedPostgres },
]
