/**
 * Where the machine's PostgreSQL server programs are (Debian's `postgresql`
 * package puts them under /usr/lib/postgresql/VERSION/bin, off PATH).
 */
import { spawnSync } from "node:child_process"
import { existsSync, readdirSync } from "node:fs"
import { join, resolve } from "node:path"

/** The directory holding `postgres`, `initdb` and `pg_ctl`, or undefined. */
export function findPostgresBin(): string | undefined {
    const root = "/usr/lib/postgresql"
    if (existsSync(root)) {
        const versions = readdirSync(root)
            .filter(v => existsSync(join(root, v, "bin", "pg_ctl")))
            .sort((a, b) => Number(b) - Number(a))
        if (versions.length) return join(root, versions[0], "bin")
    }
    const r = spawnSync("sh", ["-c", "command -v pg_ctl"], {
        encoding: "utf8",
    })
    const p = r.stdout.trim()
    return r.status === 0 && p ? resolve(p, "..") : undefined
}
