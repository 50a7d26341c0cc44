/**
 * Stores that several service instances share, for the multi-instance
 * tests: a factory opens a new connection to one database each call, as
 * each instance (process) has its own. SQLite here: one file, one
 * SqliteStore per instance (BEGIN IMMEDIATE and busy_timeout serialise
 * them). A server database adds its factory to {@link SHARED_STORES}.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { SqliteStore, type FleetStore } from "../../host/fleet/storage.ts"

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

/** Every kind of shared database the multi-instance tests run on. */
export const SHARED_STORES: SharedStoreKind[] = [
    { name: "SQLite", create: sharedSqlite },
]
