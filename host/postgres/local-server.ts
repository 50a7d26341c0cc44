/**
 * A private PostgreSQL server from the machine's binaries (Debian's
 * `postgresql` package), for the tests and for trying the fleet on
 * PostgreSQL: `startLocalPostgres({ dir })`.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import {
    chmodSync,
    chownSync,
    existsSync,
    mkdirSync,
    mkdtempSync,
    readdirSync,
    readFileSync,
    rmSync,
    writeFileSync,
} from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import pg from "pg"
import { findPostgresBin } from "./find-bin.ts"

export interface LocalPostgresOptions {
    /** Where the data directory lives (created; a temporary one when absent). */
    dir?: string
    /** TCP port on 127.0.0.1 (a free one when absent). */
    port?: number
    /** Database to create (default `fleet`). */
    database?: string
    /** fsync off: fast, for tests only (a crash may lose data). */
    unsafeFast?: boolean
    /** How long to wait for the server to accept connections (default 60 s). */
    timeoutMs?: number
}

export interface LocalPostgres {
    /**
     * `postgres://fleet:PASSWORD@127.0.0.1:PORT/DB`, to connect from this
     * process (never put it on another command line: `ps` shows it).
     */
    url: string
    /** The same without the password, to print and to pass to a process. */
    publicUrl: string
    /** The file (0600) that holds the password, for `PGPASSWORD`. */
    passwordFile: string
    port: number
    dir: string
    /** Fast shutdown; removes the data directory when `remove` is true. */
    stop(opts?: { remove?: boolean }): Promise<void>
}

const USER = "fleet"

/** Who may connect: the unix socket (in a 0700 directory) and loopback with the password. */
const HBA =
    "local all all trust\n" +
    "host all all 127.0.0.1/32 scram-sha-256\n" +
    "host all all ::1/128 scram-sha-256\n"

/**
 * The server's password, kept 0600 in `dir/password` (made on first use,
 * random); a file that group or others can read is narrowed to 0600.
 */
function serverPassword(dir: string): { password: string; file: string } {
    const file = join(dir, "password")
    if (!existsSync(file))
        writeFileSync(file, randomBytes(24).toString("hex") + "\n", {
            mode: 0o600,
            flag: "wx",
        })
    chmodSync(file, 0o600)
    const password = readFileSync(file, "utf8").trim()
    if (!/^[0-9a-f]{16,}$/.test(password))
        throw new Error(
            `PostgreSQL: ${file} does not hold a password this tool wrote; remove it to make a new one`
        )
    return { password, file }
}

/** A free TCP port on loopback. */
function freePort(): Promise<number> {
    return new Promise((ok, fail) => {
        const s = createServer()
        s.once("error", fail)
        s.listen(0, "127.0.0.1", () => {
            const port = (s.address() as { port: number }).port
            s.close(() => ok(port))
        })
    })
}

/** True when running as root: PostgreSQL refuses to, so its programs run as `postgres`. */
const asRoot = () => process.getuid?.() === 0

/** `cmd args` as the `postgres` system user when running as root (runuser). */
function as(cmd: string, args: string[]): string[] {
    return asRoot()
        ? ["runuser", "-u", "postgres", "--", cmd, ...args]
        : [cmd, ...args]
}

/** Under root: gives `dir` (and all in it) to the `postgres` user. */
function handOver(dir: string) {
    if (!asRoot()) return
    const id = (flag: string) =>
        Number(
            execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim()
        )
    chownTree(dir, id("-u"), id("-g"))
}

function chownTree(p: string, uid: number, gid: number) {
    chownSync(p, uid, gid)
    for (const e of readdirSync(p, { withFileTypes: true }))
        if (e.isDirectory()) chownTree(join(p, e.name), uid, gid)
        else chownSync(join(p, e.name), uid, gid)
}

function run(argv: string[], what: string) {
    const r = spawnSync(argv[0], argv.slice(1), { encoding: "utf8" })
    if (r.status !== 0)
        throw new Error(
            `PostgreSQL: ${what} failed (${r.error?.message ?? `exit ${r.status}`}): ${(r.stderr || r.stdout || "").trim().split("\n").slice(-3).join(" | ")}`
        )
}

/**
 * Starts PostgreSQL on 127.0.0.1 with its data in `dir/data` (initdb'd on
 * first use; kept across runs), its unix socket in a private directory,
 * password authentication (scram-sha-256) for loopback only, the password
 * kept 0600 in `dir/password`, and creates the database. Any local user
 * can reach a loopback port: without the password they get nothing.
 * Resolves once it accepts connections; throws a clear error when the
 * binaries are missing or it does not start in time.
 */
export async function startLocalPostgres(
    opts: LocalPostgresOptions = {}
): Promise<LocalPostgres> {
    const bin = findPostgresBin()
    if (!bin)
        throw new Error(
            "PostgreSQL: no server binaries (install Debian's postgresql package: apt-get install postgresql)"
        )
    const dir = resolve(opts.dir ?? mkdtempSync(join(tmpdir(), "fleet-pg-")))
    const data = join(dir, "data")
    const sock = join(dir, "sock")
    mkdirSync(dir, { recursive: true })
    // the server's unix socket: reachable by its owner only
    mkdirSync(sock, { recursive: true, mode: 0o700 })
    handOver(dir)
    if (!existsSync(join(data, "PG_VERSION"))) {
        run(
            as(join(bin, "initdb"), [
                "-D",
                data,
                "-U",
                USER,
                "-E",
                "UTF8",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--no-instructions",
                ...(opts.unsafeFast ? ["--no-sync"] : []),
            ]),
            "initdb"
        )
    }
    // loopback only, with the password (rewritten at each start, so a data
    // directory made when loopback was trusted is closed too)
    writeFileSync(join(data, "pg_hba.conf"), HBA)
    const { password, file: passwordFile } = serverPassword(dir)
    handOver(dir)
    const port = opts.port ?? (await freePort())
    const timeoutS = Math.ceil((opts.timeoutMs ?? 60_000) / 1000)
    const serverOpts = [
        `-h 127.0.0.1 -p ${port} -k ${sock}`,
        opts.unsafeFast
            ? "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            : "",
    ].join(" ")
    const log = join(dir, "server.log")
    try {
        run(
            as(join(bin, "pg_ctl"), [
                "-D",
                data,
                "-l",
                log,
                "-o",
                serverOpts,
                "-w",
                "-t",
                String(timeoutS),
                "start",
            ]),
            `start on 127.0.0.1:${port}`
        )
    } catch (e) {
        const tail = existsSync(log)
            ? readFileSync(log, "utf8").trim().split("\n").slice(-2).join(" | ")
            : ""
        if (!opts.dir) rmSync(dir, { recursive: true, force: true })
        throw new Error(
            `${(e as Error).message}${tail ? ` | log: ${tail}` : ""}`
        )
    }
    const stop = async ({ remove = false } = {}) => {
        run(
            as(join(bin, "pg_ctl"), ["-D", data, "-m", "fast", "-w", "stop"]),
            "stop"
        )
        if (remove) rmSync(dir, { recursive: true, force: true })
    }
    const database = opts.database ?? "fleet"
    try {
        // through the private socket, which needs no password: set it
        const c = new pg.Client({
            host: sock,
            port,
            user: USER,
            database: "postgres",
        })
        await c.connect()
        try {
            await c.query(`ALTER ROLE ${USER} PASSWORD '${password}'`)
            const has = await c.query(
                "SELECT 1 FROM pg_database WHERE datname = $1",
                [database]
            )
            if (!has.rowCount)
                await c.query(
                    `CREATE DATABASE "${database.replace(/"/g, '""')}"`
                )
        } finally {
            await c.end()
        }
    } catch (e) {
        await stop().catch(() => {})
        throw new Error(
            `PostgreSQL: cannot create database ${database} on 127.0.0.1:${port}: ${(e as Error).message}`
        )
    }
    const publicUrl = `postgres://${USER}@127.0.0.1:${port}/${database}`
    return {
        url: publicUrl.replace(`${USER}@`, `${USER}:${password}@`),
        publicUrl,
        passwordFile,
        port,
        dir,
        stop,
    }
}
