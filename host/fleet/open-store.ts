/** Opens the fleet store a `--db` value names. */
import { PostgresStore } from "./postgres-store.ts"
import { SqliteStore, type EventRetention, type FleetStore } from "./storage.ts"
import { isPostgresUrl } from "./store/db-url.ts"

/**
 * `postgres://…` or `postgresql://…`: a {@link PostgresStore}; anything
 * else: the path of a SQLite file (the embedded default).
 */
export async function openFleetStore(
    db: string,
    retention?: EventRetention
): Promise<FleetStore> {
    if (isPostgresUrl(db)) return PostgresStore.open(db, retention)
    return new SqliteStore(db, retention)
}
