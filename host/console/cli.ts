/**
 * `npm run console -- [--state DIR] [--db URL] [--port P] [--listen ADDR]
 *     [--platform-admin URL] [--release-key PUB] [--readings N]`
 *
 * A web console for the fleet: devices, rollouts and versions from the
 * fleet state in DIR (default `state/fleet`, the same database as `npm run
 * fleet`: the directory's `fleet.db`, or `--db`, a PostgreSQL URL or a
 * SQLite file), and, with `--platform-admin` (the emulator's admin API, e.g.
 * http://127.0.0.1:8444), each device's readings as live charts. Prints its
 * URL with the access token, `http://127.0.0.1:PORT/?token=...`; every
 * request needs the token. Listens on 127.0.0.1 (default port 7080; 0: a
 * free one). Version signatures are checked with `--release-key` (default
 * the key `fleet keygen` wrote, when present). `--readings N`: readings kept
 * per device (default 300).
 */
import { existsSync } from "node:fs"
import { join } from "node:path"
import {
    ArtifactStore,
    controlSocketPath,
    defaultKeyDir,
    loadPublicKey,
    prepareStateDir,
    PUBLIC_KEY_FILE,
    openFleetStore,
    redactUrl,
} from "../fleet/index.ts"
import { startConsole } from "./server.ts"
import { exitOnSignal } from "../lib/exit-on-signal.ts"
import { readCommandLine } from "../lib/args.ts"
import { CONSOLE_COMMAND } from "./command.ts"

function wholeNumber(name: string, v: string | undefined, dflt: number) {
    if (v === undefined) return dflt
    const n = Number(v)
    if (!Number.isInteger(n) || n < 0)
        throw new RangeError(`--${name}: a whole number, not ${v}`)
    return n
}

async function main() {
    const { values: o } = readCommandLine(CONSOLE_COMMAND, "console")
    process.umask(0o077)
    const note = prepareStateDir(o.state)
    if (note) console.error(`console: ${note}`)
    if (o["platform-admin"]) new URL(o["platform-admin"]) // a bad URL stops here
    const keyFile = o["release-key"] ?? join(defaultKeyDir(), PUBLIC_KEY_FILE)
    if (o["release-key"] && !existsSync(keyFile))
        throw new RangeError(`--release-key ${keyFile}: no such file`)
    const db = o.db ?? join(o.state, "fleet.db")
    if (!o.db && !existsSync(db))
        console.error(
            `console: no fleet database in ${o.state} yet (nothing published or registered there): the fleet view starts empty`
        )
    const store = await openFleetStore(db)
    const c = await startConsole({
        store,
        artifacts: new ArtifactStore(join(o.state, "artifacts")),
        releaseKey: existsSync(keyFile) ? loadPublicKey(keyFile) : undefined,
        controlSocket: controlSocketPath(o.state),
        platformAdmin: o["platform-admin"],
        port: wholeNumber("port", o.port, 7080),
        listen: o.listen,
        keepReadings: wholeNumber("readings", o.readings, 300) || 300,
        log: l => console.log(`${new Date().toISOString()} ${l}`),
    })
    exitOnSignal(async () => {
        await c.close()
        await store.close()
    })
    if (!/^(127\.\d+\.\d+\.\d+|::1|localhost)$/.test(o.listen))
        console.error(
            `console: listening on ${o.listen}, not loopback: whoever reaches it with the token can act, over plain HTTP`
        )
    console.log(
        `console for ${o.state}${o.db ? ` (database ${redactUrl(o.db)})` : ""}${o["platform-admin"] ? ` and readings from ${o["platform-admin"]}` : ""}; open:\n    ${c.url}`
    )
}

main().catch(e => {
    console.error(`console: ${(e as Error).message}`)
    process.exit(1)
})
