/**
 * `npm run postgres -- [--dir state/postgres] [--port N]`: a local
 * PostgreSQL in the foreground for trying the fleet on it; prints the
 * `--db` URL to use and how to put the password (kept 0600 in the
 * directory) in `PGPASSWORD`, and stops the server on Ctrl-C / SIGTERM.
 */
import { existsSync } from "node:fs"
import { join } from "node:path"
import { exitOnSignal } from "../lib/exit-on-signal.ts"
import { readCommandLine } from "../lib/args.ts"
import { startLocalPostgres } from "./local-server.ts"
import { POSTGRES_COMMAND } from "./command.ts"

const { values } = readCommandLine(POSTGRES_COMMAND, "postgres")
const port = values.port === undefined ? undefined : Number(values.port)
if (
    port !== undefined &&
    !(Number.isInteger(port) && port > 0 && port < 65536)
) {
    console.error(`postgres: --port ${values.port}: not a TCP port`)
    process.exit(2)
}
try {
    const server = await startLocalPostgres({ dir: values.dir, port })
    exitOnSignal(() => server.stop())
    console.log(`PostgreSQL is running (data in ${server.dir}); use:`)
    console.log(`    export PGPASSWORD=$(cat ${server.passwordFile})`)
    console.log(`    --db ${server.publicUrl}`)
    console.log("Ctrl-C stops it.")
    // pg_ctl runs the server in the background: stay until a signal, or
    // until the server is gone
    setInterval(() => {
        if (!existsSync(join(server.dir, "data", "postmaster.pid"))) {
            console.error("postgres: the server stopped")
            process.exit(1)
        }
    }, 2000)
} catch (e) {
    console.error((e as Error).message)
    process.exit(1)
}
