/** Brings a SQLite fleet database to the latest schema (see schema.ts). */
import type Database from "better-sqlite3"
import { MIGRATIONS, MIGRATIONS_TABLE_SQL, forDialect } from "./schema.ts"

/** Applies the migrations `db` lacks, each in its own transaction. */
export function migrateSqlite(db: Database.Database): void {
    db.exec(forDialect(MIGRATIONS_TABLE_SQL, "sqlite"))
    const done = new Set(
        (
            db.prepare("SELECT version FROM schema_migrations").all() as {
                version: number
            }[]
        ).map(r => r.version)
    )
    for (const m of MIGRATIONS) {
        if (done.has(m.version)) continue
        db.transaction(() => {
            if ("sql" in m) db.exec(forDialect(m.sql, "sqlite"))
            else {
                const { table, column, definition } = m.addColumn
                const cols = db
                    .prepare(`PRAGMA table_info(${table})`)
                    .all() as { name: string }[]
                if (!cols.some(c => c.name === column))
                    db.exec(
                        `ALTER TABLE ${table} ADD COLUMN ${column} ${definition}`
                    )
            }
            db.prepare(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)"
            ).run(m.version, m.name, Date.now())
        })()
    }
}
