/** Opens the fleet store a `--db` value names. */
import { PostgresStore } from "./postgres.ts"
import { SqliteStore, type SqliteOptions } from "./sqlite.ts"
import type { EventRetention, FleetStore } from "./types.ts"
import { isPostgresUrl } from "./db-url.ts"

/**
 * `postgres://…` or `postgresql://…`: a {@link PostgresStore}; anything
 * else: the path of a SQLite file (the embedded default), with `sqlite`'s
 * options.
 */
export async function openFleetStore(
    db: string,
    retention?: EventRetention,
    sqlite?: SqliteOptions
): Promise<FleetStore> {
    if (isPostgresUrl(db)) return PostgresStore.open(db, retention)
    return new SqliteStore(db, retention, sqlite)
}
